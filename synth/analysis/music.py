"""Measures a composer can use: heard key per window, repeated bars, density,
velocities and note values of a :class:`~synth.score.Score`.

Every function here is pure: it reads a score and returns numbers or frozen
dataclasses; nothing is printed (``synth analyze`` does that).

Key finding (Krumhansl-Schmuckler)
----------------------------------
The notes of the chosen parts (default: all) in a window of bars give a
12-bin pitch-class distribution: the time each pitch class sounds, in beats
(a note cut by the window's edges counts only its part inside; microtones
count for the nearest semitone).  That distribution is correlated (Pearson)
with the 24 rotations of a major and a minor key profile; the key whose
profile correlates best is the one heard (Krumhansl 1990, pp. 77-110).  Two
profile sets are offered:

``"krumhansl"`` (default)
    Krumhansl & Kessler's probe-tone ratings: C. L. Krumhansl and E. J.
    Kessler, "Tracing the dynamic changes in perceived tonal organization in
    a spatial representation of musical keys", *Psychological Review* 89(4),
    1982, 334-368; tabulated in C. L. Krumhansl, *Cognitive Foundations of
    Musical Pitch*, Oxford University Press, 1990 (the key-finding algorithm
    with M. A. Schmuckler is described there, ch. 4).
``"temperley"``
    The pitch-class frequencies of the Kostka-Payne corpus (excerpts from
    the workbook of S. Kostka and D. Payne, *Tonal Harmony*), as given by
    D. Temperley, *Music and Probability*, MIT Press, 2007, ch. 6 (table 6.1).
    Used here with the same correlation method, not Temperley's Bayesian one.

Windows are ``window_bars`` bars long (default 8) and hop by as many; the
last one may be shorter.  Each :class:`KeyWindow` also holds the key written
in the score at the window's first beat (:meth:`Score.key_at`), so the key
plan can be compared with what is heard (:func:`key_agreement`).  Written
keys in church modes other than ionian (= major) and aeolian (= minor) have
no profile; their windows are not scored.

Key names use the project's spelling (:func:`synth.score.parse_key`): a
tonic letter with ``#`` or ``b`` and ``major``/``minor``, one fixed spelling
per pitch class (:data:`MAJOR_TONICS`, :data:`MINOR_TONICS`): ``"D minor"``,
``"Bb major"``, ``"F# minor"``.  Comparisons are by pitch class, so a written
``"A# major"`` agrees with a heard ``"Bb major"``.

Bars and repeats
----------------
Bars are numbered from 1 by the score's meters, up to :attr:`Score.bar_count`.
A note belongs to the bar its onset falls in.  A bar's *content* is the set
of its notes as (onset offset from the bar line, duration, pitch), all in
beats (rounded to 1e-6); velocity does not count.  Two bars are identical
when their contents are; :func:`repeated_bars` counts the runs of identical,
consecutive, non-empty bars of each part.  Tied notes are one note already.

Public API
----------
pitch_class_durations(score, *, parts=None, first_bar=1, last_bar=None) -> ndarray (12,)
key_correlations(durations, *, profile="krumhansl") -> ndarray (24,)
best_keys(durations, *, profile="krumhansl") -> KeyEstimate | None
key_windows(score, *, window_bars=8, parts=None, profile="krumhansl") -> list[KeyWindow]
key_agreement(windows) -> list[KeyArea]
repeated_bars(score, *, parts=None) -> dict[str, RepeatReport]
notes_per_bar(score, *, parts=None) -> dict[str, ndarray]
density(score, *, window_bars=8, parts=None) -> dict[str, Density]
velocity_range(notes) -> VelocityRange | None
velocity_ranges(score, *, parts=None) -> dict[str, VelocityRange | None]
note_values(score, *, parts=None) -> tuple[float, ...]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from ..errors import ScoreError
from ..score import Note, Part, Score, parse_key
from ..units import PITCH_CLASSES
from .roughness import bar_edges

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from ..score import KeyChange

__all__ = [
    "KRUMHANSL_KESSLER_MAJOR", "KRUMHANSL_KESSLER_MINOR", "KOSTKA_PAYNE_MAJOR",
    "KOSTKA_PAYNE_MINOR", "PROFILES", "MAJOR_TONICS", "MINOR_TONICS", "KEY_NAMES",
    "KeyEstimate", "KeyWindow", "KeyArea", "RepeatReport", "Density", "VelocityRange",
    "key_name", "key_pitch_class", "pitch_class_durations", "key_correlations", "best_keys",
    "key_windows", "key_agreement", "repeated_bars", "notes_per_bar", "density",
    "velocity_range", "velocity_ranges", "note_values",
]

#: Krumhansl & Kessler (1982) probe-tone ratings, major context, tonic first (C, C#, ... B of C major)
KRUMHANSL_KESSLER_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
#: Krumhansl & Kessler (1982) probe-tone ratings, minor context, tonic first
KRUMHANSL_KESSLER_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
#: Kostka-Payne corpus profile, major (Temperley 2007, table 6.1), tonic first
KOSTKA_PAYNE_MAJOR = (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366,
                      0.057, 0.400)
#: Kostka-Payne corpus profile, minor (Temperley 2007, table 6.1), tonic first
KOSTKA_PAYNE_MINOR = (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067,
                      0.133, 0.330)

#: profile name -> (major, minor)
PROFILES = {
    "krumhansl": (KRUMHANSL_KESSLER_MAJOR, KRUMHANSL_KESSLER_MINOR),
    "temperley": (KOSTKA_PAYNE_MAJOR, KOSTKA_PAYNE_MINOR),
}

#: spelling of the tonic of each major key, by pitch class (C = 0)
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: spelling of the tonic of each minor key, by pitch class
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
#: the 24 key names in the order of :func:`key_correlations`: C major .. B major, C minor .. B minor
KEY_NAMES = tuple(f"{t} major" for t in MAJOR_TONICS) + tuple(f"{t} minor" for t in MINOR_TONICS)

_MODE_FAMILY = {"major": "major", "ionian": "major", "minor": "minor", "aeolian": "minor"}


def key_name(pitch_class: int, mode: str) -> str:
    """``(2, "minor")`` -> ``"D minor"``: the project's spelling of a key."""
    if mode not in ("major", "minor"):
        raise ScoreError(f"mode must be 'major' or 'minor', got {mode!r}")
    tonics = MAJOR_TONICS if mode == "major" else MINOR_TONICS
    return f"{tonics[int(pitch_class) % 12]} {mode}"


def key_pitch_class(key: str | KeyChange) -> tuple[int, str] | None:
    """``"Bb major"`` (or a :class:`~synth.score.KeyChange`) -> ``(10, "major")``.

    Ionian counts as major and aeolian as minor; other church modes give
    ``None`` (no key profile describes them).
    """
    tonic, mode = parse_key(str(key))
    family = _MODE_FAMILY.get(mode)
    if family is None:
        return None
    pc = PITCH_CLASSES[tonic[0]] + {"": 0, "#": 1, "b": -1}[tonic[1:]]
    return pc % 12, family


def _canonical(key) -> str | None:
    pm = key_pitch_class(key)
    return key_name(*pm) if pm else None


# ---------------------------------------------------------------- parts and bars

def _chosen_parts(score: Score, parts: Iterable[str] | None) -> list[Part]:
    if parts is None:
        return list(score.parts)
    if isinstance(parts, str):
        raise TypeError(f"parts must be a list of part names, got the string {parts!r}")
    names = list(parts)
    if not names:
        raise ScoreError("parts must name at least one part")
    return [score.part(n) for n in names]


def _bar_of(starts: np.ndarray, beat: float) -> int:
    """0-based index of the bar that ``beat`` falls in (given the bar starts)."""
    return int(np.searchsorted(starts, beat + 1e-9, side="right")) - 1


# ---------------------------------------------------------------- key finding

@dataclass(frozen=True)
class KeyEstimate:
    """The best and second-best keys for one pitch-class distribution."""

    key: str
    correlation: float
    runner_up: str
    runner_up_correlation: float


@dataclass(frozen=True)
class KeyWindow:
    """Key heard in bars ``first_bar..last_bar`` (1-based, inclusive).

    ``key`` is ``None`` (and the correlations 0.0) when the window has no
    notes, or sounds all twelve pitch classes equally long.  ``written_key``
    is the key in force at the window's first beat (``None`` if the score
    has none), as written (``"D minor"``, ``"E dorian"``).
    """

    first_bar: int
    last_bar: int
    key: str | None
    correlation: float
    runner_up: str | None
    runner_up_correlation: float
    written_key: str | None

    @property
    def agrees(self) -> bool | None:
        """Whether the heard key is the written one (by pitch class and mode).

        ``None`` when there is nothing to compare: no written key, a written
        church mode without a profile, or no heard key.
        """
        planned = _canonical(self.written_key) if self.written_key else None
        if planned is None or self.key is None:
            return None
        return planned == self.key


@dataclass(frozen=True)
class KeyArea:
    """A stretch of consecutive windows with the same written key."""

    written_key: str | None
    first_bar: int
    last_bar: int
    windows: int
    agreeing: int
    #: ``agreeing / windows``; ``None`` when no window could be compared
    share: float | None


def pitch_class_durations(score: Score, *, parts: Sequence[str] | None = None,
                          first_bar: int = 1, last_bar: int | None = None) -> np.ndarray:
    """Beats each pitch class sounds in bars ``first_bar..last_bar`` [shape=(12,)].

    Index 0 is C.  Notes are clipped to the bars; a fractional pitch counts
    for the nearest semitone.  ``last_bar`` defaults to the score's last bar.
    """
    if last_bar is None:
        last_bar = max(score.bar_count, first_bar)
    if first_bar < 1 or last_bar < first_bar:
        raise ScoreError(f"bad bar range {first_bar}..{last_bar} (bars start at 1; "
                         "the last must not come before the first)")
    a = score.meters.bar_start(first_bar)
    b = score.meters.bar_start(last_bar + 1)
    out = np.zeros(12)
    for part in _chosen_parts(score, parts):
        for n in part.notes:
            length = min(n.end, b) - max(n.start, a)
            if length > 0:
                out[int(round(n.pitch)) % 12] += length
    return out


def key_correlations(durations: ArrayLike, *, profile: str = "krumhansl") -> np.ndarray:
    """Pearson correlation of ``durations`` [shape=(12,)] with the 24 key profiles.

    Returns shape (24,), in the order of :data:`KEY_NAMES` (C major .. B
    major, C minor .. B minor).  A constant distribution (silence, or all
    twelve pitch classes equally long) correlates with nothing: all zeros.
    """
    if profile not in PROFILES:
        raise ScoreError(f"unknown key profile {profile!r} (choose from {', '.join(PROFILES)})")
    x = np.asarray(durations, dtype=np.float64)
    if x.shape != (12,) or not np.all(np.isfinite(x)):
        raise ScoreError(f"pitch-class durations must be 12 finite numbers, got shape {x.shape}")
    x = x - x.mean()
    out = np.zeros(24)
    norm_x = math.sqrt(float(x @ x))
    if norm_x == 0.0:
        return out
    for m, prof in enumerate(PROFILES[profile]):
        p = np.asarray(prof, dtype=np.float64)
        p = p - p.mean()
        norm_p = math.sqrt(float(p @ p))
        for tonic in range(12):
            out[12 * m + tonic] = float(x @ np.roll(p, tonic)) / (norm_x * norm_p)
    return out


def best_keys(durations: ArrayLike, *, profile: str = "krumhansl") -> KeyEstimate | None:
    """The best and second-best keys for ``durations``; ``None`` if it has no shape."""
    r = key_correlations(durations, profile=profile)
    if not np.any(r):
        return None
    order = np.argsort(-r, kind="stable")
    return KeyEstimate(KEY_NAMES[order[0]], float(r[order[0]]),
                       KEY_NAMES[order[1]], float(r[order[1]]))


def _check_window(window_bars) -> int:
    if isinstance(window_bars, bool) or not isinstance(window_bars, (int, np.integer)):
        raise TypeError(f"window_bars must be an integer, got {window_bars!r}")
    if window_bars < 1:
        raise ScoreError(f"window_bars must be >= 1, got {window_bars!r}")
    return int(window_bars)


def key_windows(score: Score, *, window_bars: int = 8, parts: Sequence[str] | None = None,
                profile: str = "krumhansl") -> list[KeyWindow]:
    """The key heard in each window of ``window_bars`` bars (hop ``window_bars``).

    ``parts`` restricts the notes to some parts (e.g. ``["violin", "viol"]``:
    the upper voices without the ground).  An empty score has no windows.
    """
    window_bars = _check_window(window_bars)
    _chosen_parts(score, parts)                 # unknown names fail even on an empty score
    if profile not in PROFILES:
        raise ScoreError(f"unknown key profile {profile!r} (choose from {', '.join(PROFILES)})")
    out = []
    bars = score.bar_count
    for first in range(1, bars + 1, window_bars):
        last = min(first + window_bars - 1, bars)
        est = best_keys(pitch_class_durations(score, parts=parts, first_bar=first, last_bar=last),
                        profile=profile)
        written = score.key_at(score.meters.bar_start(first))
        out.append(KeyWindow(first, last, est.key if est else None,
                             est.correlation if est else 0.0,
                             est.runner_up if est else None,
                             est.runner_up_correlation if est else 0.0,
                             str(written) if written else None))
    return out


def key_agreement(windows: Sequence[KeyWindow]) -> list[KeyArea]:
    """Per written key area, the share of windows whose heard key is the written one.

    A key area is a run of consecutive windows with the same written key
    (so D minor at the start and D minor after a modulation are two areas).
    Windows that cannot be compared (see :attr:`KeyWindow.agrees`) count in
    ``windows`` but not in the share's denominator.
    """
    areas: list[KeyArea] = []
    group: list[KeyWindow] = []

    def close():
        if not group:
            return
        compared = [w.agrees for w in group if w.agrees is not None]
        agreeing = sum(1 for a in compared if a)
        areas.append(KeyArea(group[0].written_key, group[0].first_bar, group[-1].last_bar,
                             len(group), agreeing, agreeing / len(compared) if compared else None))

    for w in windows:
        if group and w.written_key != group[-1].written_key:
            close()
            group = []
        group.append(w)
    close()
    return areas


# ---------------------------------------------------------------- repeated bars

@dataclass(frozen=True)
class RepeatReport:
    """Repeated bars of one part.

    ``longest_run`` is the length in bars of the longest run of consecutive
    identical non-empty bars (1 if no bar repeats the one before, 0 for a
    part without notes); ``repeats`` the number of bars identical to the bar
    before; ``runs`` the ``(first_bar, length)`` of every run of 2 or more.
    """

    longest_run: int
    repeats: int
    runs: tuple[tuple[int, int], ...]


def _bar_contents(part: Part, starts: np.ndarray) -> list[frozenset]:
    bars = len(starts) - 1
    contents: list[list] = [[] for _ in range(bars)]
    for n in part.notes:
        i = _bar_of(starts, n.start)
        if 0 <= i < bars:
            contents[i].append((round(n.start - starts[i], 6), round(n.duration, 6),
                                round(n.pitch, 6)))
    return [frozenset(c) for c in contents]


def repeated_bars(score: Score, *, parts: Sequence[str] | None = None) -> dict[str, RepeatReport]:
    """Runs of identical consecutive non-empty bars, per part (see the module notes)."""
    chosen = _chosen_parts(score, parts)
    starts = bar_edges(score)
    out = {}
    for part in chosen:
        contents = _bar_contents(part, starts)
        runs = []
        longest = 0
        i = 0
        while i < len(contents):
            if not contents[i]:
                i += 1
                continue
            j = i + 1
            while j < len(contents) and contents[j] == contents[i]:
                j += 1
            longest = max(longest, j - i)
            if j - i >= 2:
                runs.append((i + 1, j - i))
            i = j
        out[part.name] = RepeatReport(longest, sum(length - 1 for _, length in runs), tuple(runs))
    return out


# ---------------------------------------------------------------- density, velocity, note values

@dataclass(frozen=True)
class Density:
    """Notes (onsets) per bar of one part, and their mean per window of bars."""

    per_bar: tuple[int, ...]
    #: mean notes per bar of bars 1..N, N+1..2N, ... (the last window may be shorter)
    window_means: tuple[float, ...]


def notes_per_bar(score: Score, *, parts: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Number of notes starting in each bar, per part [shape=(bar_count,), dtype=int]."""
    chosen = _chosen_parts(score, parts)
    starts = bar_edges(score)
    out = {}
    for part in chosen:
        onsets = np.array([n.start for n in part.notes], dtype=np.float64)
        i = np.searchsorted(starts, onsets + 1e-9, side="right") - 1     # as _bar_of, for all notes
        i = i[(i >= 0) & (i < score.bar_count)]
        out[part.name] = np.bincount(i, minlength=score.bar_count).astype(np.int64)
    return out


def density(score: Score, *, window_bars: int = 8,
            parts: Sequence[str] | None = None) -> dict[str, Density]:
    """Notes per bar of each part, with the mean per window of ``window_bars`` bars."""
    window_bars = _check_window(window_bars)
    out = {}
    for name, counts in notes_per_bar(score, parts=parts).items():
        means = tuple(float(counts[a:a + window_bars].mean())
                      for a in range(0, len(counts), window_bars))
        out[name] = Density(tuple(int(c) for c in counts), means)
    return out


@dataclass(frozen=True)
class VelocityRange:
    """Lowest and highest velocity and the number of distinct velocities."""

    min: int
    max: int
    distinct: int


def velocity_range(notes: Iterable[Note]) -> VelocityRange | None:
    """Velocity range of ``notes``; ``None`` if there are none."""
    v = {int(n.velocity) for n in notes}
    if not v:
        return None
    return VelocityRange(min(v), max(v), len(v))


def velocity_ranges(score: Score, *,
                    parts: Sequence[str] | None = None) -> dict[str, VelocityRange | None]:
    """:func:`velocity_range` of each part (``None`` for a part without notes)."""
    return {p.name: velocity_range(p.notes) for p in _chosen_parts(score, parts)}


def note_values(score: Score, *, parts: Sequence[str] | None = None) -> tuple[float, ...]:
    """The distinct note durations in beats, ascending (rounded to 1e-6 beats).

    A tied note is one note, so a half tied to an eighth is one value, 2.5.
    """
    values = {round(n.duration, 6) for p in _chosen_parts(score, parts) for n in p.notes}
    return tuple(sorted(values))
