"""Generate ``sonnerie.toml``: Marais's ground, form and key plan, with newly
composed violin and viol divisions over it.

What is Marais's (after ``shared/reference/PIECES.md``): the three-bell
ground D-F-E in every bar, the 302 bars, the entries (ground alone in bars
1-4, violin from bar 5, violin and viol taking turns with the melody) and the
key plan (D minor 1-170, A minor 171-207, F major 208-252, D minor 253-302).
Assumed: triple metre with one statement of the ground per bar, in plain
quarter notes; the ground's dynamics; a closing tonic chord after bar 302.
Newly written here: every violin and viol note above the ground, composed by
synth's ``chaconne`` transform (harmony by the rule of the octave, phrases
with cadences, developing figures, textures and dynamics: see
``docs/transforms.md``) from a fixed seed.

Run from anywhere::

    python arrangements/sources/make_sonnerie.py [OUT.toml]

It rewrites ``sonnerie.toml`` next to this script; re-running it reproduces
the file byte for byte (``tests/test_pieces.py`` checks this).
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction

from synth.scorefile import parse_score_toml
from synth.transforms import make

#: Seed of the composed divisions (fixed: the source is one fixed text).
SEED = 1723
BARS = 302                 # Marais's bars; bar 303 is the closing chord
TEMPO_BPM = 113            # 303 bars x 3 beats at 113 bpm: about 8 minutes
FINAL_TEMPO_BPM = 96       # a small broadening over the last statements
KEY_PLAN = ((1, "D minor"), (171, "A minor"), (208, "F major"), (253, "D minor"))
BEATS = 3

_SPELL = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
#: written values of the notation, in beats (quarter notes), longest first
_VALUES = ((Fraction(3), "2."), (Fraction(2), "2"), (Fraction(3, 2), "4."), (Fraction(1), "4"),
           (Fraction(3, 4), "8."), (Fraction(1, 2), "8"), (Fraction(1, 4), "16"))


def spell(pitch: float) -> str:
    """Note name of an integer MIDI pitch (flats only for B-flat and E-flat)."""
    p = int(round(pitch))
    return f"{_SPELL[p % 12]}{p // 12 - 1}"


def _skeleton() -> str:
    keys = "".join(f'\n[[key]]\nbar = {bar}\nkey = "{key}"\n' for bar, key in KEY_PLAN[1:])
    return (f'[score]\ntempo = {TEMPO_BPM}\nmeter = "3/4"\nkey = "{KEY_PLAN[0][1]}"\n{keys}\n'
            f'[parts.ground]\nnotes = "|: D3:4 F3 E3 :|x{BARS} D3:2."\n'
            f'[parts.violin]\nnotes = "R"\n[parts.viol]\nnotes = "R"\n')


def compose():
    """The skeleton with the composed divisions (a :class:`synth.score.Score`)."""
    score = parse_score_toml(_skeleton(), source="<sonnerie skeleton>")
    return make("chaconne", ground="ground", upper="violin", lower="viol")(score, seed=SEED)


# ---------------------------------------------------------------- notation

def _split(d: Fraction) -> list[Fraction]:
    """``d`` beats as a sum of written values, longest first."""
    out = []
    for v, _ in _VALUES:
        while d >= v:
            out.append(v)
            d -= v
    if d:
        raise AssertionError(f"duration {d} has no written value")
    return out


class _Writer:
    """Tokens for one part, tracking the sticky duration and velocity."""

    def __init__(self):
        self.dur = None
        self.vel = None

    def token(self, name: str, value: Fraction, written: Fraction, vel: int | None,
              tie: bool) -> str:
        out = ""
        if vel is not None and vel != self.vel:
            out += f"v{vel} "
            self.vel = vel
        out += name
        if written != self.dur:
            out += ":" + dict((v, t) for v, t in _VALUES)[written]
            self.dur = written
        return out + ("~" if tie else "")


def _segments(notes, bar: int):
    """(offset, length, pitch or None, velocity, tied-on) pieces of one bar."""
    b0 = Fraction(BEATS * (bar - 1))
    b1 = b0 + BEATS
    segs = []
    t = b0
    for n in notes:
        s = Fraction(n.start).limit_denominator(48)
        e = s + Fraction(n.duration).limit_denominator(48)
        if e <= b0 or s >= b1:
            continue
        s0, e0 = max(s, b0), min(e, b1)
        if s0 > t:
            segs.append((t - b0, s0 - t, None, None, False))
        segs.append((s0 - b0, e0 - s0, n.pitch, n.velocity, e > b1))
        t = e0
    if t < b1:
        segs.append((t - b0, b1 - t, None, None, False))
    return segs


def _bar_text(w: _Writer, notes, bar: int) -> str:
    segs = _segments(notes, bar)
    if all(p is None for _, _, p, _, _ in segs):
        return "R |"
    tokens = []
    beat_tuplet = {}
    for off, length, _, _, _ in segs:   # a beat with a third in it is written as a triplet
        if (off * 4).denominator != 1 or (length * 4).denominator != 1:
            beat_tuplet[int(off)] = True
    i = 0
    while i < len(segs):
        off, length, pitch, vel, tie = segs[i]
        name = "r" if pitch is None else spell(pitch)
        if beat_tuplet.get(int(off)):
            group = []
            beat = int(off)
            while i < len(segs) and int(segs[i][0]) == beat and segs[i][0] < beat + 1:
                o, ln, p, v, tt = segs[i]
                written = ln * Fraction(3, 2)
                group.append(w.token("r" if p is None else spell(p), ln, written, v, tt))
                i += 1
            tokens.append("(3 " + " ".join(group) + ")")
            continue
        pieces = _split(length)
        for k, piece in enumerate(pieces):
            last = k == len(pieces) - 1
            tokens.append(w.token(name, piece, piece, vel if k == 0 else None,
                                  (tie if last else pitch is not None)))
        i += 1
    return " ".join(tokens) + " |"


def _plan(score) -> list[tuple[int, int, str]]:
    """(first bar, last bar, texture) of each phrase, from the transform's provenance."""
    out = []
    for item in score.metadata.provenance["divisions_plan"].split("; "):
        span, text = item.split(" ", 1)
        a, b = span.split("-")
        out.append((int(a), int(b), text))
    return out


def _part_text(notes, plan) -> str:
    w = _Writer()
    lines = []
    starts = {a: (a, b, text) for a, b, text in plan}
    notes = sorted(notes, key=lambda n: (n.start, n.pitch))
    by_bar: dict[int, list] = {}        # each note under every bar it sounds in
    for n in notes:
        first = int(n.start // BEATS) + 1
        last = int((n.start + n.duration - 1e-9) // BEATS) + 1
        for b in range(first, last + 1):
            by_bar.setdefault(b, []).append(n)
    rests = 0
    for bar in range(1, BARS + 2):
        if bar in starts:
            if rests:
                lines.append(f"R*{rests}" if rests > 1 else "R")
                rests = 0
            a, b, text = starts[bar]
            lines.append(f"% bars {a}-{b}: {text}")
        text = _bar_text(w, by_bar.get(bar, []), bar)
        if text == "R |":
            rests += 1
            continue
        if rests:
            lines.append(f"R*{rests}" if rests > 1 else "R")
            rests = 0
        lines.append(text)
    if rests:
        lines.append(f"R*{rests}" if rests > 1 else "R")
    return "\n".join(lines)


def _ground_text(score, plan) -> str:
    """The ground, with dynamics that follow the divisions: each phrase's median
    velocity of the upper voices, a little below them."""
    upper = [n for p in ("violin", "viol") for n in score.part(p).notes]
    chunks = [(1, plan[0][0] - 1)] + [(a, b) for a, b, _ in plan]
    parts = []
    for a, b in chunks:
        b = min(b, BARS)
        if b < a:
            continue
        vels = sorted(n.velocity for n in upper if BEATS * (a - 1) <= n.start < BEATS * b)
        vel = max(24, (vels[len(vels) // 2] if vels else 56) - 8)
        parts.append(f"v{vel} |: D3:4 F3 E3 :|x{b - a + 1}")
    parts.append("D3:2.")
    return "\n".join(f"  {p}" for p in parts)


def build_sonnerie_toml() -> str:
    """The full text of ``sonnerie.toml`` (deterministic)."""
    score = compose()
    plan = _plan(score)
    violin = _part_text(score.part("violin").notes, plan)
    viol = _part_text(score.part("viol").notes, plan)
    ground = _ground_text(score, plan)
    keys = "".join(f'\n[[key]]\nbar = {bar}\nkey = "{key}"\n' for bar, key in KEY_PLAN[1:])
    textures = "; ".join(f"{a}-{b} {t.split(' (')[0]}" for a, b, t in plan)
    return f'''# GENERATED by make_sonnerie.py (seed {SEED}); edit the script, not this file.
# Marais's ground, bar count, entries and key plan; the violin and viol notes
# are NEWLY COMPOSED divisions by synth, not Marais's melody.

[score]
title = "La Sonnerie de Ste-Geneviève du Mont-de-Paris (ground and form after Marais; divisions generated)"
composer = "Marin Marais (1656-1728): ground, form, entries, key plan"
arranger = "synth: generated violin and viol divisions"
seed = {SEED}
tempo = {TEMPO_BPM}
meter = "3/4"
key = "{KEY_PLAN[0][1]}"
description = """A plain reading of Marais's Sonnerie (1723): the three-bell ground D-F-E in \\
every one of its 302 bars, the ground alone for four bars, the violin from bar 5, then the \\
violin and viol taking turns, joining in duets and answering each other, through the key plan \\
D minor - A minor - F major - D minor, with a closing D after the last statement. The melodies \\
above the ground are NOT Marais's: they are chaconne divisions composed by synth over his ground, \\
harmonised by the rule of the octave, in phrases that cadence, quicken through each key area and \\
build to a climax near the end."""

[provenance]
composer_dates = "Marin Marais, 1656-1728"
original = "La Sonnerie de Ste-Geneviève du Mont-de-Paris, third piece of La Gamme et autres morceaux de symphonie pour le violon, la viole et le clavecin (Paris, 1723), for violin, bass viol and harpsichord / basso continuo"
marais = "the three-bell ground D-F-E in every bar, the length (302 bars), the entries (bars 1-4 the ground alone in continuo and viol, the violin from bar 5, violin and viol then alternating the melody) and the key plan (D minor 1-170, A minor 171-207, F major 208-252, D minor 253-302, after one modern edition's description)"
assumed = "triple metre (3/4) with one statement of the ground per bar in plain quarter notes, in the continuo at D3; the printed metre and rhythms are not available here. Tempo {TEMPO_BPM} bpm gives about 8 minutes. The ground's dynamics (following the divisions) and the closing tonic chord in bar 303, after Marais's 302 bars, are assumptions. The phrase and texture plan is synth's, not Marais's: {textures}"
newly_written = "every violin and viol note above the ground, and the viol's varied statements of the ground: chaconne divisions generated by synth's 'chaconne' transform (seed {SEED}) over the ground, harmonised by the rule of the octave in each key of the plan; never Marais's melody"
generated = "parts violin and viol (except the viol's plain statements of the ground in bars 1-4)"
source = "arrangements/sources/make_sonnerie.py writes this file"
transcription = "none available; a MIDI or MusicXML transcription of the 1723 print with parts named ground, violin and viol can replace this file"
license = "the work is public domain; this file is part of synth"
{keys}
[[tempo]]
bar = {BARS - 1}
bpm = {FINAL_TEMPO_BPM}

[parts.ground]
preset = "triangle"
gain_db = -4.0
pan = 0.0
description = "continuo: Marais's three-bell ground D-F-E, once per bar (rhythm, register and dynamics assumed), and a closing D"
notes = """
{ground}
"""

[parts.viol]
preset = "saw"
gain_db = -10.0
pan = -0.3
generated = true
description = "bass viol: the ground in bars 1-4, then its own divisions, the ground in varied rhythms under the violin, and duets with it; GENERATED, not Marais's"
notes = """
{viol}
"""

[parts.violin]
preset = "square"
gain_db = -12.0
pan = 0.3
generated = true
description = "violin, from bar 5: GENERATED divisions over the ground, not Marais's melody"
notes = """
{violin}
"""
'''


def main(argv: list[str]) -> int:
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "sonnerie.toml")
    text = build_sonnerie_toml()
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
