"""Generative transforms: chaconne/passacaglia divisions over a ground, and a
Markov melody trained on a part.  Both add a new part marked ``generated``."""

from __future__ import annotations


from typing import TYPE_CHECKING

import numpy as np

from ..errors import TransformError
from ..score import Note, Part, Score, parse_key
from ..params import suggest as _suggest
from .base import Param, Selection, add_generated, register, voiced_like
from .harmony import chord_options, key_of, nearest_index, pitches_in

if TYPE_CHECKING:
    from collections.abc import Sequence
    from .base import Streams

__all__ = ["ground_harmony"]

_STYLES = ("arpeggio", "scale", "bells", "diminution")


def _ground_notes(part: Part, lo: float, hi: float) -> list[Note]:
    """Lowest note at each onset of the ground within ``[lo, hi)``."""
    by_onset: dict[float, Note] = {}
    for n in part.notes:
        if lo - 1e-9 <= n.start < hi - 1e-9:
            k = round(n.start, 9)
            if k not in by_onset or n.pitch < by_onset[k].pitch:
                by_onset[k] = n
    return [by_onset[k] for k in sorted(by_onset)]


def ground_harmony(ground_pc: int, tonic: str, mode: str, g: np.random.Generator) -> tuple[set[int],
                   set[int]]:
    """A seeded chord on the ground note ``ground_pc``: ``(chord_pcs, scale_pcs)``.

    The chord is one a continuo player would put on that bass degree, after
    the rule of the octave (:func:`synth.transforms.harmony.chord_options`,
    weighted; dominants carry the raised leading tone in minor).  The scale
    is the key's melodic scale over that chord (the sixth and seventh of
    minor in the form the chord holds).  Modes other than major and minor
    use their nearest (see :func:`synth.transforms.harmony.key_of`).
    """
    key = key_of(tonic, mode)
    options = chord_options(ground_pc, key)
    weights = np.array([w for _, w in options])
    chord = options[int(g.choice(len(options), p=weights / weights.sum()))][0]
    return set(chord.pcs), set(key.scale_over(chord.pcs, True))


def _bounce(tones: list[float], start: int, count: int, direction: int):
    """``count`` tones walked from ``start`` in ``direction`` (+1/-1), turning at either end.

    Returns the tones and the direction the walk ends in (the next figure
    carries on from it).
    """
    seq, i = [], start
    for _ in range(count):
        seq.append(tones[i])
        if not 0 <= i + direction < len(tones):
            direction = -direction
        i += direction
    return seq, direction


@register("divisions", "generate", {
    "ground": Param("str", default="ground", doc="the part that holds the ground bass"),
    "part": Param("str", default="divisions", doc="name of the new part"),
    "styles": Param("strs", default=_STYLES, choices=_STYLES,
                    doc="figures to choose from: arpeggio, scale (runs), bells, diminution"),
    "low": Param("pitch", default=62.0, lo=0, hi=127, unit="MIDI or note name", doc="lowest pitch"),
    "high": Param("pitch", default=86.0, lo=0, hi=127, unit="MIDI or note name", doc="highest pitch"),
    "subdivision": Param("int", default=4, lo=1, hi=12, unit="notes per beat",
                         doc="notes per quarter-note beat of the running figures"),
    "change_bars": Param("int", default=4, lo=1, hi=1000, unit="bars",
                         doc="bars between (seeded) changes of figure"),
    "key": Param("str", default="", doc="key of the harmony (default: the score's key at each bar)"),
    "velocity": Param("int", default=72, lo=1, hi=127, doc="velocity of the figures"),
})
def divisions(score: Score, sel: Selection, streams: Streams, *, ground: str, part: str,
              styles: Sequence[str], low: float, high: float, subdivision: int, change_bars: int,
              key: str, velocity: int) -> Score:
    """Chaconne / passacaglia divisions over a ground bass, from a seed.

    For each note of the ground a chord is chosen by the rule of the octave
    (seeded; see :func:`ground_harmony`).  Over the ground note's span a
    figure runs at ``subdivision`` notes per beat: an arpeggio through the
    chord tones, a scale run that starts on a chord tone, a descending bell
    peal of chord tones, or a diminution of the ground's own notes in the
    upper register.  Constraint: the first note over every ground note is a
    chord tone of the chosen chord, and every note belongs to the key's scale
    or the chord.  (For two voices composed by a plan, with cadences, phrases
    and textures, use ``chaconne``.)  The figure changes every ``change_bars`` bars.
    """
    names = [p.name for p in score.parts]
    if ground not in names:
        raise TransformError(f"ground: no part named {ground!r}{_suggest(ground, names)} "
                             f"(parts: {', '.join(names) or 'none'})")
    if high - low < 12:
        raise TransformError(f"high: the range {low:g}..{high:g} must span at least an octave")
    if key:
        try:
            fixed_key = parse_key(key)
        except Exception as exc:   # ScoreError -> name our key
            raise TransformError(f"key: {getattr(exc, 'message', exc)}") from None
    lo, hi = sel.span(score)
    gnotes = _ground_notes(score.part(ground), lo, hi)
    if not gnotes:
        raise TransformError(f"ground: part {ground!r} has no notes in the selected bars")
    g_harm = streams("harmony")
    g_fig = streams("figures")
    notes: list[Note] = []
    pos = (low + high) / 2.0
    direction = 1
    style = None
    style_block = None
    for idx, gn in enumerate(gnotes):
        span_end = gnotes[idx + 1].start if idx + 1 < len(gnotes) else max(gn.end, gn.start + 1.0)
        span_end = min(span_end, hi)
        length = span_end - gn.start
        if length <= 1e-9:
            continue
        bar = score.meters.bar_at(gn.start)
        block = (bar - 1) // change_bars
        if block != style_block:
            style = styles[int(g_fig.integers(len(styles)))]
            style_block = block
        if key:
            tonic, mode = fixed_key
        else:
            kc = score.key_at(gn.start)
            tonic, mode = (kc.tonic, kc.mode) if kc else ("C", "major")
        gpc = int(round(gn.pitch)) % 12
        chord, scale = ground_harmony(gpc, tonic, mode, g_harm)
        chord_tones = pitches_in(chord, low, high)
        scale_tones = pitches_in(scale | chord, low, high)
        count = max(1, int(round(length * (2 if style == "bells" else subdivision))))
        dur = length / count
        seq: list[float] = []
        if style == "arpeggio":
            seq, direction = _bounce(chord_tones, nearest_index(chord_tones, pos), count,
                                     direction)
        elif style == "scale":
            start = scale_tones.index(chord_tones[nearest_index(chord_tones, pos)])
            seq, direction = _bounce(scale_tones, start, count, direction)
        elif style == "bells":
            top = nearest_index(chord_tones, pos)
            peal = chord_tones[max(0, top - 3):top + 1][::-1] or [chord_tones[top]]
            if len(peal) > 2 and g_fig.random() < 0.5:   # a "change": swap an inner pair
                k = 1 + int(g_fig.integers(len(peal) - 2))
                peal[k], peal[k + 1] = peal[k + 1], peal[k]
            seq = [peal[k % len(peal)] for k in range(count)]
        else:   # diminution: the ground's own notes, high and fast, starting on this one
            motif = [int(round(x.pitch)) % 12 for x in gnotes[idx:idx + 3]] or [gpc]
            cur = pos
            for k in range(count):
                pcs = {motif[k % len(motif)]}
                cand = pitches_in(pcs, low, high)
                cur = cand[nearest_index(cand, cur)]
                seq.append(cur)
        for k, p in enumerate(seq):
            notes.append(Note(gn.start + k * dur, dur, float(p), velocity))
        pos = seq[-1]
    return add_generated(score, Part(part, tuple(notes)),
                         f"chaconne divisions over the ground {ground!r} "
                         f"(styles {', '.join(styles)}), seeded")


@register("markov", "generate", {
    "source": Param("str", default="", doc="part to learn from (default: the first selected part)"),
    "part": Param("str", default="{source}_markov", doc="name of the new part"),
    "order": Param("int", default=1, lo=1, hi=4, doc="notes of context per choice"),
    "transpose": Param("float", default=0.0, lo=-48, hi=48, unit="semitones",
                       doc="interval of the generated melody against its model"),
})
def markov(score: Score, sel: Selection, streams: Streams, *, source: str, part: str, order: int,
           transpose: float) -> Score:
    """A Markov melody: learn (pitch, duration) transitions from a part and walk them.

    The top note at each onset of ``source`` forms the training sequence.  A
    walk of order ``order`` fills the selected span (whole piece if no bars);
    when the walk reaches a context never continued, it restarts at a seeded
    random context.  The last note is cut at the end of the span.
    """
    names = [p.name for p in score.parts]
    src_name = source or (sel.part_names(score) or [""])[0]
    if src_name not in names:
        raise TransformError(f"source: no part named {src_name!r}{_suggest(src_name, names)}")
    src = score.part(src_name)
    tops: dict[float, Note] = {}
    for n in src.notes:
        k = round(n.start, 9)
        if k not in tops or n.pitch > tops[k].pitch:
            tops[k] = n
    seq = [tops[k] for k in sorted(tops)]
    tokens = [(n.pitch, n.duration, n.velocity) for n in seq]
    if len(tokens) <= order:
        raise TransformError(f"source: part {src_name!r} has {len(tokens)} notes; "
                             f"an order-{order} model needs more than {order}")
    table: dict[tuple, list] = {}
    for i in range(len(tokens) - order):
        table.setdefault(tuple(tokens[i:i + order]), []).append(tokens[i + order])
    contexts = sorted(table)
    g = streams(src_name)
    lo, hi = sel.span(score)
    ctx = contexts[int(g.integers(len(contexts)))]
    out: list[Note] = []
    t = lo
    pending = list(ctx)
    while t < hi - 1e-9:
        if not pending:
            choices = table.get(ctx)
            if not choices:
                ctx = contexts[int(g.integers(len(contexts)))]
                choices = table[ctx]
            nxt = choices[int(g.integers(len(choices)))]
            ctx = ctx[1:] + (nxt,)
            pending = [nxt]
        pitch, dur, vel = pending.pop(0)
        dur = min(dur, hi - t)
        p = pitch + transpose
        if not 0 <= p <= 127:
            p = pitch
        out.append(Note(t, dur, p, vel))
        t += dur
    name = part.replace("{source}", src_name)
    return add_generated(score, voiced_like(src, name, out),
                         f"order-{order} Markov melody trained on {src_name!r}, seeded")
