"""Exceptions raised by synth.

Every error a user can cause derives from :class:`SynthError` *and* from
:class:`ValueError`, so callers may catch either.  Messages name where the
problem is (file, line and column, or part and bar, or key) and what is wrong;
the CLI prints them as one line and exits with status 2.
"""

from __future__ import annotations

import re

__all__ = [
    "printable",
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


#: longest message (characters) and longest source name printed; the middle of a longer
#: one is cut, so a hostile file cannot flood the terminal with one error
MAX_MESSAGE_CHARS = 1000
MAX_SOURCE_CHARS = 300
#: C0 and C1 control characters and DEL (terminal escape sequences start with ESC, 0x1b)
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")


def _escape(match: re.Match) -> str:
    c = match.group(0)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\x{ord(c):02x}")


def printable(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` with control characters escaped (``\\x1b``) and its middle cut past ``limit``.

    Messages quote untrusted text (part names, file contents, paths): an
    escape sequence must not reach the terminal, and a megabyte-long name
    must not become a megabyte-long line.
    """
    text = _CONTROL_RE.sub(_escape, str(text))
    if len(text) > limit:
        keep = max(limit - 40, 20)
        cut = len(text) - keep
        text = f"{text[:keep // 2]}...[{cut} characters cut]...{text[len(text) - keep // 2:]}"
    return text


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
            where = printable(self.source, MAX_SOURCE_CHARS)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return where + printable(self.message)

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
