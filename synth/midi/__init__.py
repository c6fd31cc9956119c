"""Standard MIDI files in and out.

======================================  =========================================
:func:`read_midi`                       MIDI file (path or bytes) -> Score; repairs
                                        are reported as SynthWarning
:func:`read_midi_report`                same, returning ``(score, messages)``
:func:`write_midi`                      Score -> type-1 MIDI file
:func:`midi_bytes`                      Score -> type-1 MIDI file content
:func:`repair.repair_smf`               the tolerant byte-level pre-pass
:mod:`synth.midi.gm`                    GM program <-> preset table
======================================  =========================================

The rules (type 0/1/2, pairing, bends, programs, percussion, export channels)
and the table of malformed-file cases are in ``docs/midi.md``.
"""

from __future__ import annotations

import os
import warnings

from ..errors import MidiError, SynthWarning
from ..score import Score
from .reader import read_midi_report
from .writer import midi_bytes

__all__ = ["read_midi", "read_midi_report", "write_midi", "midi_bytes", "MidiError"]


def read_midi(path_or_bytes: str | os.PathLike[str] | bytes, *, source: str | None = None,
              max_seconds: float | None = None) -> Score:
    """Read a standard MIDI file (type 0, 1 or 2) as a :class:`Score`.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike or bytes
    source : str, optional
        Name used in messages (default: the path).
    max_seconds : float, optional
        Refuse a file whose notes last longer than this many seconds; checked
        from the tempo map and the last note event before any note is built.

    Returns
    -------
    Score
        Every repair or approximation is reported as a
        :class:`~synth.errors.SynthWarning` (one sentence, without the file
        name, which the caller adds); collect them with
        :func:`warnings.catch_warnings`.

    Raises
    ------
    MidiError
        The file cannot be read or is refused (one line naming the problem).
    """
    score, messages = read_midi_report(path_or_bytes, source=source, max_seconds=max_seconds)
    for m in messages:
        warnings.warn(SynthWarning(m), stacklevel=2)
    return score


def write_midi(score: Score, path: str | os.PathLike[str], *, ticks_per_beat: int = 960) -> None:
    """Write ``score`` as a type-1 standard MIDI file at ``path``.

    One track per part plus a conductor track (tempo, meter, key); microtonal
    notes use per-note channels and pitch bend (see :mod:`synth.midi.writer`).
    Approximations are reported as :class:`~synth.errors.SynthWarning`.  The
    file is written in place; the CLI writes atomically through its helper
    using :func:`midi_bytes`.

    Raises
    ------
    MidiError
        If the score cannot be expressed in MIDI (e.g. a tempo below 3.58 bpm).
    """
    messages: list[str] = []
    data = midi_bytes(score, ticks_per_beat=ticks_per_beat, warn=messages)
    for m in messages:
        warnings.warn(SynthWarning(m), stacklevel=2)
    p = os.fspath(path)
    try:
        with open(p, "wb") as f:
            f.write(data)
    except OSError as e:
        raise MidiError(f"cannot write: {e.strerror or e}", source=p) from None
