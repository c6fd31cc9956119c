"""Texture transforms: thin, arpeggiate, ostinato, dynamics (``double`` lives with
``shadow`` in :mod:`synth.transforms.pitch`)."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SynthWarning, TransformError
from ..score import Note, Part, Score
from .base import (Param, Selection, add_generated, fit_pitch, map_parts,
                   onset_groups, register, voiced_like)

if TYPE_CHECKING:
    from .base import Streams


@register("thin", "texture", {
    "max_voices": Param("int", default=0, lo=0, hi=64, unit="notes",
                        doc="keep at most this many notes of each chord (the highest and lowest "
                            "first); 0 = no limit"),
    "probability": Param("float", default=0.0, lo=0, hi=1,
                         doc="seeded chance that a remaining note is dropped"),
})
def thin(score: Score, sel: Selection, streams: Streams, *, max_voices: int,
         probability: float) -> Score:
    """Thinning: reduce chords to their outer voices and drop seeded random notes."""
    def per_part(part: Part, mask, span) -> Part:
        drop = set()
        if max_voices:
            for group in onset_groups(part.notes, mask):
                order = sorted(group, key=lambda i: part.notes[i].pitch)
                keep = []
                lo, hi = 0, len(order) - 1
                while len(keep) < max_voices and lo <= hi:   # outer voices first
                    keep.append(order[hi]); hi -= 1
                    if len(keep) < max_voices and lo <= hi:
                        keep.append(order[lo]); lo += 1
                drop.update(set(group) - set(keep))
        if probability:
            r = streams(part.name).random(len(part.notes))
            drop.update(i for i in range(len(part.notes)) if mask[i] and r[i] < probability)
        return part.with_notes(n for i, n in enumerate(part.notes) if i not in drop)
    return map_parts(score, sel, per_part)


@register("arpeggiate", "texture", {
    "pattern": Param("str", default="up", choices=("up", "down", "updown", "random"),
                     doc="order in which the chord's notes are played"),
    "rate": Param("float", default=0.25, lo=1 / 64, hi=16, unit="beats",
                  doc="time between successive notes of the arpeggio"),
    "hold": Param("bool", default=False, doc="keep each note sounding until the chord ends"),
    "min_notes": Param("int", default=2, lo=2, hi=16, doc="onsets needed to count as a chord"),
})
def arpeggiate(score: Score, sel: Selection, streams: Streams, *, pattern: str, rate: float,
               hold: bool, min_notes: int) -> Score:
    """Arpeggiation: spread each chord over its duration, one note every ``rate`` beats,
    cycling through the chord tones in ``pattern`` order until the chord ends."""
    def per_part(part: Part, mask, span) -> Part:
        g = streams(part.name)
        groups = [gr for gr in onset_groups(part.notes, mask) if len(gr) >= min_notes]
        consumed = set()
        new: list[Note] = []
        for group in groups:
            chord = sorted((part.notes[i] for i in group), key=lambda n: n.pitch)
            consumed.update(group)
            start = chord[0].start
            end = max(n.end for n in chord)
            order = {"up": chord, "down": chord[::-1],
                     "updown": chord + chord[-2:0:-1]}.get(pattern)
            t, k = start, 0
            while t < end - 1e-9:
                n = order[k % len(order)] if order is not None else chord[int(g.integers(len(chord)))]
                stop = end if hold else min(t + rate, end)
                new.append(replace(n, start=t, duration=stop - t, bend=()))
                t += rate
                k += 1
        return part.with_notes([n for i, n in enumerate(part.notes) if i not in consumed] + new)
    return map_parts(score, sel, per_part)


@register("ostinato", "texture", {
    "from_bars": Param("bars", doc="[first, last] bars of the source part that form the pattern"),
    "part": Param("str", default="{part}_ostinato", doc="name of the new part ('{part}' = source)"),
    "mutation": Param("float", default=0.0, lo=0, hi=1,
                      doc="seeded chance per note and repetition of a mutation "
                          "(step up/down, octave leap, or a rest)"),
    "transpose": Param("float", default=0.0, lo=-48, hi=48, unit="semitones",
                       doc="interval of the ostinato against its source"),
})
def ostinato(score: Score, sel: Selection, streams: Streams, *, from_bars: tuple[int, int] | None,
             part: str, mutation: float, transpose: float) -> Score:
    """Ostinato extraction and mutation: repeat the notes of ``from_bars`` through
    the selected span (whole piece by default) as a new part; each repetition
    may mutate notes (seeded), so the figure decays as it repeats."""
    chosen = sel.part_names(score)
    if len(chosen) > 1 and "{part}" not in part:
        raise TransformError(f"part: {part!r} would name several ostinato parts alike; use '{{part}}'")
    a = score.meters.bar_start(from_bars[0])
    b = score.meters.bar_start(from_bars[1] + 1)
    lo, hi = sel.span(score) if sel.bars is not None else (0.0, max(score.end_beat, b))
    for name in chosen:
        src = score.part(name)
        cell = [n for n in src.notes if a - 1e-9 <= n.start < b - 1e-9]
        if not cell:
            raise TransformError(f"from_bars: part {name!r} has no notes in bars "
                                 f"{from_bars[0]}..{from_bars[1]}")
        g = streams(name)
        period = b - a
        notes: list[Note] = []
        rep = 0
        while lo + rep * period < hi - 1e-9:
            base = lo + rep * period
            r = g.random((len(cell), 2))
            for n, (hit, kind) in zip(cell, r):
                start = base + (n.start - a)
                if start >= hi - 1e-9:
                    continue
                pitch = n.pitch + transpose
                if rep > 0 and hit < mutation:
                    if kind < 0.25:
                        continue                       # a rest
                    pitch += (-2, -1, 1, 2, 12, -12)[int(kind * 6) % 6]
                dur = min(n.duration, hi - start)
                notes.append(replace(n, start=start, duration=dur,
                                     pitch=fit_pitch(pitch, what=f"ostinato: {name}: ")))
            rep += 1
        new = voiced_like(src, part.replace("{part}", name), notes)
        score = add_generated(score, new, f"ostinato from bars {from_bars[0]}-{from_bars[1]} of "
                                          f"{name!r}, mutation {mutation:g}")
    return score


@register("dynamics", "texture", {
    "start": Param("float", default=1.0, lo=0, hi=8, doc="velocity factor at the start of the span"),
    "end": Param("float", default=1.0, lo=0, hi=8, doc="velocity factor at the end of the span"),
    "shape": Param("str", default="linear", choices=("linear", "exponential", "swell"),
                   doc="linear ramp, exponential ramp (even in dB), or swell (start -> end -> start)"),
})
def dynamics(score: Score, sel: Selection, streams: Streams, *, start: float, end: float,
             shape: str) -> Score:
    """Dynamic curve: multiply velocities by a factor that moves from ``start`` to
    ``end`` over the selected span (crescendo, diminuendo, swell)."""
    clipped = [0]

    def factor(x: np.ndarray) -> np.ndarray:
        if shape == "swell":
            x = 1.0 - np.abs(2.0 * x - 1.0)
        if shape == "exponential" and start > 0 and end > 0:
            return start * (end / start) ** x
        return start + (end - start) * x

    def per_part(part: Part, mask, span) -> Part:
        lo, hi = span
        x = np.clip((part.starts - lo) / max(hi - lo, 1e-9), 0, 1)
        fac = factor(x)
        out = list(part.notes)
        chosen = np.flatnonzero(mask).tolist()      # the selected notes only
        for i in chosen:
            n = out[i]
            v = int(round(n.velocity * fac[i]))
            if not 1 <= v <= 127:
                clipped[0] += 1
            out[i] = Note(n.start, n.duration, n.pitch, min(max(v, 1), 127), n.bend)
        return part.with_notes(out, changed=chosen)
    result = map_parts(score, sel, per_part)
    if clipped[0]:
        warnings.warn(f"dynamics: {clipped[0]} velocities left 1..127 and were limited to it",
                      SynthWarning, stacklevel=2)
    return result
