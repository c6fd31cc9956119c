"""Unit conversions: MIDI pitch <-> Hz, cents, decibels, note names.

Pitch is a float MIDI number throughout synth: 69.0 is A4 = 440 Hz, 60.0 is
middle C (C4), and 60.5 is a quarter-tone above middle C.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

from .errors import ScoreError

__all__ = [
    "A4_HZ",
    "midi_to_hz",
    "pitch_hz",
    "hz_to_midi",
    "cents_between",
    "db_to_amp",
    "gain_amp",
    "amp_to_db",
    "parse_note_name",
    "note_name",
    "PITCH_CLASSES",
    "DRUM_NOTES",
]

A4_HZ = 440.0

#: Semitones above C of each natural note letter.
PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

_ACCIDENTALS = {"": 0, "#": 1, "##": 2, "x": 2, "b": -1, "bb": -2, "n": 0}

_NOTE_RE = re.compile(r"^([A-Ga-g])(##|#|x|bb|b|n)?(-?\d+)([+-]\d+(?:\.\d+)?c)?$")

_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def midi_to_hz(pitch: ArrayLike, a4_hz: float = A4_HZ) -> np.ndarray:
    """Frequency in Hz of a (float) MIDI pitch.

    Parameters
    ----------
    pitch : float or np.ndarray
        MIDI note number; fractional values are microtones.
    a4_hz : float
        Reference frequency of A4 (MIDI 69).
    """
    return a4_hz * np.exp2((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)


@lru_cache(maxsize=4096)
def pitch_hz(pitch: float) -> float:
    """:func:`midi_to_hz` of one pitch as a float, cached: a voice asks it for every
    note, of a few pitches (through NumPy, a scalar costs a few microseconds)."""
    return float(midi_to_hz(pitch))


def hz_to_midi(freq: ArrayLike, a4_hz: float = A4_HZ) -> np.ndarray:
    """Float MIDI pitch of a frequency in Hz (inverse of :func:`midi_to_hz`)."""
    return 69.0 + 12.0 * np.log2(np.asarray(freq, dtype=np.float64) / a4_hz)


def cents_between(f_ref: ArrayLike, f: ArrayLike) -> np.ndarray:
    """Interval from ``f_ref`` to ``f`` (both Hz) in cents."""
    return 1200.0 * np.log2(np.asarray(f, dtype=np.float64) / f_ref)


def db_to_amp(db: ArrayLike) -> np.ndarray:
    """Linear amplitude of a level in dB (0 dB -> 1.0)."""
    return np.power(10.0, np.asarray(db, dtype=np.float64) / 20.0)


@lru_cache(maxsize=256)
def gain_amp(db: float) -> float:
    """:func:`db_to_amp` of one level as a float, cached (a patch's gain, asked for every note)."""
    return float(db_to_amp(db))


def amp_to_db(amp: ArrayLike, floor_db: float = -300.0) -> np.ndarray:
    """Level in dB of a linear amplitude; zero maps to ``floor_db``."""
    a = np.abs(np.asarray(amp, dtype=np.float64))
    with np.errstate(divide="ignore"):
        return np.maximum(20.0 * np.log10(a), floor_db)


def parse_note_name(text: str) -> float:
    """MIDI pitch of a note name such as ``C#4``, ``Eb3``, ``A4+25c``.

    Octaves follow scientific pitch notation (C4 = 60).  Accidentals: ``#``,
    ``##`` or ``x``, ``b``, ``bb``, ``n`` (natural).  An optional cent offset
    ``+25c`` / ``-50c`` makes a microtone.

    Raises
    ------
    ScoreError
        If ``text`` is not a note name or lies outside MIDI 0..127.
    """
    m = _NOTE_RE.match(text.strip())
    if not m:
        raise ScoreError(f"not a note name: {text!r} (expected e.g. 'C#4', 'Eb3', 'A4+25c')")
    letter, acc, octave, cents = m.groups()
    pitch = 12 * (int(octave) + 1) + PITCH_CLASSES[letter.upper()] + _ACCIDENTALS[acc or ""]
    value = float(pitch) + (float(cents[:-1]) / 100.0 if cents else 0.0)
    if not 0.0 <= value <= 127.0:
        raise ScoreError(f"note {text!r} is outside the MIDI range 0..127 (C-1..G9)")
    return value


def note_name(pitch: float) -> str:
    """Name of a float MIDI pitch, with sharps and a cent offset if fractional.

    >>> note_name(61)
    'C#4'
    >>> note_name(60.5)
    'C4+50c'
    """
    nearest = int(round(pitch))
    cents = round((pitch - nearest) * 100.0, 2)
    name = f"{_SHARP_NAMES[nearest % 12]}{nearest // 12 - 1}"
    if cents:
        name += f"{cents:+g}c"
    return name


#: Names of General MIDI drum notes (channel 10), usable as pitches in score
#: files (``notes = "kick:4 hat:8 hat snare:4 <kick crash>:2"``); a drum part's
#: preset (``cmi_drums``, ``drums``) turns the note number into the drum.
DRUM_NOTES: dict[str, int] = {
    "kick2": 35, "kick": 36, "rim": 37, "snare": 38, "clap": 39, "snare2": 40,
    "floor_tom_low": 41, "hat": 42, "floor_tom": 43, "pedal_hat": 44, "tom_low": 45,
    "open_hat": 46, "tom_mid": 47, "tom_high_mid": 48, "crash": 49, "cymbal": 49,
    "tom_high": 50, "ride": 51, "gong": 52, "china": 52, "ride_bell": 53, "tambourine": 54,
    "splash": 55, "cowbell": 56, "crash2": 57, "ride2": 59, "woodblock": 76,
    "woodblock_low": 77,
}
