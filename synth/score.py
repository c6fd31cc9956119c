"""The score model: immutable, typed, absolute times in beats.

Why over 500 lines: the immutable score model: Note, Part, Score and the maps
that turn beats into seconds and bars (TempoMap, MeterMap, keys) are used
together by every reader, transform and the renderer; the maps hold the exact
arithmetic the notation checks bars with.

A :class:`Score` holds :class:`Part` objects (each a sorted tuple of
:class:`Note`), a :class:`TempoMap`, meter and key changes and
:class:`Metadata`.  Times are absolute positions in *beats* (quarter notes);
the tempo map turns beats into seconds once, and sample positions come from
rounding absolute seconds, so no error accumulates over a long piece.

Every class is a frozen dataclass; "changing" a score means building a new one
(``dataclasses.replace`` or the ``with_*`` helpers).
"""

from __future__ import annotations

import bisect
import functools
import math
import operator
import os
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from .errors import ScoreError
from .params import FrozenMap
from .units import PITCH_CLASSES, note_name, parse_note_name

if TYPE_CHECKING:
    from typing import Any, Sequence
    from numpy.typing import ArrayLike

__all__ = [
    "BUDGETS",
    "check_budget",
    "Note",
    "Part",
    "TempoChange",
    "TempoMap",
    "TEMPO_RAMPS",
    "MeterChange",
    "MeterMap",
    "KeyChange",
    "Metadata",
    "Score",
    "parse_meter",
    "parse_key",
]


# ---------------------------------------------------------------- notes, parts

@dataclass(frozen=True, slots=True)
class Note:
    """One note.

    Parameters
    ----------
    start : float
        Absolute onset in beats (quarter notes) from the start of the piece.
    duration : float
        Length in beats (> 0): the time the key is held; the release follows.
    pitch : float or str
        MIDI number; fractional values are microtones (60.5 = C4 + 50 cents).
        A note name (``"E5"``, ``"C#4"``, ``"A4+25c"``) is converted to its
        MIDI number.
    velocity : int
        1..127, MIDI-style loudness.
    bend : tuple of (float, float)
        Pitch-bend breakpoints ``(beat offset from the note's start,
        semitones)``, held between points.  Empty means no bend.
    """

    start: float
    duration: float
    pitch: float
    velocity: int = 80
    bend: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        if isinstance(self.pitch, str):                     # a note name: "E5", "C#4+25c"
            object.__setattr__(self, "pitch", parse_note_name(self.pitch))
        try:
            if not (math.isfinite(self.start) and self.start >= 0):
                raise ScoreError(f"note start must be a finite beat >= 0, got {self.start!r}")
            if not (math.isfinite(self.duration) and self.duration > 0):
                raise ScoreError(f"note duration must be > 0 beats, got {self.duration!r}")
            if not (math.isfinite(self.pitch) and 0.0 <= self.pitch <= 127.0):
                raise ScoreError(f"note pitch must be within MIDI 0..127, got {self.pitch!r}")
        except TypeError:                                   # not a number at all
            for name in ("start", "duration", "pitch"):
                value = getattr(self, name)
                try:
                    math.isfinite(value)
                except TypeError:
                    raise ScoreError(f"note {name} must be a number"
                                     + (" or a note name such as 'E5'" if name == "pitch" else "")
                                     + f", got {value!r}") from None
            raise
        if not (isinstance(self.velocity, (int, np.integer)) and 1 <= self.velocity <= 127):
            raise ScoreError(f"note velocity must be an integer 1..127, got {self.velocity!r}")

    @property
    def end(self) -> float:
        """Beat at which the note is released."""
        return self.start + self.duration

    def __str__(self) -> str:
        return f"{note_name(self.pitch)}@{self.start:g}+{self.duration:g}v{self.velocity}"


#: Sort key of a part's notes: (start, pitch, duration, velocity).  An attrgetter
#: (C code) rather than a Python function: parts are re-sorted on every change,
#: and tension curves change them segment by segment.
_note_key = operator.attrgetter("start", "pitch", "duration", "velocity")


def _in_order(notes: tuple[Note, ...], starts: np.ndarray | None = None) -> bool:
    """True if ``notes`` are already sorted by :data:`_note_key` (``sorted`` would keep them).

    Most parts are rebuilt with their order unchanged (a tension curve's
    segment changes a few velocities or pitches), and checking the onsets as
    one array is several times cheaper than sorting with the key.  Onsets
    compare exactly as floats here (float conversion keeps order); only
    notes with equal onsets compare by the whole key.  ``starts``: the
    onsets as an array, when the caller has them.
    """
    if len(notes) < 2:
        return True
    if len(notes) < 64:
        return False            # sorting a few notes is cheaper than NumPy's call overhead
    if starts is None:
        starts = _onsets(notes)
    step = np.diff(starts)
    if (step < 0).any():
        return False
    ties = np.flatnonzero(step == 0)
    if not len(ties):
        return True
    # chords: equal onsets in order of pitch, then of the rest of the key
    pitches = np.array([n.pitch for n in notes], dtype=np.float64)
    rise = pitches[ties + 1] - pitches[ties]
    if (rise < 0).any():
        return False
    for i in ties[rise == 0].tolist():
        if _note_key(notes[i]) > _note_key(notes[i + 1]):
            return False
    return True


def _onsets(notes: tuple[Note, ...]) -> np.ndarray:
    """The onsets of ``notes`` as a read-only float64 array."""
    starts = np.array([n.start for n in notes], dtype=np.float64)
    starts.flags.writeable = False
    return starts


def _rebuilt(old: "Part", notes: tuple[Note, ...], changed: "Sequence[int] | None" = None
             ) -> tuple[tuple[Note, ...], np.ndarray, float | None] | None:
    """``notes`` in order, their onsets and their end, from ``old`` by what changed; None:
    no shortcut.

    A tension curve runs its transform once per segment of a few bars, and
    each run rebuilds the whole part with a few notes changed in place (same
    position) or a few appended.  Every pair of neighbours that did not
    change was in order in ``old``, so only the pairs at a changed position
    are compared (by the whole key), and appended notes are merged in where
    a stable sort of the whole would put them (after the notes whose key is
    equal): the result is what ``sorted(notes, key=_note_key)`` gives,
    without a pass of Python over every note.  A changed note out of order
    with a neighbour of equal onset (a chord's note moved in pitch) has its
    chord sorted again.  None when the notes are not (old notes changed in
    place, then appended Notes), when a changed onset breaks the order, or
    when too many changed.  ``changed``: the positions where ``notes`` may
    differ from ``old``'s (the others are the same objects: the caller knows,
    and spares the comparison of every note); found by identity when None.
    The end (:attr:`Part.end`) is None when it is not known from what
    changed (a changed note held the old end and now ends earlier).
    """
    prev = old.notes
    m, n = len(prev), len(notes)
    if m < 64 or n < m:
        return None
    head = notes if n == m else notes[:m]
    if changed is None:
        changed = np.flatnonzero(~np.fromiter(map(operator.is_, head, prev), bool, m)).tolist()
    if len(changed) > m // 8:
        return None
    extra = notes[m:]
    if not all(type(head[i]) is Note for i in changed) or not all(type(e) is Note for e in extra):
        return None                     # Part() reports what is not a Note
    starts = old.starts
    end = _end_after(old, [prev[i] for i in changed], [head[i] for i in changed] + list(extra))
    if changed:
        starts = starts.copy()
        starts[changed] = [head[i].start for i in changed]
        regroup = []
        for i in changed:               # the neighbours of each changed note, by the whole key
            if (i > 0 and _note_key(head[i - 1]) > _note_key(head[i])) or \
                    (i + 1 < m and _note_key(head[i]) > _note_key(head[i + 1])):
                if head[i].start != prev[i].start:
                    return None
                regroup.append(i)
        if regroup:
            # a note moved in pitch within its chord: sort that chord (the notes of equal
            # onset; all others are in order, and a chord's notes stay together)
            head = list(head)
            for i in regroup:
                a = int(np.searchsorted(starts, starts[i], "left"))
                b = int(np.searchsorted(starts, starts[i], "right"))
                head[a:b] = sorted(head[a:b], key=_note_key)
                starts[a:b] = [x.start for x in head[a:b]]
    if extra:
        extra = sorted(extra, key=_note_key)
        ext_starts = np.array([e.start for e in extra], dtype=np.float64)
        lo = np.searchsorted(starts, ext_starts, "left").tolist()
        hi = np.searchsorted(starts, ext_starts, "right").tolist()
        out: list[Note] = []
        at = 0
        places = []
        for e, a, b in zip(extra, lo, hi):
            # after every old note of equal key (the old notes come first in ``notes``)
            k = bisect.bisect_right(head, _note_key(e), a, b, key=_note_key) if b > a else a
            out.extend(head[at:k])
            out.append(e)
            places.append(k)
            at = k
        out.extend(head[at:])
        starts = np.insert(starts, places, ext_starts)
        head = tuple(out)
    else:
        head = tuple(head)
    starts.flags.writeable = False
    return head, starts, end


def _end_after(old: "Part", gone: list[Note], new: list[Note]) -> float | None:
    """:attr:`Part.end` of ``old`` with the notes ``gone`` replaced by ``new``, or None.

    Only when every end involved is a float (with equal floats, ``max``
    gives the same value whichever comes first) and the old end is known.
    """
    end = old.__dict__.get("end")
    if type(end) is not float:
        return None
    ends = [n.start + n.duration for n in new]
    if not all(type(e) is float for e in ends):
        return None
    top = max(ends, default=end)
    if top >= end:
        return top
    if any(n.start + n.duration >= end for n in gone):
        return None             # the note that ended last may be gone
    return end


@dataclass(frozen=True)
class Part:
    """A named voice of the score and the instrument that plays it.

    Parameters
    ----------
    name : str
        Unique within the score.
    notes : tuple of Note
        Sorted by (start, pitch) on construction.
    preset : str
        Name of the preset that plays the part (see ``synth presets``).
    patch : mapping of str to value
        Overrides of preset parameters, dotted keys (``"envelope.release"``).
    gain_db : float
        Part level in dB.
    pan : float
        Stereo position, -1 (left) .. +1 (right), equal-power.
    effects : tuple of mapping
        Per-part effect settings (``{"type": "reverb", ...}``), in order.
    generated : bool
        True when the part's notes were generated rather than transcribed.
    description : str
        Free text (role of the part, where its notes come from).
    """

    name: str
    notes: tuple[Note, ...] = ()
    preset: str = "sine"
    patch: Mapping[str, object] = field(default_factory=dict)
    gain_db: float = 0.0
    pan: float = 0.0
    effects: tuple[Mapping[str, object], ...] = ()
    generated: bool = False
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ScoreError(f"part name must be a non-empty string, got {self.name!r}")
        notes = tuple(self.notes)
        if not set(map(type, notes)) <= {Note}:         # fast path (C loop): exactly Note
            for n in notes:
                if not isinstance(n, Note):
                    raise ScoreError(f"part {self.name!r}: expected Note, got {type(n).__name__}")
        starts = _onsets(notes) if len(notes) >= 64 else None
        if not _in_order(notes, starts):
            notes = tuple(sorted(notes, key=_note_key))
        elif starts is not None:
            self.__dict__["starts"] = starts            # the cached property, already known
        object.__setattr__(self, "notes", notes)
        # read-only: part.patch["x"] = 1 raises (a Part is a value, shared freely)
        object.__setattr__(self, "patch", FrozenMap(self.patch))
        object.__setattr__(self, "effects", tuple(FrozenMap(e) for e in self.effects))
        if not (math.isfinite(self.pan) and -1.0 <= self.pan <= 1.0):
            raise ScoreError(f"part {self.name!r}: pan must be within -1..1, got {self.pan!r}")
        if not math.isfinite(self.gain_db):
            raise ScoreError(f"part {self.name!r}: gain_db must be finite, got {self.gain_db!r}")

    def __hash__(self):
        return hash((self.name, self.notes, self.preset))

    @functools.cached_property
    def end(self) -> float:
        """Beat at which the last note is released (0 for an empty part).

        Computed once per part (a part is immutable): a tension-curve step
        asks for the score's end once per segment.
        """
        return max((n.start + n.duration for n in self.notes), default=0.0)

    @functools.cached_property
    def starts(self) -> np.ndarray:
        """Onsets of the notes in beats, ``(len(notes),)`` float64, read-only (once per part)."""
        return _onsets(self.notes)

    def __getstate__(self) -> dict:
        # pickled (the score cache, worker processes) without the onsets: they are derived,
        # and an unpickled array would come back writable; made again, read-only, if asked
        state = dict(self.__dict__)
        state.pop("starts", None)
        return state

    def with_notes(self, notes: Iterable[Note], *, like: "Part | None" = None,
                   changed: "Sequence[int] | None" = None) -> "Part":
        """A copy of this part holding ``notes`` instead.

        When ``notes`` are this part's (or those of ``like``, another part)
        with a few changed in place or a few appended (a tension-curve
        segment's change), they are put in order from what changed
        (:func:`_rebuilt`) and the part's other fields, already checked, are
        kept: the same part as ``replace(self, notes=notes)`` gives, without a
        pass over every note.  ``changed``: the positions where ``notes``
        may differ from the old notes, when the caller knows them (every
        other position holds the very same Note object).
        """
        notes = tuple(notes)
        quick = _rebuilt(self if like is None else like, notes, changed)
        if quick is None:
            return replace(self, notes=notes)
        new = object.__new__(Part)
        fields = new.__dict__
        for name in _PART_FIELDS:
            fields[name] = self.__dict__[name]
        fields["notes"], fields["starts"], end = quick
        if end is not None:
            fields["end"] = end
        return new


_PART_FIELDS = tuple(f for f in Part.__dataclass_fields__)


# ---------------------------------------------------------------- tempo

#: How the tempo moves from a change to the next one: ``"step"`` (held, then
#: jumps), ``"linear"`` (bpm linear in beats) or ``"exponential"`` (bpm
#: geometric in beats: equal ratios over equal beats).
TEMPO_RAMPS = ("step", "linear", "exponential")


@dataclass(frozen=True, slots=True)
class TempoChange:
    """Tempo ``bpm`` (quarter notes per minute) from ``beat`` on.

    ``ramp`` says how the tempo goes on to the *next* change: ``"step"``
    (held until the next change, the default), ``"linear"`` (bpm rises or
    falls linearly in beats and reaches the next change's bpm exactly there)
    or ``"exponential"`` (bpm changes by equal ratios over equal beats).
    """

    beat: float
    bpm: float
    ramp: str = "step"

    def __post_init__(self):
        if not (math.isfinite(self.beat) and self.beat >= 0):
            raise ScoreError(f"tempo change beat must be >= 0, got {self.beat!r}")
        if not (math.isfinite(self.bpm) and self.bpm > 0):
            raise ScoreError(f"tempo must be > 0 bpm, got {self.bpm!r}")
        if self.ramp not in TEMPO_RAMPS:
            raise ScoreError(f"tempo ramp must be one of {', '.join(TEMPO_RAMPS)}, "
                             f"got {self.ramp!r}")


_STEP, _LINEAR, _EXPONENTIAL = 0, 1, 2
_RAMP_CODE = {"step": _STEP, "linear": _LINEAR, "exponential": _EXPONENTIAL}


class TempoMap:
    """Tempo over the piece, held or ramping: beats <-> seconds.

    Changes may fall anywhere, also in the middle of a note (the note's end is
    then reached at the new tempo).  Conversions use the absolute beat, so no
    rounding accumulates.  A change with ``ramp="linear"`` or
    ``"exponential"`` moves continuously to the next change's tempo; the map
    integrates the ramp in closed form (seconds = 60 * integral of 1/bpm over
    beats), so an onset deep inside a long ramp is as exact as one after a
    step:

    * linear, bpm(x) = b0 + k x with k = (b1 - b0) / L over the L beats of the
      ramp: seconds(x) = 60 / k * ln(1 + k x / b0);
    * exponential, bpm(x) = b0 * exp(r x) with r = ln(b1 / b0) / L:
      seconds(x) = 60 / (b0 r) * (1 - exp(-r x)).

    Parameters
    ----------
    changes : iterable of TempoChange or (beat, bpm) or (beat, bpm, ramp)
        Must include (or defaults to) a change at beat 0.  The last change
        cannot ramp (there is nothing to ramp to).
    """

    __slots__ = ("changes", "_beats", "_bpm", "_secs", "_kind", "_k")

    def __init__(self, changes: Iterable[TempoChange | tuple] = ((0.0, 120.0),)):
        items = [c if isinstance(c, TempoChange) else TempoChange(float(c[0]), float(c[1]), *c[2:])
                 for c in changes]
        if not items:
            raise ScoreError("a tempo map needs at least one tempo")
        items.sort(key=lambda c: c.beat)
        if items[0].beat != 0.0:
            raise ScoreError(f"the first tempo must be at beat 0, got beat {items[0].beat:g}")
        dedup: list[TempoChange] = []
        for c in items:
            if dedup and dedup[-1].beat == c.beat:
                dedup[-1] = c   # last one at a beat wins
            else:
                dedup.append(c)
        if dedup[-1].ramp != "step":
            raise ScoreError(f"the tempo at beat {dedup[-1].beat:g} ramps "
                             f"({dedup[-1].ramp}) but no later tempo follows to ramp to")
        self.changes: tuple[TempoChange, ...] = tuple(dedup)
        self._beats = np.array([c.beat for c in dedup])
        self._bpm = np.array([c.bpm for c in dedup])
        kind = np.array([_RAMP_CODE[c.ramp] for c in dedup], dtype=np.int8)
        # a ramp between equal tempos is a held tempo
        kind[:-1][self._bpm[:-1] == self._bpm[1:]] = _STEP
        self._kind = kind
        # slope: linear k in bpm per beat, exponential r in 1/beat (0 for steps)
        k = np.zeros(len(dedup))
        if len(dedup) > 1:
            span = np.diff(self._beats)
            lin = kind[:-1] == _LINEAR
            exp_ = kind[:-1] == _EXPONENTIAL
            k[:-1][lin] = (self._bpm[1:][lin] - self._bpm[:-1][lin]) / span[lin]
            k[:-1][exp_] = np.log(self._bpm[1:][exp_] / self._bpm[:-1][exp_]) / span[exp_]
        self._k = k
        spans = np.diff(self._beats) * 60.0 / self._bpm[:-1]
        if kind.any():
            idx = np.arange(len(dedup) - 1)
            ramp = kind[:-1] != _STEP
            spans[ramp] = self._ramp_seconds(idx[ramp], np.diff(self._beats)[ramp])
        self._secs = np.concatenate([[0.0], np.cumsum(spans)])

    def _ramp_seconds(self, i, x):
        """Seconds from the start of ramp segment(s) ``i`` to ``x`` beats into it."""
        b0, k, kind = self._bpm[i], self._k[i], self._kind[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            lin = 60.0 / k * np.log1p(k * x / b0)
            exp_ = -60.0 / b0 * np.expm1(-k * x) / k
        return np.where(kind == _LINEAR, lin, exp_)

    def _ramp_beats(self, i, t):
        """Beats into ramp segment(s) ``i`` reached ``t`` seconds after its start."""
        b0, k, kind = self._bpm[i], self._k[i], self._kind[i]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lin = b0 / k * np.expm1(k * t / 60.0)
            exp_ = -np.log1p(-k * b0 * t / 60.0) / k
        return np.where(kind == _LINEAR, lin, exp_)

    @property
    def has_ramps(self) -> bool:
        """True when some change ramps to the next one."""
        return bool(self._kind.any())

    @classmethod
    def constant(cls, bpm: float) -> "TempoMap":
        """A tempo map with one tempo throughout."""
        return cls([TempoChange(0.0, float(bpm))])

    def bpm_at(self, beat: float) -> float:
        """Tempo in force at ``beat`` (inside a ramp: the instantaneous tempo)."""
        i = max(bisect.bisect_right(self._beats.tolist(), beat) - 1, 0)
        kind = self._kind[i]
        if kind == _STEP:
            return float(self._bpm[i])
        x = beat - self._beats[i]
        if kind == _LINEAR:
            return float(self._bpm[i] + self._k[i] * x)
        return float(self._bpm[i] * math.exp(self._k[i] * x))

    def seconds(self, beats: ArrayLike) -> float | np.ndarray:
        """Seconds from the start of the piece at absolute ``beats`` (scalar or array)."""
        b = np.asarray(beats, dtype=np.float64)
        i = np.clip(np.searchsorted(self._beats, b, side="right") - 1, 0, None)
        out = self._secs[i] + (b - self._beats[i]) * 60.0 / self._bpm[i]
        if self._kind.any():
            ramp = self._kind[i] != _STEP
            if np.any(ramp):
                out = np.where(ramp, self._secs[i] + self._ramp_seconds(i, b - self._beats[i]),
                               out)
        return float(out) if out.ndim == 0 else out

    def beats(self, seconds: ArrayLike) -> float | np.ndarray:
        """Inverse of :meth:`seconds`."""
        s = np.asarray(seconds, dtype=np.float64)
        i = np.clip(np.searchsorted(self._secs, s, side="right") - 1, 0, None)
        out = self._beats[i] + (s - self._secs[i]) * self._bpm[i] / 60.0
        if self._kind.any():
            ramp = self._kind[i] != _STEP
            if np.any(ramp):
                out = np.where(ramp, self._beats[i] + self._ramp_beats(i, s - self._secs[i]),
                               out)
        return float(out) if out.ndim == 0 else out

    def __eq__(self, other):
        return isinstance(other, TempoMap) and self.changes == other.changes

    def __hash__(self):
        return hash(self.changes)

    def __repr__(self):
        inner = ", ".join(f"({c.beat:g}, {c.bpm:g})" if c.ramp == "step"
                          else f"({c.beat:g}, {c.bpm:g}, {c.ramp!r})" for c in self.changes)
        return f"TempoMap([{inner}])"


# ---------------------------------------------------------------- meter, key

def parse_meter(text: str) -> tuple[int, int]:
    """``"3/4"`` -> ``(3, 4)``; the denominator must be a power of two."""
    try:
        num_s, den_s = str(text).split("/")
        num, den = int(num_s), int(den_s)
    except ValueError:
        raise ScoreError(f"not a meter: {text!r} (expected e.g. '3/4', '7/8')") from None
    if num < 1 or den < 1 or den & (den - 1) or den > 64:
        raise ScoreError(f"not a meter: {text!r} (numerator >= 1, denominator a power of two)")
    return num, den


@dataclass(frozen=True, slots=True)
class MeterChange:
    """Meter ``numerator/denominator`` from ``beat`` (which must start a bar) on."""

    beat: float
    numerator: int
    denominator: int

    def __post_init__(self):
        parse_meter(f"{self.numerator}/{self.denominator}")
        if not (math.isfinite(self.beat) and self.beat >= 0):
            raise ScoreError(f"meter change beat must be >= 0, got {self.beat!r}")

    @property
    def bar_beats(self) -> Fraction:
        """Length of one bar in beats (quarter notes)."""
        return Fraction(4 * self.numerator, self.denominator)

    def __str__(self):
        return f"{self.numerator}/{self.denominator}"


class MeterMap:
    """Meters over the piece; maps beats <-> bar numbers (1-based).

    A meter change must fall on the bar line of the meter before it.

    Parameters
    ----------
    changes : iterable of MeterChange
        The first is in force from beat 0 (4/4 when none is at beat 0).
    pickup : float
        Length in beats (quarter notes) of a **pickup** (anacrusis) bar before
        bar 1, numbered bar 0 as notation programs do: bar 1 then starts at
        beat ``pickup``.  0 (the default) means no pickup.  It must be shorter
        than a bar of the first meter.
    """

    __slots__ = ("changes", "_first_bar", "_anchor", "_exact", "pickup", "_beats", "_lengths",
                 "_ratios", "_floats")

    def __init__(self, changes: Iterable[MeterChange] = (), pickup: float = 0.0):
        items = sorted(changes, key=lambda c: c.beat) or [MeterChange(0.0, 4, 4)]
        if items[0].beat != 0.0:
            items.insert(0, MeterChange(0.0, 4, 4))
        pickup = float(pickup)
        if not (math.isfinite(pickup) and 0.0 <= pickup < float(items[0].bar_beats)):
            raise ScoreError(f"a pickup bar must last 0 .. less than one {items[0]} bar "
                             f"({float(items[0].bar_beats):g} beats), got {pickup!r} beats")
        if len(items) > 1 and pickup and items[1].beat < pickup:
            raise ScoreError(f"meter change to {items[1]} at beat {items[1].beat:g} falls in the "
                             f"pickup bar")
        first_bar = [1]
        anchor = [Fraction(pickup).limit_denominator(1 << 20)]   # beat where the segment's first bar starts
        for prev, cur in zip(items, items[1:]):
            cur_beat = Fraction(cur.beat).limit_denominator(1 << 20)
            bars = (cur_beat - anchor[-1]) / prev.bar_beats
            if bars.denominator != 1:
                raise ScoreError(f"meter change to {cur} at beat {cur.beat:g} is not on a bar line "
                                 f"of the {prev} before it")
            first_bar.append(first_bar[-1] + int(bars))
            anchor.append(cur_beat)
        self.changes: tuple[MeterChange, ...] = tuple(items)
        self._first_bar = tuple(first_bar)
        self._anchor = (pickup,) + tuple(c.beat for c in items[1:])
        self._exact = tuple(anchor)        # the same bar lines as exact fractions of a beat
        self.pickup = pickup
        # per change, made once (asked for at every bar by the transforms and the notation):
        # its beat, its bar's length exactly, as (numerator, denominator), and as a float
        self._beats = tuple(c.beat for c in items)
        self._lengths = tuple(c.bar_beats for c in items)
        self._ratios = tuple((n.numerator, n.denominator) for n in self._lengths)
        self._floats = tuple(float(n) for n in self._lengths)

    def meter_at(self, beat: float) -> MeterChange:
        """The meter in force at ``beat``."""
        i = bisect.bisect_right(self._beats, beat + 1e-9) - 1
        return self.changes[max(i, 0)]

    @property
    def first_bar(self) -> int:
        """Number of the first bar: 0 with a pickup, else 1."""
        return 0 if self.pickup else 1

    def bar_start(self, bar: int) -> float:
        """Beat at which ``bar`` begins (bar 0 is the pickup, when there is one)."""
        self._check_bar(bar)
        if bar == 0:
            return 0.0
        i = bisect.bisect_right(self._first_bar, bar) - 1
        if type(bar) is not int:
            return self._anchor[i] + float((bar - self._first_bar[i]) * self._lengths[i])
        num, den = self._ratios[i]
        # float() of the exact (bars * bar length): int / int is correctly rounded
        return self._anchor[i] + (bar - self._first_bar[i]) * num / den

    def _check_bar(self, bar: int) -> None:
        if bar < self.first_bar:
            raise ScoreError(f"bar numbers start at {self.first_bar}"
                             + ("" if self.pickup else " (0 only with a pickup bar)")
                             + f", got {bar}")

    def exact_bar_start(self, bar: int) -> Fraction:
        """:meth:`bar_start` as an exact fraction of a beat (what notation checks bars with)."""
        self._check_bar(bar)
        if bar == 0:
            return Fraction(0)
        i = bisect.bisect_right(self._first_bar, bar) - 1
        return self._exact[i] + (bar - self._first_bar[i]) * self._lengths[i]

    def exact_bar_at(self, beat: Fraction) -> int:
        """:meth:`bar_at` of an exact beat, with no rounding tolerance."""
        if self.pickup and beat < self._exact[0]:
            return 0
        i = max(bisect.bisect_right(self._exact, beat) - 1, 0)
        return self._first_bar[i] + int((beat - self._exact[i]) // self._lengths[i])

    def meter_of_bar(self, bar: int) -> MeterChange:
        """The meter of ``bar`` (of bar 1 for the pickup bar 0)."""
        i = max(bisect.bisect_right(self._first_bar, bar) - 1, 0)
        return self.changes[i]

    def bar_length(self, bar: int) -> Fraction:
        """Exact length of ``bar`` in beats: the pickup's for bar 0, else its meter's bar."""
        if bar == 0 and self.pickup:
            return self._exact[0]
        return self.meter_of_bar(bar).bar_beats

    def bar_at(self, beat: float) -> int:
        """Bar containing ``beat`` (0 inside a pickup bar, else 1-based)."""
        if self.pickup and beat < self.pickup - 1e-9:
            return 0
        i = bisect.bisect_right(self._beats, beat + 1e-9) - 1
        i = max(i, 0)
        return self._first_bar[i] + int(math.floor((beat - self._anchor[i]) / self._floats[i]
                                                   + 1e-9))

    def __eq__(self, other):
        return (isinstance(other, MeterMap) and self.changes == other.changes
                and self.pickup == other.pickup)

    def __hash__(self):
        return hash((self.changes, self.pickup))

    def __repr__(self):
        inner = ", ".join(f"{c} @ {c.beat:g}" for c in self.changes)
        return f"MeterMap([{inner}]" + (f", pickup={self.pickup:g})" if self.pickup else ")")


_MODES = ("major", "minor", "ionian", "dorian", "phrygian", "lydian", "mixolydian",
          "aeolian", "locrian")


def parse_key(text: str) -> tuple[str, str]:
    """``"D minor"`` -> ``("D", "minor")``; also ``"Dm"``, ``"F#"``, ``"Bb major"``."""
    t = str(text).strip()
    parts = t.split()
    if len(parts) == 1 and len(t) >= 2 and t.endswith("m") and t[:-1][:1].upper() in PITCH_CLASSES:
        parts = [t[:-1], "minor"]
    tonic = parts[0] if parts else ""
    mode = parts[1].lower() if len(parts) > 1 else "major"
    if (len(parts) > 2 or not tonic or tonic[0].upper() not in PITCH_CLASSES
            or tonic[1:] not in ("", "#", "b") or mode not in _MODES):
        raise ScoreError(f"not a key: {text!r} (expected e.g. 'D minor', 'Bb major', 'F#m')")
    return tonic[0].upper() + tonic[1:], mode


@dataclass(frozen=True, slots=True)
class KeyChange:
    """Key ``tonic`` ``mode`` (e.g. ``"D"``, ``"minor"``) from ``beat`` on."""

    beat: float
    tonic: str
    mode: str = "major"

    def __post_init__(self):
        parse_key(f"{self.tonic} {self.mode}")

    def __str__(self):
        return f"{self.tonic} {self.mode}"


# ---------------------------------------------------------------- metadata, score

@dataclass(frozen=True)
class Metadata:
    """Title and provenance.

    Parameters
    ----------
    title, composer, arranger : str
    seed : int
        Default seed for seeded transforms and voices.
    provenance : mapping of str to str
        Where the notes come from and what was newly written, e.g. keys
        ``composer_dates``, ``source``, ``original``, ``newly_written``,
        ``generated``, ``stand_in``, ``license``.
    description : str
        One paragraph about the piece or arrangement.
    """

    title: str = "Untitled"
    composer: str = ""
    arranger: str = ""
    seed: int = 0
    provenance: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        object.__setattr__(self, "provenance", dict(self.provenance))

    def __hash__(self):
        return hash((self.title, self.composer, self.seed))


@dataclass(frozen=True)
class Score:
    """A complete piece: parts, tempo, meters, keys and metadata.

    Parameters
    ----------
    parts : tuple of Part
        Unique names.
    tempo : TempoMap
    meters : MeterMap
    keys : tuple of KeyChange
    metadata : Metadata
    master_effects : tuple of mapping
        Effects on the whole mix, in order (``{"type": "reverb", ...}``),
        applied before the master stage's normalisation.
    """

    parts: tuple[Part, ...] = ()
    tempo: TempoMap = field(default_factory=lambda: TempoMap.constant(120.0))
    meters: MeterMap = field(default_factory=MeterMap)
    keys: tuple[KeyChange, ...] = ()
    metadata: Metadata = field(default_factory=Metadata)
    master_effects: tuple[Mapping[str, object], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "master_effects",
                           tuple(FrozenMap(e) for e in self.master_effects))
        parts = tuple(self.parts)
        seen: set[str] = set()
        dup: set[str] = set()
        for p in parts:                 # linear: a canon of 2^k parts checks in O(parts)
            (dup if p.name in seen else seen).add(p.name)
        if dup:
            raise ScoreError(f"duplicate part name(s): {', '.join(sorted(dup))}")
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "keys", tuple(sorted(self.keys, key=lambda k: k.beat)))

    def __hash__(self):
        return hash((self.parts, self.tempo, self.meters, self.keys))

    # -- queries
    @property
    def title(self) -> str:
        return self.metadata.title

    @functools.cached_property
    def end_beat(self) -> float:
        """Beat at which the last note is released (computed once per score)."""
        return max((p.end for p in self.parts), default=0.0)

    @property
    def duration_seconds(self) -> float:
        """Seconds until the last note is released (release tails not included)."""
        return self.tempo.seconds(self.end_beat)

    @property
    def note_count(self) -> int:
        return sum(len(p.notes) for p in self.parts)

    @property
    def bar_count(self) -> int:
        """Number of the last bar touched by the notes (0 for an empty score).

        With a pickup (bar 0) that is one less than the number of bars.
        """
        end = self.end_beat
        if end <= 0:
            return 0
        bar = self.meters.bar_at(end)
        return bar - 1 if self.meters.bar_start(bar) >= end - 1e-9 else bar

    def part(self, name: str) -> Part:
        """The part called ``name``."""
        for p in self.parts:
            if p.name == name:
                return p
        raise ScoreError(f"no part named {name!r} (parts: {', '.join(p.name for p in self.parts)})")

    def key_at(self, beat: float) -> KeyChange | None:
        """Key in force at ``beat`` (None if the score has no key)."""
        cur = None
        for k in self.keys:
            if k.beat <= beat + 1e-9:
                cur = k
        return cur

    # -- building
    def with_parts(self, parts: Iterable[Part]) -> "Score":
        """A copy holding ``parts`` instead."""
        return replace(self, parts=tuple(parts))

    def replace_part(self, part: Part) -> "Score":
        """A copy in which the part of the same name is ``part``."""
        self.part(part.name)
        return self.with_parts(part if p.name == part.name else p for p in self.parts)

    def with_metadata(self, **changes: Any) -> "Score":
        """A copy with metadata fields changed."""
        return replace(self, metadata=replace(self.metadata, **changes))

    def excerpt(self, first_bar: int, last_bar: int) -> "Score":
        """Bars ``first_bar..last_bar`` (1-based, inclusive) as a score of their own.

        Notes sounding in the range are kept and cut at its edges; times,
        tempo, meter and key changes are shifted so the excerpt starts at
        beat 0 with the tempo, meter and key in force at ``first_bar``.

        Raises
        ------
        ScoreError
            If the range is empty or starts before bar 1.
        """
        lowest = self.meters.first_bar
        if first_bar < lowest or last_bar < first_bar:
            raise ScoreError(f"bad bar range {first_bar}..{last_bar} (bars start at {lowest}; "
                             "the last must not come before the first)")
        a = self.meters.bar_start(first_bar)
        b = self.meters.bar_start(last_bar + 1)

        def clip(notes):
            out = []
            for n in notes:
                s, e = max(n.start, a), min(n.end, b)
                if e - s > 1e-9:
                    bend = tuple((max(0.0, o - (s - n.start)), v) for o, v in n.bend
                                 if n.start + o < e)
                    out.append(replace(n, start=s - a, duration=e - s, bend=bend))
            return out

        in_force = [c for c in self.tempo.changes if c.beat <= a][-1]
        inside = [replace(c, beat=c.beat - a) for c in self.tempo.changes if a < c.beat < b]
        ramp = in_force.ramp
        if (inside[-1].ramp if inside else ramp) != "step":
            # a ramp runs on past the excerpt: it ends at the tempo it reaches there
            inside.append(TempoChange(b - a, self.tempo.bpm_at(b)))
        tempo = TempoMap([TempoChange(0.0, self.tempo.bpm_at(a), ramp)] + inside)
        meter0 = self.meters.meter_at(a)
        meters = MeterMap([MeterChange(0.0, meter0.numerator, meter0.denominator)]
                          + [replace(c, beat=c.beat - a) for c in self.meters.changes
                             if a < c.beat < b],
                          pickup=self.meters.pickup if first_bar == 0 else 0.0)
        key0 = self.key_at(a)
        keys = ([replace(key0, beat=0.0)] if key0 else []) + [
            replace(k, beat=k.beat - a) for k in self.keys if a < k.beat < b]
        parts = [p.with_notes(clip(p.notes)) for p in self.parts]
        return replace(self, parts=tuple(parts), tempo=tempo, meters=meters, keys=tuple(keys))


# ---------------------------------------------------------------- budgets

#: What one score may hold, checked after loading, after every transform of an
#: arrangement and after MIDI or MusicXML import, so no input or chain of transforms
#: can ask for unbounded work.  Each is raised by the environment variable named
#: in the message (``SYNTH_MAX_NOTES=5000000``); the defaults are far above any
#: bundled piece (the largest has a few thousand notes in under 20 parts).
BUDGETS = {
    "parts": ("SYNTH_MAX_PARTS", 1024, "parts"),
    "notes": ("SYNTH_MAX_NOTES", 1_000_000, "notes"),
    "simultaneous": ("SYNTH_MAX_SIMULTANEOUS", 1024, "notes sounding at once"),
    "note_seconds": ("SYNTH_MAX_NOTE_SECONDS", 200_000.0, "note-seconds (the sum of every "
                     "note's length: the work of a render)"),
}


def _budget(name: str) -> float:
    env, default, _ = BUDGETS[name]
    text = os.environ.get(env)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ScoreError(f"environment variable {env}={text!r} is not a number") from None
    if not value > 0 or math.isnan(value):
        raise ScoreError(f"environment variable {env}={text!r} must be a positive number")
    return value


def _refuse(name: str, got, where: str) -> ScoreError:
    env, _, what = BUDGETS[name]
    limit = _budget(name)
    shown = f"{got:,.0f}" if isinstance(got, float) else f"{got:,}"
    return ScoreError(f"{where}{shown} {what}, more than the limit of {limit:,.0f} "
                      f"(raise it with the environment variable {env})")


def check_budget(score: "Score", where: str = "") -> None:
    """Raise ScoreError if ``score`` exceeds a budget of :data:`BUDGETS`.

    Parameters
    ----------
    score : Score
    where : str
        Prefix of the message (``"after transform[2] (canon): "``).

    Notes
    -----
    O(n log n) in the number of notes (the simultaneous-note count sorts the
    onsets and ends); a million notes take a fraction of a second.
    """
    parts = len(score.parts)
    if parts > _budget("parts"):
        raise _refuse("parts", parts, where)
    notes = sum(len(p.notes) for p in score.parts)
    if notes > _budget("notes"):
        raise _refuse("notes", notes, where)
    if not notes:
        return
    starts = np.fromiter((n.start for p in score.parts for n in p.notes), np.float64, notes)
    lengths = np.fromiter((n.duration for p in score.parts for n in p.notes), np.float64, notes)
    ends = starts + lengths
    if not (np.isfinite(starts).all() and np.isfinite(ends).all()):
        raise ScoreError(f"{where}a note starts or ends at a non-finite beat")
    seconds = score.tempo.seconds(ends) - score.tempo.seconds(starts)
    total = float(np.sum(seconds))
    if total > _budget("note_seconds"):
        raise _refuse("note_seconds", total, where)
    # notes sounding at once: +1 at each onset, -1 at each end (ends first at a tie)
    times = np.concatenate([ends, starts])
    steps = np.concatenate([-np.ones(notes, np.int64), np.ones(notes, np.int64)])
    order = np.lexsort((steps, times))
    most = int(np.max(np.cumsum(steps[order])))
    if most > _budget("simultaneous"):
        raise _refuse("simultaneous", most, where)
