"""Time transforms: augment, diminish, canon, displace, humanise, remeter."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ScoreError, TransformError
from ..score import MeterChange, MeterMap, Note, Part, Score, TempoMap, parse_meter
from .base import Param, Selection, add_generated, fit_pitch, map_parts, register, voiced_like

if TYPE_CHECKING:
    from collections.abc import Callable
    from .base import Streams

__all__ = ["default_groups", "remeter_map"]


def _scale_times(score: Score, sel: Selection, factor: float) -> Score:
    def per_part(part: Part, mask, span) -> Part:
        anchor = span[0]
        return part.with_notes(
            replace(n, start=anchor + (n.start - anchor) * factor, duration=n.duration * factor)
            if m else n for n, m in zip(part.notes, mask))
    return map_parts(score, sel, per_part)


@register("augment", "time", {
    "factor": Param("float", default=2.0, lo=1e-3, hi=1e3,
                    doc="multiplier of durations and onsets (2 = twice as slow; 0.5 = diminution)"),
})
def augment(score: Score, sel: Selection, streams: Streams, *, factor: float) -> Score:
    """Augmentation: stretch selected notes' onsets and durations by ``factor``,
    measured from the start of the selected span (bar 1 if none)."""
    return _scale_times(score, sel, factor)


@register("diminish", "time", {
    "factor": Param("float", default=2.0, lo=1e-3, hi=1e3,
                    doc="divisor of durations and onsets (2 = twice as fast)"),
})
def diminish(score: Score, sel: Selection, streams: Streams, *, factor: float) -> Score:
    """Diminution: compress selected notes by ``factor`` from the start of the span."""
    return _scale_times(score, sel, 1.0 / factor)


@register("canon", "time", {
    "delay_beats": Param("float", default=2.0, lo=0, hi=1e5, unit="beats",
                         doc="how far behind the leader the follower enters"),
    "interval": Param("float", default=0.0, lo=-48, hi=48, unit="semitones",
                      doc="transposition of the follower"),
    "part": Param("str", default="{part}_canon", doc="name of the new part ('{part}' = leader)"),
    "velocity_scale": Param("float", default=0.85, lo=0, hi=2, doc="velocity of the follower"),
})
def canon(score: Score, sel: Selection, streams: Streams, *, delay_beats: float, interval: float,
          part: str, velocity_scale: float) -> Score:
    """Canon: a delayed (and optionally transposed) copy of each selected part, as a new part."""
    chosen = sel.part_names(score)
    span = sel.span(score)
    if len(chosen) > 1 and "{part}" not in part:
        raise TransformError(f"part: {part!r} would name several canon parts alike; use '{{part}}'")
    for name in chosen:
        src = score.part(name)
        mask = sel.mask(src.notes, span, src.starts)
        notes = [Note(n.start + delay_beats, n.duration,
                      fit_pitch(n.pitch + interval, what=f"canon: {name}: "),
                      max(1, min(127, int(round(n.velocity * velocity_scale)))), n.bend)
                 for n in map(src.notes.__getitem__, np.flatnonzero(mask).tolist())]
        new = voiced_like(src, part.replace("{part}", name), notes)
        score = add_generated(score, new, f"canon of {name!r}, {delay_beats:g} beats later, "
                                          f"{interval:+g} semitones")
    return score


@register("displace", "time", {
    "beats": Param("float", lo=-1e5, hi=1e5, unit="beats",
                   doc="shift of every selected note (positive = later)"),
})
def displace(score: Score, sel: Selection, streams: Streams, *, beats: float) -> Score:
    """Rhythmic displacement: shift selected notes against the bar lines."""
    def per_part(part: Part, mask, span) -> Part:
        out = []
        for n, m in zip(part.notes, mask):
            if m:
                if n.start + beats < 0:
                    raise TransformError(f"beats: shifting {part.name!r} by {beats:g} moves the note "
                                         f"at beat {n.start:g} before the start of the piece")
                n = replace(n, start=n.start + beats)
            out.append(n)
        return part.with_notes(out)
    return map_parts(score, sel, per_part)


@register("humanise", "time", {
    "jitter_beats": Param("float", default=0.02, lo=0, hi=1, unit="beats",
                          doc="standard deviation of random onset shifts"),
    "swing": Param("float", default=0.0, lo=0, hi=1,
                   doc="delay of off-beat eighths: 1 = triplet swing (by 1/6 beat)"),
    "velocity_jitter": Param("float", default=0.0, lo=0, hi=64,
                             doc="standard deviation of random velocity changes"),
})
def humanise(score: Score, sel: Selection, streams: Streams, *, jitter_beats: float, swing: float,
             velocity_jitter: float) -> Score:
    """Swing and seeded jitter of onsets and velocities (one stream per part).

    Swing: a note starting exactly on an off-beat eighth (beat + 1/2) is
    delayed by ``swing / 6`` beats.  Jitter shifts onsets by a normal random
    amount (never before beat 0); the release time is kept where possible.
    """
    def per_part(part: Part, mask, span) -> Part:
        g = streams(part.name)
        k = len(part.notes)
        dt = g.standard_normal(k) * jitter_beats
        dv = g.standard_normal(k) * velocity_jitter
        out = list(part.notes)
        for i in np.flatnonzero(mask).tolist():     # the selected notes only
            n = out[i]
            shift = dt[i]
            if swing and abs((n.start % 1.0) - 0.5) < 1e-9:
                shift += swing / 6.0
            start = max(n.start + shift, 0.0)
            duration = max(n.end - start, n.duration * 0.25)
            vel = min(max(round(n.velocity + dv[i]), 1), 127)
            out[i] = Note(start, duration, n.pitch, vel, n.bend)
        return part.with_notes(out)
    return map_parts(score, sel, per_part)


# ---------------------------------------------------------------- re-metering

def default_groups(numerator: int, denominator: int) -> tuple[int, ...]:
    """Pulse groups (in units of 1/denominator) of a target bar.

    2/4 -> (1, 1); 4/4 -> (1, 1, 1, 1); 5/8 -> (3, 2); 7/8 -> (2, 2, 3);
    6/8 -> (3, 3); other x/8 and x/16: twos with a three at the end if odd.
    """
    if denominator <= 4:
        return (1,) * numerator
    if numerator % 3 == 0 and numerator > 3:
        return (3,) * (numerator // 3)
    if numerator == 5:
        return (3, 2)
    if numerator <= 3:
        return (numerator,)
    twos = (numerator - 3) // 2 if numerator % 2 else numerator // 2
    return (2,) * twos + ((3,) if numerator % 2 else ())


def _bar_knots(src_beats: int, src_unit: Fraction, groups: tuple[int, ...], tgt_unit: Fraction):
    """Breakpoints (source offset, target offset) of one bar, both in quarter-note beats."""
    src = [src_unit * i for i in range(src_beats + 1)]
    bounds = [Fraction(0)]
    for g in groups:
        bounds.append(bounds[-1] + g * tgt_unit)
    m = len(groups)
    if src_beats == m or m == 1 or src_beats == 1:
        if src_beats == m:
            tgt = bounds
        else:
            tgt = [bounds[-1] * i / src_beats for i in range(src_beats + 1)]
    else:
        # downbeat -> first group; the remaining beats spread evenly over the rest
        rest = bounds[-1] - bounds[1]
        tgt = [Fraction(0)] + [bounds[1] + rest * (i - 1) / (src_beats - 1) for i in range(1, src_beats + 1)]
    return src, tgt


def remeter_map(score: Score, bars: tuple[int, int] | None, meter: str,
                groups: tuple[int, ...] | None = None) -> tuple[Callable[[float], float], MeterMap]:
    """The time map of :func:`remeter`: ``(f, new_meters)``.

    ``f(beats)`` maps old absolute beats to new ones (vectorised, strictly
    increasing); ``new_meters`` is the new :class:`MeterMap`.
    """
    num, den = parse_meter(meter)
    tgt_unit = Fraction(4, den)
    grp = tuple(groups) if groups else default_groups(num, den)
    if sum(grp) != num:
        raise TransformError(f"groups: {list(grp)!r} add up to {sum(grp)}, not the {num} of {meter!r}")
    end = max(score.end_beat, 0.0)
    meters = score.meters
    last_bar = max(meters.bar_at(end - 1e-9) if end > 0 else 1, bars[1] if bars else 1)
    first, last = bars if bars else (1, last_bar)
    src_pts = [Fraction(0)]
    tgt_pts = [Fraction(0)]
    pos_old = Fraction(0)
    pos_new = Fraction(0)
    new_changes: list[MeterChange] = []
    prev_sig = None

    known: dict[tuple[int, int], tuple[list, list]] = {}   # a meter's knots, made once

    def knots(bar, mc):
        if first <= bar <= last:
            sig = (mc.numerator, mc.denominator)
            if sig not in known:
                known[sig] = _bar_knots(mc.numerator, Fraction(4, mc.denominator), grp, tgt_unit)
            s, t = known[sig]
            return s, t, (num, den)
        return [Fraction(0), mc.bar_beats], [Fraction(0), mc.bar_beats], (mc.numerator, mc.denominator)

    pickup = Fraction(meters.pickup).limit_denominator(1 << 20)
    if pickup:
        # the pickup bar (bar 0) is the tail of a bar of the first meter, remetered
        # with bar 1: map a whole bar and keep the part after its first
        # (bar - pickup) beats; the new pickup is what that tail becomes
        mc = meters.meter_at(0.0)
        s, t, prev_sig = knots(1, mc)
        cut_old = mc.bar_beats - pickup
        j = next(j for j in range(1, len(s)) if s[j] > cut_old)
        cut_new = t[j - 1] + (t[j] - t[j - 1]) * (cut_old - s[j - 1]) / (s[j] - s[j - 1])
        for a, b in zip(s[j:], t[j:]):
            src_pts.append(a - cut_old)
            tgt_pts.append(b - cut_new)
        new_changes.append(MeterChange(0.0, *prev_sig))
        pos_old, pos_new = pickup, t[-1] - cut_new
    new_pickup = float(pos_new)
    for bar in range(1, last_bar + 2):
        mc = meters.meter_at(float(pos_old))
        bar_len = mc.bar_beats
        s, t, sig = knots(bar, mc)
        if bar <= last_bar and sig != prev_sig:
            new_changes.append(MeterChange(float(pos_new), *sig))
            prev_sig = sig
        for a, b in zip(s[1:], t[1:]):
            src_pts.append(pos_old + a)
            tgt_pts.append(pos_new + b)
        pos_old += bar_len
        pos_new += t[-1]
    xs = np.array([float(x) for x in src_pts])
    ys = np.array([float(y) for y in tgt_pts])

    def f(beats):
        b = np.asarray(beats, dtype=np.float64)
        out = np.interp(b, xs, ys)
        beyond = b > xs[-1]
        out = np.where(beyond, ys[-1] + (b - xs[-1]), out)   # after the last bar: plain shift
        return out
    return f, MeterMap(new_changes, pickup=new_pickup)


@register("remeter", "time", {
    "meter": Param("str", doc="target meter, e.g. '2/4', '4/4', '5/8', '7/8'"),
    "groups": Param("ints", default=(), lo=1, hi=64,
                    doc="pulse groups of the target bar in 1/denominator units (default by meter)"),
}, whole_score=True)
def remeter(score: Score, sel: Selection, streams: Streams, *, meter: str,
            groups: tuple[int, ...] | None) -> Score:
    """Re-meter bar for bar, preserving the order of every note.

    Rule: each source bar becomes one target bar.  The target bar is cut into
    pulse groups (5/8 = 3+2, 7/8 = 2+2+3, 2/4 = 1+1, ...).  If the source bar
    has as many beats as the target has groups, beat ``i`` is stretched or
    squeezed onto group ``i``.  Otherwise the downbeat takes the first group
    and the remaining beats share the remaining groups evenly (3/4 -> 2/4:
    "oom" a quarter, "pah-pah" two eighths: a lurching march).  Times inside
    a beat are mapped linearly, so the map is strictly increasing: onsets keep
    their order and every duration stays positive.  All parts, tempo changes
    and key changes move with the map (the bar grid is shared).
    """
    try:
        parse_meter(meter)
    except ScoreError as exc:
        raise TransformError(f"meter: {exc.message}") from None
    f, new_meters = remeter_map(score, sel.bars, meter, groups or None)
    parts = []
    for p in score.parts:
        if not p.notes:
            parts.append(p)
            continue
        starts = f(np.array([n.start for n in p.notes]))
        ends = f(np.array([n.end for n in p.notes]))
        notes = []
        for n, a, b in zip(p.notes, starts, ends):
            scale = (b - a) / n.duration
            bend = tuple((off * scale, st) for off, st in n.bend)
            notes.append(Note(float(a), float(b - a), n.pitch, n.velocity, bend))
        parts.append(p.with_notes(notes))
    tempo = TempoMap([replace(c, beat=float(f(c.beat))) for c in score.tempo.changes])  # ramps kept
    keys = tuple(replace(k, beat=float(f(k.beat))) for k in score.keys)
    return replace(score, parts=tuple(parts), tempo=tempo, meters=new_meters, keys=keys)
