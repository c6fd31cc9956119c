"""Exceptions raised by synth.

Every error a user can cause derives from :class:`SynthError` *and* from
:class:`ValueError`, so callers may catch either.  Messages name where the
problem is (file, line and column, or part and bar, or key) and what is wrong;
the CLI prints them as one line and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "SynthError",
    "ScoreError",
    "PatchError",
    "RenderError",
    "MidiError",
    "ArrangementError",
    "TransformError",
    "AudioFileError",
    "SynthWarning",
]


class SynthError(Exception):
    """Base class of every error synth raises on bad input.

    Parameters
    ----------
    message : str
        What is wrong.
    source : str, optional
        The file (or other origin) the problem is in.
    line, column : int, optional
        1-based position in ``source``.
    """

    def __init__(self, message: str, *, source: str | None = None,
                 line: int | None = None, column: int | None = None):
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source is not None:
            where = str(self.source)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return where + self.message

    def with_source(self, source: str) -> "SynthError":
        """Return a copy of this error that names ``source`` (if it had none)."""
        if self.source is not None:
            return self
        err = type(self).__new__(type(self))
        SynthError.__init__(err, self.message, source=source, line=self.line,
                            column=self.column)
        return err


class ScoreError(SynthError, ValueError):
    """A score (model, score file or notation) is malformed."""


class PatchError(SynthError, ValueError):
    """A patch or preset is unknown or has a bad parameter."""


class RenderError(SynthError, ValueError):
    """A render was refused (bad sample rate, impossible length, ...)."""


class MidiError(SynthError, ValueError):
    """A MIDI file cannot be read, or a score cannot be written as MIDI."""


class ArrangementError(SynthError, ValueError):
    """An arrangement file is malformed."""


class TransformError(SynthError, ValueError):
    """A transform is unknown or was given bad parameters."""


class AudioFileError(SynthError, OSError):
    """An audio file cannot be read or written (exists, unwritable, unreadable)."""


class SynthWarning(UserWarning):
    """Something was repaired or changed on the user's behalf."""
