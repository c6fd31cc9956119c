"""Pitch transforms: transpose, invert, retrograde, octave, remap, detune,
shadow, double, cluster, drone.

Each is registered by name (see :mod:`synth.transforms.base`); parameters are
documented in ``docs/transforms.md``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ScoreError, TransformError
from ..score import Note, Part, Score
from ..tuning import load_tuning
from ..units import PITCH_CLASSES
from .base import (Param, Selection, add_generated, fit_pitch, map_parts,
                   onset_groups, register, voiced_like)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from .base import Streams

__all__ = ["SCALES", "scale_pitch_classes"]

#: Scales as semitone steps above the tonic (one octave).
SCALES: dict[str, tuple[float, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "whole_tone": (0, 2, 4, 6, 8, 10),
    "octatonic": (0, 1, 3, 4, 6, 7, 9, 10),       # half-whole diminished
    "octatonic_wh": (0, 2, 3, 5, 6, 8, 9, 11),    # whole-half diminished
    "pentatonic": (0, 2, 4, 7, 9),
    "chromatic": tuple(range(12)),
}


def _tonic_pc(text: str) -> int:
    t = text.strip()
    if not t or t[0].upper() not in PITCH_CLASSES or t[1:] not in ("", "#", "b"):
        raise TransformError(f"tonic: not a pitch class: {text!r} (expected e.g. 'D', 'F#', 'Bb')")
    return (PITCH_CLASSES[t[0].upper()] + {"": 0, "#": 1, "b": -1}[t[1:]]) % 12


def scale_pitch_classes(tonic: str, scale: str) -> np.ndarray:
    """Pitch classes (0..11, float) of ``scale`` on ``tonic``, ascending from the tonic."""
    return (np.asarray(SCALES[scale], dtype=np.float64) + _tonic_pc(tonic)) % 12


def _default_tonic(score: Score, span) -> tuple[str, str]:
    key = score.key_at(span[0])
    if key is None:
        return "C", "major"
    return key.tonic, key.mode


def _each_selected(fn):
    """Wrap a note -> note function as a map_parts callback."""
    def per_part(part: Part, mask, span) -> Part:
        out = list(part.notes)
        chosen = np.flatnonzero(mask).tolist()      # the selected notes only
        for i in chosen:
            out[i] = fn(out[i], part)
        return part.with_notes(out, changed=chosen)
    return per_part


# ---------------------------------------------------------------- moving by steps of a tuning

_TUNING_PARAM = Param("str", default="", doc="count the interval in steps of this tuning ('19-edo', "
                      "'31-edo', 'just', 'just-7' or a .scl file) instead of 100-cent semitones")


def interval_mover(tuning: str, interval: float, key: str) -> Callable[[float], float]:
    """``pitch -> pitch`` moved by ``interval``: semitones, or steps of ``tuning``.

    With a tuning, a note is read as the tuning's nearest key plus a remainder
    (a detuned note keeps its detuning), and moved ``interval`` keys along
    the tuning's keyboard: in 19-EDO one step is 63.2 cents; in a just scale
    the steps are the scale's own unequal ones.  Without one (``""``), the
    interval is in semitones of 100 cents, whatever tuning the notes were
    written in.

    Raises
    ------
    TransformError
        An unknown tuning, or a fractional number of steps (naming ``key``).
    """
    if not tuning:
        return lambda pitch: pitch + interval
    if float(interval) != int(interval):
        raise TransformError(f"{key}: with tuning {tuning!r} the interval counts steps and must be "
                             f"a whole number, got {interval!r}")
    try:
        t = load_tuning(tuning)
    except ScoreError as exc:
        raise TransformError(f"tuning: {exc.message}") from None
    keys, pitches = [], []
    for k in range(t.kbm.first, t.kbm.last + 1):
        try:
            p = t.pitch(k)
        except ScoreError:      # a key the keyboard mapping leaves out
            continue
        if 0.0 <= p <= 127.0:
            keys.append(k)
            pitches.append(p)
    table = np.asarray(pitches)
    steps = int(interval)

    def move(pitch: float) -> float:
        i = int(np.argmin(np.abs(table - pitch)))
        j = i + steps
        if not 0 <= j < len(table):
            return pitch + 1000.0           # off the keyboard: fit_pitch reports it
        return float(table[j] + (pitch - table[i]))
    return move


# ---------------------------------------------------------------- transpose, invert

@register("transpose", "pitch", {
    "semitones": Param("float", lo=-96, hi=96, unit="semitones (or steps)",
                       doc="interval to move by; fractional values are microtonal; with "
                           "`tuning`, steps of that tuning"),
    "tuning": _TUNING_PARAM,
})
def transpose(score: Score, sel: Selection, streams: Streams, *, semitones: float,
              tuning: str) -> Score:
    """Move every selected note by ``semitones`` (or by that many steps of ``tuning``)."""
    move = interval_mover(tuning, semitones, "semitones")
    return map_parts(score, sel, _each_selected(
        lambda n, p: Note(n.start, n.duration, fit_pitch(move(n.pitch), what=f"transpose: {p.name}: "),
                          n.velocity, n.bend)))


@register("invert", "pitch", {
    "axis": Param("pitch", default=62.0, lo=0, hi=127, unit="MIDI or note name",
                  doc="mirror pitch: each note goes as far below it as it was above"),
})
def invert(score: Score, sel: Selection, streams: Streams, *, axis: float) -> Score:
    """Mirror selected pitches around ``axis``: p -> 2*axis - p (intervals flip)."""
    return map_parts(score, sel, _each_selected(
        lambda n, p: Note(n.start, n.duration,
                          fit_pitch(2.0 * axis - n.pitch, what=f"invert: {p.name}: "),
                          n.velocity, n.bend)))


@register("retrograde", "pitch", {})
def retrograde(score: Score, sel: Selection, streams: Streams) -> Score:
    """Play the selected notes backwards within the selected span.

    A note at ``[start, end)`` moves to ``[lo + hi - end, lo + hi - start)``
    where ``[lo, hi)`` is the span of the selected bars (whole piece: from 0
    to the score's last release).  Applying it twice restores the score.
    """
    def per_part(part: Part, mask, span) -> Part:
        lo, hi = span
        out = []
        for n, m in zip(part.notes, mask):
            if m:
                new_start = max((lo + hi) - n.end, 0.0)
                out.append(Note(new_start, n.duration, n.pitch, n.velocity, n.bend))
            else:
                out.append(n)
        return part.with_notes(out)
    return map_parts(score, sel, per_part)


@register("octave", "pitch", {
    "octaves": Param("int", default=1, lo=1, hi=4, unit="octaves", doc="distance of a displacement"),
    "direction": Param("str", default="random", choices=("up", "down", "random"),
                       doc="which way displaced notes move"),
    "probability": Param("float", default=0.5, lo=0, hi=1, doc="chance that a note is displaced"),
})
def octave(score: Score, sel: Selection, streams: Streams, *, octaves: int, direction: str,
           probability: float) -> Score:
    """Octave displacement: move a seeded random choice of notes by whole octaves."""
    def per_part(part: Part, mask, span) -> Part:
        g = streams(part.name)
        n_notes = len(part.notes)
        hit = g.random(n_notes) < probability
        up = g.random(n_notes) < 0.5
        out = list(part.notes)
        chosen = np.flatnonzero(mask & hit).tolist()    # the selected, displaced notes only
        for i in chosen:
            n = out[i]
            sign = 1 if direction == "up" else -1 if direction == "down" else (1 if up[i] else -1)
            out[i] = Note(n.start, n.duration, fit_pitch(n.pitch + 12 * octaves * sign,
                                                         what=f"octave: {part.name}: "),
                          n.velocity, n.bend)
        return part.with_notes(out, changed=chosen)
    return map_parts(score, sel, per_part)


# ---------------------------------------------------------------- modal remap

@register("remap", "pitch", {
    "to_scale": Param("str", choices=tuple(SCALES), doc="target scale or mode"),
    "from_scale": Param("str", default="", choices=("",) + tuple(SCALES),
                        doc="source scale (default: the mode of the score's key, else major)"),
    "tonic": Param("str", default="", doc="tonic pitch class of both scales (default: the key's)"),
})
def remap(score: Score, sel: Selection, streams: Streams, *, to_scale: str, from_scale: str,
          tonic: str) -> Score:
    """Map scale degrees of one scale onto another (major -> Locrian, onto octatonic).

    Rule: a pitch is split into octave, the scale degree at or below it in the
    source scale and a remainder (chromatic alteration or microtone).  Degree
    ``d`` of an ``n``-note source scale becomes degree ``floor(d*m/n + 1/2)`` of
    the ``m``-note target scale, in the same octave, plus the same remainder.
    """
    key_tonic, key_mode = _default_tonic(score, sel.span(score))
    tonic = tonic or key_tonic
    src_name = from_scale or (key_mode if key_mode in SCALES else "major")
    base = _tonic_pc(tonic)
    src = np.asarray(SCALES[src_name], dtype=np.float64)
    tgt = np.asarray(SCALES[to_scale], dtype=np.float64)
    n_src, n_tgt = len(src), len(tgt)

    def move(n: Note, part: Part) -> Note:
        rel = n.pitch - base
        octave_n = math.floor(rel / 12.0 + 1e-9)
        pc = rel - 12.0 * octave_n
        d = int(np.searchsorted(src, pc + 1e-9, side="right") - 1)
        rest = pc - src[d]
        t = int(math.floor(d * n_tgt / n_src + 0.5)) % n_tgt
        new = base + 12.0 * octave_n + tgt[t] + rest
        return Note(n.start, n.duration, fit_pitch(float(new), what=f"remap: {part.name}: "),
                    n.velocity, n.bend)

    return map_parts(score, sel, _each_selected(move))


# ---------------------------------------------------------------- detune

def _drift_curve(g: np.random.Generator, beats: np.ndarray, end: float,
                 period: float) -> np.ndarray:
    """Smooth random curve (unit standard deviation at its knots) sampled at ``beats``.

    Knots every ``period`` beats carry independent N(0, 1) values; between
    knots a raised-cosine blend joins them, so the drift is slow and smooth.
    """
    n_knots = int(math.ceil(end / period)) + 2
    knots = g.standard_normal(n_knots)
    pos = beats / period
    i = np.clip(np.floor(pos).astype(int), 0, n_knots - 2)
    frac = pos - i
    w = 0.5 - 0.5 * np.cos(np.pi * frac)
    return knots[i] * (1.0 - w) + knots[i + 1] * w


def _drawn(g: np.random.Generator, key: tuple, make: Callable[[np.random.Generator], np.ndarray]
           ) -> np.ndarray:
    """``make(g)`` (which draws from a fresh ``g`` and nothing else will), kept per
    starting state of ``g`` and ``key``: a tension curve runs detune once per
    segment, and each segment draws the same numbers for the same notes."""
    k = (repr(g.bit_generator.state),) + key       # the generator's kind and whole state
    drawn = _DRAWN.get(k)
    if drawn is None:
        if len(_DRAWN) >= 64:
            _DRAWN.clear()
        drawn = _DRAWN[k] = make(g)
        drawn.flags.writeable = False
    return drawn


_DRAWN: dict[tuple, np.ndarray] = {}


@register("detune", "pitch", {
    "cents": Param("float", default=0.0, lo=-1200, hi=1200, unit="cents",
                   doc="fixed offset of every selected note"),
    "drift_cents": Param("float", default=0.0, lo=0, hi=1200, unit="cents",
                         doc="size (standard deviation) of a seeded slow random drift"),
    "drift_beats": Param("float", default=8.0, lo=0.25, hi=1e6, unit="beats",
                         doc="time between independent drift values (larger = slower)"),
    "spread_cents": Param("float", default=0.0, lo=0, hi=1200, unit="cents",
                          doc="independent seeded random offset per note (standard deviation)"),
})
def detune(score: Score, sel: Selection, streams: Streams, *, cents: float, drift_cents: float,
           drift_beats: float, spread_cents: float) -> Score:
    """Microtonal detune: a fixed offset, plus a slow seeded drift, plus per-note spread.

    The drift is a smooth curve over the piece, one per part (its own seed
    stream), so a detuned part wanders against the others like an unstable
    tape or oscillator.
    """
    end = max(score.end_beat, 1.0)

    def per_part(part: Part, mask, span) -> Part:
        starts = part.starts
        offset = np.full(len(starts), cents)
        if drift_cents:
            offset += drift_cents * _drawn(streams(part.name, "drift"),
                                           ("drift", starts.tobytes(), end, drift_beats),
                                           lambda g: _drift_curve(g, starts, end, drift_beats))
        if spread_cents:
            offset += spread_cents * _drawn(streams(part.name, "spread"), ("spread", len(starts)),
                                            lambda g: g.standard_normal(len(starts)))
        out = list(part.notes)
        chosen = np.flatnonzero(mask).tolist()      # the selected notes only
        for i in chosen:
            n = out[i]
            out[i] = Note(n.start, n.duration, fit_pitch(n.pitch + offset[i] / 100.0,
                                                         what=f"detune: {part.name}: "),
                          n.velocity, n.bend)
        return part.with_notes(out, changed=chosen)
    return map_parts(score, sel, per_part)


# ---------------------------------------------------------------- shadow, double

def _parallel(score: Score, sel: Selection, *, interval: float, part: str, velocity_scale: float,
              what: str, tuning: str = "") -> Score:
    chosen = sel.part_names(score)
    span = sel.span(score)
    move = interval_mover(tuning, interval, "interval")
    for name in chosen:
        src = score.part(name)
        mask = sel.mask(src.notes, span, src.starts)
        copies = [Note(n.start, n.duration, fit_pitch(move(n.pitch), what=f"{what}: {name}: "),
                       max(1, min(127, int(round(n.velocity * velocity_scale)))), n.bend)
                  for n in map(src.notes.__getitem__, np.flatnonzero(mask).tolist())]
        if not part:
            score = score.replace_part(src.with_notes(src.notes + tuple(copies), changed=()))
            continue
        new_name = part.replace("{part}", name)
        if new_name in chosen or (len(chosen) > 1 and "{part}" not in part):
            raise TransformError(f"part: new part name {part!r} would collide; use '{{part}}' in it "
                                 f"when several parts are selected")
        new = voiced_like(src, new_name, copies)
        score = add_generated(score, new, f"{what} of part {name!r} at {interval:+g} semitones")
    return score


_PARALLEL_PARAMS = {
    "part": Param("str", default="", doc="name of a new part for the copy ('{part}' = source "
                                         "name); empty: add the notes to the part itself"),
    "velocity_scale": Param("float", default=0.8, lo=0, hi=2, doc="velocity of the copy relative "
                                                                  "to the original"),
    "tuning": _TUNING_PARAM,
}


@register("shadow", "pitch", {
    "interval": Param("float", default=1.0, lo=-48, hi=48, unit="semitones",
                      doc="distance of the shadow (1 = minor second, 6 = tritone, 11 = major seventh)"),
    **_PARALLEL_PARAMS,
})
def shadow(score: Score, sel: Selection, streams: Streams, *, interval: float, part: str,
           velocity_scale: float, tuning: str) -> Score:
    """A parallel voice a dissonant interval away, in the part or as a new part."""
    return _parallel(score, sel, interval=interval, part=part, velocity_scale=velocity_scale,
                     what="shadow", tuning=tuning)


@register("double", "texture", {
    "interval": Param("float", default=12.0, lo=-48, hi=48, unit="semitones",
                      doc="distance of the doubling (12 = octave above)"),
    **_PARALLEL_PARAMS,
})
def double(score: Score, sel: Selection, streams: Streams, *, interval: float, part: str,
           velocity_scale: float, tuning: str) -> Score:
    """Doubling at a consonant interval (octave by default), in the part or as a new part."""
    return _parallel(score, sel, interval=interval, part=part, velocity_scale=velocity_scale,
                     what="doubling", tuning=tuning)


# ---------------------------------------------------------------- cluster

@register("cluster", "pitch", {
    "width": Param("int", default=2, lo=1, hi=12, unit="notes", doc="tones added to each chord"),
    "step": Param("float", default=1.0, lo=0.01, hi=12, unit="semitones",
                  doc="spacing of the added tones (fractional = microtonal cluster)"),
    "position": Param("str", default="above", choices=("above", "below", "around"),
                      doc="added above the top note, below the bottom note, or alternately"),
    "min_notes": Param("int", default=2, lo=1, hi=16, unit="notes",
                       doc="simultaneous onsets needed to count as a chord (1 = every note)"),
    "velocity_scale": Param("float", default=0.8, lo=0, hi=2, doc="velocity of added tones"),
})
def cluster(score: Score, sel: Selection, streams: Streams, *, width: int, step: float,
            position: str, min_notes: int, velocity_scale: float) -> Score:
    """Thicken chords into tone clusters: ``width`` tones ``step`` semitones apart."""
    def per_part(part: Part, mask, span) -> Part:
        added = []
        for group in onset_groups(part.notes, mask):
            if len(group) < min_notes:
                continue
            chord = [part.notes[i] for i in group]
            top = max(chord, key=lambda n: n.pitch)
            bottom = min(chord, key=lambda n: n.pitch)
            for k in range(1, width + 1):
                if position == "above" or (position == "around" and k % 2 == 1):
                    ref, off = top, step * ((k + 1) // 2 if position == "around" else k)
                else:
                    ref, off = bottom, -step * ((k + 1) // 2 if position == "around" else k)
                added.append(Note(ref.start, ref.duration,
                                  fit_pitch(ref.pitch + off, what=f"cluster: {part.name}: "),
                                  max(1, min(127, int(round(ref.velocity * velocity_scale)))),
                                  ref.bend))
        return part.with_notes(part.notes + tuple(added), changed=())
    return map_parts(score, sel, per_part)


# ---------------------------------------------------------------- drone

@register("drone", "pitch", {
    "pitches": Param("pitches", default=(38.0,), lo=0, hi=127, unit="MIDI or note names",
                     doc="the held pitches (e.g. ['D2', 'A2'])"),
    "part": Param("str", default="drone", doc="name of the new part"),
    "velocity": Param("int", default=60, lo=1, hi=127, doc="velocity of the drone notes"),
    "retrigger_bars": Param("int", default=0, lo=0, hi=10000, unit="bars",
                            doc="restrike every N bars (0: one note over the whole span)"),
})
def drone(score: Score, sel: Selection, streams: Streams, *, pitches: Sequence[float], part: str,
          velocity: int, retrigger_bars: int) -> Score:
    """A drone or pedal point: held pitches under the selected bars (a new part)."""
    lo, hi = sel.span(score)
    if hi <= lo:
        raise TransformError("bars: the drone's span is empty (the score has no notes and no bars were given)")
    if retrigger_bars:
        first = score.meters.bar_at(lo)
        last = score.meters.bar_at(hi - 1e-9)
        cuts = [score.meters.bar_start(b) for b in range(first, last + 1, retrigger_bars)] + [hi]
    else:
        cuts = [lo, hi]
    notes = [Note(a, b - a, p, velocity) for a, b in zip(cuts, cuts[1:]) if b > a for p in pitches]
    if part in [p.name for p in score.parts]:
        existing = score.part(part)
        return add_generated(score, existing.with_notes(existing.notes + tuple(notes), changed=()),
                             "drone/pedal point")
    return add_generated(score, Part(part, tuple(notes)), "drone/pedal point")
