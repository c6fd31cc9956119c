"""Chaconne divisions for two upper voices over a ground, composed by a plan.

Why over 500 lines: a small composition engine (form, phrases, harmony,
figures, cadences) whose layers each follow the plan of the one above; the
layers are private steps of one transform.

The ``chaconne`` transform writes (or rewrites) two voices over a ground
bass: an upper voice (the violin of the Sonnerie) and a lower voice (the bass
viol).  It is a small composition engine, not a random walk; each layer is a
plan that the next one follows.

**Form.**  The key changes of the score cut the piece into *sections*.  A
section is cut into phrases of ``phrase_bars`` bars (a remainder of four or
more bars is a phrase of its own; a shorter one extends the section's last
phrase, as a cadence is often extended).  The figures' density (notes per
beat) climbs through each section by the levels of ``density``; dynamics are
terraced per density level and per section (the final section starts quietly
and builds to the loudest passage of the piece).  Each section has a climax
bar about three quarters of the way through; its highest note is reserved for
that bar.

**Harmony.**  Every ground note gets a chord by the rule of the octave
(:mod:`synth.transforms.harmony`): seeded among the idiomatic chords of its
scale degree, with a dominant (raised leading tone in minor) before each
phrase's goal, the new key's dominant in the first bars of a section, and a
tonic goal.

**Texture.**  Each phrase has a texture: ``solo`` for either voice (the
other rests, or, for the lower voice, plays the ground in varied rhythms and
registers, its notes still D-F-E on the beats for the Sonnerie), ``duet``
(the lower voice in parallel tenths or sixths below the upper), ``contrary``
(a slower lower line moving against the upper), and ``imitation`` (the lower
voice takes up the upper voice's figure one bar later).  The first phrase of
a section is a solo that states the new key; the last is a duet that carries
the climax.

**Figures.**  A phrase states a figure, repeats it in sequence, varies it
(inversion, rhythmic diminution), sets a contrasting figure against it and
closes on a cadence: the goal note (the tonic, else the third) on the
downbeat after the dominant, held, then a breath.  The vocabulary: arpeggios
and scale runs both ways, broken thirds, turns (groppi), bariolage (a
string-crossing pedal note), bell peals (change-ringing permutations of
chord tones), dotted figures, syncopations, held notes and suspensions.  The
first note over every ground note is a tone of its chord.  A bar never
repeats the bar before, spans at least a major third (unless it holds a
long note) and never stays on one pitch for more than three notes.

The plan follows the practice described in Christopher Simpson, *The
Division-Violist* (London, 1659; "breaking the ground", "descant" and
"mixt" division), and in Richard Hudson, *Passacaglio and Ciaccona* (1981):
divisions grow in speed through a set of couplets and return to a plain
statement at the end.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TransformError
from ..score import Note, Part, Score
from ..params import suggest as _suggest
from .base import Param, Selection, add_generated, register
from .harmony import Chord, Key, chord_options, key_of, nearest_index, pitches_in

if TYPE_CHECKING:
    from collections.abc import Sequence
    from .base import Streams

__all__ = ["TEXTURES", "FIGURES"]

F = Fraction
TEXTURES = ("solo_upper", "solo_lower", "duet", "contrary", "imitation")

#: Running figures: (pitch set, shape in steps along the set for 2, 3, 4 notes a beat).
_RUNNING = {
    "arpeggio": ("chord", {2: (0, 1), 3: (0, 1, 2), 4: (0, 1, 2, 1)}),
    "arpeggio_wide": ("chord", {2: (0, 2), 3: (0, 1, 2), 4: (0, 1, 2, 3)}),
    "scale": ("scale", {2: (0, 1), 3: (0, 1, 2), 4: (0, 1, 2, 3)}),
    "thirds": ("scale", {2: (0, 2), 3: (0, 2, 1), 4: (0, 2, 1, 3)}),
    "turn": ("scale", {2: (0, -1), 3: (0, -1, 1), 4: (0, -1, 0, 1)}),
    "bariolage": ("chord", {2: (0, "P"), 3: (0, "P", 1), 4: (0, "P", 1, "P")}),
    "bells": ("chord", {2: (0, -1), 3: (0, -1, -2), 4: (0, -1, -2, -3)}),
    "dotted": ("scale", {2: (0, 1)}),
}
#: Figures that hold: they span the bar with longer values.
_HELD = ("held", "suspension", "syncopated")
FIGURES = tuple(_RUNNING) + _HELD


@dataclass
class _Slot:
    """One ground note: the span a chord lasts."""

    start: Fraction
    length: Fraction
    bass: float
    bar: int
    chord: Chord | None = None
    key: Key | None = None


@dataclass
class _Bar:
    number: int
    start: Fraction
    length: Fraction
    slots: list[_Slot] = field(default_factory=list)


@dataclass
class _Phrase:
    first: int           # bar numbers (inclusive)
    last: int
    section: int
    texture: str
    leader: str          # "upper" or "lower"
    density: int
    level: int           # velocity base of the phrase
    figures: tuple[str, str] = ("arpeggio", "held")


#: Velocity marking an event that ties the voice's previous note over its span.
_TIE = -1


@dataclass
class _Ev:
    start: Fraction
    dur: Fraction
    pitch: int | None    # None: a rest
    vel: int = 64


# ---------------------------------------------------------------- parameters

@register("chaconne", "generate", {
    "ground": Param("str", default="ground", doc="the part that holds the ground bass"),
    "upper": Param("str", default="violin", doc="name of the upper voice (written or replaced)"),
    "lower": Param("str", default="viol", doc="name of the lower voice (written or replaced)"),
    "upper_low": Param("pitch", default=62.0, lo=0, hi=127, unit="MIDI or note name",
                       doc="lowest pitch of the upper voice"),
    "upper_high": Param("pitch", default=86.0, lo=0, hi=127, unit="MIDI or note name",
                        doc="highest pitch of the upper voice (reached once, at the climax)"),
    "lower_low": Param("pitch", default=45.0, lo=0, hi=127, unit="MIDI or note name",
                       doc="lowest pitch of the lower voice"),
    "lower_high": Param("pitch", default=74.0, lo=0, hi=127, unit="MIDI or note name",
                        doc="highest pitch of the lower voice"),
    "entry_bar": Param("int", default=5, lo=1, hi=100000, unit="bar",
                       doc="first bar of divisions (before it the lower voice plays the ground)"),
    "phrase_bars": Param("int", default=8, lo=4, hi=16, unit="bars", doc="usual phrase length"),
    "density": Param("ints", default=(2, 3, 4), lo=1, hi=4, unit="notes per beat",
                     doc="density levels each section climbs through"),
    "dynamics": Param("ints", default=(48, 64, 84, 100), lo=1, hi=127, unit="velocity",
                      doc="terraced velocity levels, softest to loudest"),
})
def chaconne(score: Score, sel: Selection, streams: Streams, *, ground: str, upper: str, lower: str,
             upper_low: float, upper_high: float, lower_low: float, lower_high: float,
             entry_bar: int, phrase_bars: int, density: Sequence[float],
             dynamics: Sequence[str]) -> Score:
    """Divisions for two voices over a ground, by a harmonic, formal and textural plan.

    The module docstring (:mod:`synth.transforms.chaconne`) describes the
    plan: sections from the key changes, phrases with cadences, chords by the
    rule of the octave, textures (solo, duet, contrary motion, imitation),
    developing figures, terraced dynamics and phrase arches.  The two voices
    replace parts of the same names (keeping their instruments) or are added.
    Every choice comes from the seed: a new seed gives new harmony choices,
    textures, figures and register paths over the same ground and key plan.
    """
    names = [p.name for p in score.parts]
    if ground not in names:
        raise TransformError(f"ground: no part named {ground!r}{_suggest(ground, names)} "
                             f"(parts: {', '.join(names) or 'none'})")
    if upper == lower or ground in (upper, lower):
        raise TransformError(f"upper: the voices {upper!r} and {lower!r} must be two parts "
                             f"other than the ground {ground!r}")
    for what, lo_, hi_ in (("upper", upper_low, upper_high), ("lower", lower_low, lower_high)):
        if hi_ - lo_ < 12:
            raise TransformError(f"{what}_high: the range {lo_:g}..{hi_:g} must span at least "
                                 f"an octave")
    bars = _bars(score, score.part(ground), sel)
    if not bars:
        raise TransformError(f"ground: part {ground!r} has no notes in the selected bars")
    plan = _Planner(score, bars, streams, entry_bar=entry_bar, phrase_bars=phrase_bars,
                    density=tuple(density), dynamics=tuple(sorted(dynamics)))
    plan.harmonise()
    ranges = {"upper": (int(np.ceil(upper_low)), int(np.floor(upper_high))),
              "lower": (int(np.ceil(lower_low)), int(np.floor(lower_high)))}
    voices = _Composer(plan, ranges, streams).compose()
    out = score
    texture_names = {"solo_upper": f"{upper} solo", "solo_lower": f"{lower} solo",
                     "duet": "duet in tenths and sixths", "contrary": "contrary motion",
                     "imitation": f"{lower} imitates {upper}"}
    plan_text = "; ".join(f"{p.first}-{p.last} {texture_names[p.texture]} ({p.figures[0]}, "
                          f"{p.density} a beat)" for p in plan.phrases)
    for role, name in (("upper", upper), ("lower", lower)):
        notes = _to_notes(voices[role])
        old = out.part(name) if name in names else None
        part = (replace(old, notes=tuple(notes), description="") if old is not None
                else Part(name, tuple(notes)))
        out = add_generated(out, part, f"chaconne divisions ({role} voice) over the ground "
                            f"{ground!r}, composed by synth's plan, seeded")
    prov = dict(out.metadata.provenance)
    prov["divisions_plan"] = plan_text
    return replace(out, metadata=replace(out.metadata, provenance=prov))


# ---------------------------------------------------------------- the ground

def _bars(score: Score, ground: Part, sel: Selection) -> list[_Bar]:
    lo, hi = sel.span(score)
    by_onset: dict[Fraction, Note] = {}
    for n in ground.notes:
        if lo - 1e-9 <= n.start < hi - 1e-9:
            k = F(n.start).limit_denominator(96)
            if k not in by_onset or n.pitch < by_onset[k].pitch:
                by_onset[k] = n
    onsets = sorted(by_onset)
    bars: dict[int, _Bar] = {}
    for i, t in enumerate(onsets):
        n = by_onset[t]
        nxt = onsets[i + 1] if i + 1 < len(onsets) else t + F(n.duration).limit_denominator(96)
        number = score.meters.bar_at(float(t) + 1e-9)
        if number not in bars:
            b0 = F(score.meters.bar_start(number)).limit_denominator(96)
            b1 = F(score.meters.bar_start(number + 1)).limit_denominator(96)
            bars[number] = _Bar(number, b0, b1 - b0)
        bar = bars[number]
        end = min(nxt, bar.start + bar.length)
        if end > t:
            bar.slots.append(_Slot(t, end - t, n.pitch, number))
    out = [bars[k] for k in sorted(bars)]
    for b in out:
        for s in b.slots:
            kc = score.key_at(float(s.start))
            s.key = key_of(kc.tonic, kc.mode) if kc else Key(0, "major")
    return out


# ---------------------------------------------------------------- the plan

class _Planner:
    """Sections, phrases, textures, dynamics and chords: what the voices follow."""

    def __init__(self, score, bars, streams, *, entry_bar, phrase_bars, density, dynamics):
        self.bars = bars
        self.by_number = {b.number: b for b in bars}
        self.g = streams("plan")
        self.gh = streams("harmony")
        self.entry = max(entry_bar, bars[0].number)
        self.final = bars[-1].number
        # a last bar with a single ground note is the closing chord, not a ground statement
        self.closing = len(bars[-1].slots) == 1 and len(bars) > 1 and len(bars[-2].slots) > 1
        sections: list[list[int]] = []
        for b in bars:
            k = b.slots[0].key
            if not sections or self.by_number[sections[-1][-1]].slots[0].key != k:
                sections.append([])
            sections[-1].append(b.number)
        self.sections = [(s[0], s[-1]) for s in sections]
        self.density_levels = density
        self.dynamics = dynamics
        self.phrases = self._phrases(phrase_bars)
        self.climax = self._climaxes()
        self._phrase_at = {b: p for p in self.phrases for b in range(p.first, p.last + 1)}
        self.bar_starts = [b.start for b in bars]

    def _phrases(self, length: int) -> list[_Phrase]:
        out: list[_Phrase] = []
        nsec = len(self.sections)
        last_leader = "lower"
        for si, (first, last) in enumerate(self.sections):
            first = max(first, self.entry)
            if first > last:
                continue
            total = last - first + 1
            lengths = [length] * (total // length)
            rem = total % length
            if rem >= 4 or not lengths:
                lengths.append(rem)
            elif rem:
                lengths[-1] += rem
            lengths = [n for n in lengths if n > 0]
            bar = first
            nph = len(lengths)
            levels = self.density_levels
            for pi, n in enumerate(lengths):
                step = min(len(levels) - 1, pi * len(levels) // nph)
                dens = levels[step]
                # terraced dynamics: climb with the density; the final section starts soft
                # and ends loudest, the middle sections sit higher than the first
                dyn = self.dynamics
                base = min(len(dyn) - 1, step + (1 if 0 < si < nsec - 1 else 0))
                if si == nsec - 1 and nsec > 1:
                    base = min(len(dyn) - 1, step + (1 if pi == nph - 1 else 0))
                out.append(_Phrase(bar, bar + n - 1, si, "", "", dens, dyn[base]))
                bar += n
        # textures: a section opens with a solo stating the key and closes with a duet;
        # between, seeded choices that avoid a third phrase of the same kind in a row
        for i, ph in enumerate(out):
            first_of_section = i == 0 or out[i - 1].section != ph.section
            last_of_section = i == len(out) - 1 or out[i + 1].section != ph.section
            if i == 0:
                ph.texture, ph.leader = "solo_upper", "upper"
            elif first_of_section:
                leader = "lower" if last_leader == "upper" else "upper"
                ph.texture, ph.leader = f"solo_{leader}", leader
            elif last_of_section:
                ph.texture, ph.leader = "duet", "upper"
            else:
                # early in a section the voices take turns; later they join (duet,
                # contrary motion, imitation) as the section builds
                sec = [p for p in out if p.section == ph.section]
                pos = sec.index(ph) / max(1, len(sec) - 1)
                recent = [p.texture for p in out[max(0, i - 2):i]]
                options, weights = [], []
                other = "solo_lower" if last_leader == "upper" else "solo_upper"
                for tex, w in ((other, 4.0 - 2.5 * pos), ("duet", 0.5 + 2.0 * pos),
                               ("contrary", 0.5 + 1.5 * pos), ("imitation", 0.5 + 2.0 * pos)):
                    if tex in recent and not tex.startswith("solo"):
                        w *= 0.3    # a texture is not heard twice in a row
                    options.append(tex)
                    weights.append(w)
                w = np.asarray(weights)
                ph.texture = options[int(self.g.choice(len(options), p=w / w.sum()))]
                ph.leader = "lower" if ph.texture == "solo_lower" else "upper"
            if ph.texture.startswith("solo"):
                last_leader = ph.leader
            ph.figures = self._figures(ph, out[i - 1].figures if i else None)
        return out

    def _figures(self, ph: _Phrase, previous) -> tuple[str, str]:
        """The phrase's main figure and its contrast, never the previous phrase's main one."""
        running = [f for f in _RUNNING if f != "dotted" or ph.density == 2]
        if previous:
            running = [f for f in running if f != previous[0]] or running
        main = running[int(self.g.integers(len(running)))]
        contrasts = list(_HELD) + ["dotted"] if ph.density <= 2 else ["syncopated", "held",
                                                                      "dotted", "suspension"]
        contrasts = [c for c in contrasts if c != main]
        contrasts += [f for f in _RUNNING if f not in (main, "dotted")]
        w = np.array([3.0 if c in _HELD or c == "dotted" else 1.0 for c in contrasts])
        contrast = contrasts[int(self.g.choice(len(contrasts), p=w / w.sum()))]
        return main, contrast

    def _climaxes(self) -> dict[int, int]:
        """Climax bar of each section: the 7th bar of the phrase 3/4 of the way through."""
        out = {}
        for si in range(len(self.sections)):
            phs = [p for p in self.phrases if p.section == si]
            if not phs:
                continue
            target = phs[0].first + 0.75 * (phs[-1].last - phs[0].first)
            ph = min(phs, key=lambda p: abs((p.first + p.last) / 2 - target))
            if ph.texture == "solo_lower":   # the climax is heard in both voices
                ph.texture, ph.leader = "duet", "upper"
            out[si] = min(ph.last - 1, ph.first + 6)
        return out

    def phrase_of(self, bar: int) -> _Phrase | None:
        return self._phrase_at.get(bar)

    # ------------------------------------------------------------ harmony

    def harmonise(self) -> None:
        """A chord on every ground note (see :mod:`synth.transforms.harmony`)."""
        cadence_bars = {p.last for p in self.phrases}
        section_starts = {first for first, _ in self.sections}
        prev_bar_chords: list[Chord] | None = None
        for bi, bar in enumerate(self.bars):
            chords = []
            nxt = self.bars[bi + 1] if bi + 1 < len(self.bars) else None
            # the bar before a phrase's goal ends on a dominant; so do the first two bars
            # of a section (the listener learns the new key from its leading tone), and
            # the last statement before the closing chord
            ends_on_dominant = (nxt is not None and nxt.number in cadence_bars) \
                or any(s <= bar.number < s + 2 for s in section_starts) \
                or (nxt is not None and nxt.number == self.final and self.closing)
            # the last bars of a section before a change of key dwell on its dominant
            # (every ground note that can carry one), so the key is confirmed before it goes
            section_end = next((last for first, last in self.sections if first <= bar.number <= last))
            confirm = (section_end - 3 <= bar.number < section_end and section_end != self.final)
            for si, slot in enumerate(bar.slots):
                want = "D" if confirm else None
                if si == len(bar.slots) - 1 and ends_on_dominant:
                    want = "D"
                if bar.number in cadence_bars and si == 0:
                    want = "T"
                opts = chord_options(int(round(slot.bass)), slot.key, function=want)
                if want == "T":   # the goal chord holds the tonic if any option does
                    tonic = [(c, w) for c, w in opts if slot.key.tonic in c.pcs]
                    opts = tonic or opts
                if (want is None and prev_bar_chords is not None and si < len(prev_bar_chords)
                        and prev_bar_chords[si] in [c for c, _ in opts]
                        and self.gh.random() < 0.45):
                    chords.append(prev_bar_chords[si])   # harmonic rhythm: keep last bar's reading
                    continue
                w = np.array([w for _, w in opts])
                chords.append(opts[int(self.gh.choice(len(opts), p=w / w.sum()))][0])
            for slot, c in zip(bar.slots, chords):
                slot.chord = c
            prev_bar_chords = chords


# ---------------------------------------------------------------- the voices

def _cells(density: int, figure: str) -> list[list[Fraction]]:
    """Rhythm cells of one beat for a running figure at ``density`` notes a beat
    (shared lists: read, never changed)."""
    if figure == "dotted":
        return _DOTTED_CELLS
    return _CELLS[density]


_DOTTED_CELLS = [[F(3, 4), F(1, 4)]]
_CELLS = {1: [[F(1)]], 2: [[F(1, 2), F(1, 2)]], 3: [[F(1, 3)] * 3],
          4: [[F(1, 4)] * 4, [F(1, 2), F(1, 4), F(1, 4)], [F(1, 4), F(1, 4), F(1, 2)]]}


class _Composer:
    """Realises the plan as notes for the two voices."""

    def __init__(self, plan: _Planner, ranges, streams):
        self.plan = plan
        self.ranges = ranges
        self.g = {"upper": streams("upper"), "lower": streams("lower")}
        self.events: dict[str, list[_Ev]] = {"upper": [], "lower": []}
        self.last: dict[str, int | None] = {"upper": None, "lower": None}
        self.prev_bar: dict[str, tuple | None] = {"upper": None, "lower": None}
        self._timed: dict[tuple[int, Fraction], list[Fraction]] = {}   # see _running
        # the reserved climax note of each section, per voice: the top of the range in
        # the final section, lower in the earlier ones
        nsec = len(plan.sections)
        self.ceiling = {}
        for role, (lo, hi) in ranges.items():
            for si in range(nsec):
                frac = 1.0 if si == nsec - 1 else (0.82 + 0.06 * si)
                top = int(round(lo + frac * (hi - lo)))
                # the climax note: the highest chord tone under the ceiling in the climax bar
                bar = plan.by_number.get(plan.climax.get(si, -1))
                if bar is not None:
                    top = max(max(pitches_in(s.chord.pcs, lo, top) or [lo]) for s in bar.slots)
                self.ceiling[(role, si)] = top

    # ------------------------------------------------------------ top level

    def compose(self) -> dict[str, list[_Ev]]:
        plan = self.plan
        for bar in plan.bars:
            if bar.number < plan.entry:
                self._ground_bar("lower", bar, plain=True, vel=plan.dynamics[0])
                self._rest("upper", bar)
                continue
            if plan.closing and bar.number == plan.final:
                self._closing(bar)
                continue
            ph = plan.phrase_of(bar.number)
            if ph is None:
                self._ground_bar("lower", bar, plain=False, vel=plan.dynamics[0])
                self._rest("upper", bar)
                continue
            self._phrase_bar(ph, bar)
        for role in ("upper", "lower"):
            self._shape_velocities(role)
        return self.events

    def _phrase_bar(self, ph: _Phrase, bar: _Bar) -> None:
        k = bar.number - ph.first
        tex = ph.texture
        if tex == "solo_lower":
            self._rest("upper", bar)
        else:
            self._division_bar("upper", ph, bar, k)
        if tex == "solo_lower":
            self._division_bar("lower", ph, bar, k)
        elif tex == "solo_upper":
            self._ground_bar("lower", bar, plain=False, vel=ph.level - 10)
        elif tex == "duet":
            self._parallel_bar(bar, ph)
        elif tex == "contrary":
            self._contrary_bar(bar, ph)
        elif tex == "imitation":
            if k == 0:
                self._ground_bar("lower", bar, plain=False, vel=ph.level - 10)
            else:
                self._division_bar("lower", ph, bar, k - 1 if bar.number < ph.last else k)

    # ------------------------------------------------------------ plain material

    def _rest(self, role: str, bar: _Bar) -> None:
        self.events[role].append(_Ev(bar.start, bar.length, None))
        self.prev_bar[role] = None

    def _ground_bar(self, role: str, bar: _Bar, *, plain: bool, vel: int) -> None:
        """The ground in the lower voice: plain, or in a varied rhythm and register,
        its own notes on the beats (chord tones between them)."""
        lo, hi = self.ranges[role]
        g = self.g[role]
        # mostly broken chords (the bass on the beat, its chord above: the harmony and
        # so the key are heard), sometimes a dotted or octave statement of the ground
        variant = 0 if plain else int(g.choice(4, p=(0.4, 0.1, 0.4, 0.1))) + 1
        evs = []
        prev = self.prev_bar[role]
        for attempt in range(6):
            evs = []
            for si, s in enumerate(bar.slots):
                b = int(round(s.bass))
                while b < lo:
                    b += 12
                while b > hi:
                    b -= 12
                above = pitches_in(s.chord.pcs, b + 3, min(hi, b + 12))
                stable = [p for p in above if p % 12 in _tonic_triad(s.key)]
                pool = stable or above
                up = pool[int(g.integers(len(pool)))] if pool else b
                if variant == 0 or s.length < 1:
                    evs.append(_Ev(s.start, s.length, b, vel))
                elif plain:                 # the ground itself, dotted or an octave up
                    if variant % 2:
                        o = b + 12 if si == 0 and b + 12 <= hi else b
                        evs.append(_Ev(s.start, s.length, o, vel))
                    else:
                        cut = s.length * (F(3, 2) if si == 0 else F(1, 2) if si == 1 else 1)
                        t0 = s.start if si < 2 else s.start
                        evs.append(_Ev(t0 + (s.length / 2 if si == 1 else 0), cut, b, vel))
                elif variant == 1:          # the bass and a chord tone above, in eighths
                    evs += [_Ev(s.start, s.length / 2, b, vel), _Ev(s.start + s.length / 2, s.length / 2, up, vel - 8)]
                elif variant == 2:          # dotted, leaping to the octave
                    o = b + 12 if b + 12 <= hi else up
                    evs += [_Ev(s.start, s.length * 3 / 4, b, vel), _Ev(s.start + s.length * 3 / 4, s.length / 4, o, vel - 8)]
                elif variant == 3:          # on the beat, then two chord tones (triplets)
                    tones = above[:2] if len(above) >= 2 else [up, up]
                    if si % 2:
                        tones = tones[::-1]
                    t3 = s.length / 3
                    evs += [_Ev(s.start, t3, b, vel), _Ev(s.start + t3, t3, tones[0], vel - 10),
                            _Ev(s.start + 2 * t3, t3, tones[1], vel - 10)]
                else:                       # the ground an octave up on the first beat
                    p = b + 12 if si == 0 and b + 12 <= hi else b
                    evs.append(_Ev(s.start, s.length, p, vel))
            sig = _signature(evs, bar.start)
            if sig != prev and (plain or attempt >= 4 or not self._parallel_octaves(evs, bar)):
                break
            variant = 1 + (variant % 4)
        self._emit(role, bar, evs)

    def _closing(self, bar: _Bar) -> None:
        """The final tonic: both voices hold the tonic over the ground's last note."""
        key = bar.slots[0].key
        vel = self.plan.dynamics[-1]
        for role in ("upper", "lower"):
            lo, hi = self.ranges[role]
            top = self.ceiling[(role, len(self.plan.sections) - 1)]
            tones = pitches_in([key.tonic], lo, top - 1) or pitches_in([key.tonic], lo, hi)
            target = self.last[role] if self.last[role] is not None else (lo + hi) / 2
            p = tones[nearest_index(tones, target)]
            self._emit(role, bar, [_Ev(bar.start, bar.length, p, vel)])

    # ------------------------------------------------------------ divisions

    def _guide(self, role: str, ph: _Phrase, bar: _Bar) -> float:
        """Register target of a bar: the section's path to its climax and a phrase arch."""
        plan = self.plan
        lo, hi = self.ranges[role]
        first, last = plan.sections[ph.section]
        climax = plan.climax.get(ph.section, last)
        n = bar.number
        if n <= climax:
            level = 0.25 + 0.7 * (n - first) / max(1, climax - first)
        else:
            level = 0.95 - 0.5 * (n - climax) / max(1, last - climax)
        pos = (n - ph.first) / max(1, ph.last - ph.first)
        arch = 0.12 * np.sin(np.pi * pos)
        top = self.ceiling[(role, ph.section)]
        return lo + (0.1 + 0.8 * min(1.0, level + arch)) * (top - lo)

    def _bar_plan(self, ph: _Phrase, k: int) -> tuple[str, int, int]:
        """(figure, direction, density) of the k-th bar of a phrase: state, sequence,
        invert, contrast, diminish, then cadence."""
        main, contrast = ph.figures
        n = ph.last - ph.first + 1
        d = ph.density
        dim = min(4, d + 1)
        if n <= 5:
            seq = [(main, 1, d), (main, 1, d), (main, -1, dim), (main, 1, dim)]
        else:
            seq = [(main, 1, d), (main, 1, d), (main, -1, d), (contrast, 1, d),
                   (contrast, -1, d), (main, 1, dim), (main, -1, dim)]
            while len(seq) < n - 1:
                seq.insert(5, (contrast if len(seq) % 2 else main, 1 if len(seq) % 2 else -1, d))
        return seq[k] if k < len(seq) else ("cadence", 1, d)

    def _division_bar(self, role: str, ph: _Phrase, bar: _Bar, k: int) -> None:
        g = self.g[role]
        is_cadence = bar.number == ph.last
        figure, direction, dens = ("cadence", 1, ph.density) if is_cadence else self._bar_plan(ph, k)
        climax_bar = self.plan.climax.get(ph.section) == bar.number
        if climax_bar and figure in _HELD:    # the climax is the busiest bar of its phrase
            figure = ph.figures[0]
        top = self.ceiling[(role, ph.section)]
        cap = top if climax_bar else top - 1
        guide = self._guide(role, ph, bar)
        prev = self.prev_bar[role]
        evs: list[_Ev] = []
        last = self.last[role]
        for attempt in range(8):
            self.last[role] = last
            shift = (attempt + 1) // 2 * (1 if attempt % 2 else -1)
            fig = figure
            if attempt >= 4 and figure not in ("cadence",):
                fig = list(_RUNNING)[int(g.integers(len(_RUNNING) - 1))]
            if fig == "cadence":
                evs = self._cadence(role, ph, bar, guide, cap, shift)
            elif fig in _HELD:
                evs = self._held(role, fig, bar, guide, cap, shift, direction)
            else:
                evs = self._running(role, fig, bar, guide, cap, shift,
                                    direction if attempt < 6 else -direction, dens)
            if climax_bar and fig != "cadence":
                evs = self._touch_climax(role, bar, evs, top)
            if self._acceptable(role, evs, bar, prev, long_ok=fig in ("held", "suspension", "cadence")):
                break
        for e in evs:
            if e.vel != _TIE:
                e.vel = ph.level
        self._emit(role, bar, evs)

    def _anchor(self, role: str, pcs, target: float, cap: int, shift: int = 0,
                key: Key | None = None) -> int:
        """The chord tone a figure starts from: near the register guide, without a leap
        of more than a sixth from the last note, leaning on the key's tonic triad (the
        notes that tell the listener the key when the ground itself does not)."""
        lo, _ = self.ranges[role]
        tones = pitches_in(pcs, lo, cap)
        last = self.last[role]
        bonus = _stability(key, pcs)
        cost = [abs(p - target) + (0.6 * max(0, abs(p - last) - 9) + (0.5 if p == last else 0)
                                   if last is not None else 0) - bonus.get(p % 12, 0.0)
                for p in tones]
        i = min(range(len(cost)), key=cost.__getitem__)    # the first smallest, as np.argmin
        return tones[max(0, min(len(tones) - 1, i + shift))]

    def _running(self, role, fig, bar, guide, cap, shift, direction, dens) -> list[_Ev]:
        lo, _ = self.ranges[role]
        kind, shapes = _RUNNING[fig]
        g = self.g[role]
        evs: list[_Ev] = []
        span = 7 if direction > 0 else -7     # the bar climbs (or falls) about a fifth
        for si, s in enumerate(bar.slots):
            cells = _cells(dens if fig != "dotted" else 2, fig)
            cell = cells[int(g.integers(len(cells)))] if len(cells) > 1 else cells[0]
            timed = self._timed.get((id(cell), s.length))
            if timed is None:       # the cell's lengths for this beat (a few kinds of beat)
                timed = self._timed[(id(cell), s.length)] = [c * s.length for c in cell]
            cell = timed
            shape = shapes.get(len(cell)) or shapes[max(shapes)][:len(cell)]
            if fig == "bells":
                shape = tuple(-abs(x) for x in shape)
                if len(shape) > 2 and (bar.number + si) % 2:    # a change: swap an inner pair
                    shape = (shape[0], shape[2], shape[1]) + shape[3:]
            target = guide + span * (si / max(1, len(bar.slots) - 1) - 0.5)
            if fig == "bells":
                target += 4
            up = direction > 0
            halves = [(s.chord.pre, s.start + s.length / 2), (s.chord.pcs, s.start + s.length)] \
                if s.chord.pre else [(s.chord.pcs, s.start + s.length)]
            t = s.start
            k = 0
            for hi_i, (chord_pcs, until) in enumerate(halves):
                if hi_i == 0:
                    anchor = self._anchor(role, chord_pcs, target, cap, shift, s.key)
                else:   # the six-four resolves: the nearest tone of V at or below
                    last = self.last[role]
                    cand = pitches_in(chord_pcs, lo, cap)
                    below = [c for c in cand if last - 3 <= c <= last and c != last] or cand
                    anchor = below[nearest_index(below, last - 1)]
                pcs = chord_pcs if kind == "chord" else s.key.scale_over(chord_pcs, up)
                tones = pitches_in(pcs, lo, cap)
                i0 = tones.index(anchor)
                pedal = None
                if fig == "bariolage":
                    ped = pitches_in([s.key.tonic, (s.key.tonic + 7) % 12], anchor + 3, cap)
                    pedal = ped[0] if ped else None
                first_k = k
                while k < len(cell) and (t < until or hi_i == len(halves) - 1):
                    step, d = shape[k], cell[k]
                    if step == "P":
                        p = pedal if pedal is not None else tones[max(0, i0 - 1)]
                    else:
                        rel = step - (shape[first_k] if isinstance(shape[first_k], int) else 0)
                        j = i0 + (rel if fig == "bells" else direction * rel)
                        if not 0 <= j < len(tones):
                            j = i0 - (j - i0)          # turn back at the edge of the range
                        p = tones[max(0, min(len(tones) - 1, j))]
                    evs.append(_Ev(t, d, p))
                    self.last[role] = p
                    t += d
                    k += 1
        return evs

    def _held(self, role, fig, bar, guide, cap, shift, direction) -> list[_Ev]:
        s0 = bar.slots[0]
        evs: list[_Ev] = []
        if fig == "syncopated" and len(bar.slots) >= 2:
            # short - long - long - short: the long notes straddle the beats
            times = [F(0), F(1, 2), F(3, 2), F(5, 2)] if bar.length == 3 else None
            if times is not None:
                durs = [F(1, 2), F(1), F(1), F(1, 2)]
                lo, _ = self.ranges[role]
                p = None
                for t, d in zip(times, durs):
                    slot = next(x for x in bar.slots if x.start <= bar.start + t < x.start + x.length)
                    if p is None:
                        p = self._anchor(role, slot.chord.pcs, guide - 3 * direction, cap, shift,
                                         slot.key)
                    else:   # on along the chord tones, a third or so at a time
                        cand = [q for q in pitches_in(slot.chord.pcs, lo, cap) if q != p]
                        p = cand[nearest_index(cand, p + 3 * direction)]
                    evs.append(_Ev(bar.start + t, d, p))
                    self.last[role] = p
                return evs
        if fig == "suspension" and len(bar.slots) >= 3 and self.last[role] is not None:
            # the last note of the previous bar tied over the bar line (prepared), then
            # resolved down by step onto a chord tone, then a new preparation
            prep = self.last[role]
            lo, _ = self.ranges[role]
            res = [p for p in pitches_in(s0.chord.pcs, lo, cap) if 1 <= prep - p <= 2]
            if res and prep % 12 not in s0.chord.pcs:
                evs.append(_Ev(bar.start, F(1), None, _TIE))   # the tie over the bar line
                evs.append(_Ev(bar.start + 1, F(1), res[0]))
                self.last[role] = res[0]
                s2 = bar.slots[2]
                p = self._anchor(role, s2.chord.pcs, guide + 2, cap, shift, s2.key)
                evs.append(_Ev(s2.start, s2.length, p))
                self.last[role] = p
                return evs
        # held: a long chord tone common to the first two chords, then a step onward
        common = set(s0.chord.pcs) & set(bar.slots[1].chord.pcs) if len(bar.slots) > 1 else set()
        first = self._anchor(role, common or s0.chord.pcs, guide + 2 * direction, cap, shift,
                             s0.key)
        self.last[role] = first
        if len(bar.slots) >= 3:
            evs.append(_Ev(bar.start, bar.slots[2].start - bar.start, first))
            s2 = bar.slots[2]
            p = self._anchor(role, s2.chord.pcs, first - 3 * direction, cap, 0, s2.key)
            if abs(p - first) < 4:
                lo, _ = self.ranges[role]
                tones = pitches_in(s2.chord.pcs, lo, cap)
                far = [q for q in tones if abs(q - first) >= 4]
                p = far[nearest_index(far, first - 5 * direction)] if far else p
            if s2.chord.pre:   # six-four then five-three: two eighths, falling by step
                lo, _ = self.ranges[role]
                app = self._anchor(role, s2.chord.pre, p + 1, cap, 0, s2.key)
                res = [q for q in pitches_in(s2.chord.pcs, lo, cap) if 0 < app - q <= 2]
                if res:
                    evs += [_Ev(s2.start, s2.length / 2, app), _Ev(s2.start + s2.length / 2,
                                                                   s2.length / 2, res[-1])]
                    self.last[role] = res[-1]
                    return evs
            evs.append(_Ev(s2.start, s2.length, p))
            self.last[role] = p
        else:
            evs.append(_Ev(bar.start, bar.length, first))
        return evs

    def _cadence(self, role, ph, bar, guide, cap, shift) -> list[_Ev]:
        """The phrase's goal on the downbeat (tonic, else the key's third, else the
        root), held, then a breath; an upbeat leads on unless the section ends."""
        s0 = bar.slots[0]
        key = s0.key
        lo, _ = self.ranges[role]
        third = (key.tonic + (3 if key.mode == "minor" else 4)) % 12
        goal_pc = next((pc for pc in (key.tonic, third) if pc in s0.chord.pcs), s0.chord.root)
        tones = pitches_in([goal_pc], lo, cap)
        last = self.last[role] if self.last[role] is not None else guide
        p = tones[nearest_index(tones, 0.5 * last + 0.5 * guide)]
        if shift:
            p = tones[max(0, min(len(tones) - 1, nearest_index(tones, p) + (1 if shift > 0 else -1)))]
        self.last[role] = p
        if len(bar.slots) < 3:
            return [_Ev(bar.start, bar.length, p)]
        s2 = bar.slots[2]
        evs = [_Ev(bar.start, s2.start - bar.start, p)]
        if self.g[role].random() < 0.35:
            evs.append(_Ev(s2.start, s2.length, None))            # a breath
        else:   # a breath, then an upbeat into the next phrase (the leading tone if the
            # chord has one)
            half = s2.length / 2
            up = self._anchor(role, s2.chord.pcs, p + 3, cap, 0, s2.key)
            evs += [_Ev(s2.start, half, None), _Ev(s2.start + half, half, up)]
            self.last[role] = up
        return evs

    def _touch_climax(self, role, bar, evs, top) -> list[_Ev]:
        """Put the section's reserved top note on the bar's highest note's place."""
        sounding = [e for e in evs if e.pitch is not None]
        if not sounding:
            return evs
        holders = [s for s in bar.slots if top % 12 in s.chord.pcs]
        cands = [e for e in sounding if any(s.start <= e.start < s.start + s.length
                                            for s in holders)]
        if cands:
            max(cands, key=lambda e: e.pitch).pitch = top
        return evs

    # ------------------------------------------------------------ two voices together

    def _parallel_bar(self, bar: _Bar, ph: _Phrase) -> None:
        """The lower voice in tenths (or thirteenths) below the upper, one interval for
        the bar: the one that puts the lower voice on the key's tonic triad more (a
        tenth under the tonic is the submediant, a thirteenth the mediant)."""
        upper = self._bar_events("upper", bar)
        lo, hi = self.ranges["lower"]
        best: list[_Ev] = []
        best_score = None
        for first in (-9, -12):
            order = (first, -21 - first, -7, -5, -2)   # then the other, an octave, a sixth, a third
            evs, score = [], 0.0
            for e in upper:
                if e.pitch is None:
                    evs.append(_Ev(e.start, e.dur, None))
                    continue
                slot = next((s for s in bar.slots if s.start <= e.start < s.start + s.length),
                            bar.slots[0])
                p = None
                for steps in order:
                    q = _diatonic(e.pitch, steps, slot.key)
                    if q is not None and lo <= q <= hi and q < e.pitch:
                        p = q
                        break
                evs.append(_Ev(e.start, e.dur, p))
                if p is not None:
                    score += float(e.dur) * _stability(slot.key, slot.chord.pcs).get(p % 12, 0.0)
            if best_score is None or score > best_score + 1e-9:
                best, best_score = evs, score
        self._emit("lower", bar, _merge_rests(best), vel=ph.level - 6)
        if best and best[-1].pitch is not None:
            self.last["lower"] = best[-1].pitch

    def _contrary_bar(self, bar: _Bar, ph: _Phrase) -> None:
        """A slower lower line, one chord tone a beat, moving against the upper voice."""
        upper = [e for e in self._bar_events("upper", bar) if e.pitch is not None]
        lo, hi = self.ranges["lower"]
        start = self.last["lower"] if self.last["lower"] is not None else (lo + hi) // 2
        evs: list[_Ev] = []
        for attempt in range(6):
            evs = []
            prev_up = None
            cur = start
            for k, s in enumerate(bar.slots):
                ups = [e.pitch for e in upper if s.start <= e.start < s.start + s.length]
                u = ups[0] if ups else prev_up
                tones = pitches_in(s.chord.pcs, lo, min(hi, (u - 3) if u else hi)) \
                    or pitches_in(s.chord.pcs, lo, hi)
                if u is not None and prev_up is not None and u != prev_up:
                    want = cur - 3 if u > prev_up else cur + 3
                else:
                    want = cur + (4 if k == 0 else -3) * (1 if attempt % 2 == 0 else -1)
                want += 2 * (attempt // 2) * (1 if k % 2 else -1)
                cand = [t for t in tones if t != cur] or tones
                stable = _tonic_triad(s.key)
                cur = min(cand, key=lambda t: abs(t - want) - (3.0 if t % 12 in stable else 0.0))
                evs.append(_Ev(s.start, s.length, cur))
                prev_up = u
            pitches = [e.pitch for e in evs]
            if (max(pitches) - min(pitches) >= 4 or len(evs) < 3) \
                    and _signature(evs, bar.start) != self.prev_bar["lower"] \
                    and (attempt >= 5 or not self._parallel_octaves(evs, bar)):
                break
        self.last["lower"] = evs[-1].pitch
        self._emit("lower", bar, evs, vel=ph.level - 6)

    def _bar_events(self, role: str, bar: _Bar) -> list[_Ev]:
        """The voice's events that start in ``bar`` (the last ones written: the
        voices are composed bar by bar, so a backward scan stops early)."""
        out = []
        for e in reversed(self.events[role]):
            if e.start < bar.start:
                break
            if e.start < bar.start + bar.length:
                out.append(e)
        return out[::-1]

    # ------------------------------------------------------------ checks and output

    def _acceptable(self, role, evs, bar, prev, *, long_ok: bool) -> bool:
        pitches = [e.pitch for e in evs if e.pitch is not None]
        if not pitches:
            return True
        if _signature(evs, bar.start) == prev:
            return False
        if not long_ok and max(pitches) - min(pitches) < 4:
            return False
        run, best = 1, 1
        for a, b in zip(pitches, pitches[1:]):
            run = run + 1 if a == b else 1
            best = max(best, run)
        return best <= 3 and (role != "lower" or not self._parallel_octaves(evs, bar))

    def _parallel_octaves(self, evs: list[_Ev], bar: _Bar) -> bool:
        """True if the lower voice moves with the upper in octaves or fifths (the
        consecutive perfect intervals that part-writing forbids between two voices)."""
        upper = [(e.start, e.start + e.dur, e.pitch)
                 for e in self._bar_events("upper", bar) if e.pitch is not None]
        if not upper:
            return False

        def above(t):
            for start, end, pitch in upper:
                if start <= t < end:
                    return pitch
            return None

        lower = [e for e in evs if e.pitch is not None]
        for a, b in zip(lower, lower[1:]):
            ua, ub = above(a.start), above(b.start)
            if ua is None or ub is None or ua == ub or a.pitch == b.pitch:
                continue
            same_way = (ub - ua) * (b.pitch - a.pitch) > 0
            if same_way and (ua - a.pitch) % 12 == (ub - b.pitch) % 12 and (ua - a.pitch) % 12 in (0, 7):
                return True
        return False

    def _emit(self, role: str, bar: _Bar, evs: list[_Ev], *, vel: int | None = None) -> None:
        """Append one bar of a voice (``vel`` sets every velocity; a ``_TIE`` event
        lengthens the voice's last note over its span instead of sounding)."""
        if vel is not None:
            for e in evs:
                e.vel = vel
        for e in evs:
            if e.vel == _TIE:       # lengthen the voice's last note over this span
                held = next((x for x in reversed(self.events[role]) if x.pitch is not None), None)
                if held is not None and held.start + held.dur == e.start:
                    held.dur += e.dur
                else:
                    self.events[role].append(_Ev(e.start, e.dur, None))
                continue
            self.events[role].append(e)
        self.prev_bar[role] = _signature(evs, bar.start)
        pitched = [e.pitch for e in evs if e.pitch is not None]
        if pitched:
            self.last[role] = pitched[-1]

    def _shape_velocities(self, role: str) -> None:
        """Phrase arches and metric accents on top of the terraced levels."""
        plan = self.plan
        starts = plan.bar_starts
        # the exact beats as (numerator, denominator > 0): compared by cross-multiplying
        # integers, the answers of the Fractions' own comparisons at a fraction of the cost
        nds = [(b.numerator, b.denominator) for b in starts]
        slot_nds = [[(s.start.numerator, s.start.denominator) for s in b.slots] for b in plan.bars]
        i = -1
        spans: dict[int, tuple[int, int, float]] = {}     # per phrase: its start, its length
        for e in self.events[role]:
            if e.pitch is None:
                continue
            t = e.start
            tn, td = t.numerator, t.denominator
            # the bar holding t (the last bar starting at or before it); the events run
            # forward, so the previous event's bar or the next one mostly holds it
            if not (i >= 0 and nds[i][0] * td <= tn * nds[i][1]
                    and (i + 1 == len(nds) or tn * nds[i + 1][1] < nds[i + 1][0] * td)):
                i = bisect.bisect_right(starts, t) - 1
            bar = plan.bars[max(0, i)]
            ph = plan.phrase_of(bar.number)
            v = e.vel
            if ph is not None:
                if ph.first not in spans:
                    first = plan.by_number[ph.first].start
                    spans[ph.first] = (first.numerator, first.denominator,
                                       max(1.0, float(plan.by_number[ph.last].start - first)))
                fn, fd, length = spans[ph.first]
                # float(t - first): int / int is correctly rounded, as Fraction's float is
                pos = (tn * fd - fn * td) / (td * fd) / length
                v += int(round(14 * np.sin(np.pi * min(1.0, pos)) - 5))
                if plan.climax.get(ph.section) == bar.number:
                    v += 10
            bn, bd = nds[max(0, i)]
            if tn * bd == bn * td:
                v += 8
            elif any(tn * d == n * td for n, d in slot_nds[max(0, i)]):
                v += 2
            else:
                v -= 4
            e.vel = int(max(20, min(127, v)))


def _stability(key: Key | None, pcs) -> dict[int, float]:
    """How strongly a melody leans on each pitch class (in semitones of register
    it will give up for it): the tonic most, then the third and fifth; in minor
    the leading tone of a dominant chord, in major the dominant note.  Over a ground that never sounds the tonic
    chord (A minor over D-F-E) these notes are what tell the key."""
    if key is None:
        return {}
    t = _tonic_triad(key)
    out = {t[0]: 4.5, t[1]: 2.0, t[2]: 2.0}
    if key.mode == "minor" and key.leading_tone in pcs:
        out[key.leading_tone] = 3.5     # the raised seventh is what marks a minor key
    elif key.mode == "major":
        out[t[2]] = 3.0                 # in major, the dominant note itself
    return out


def _tonic_triad(key: Key) -> tuple[int, ...]:
    third = 3 if key.mode == "minor" else 4
    return (key.tonic, (key.tonic + third) % 12, (key.tonic + 7) % 12)


def _signature(evs: list[_Ev], start: Fraction) -> tuple:
    """What a bar's events are, for equality only: per event its offset from ``start``
    and its length as lowest-terms (numerator, denominator) pairs (equal exactly when
    the Fractions are; integer arithmetic, several times cheaper), and its pitch."""
    sn, sd = start.numerator, start.denominator
    out = []
    for e in evs:
        t, d = e.start, e.dur
        num, den = t.numerator * sd - sn * t.denominator, t.denominator * sd
        g = math.gcd(num, den)
        out.append(((num // g, den // g), (d.numerator, d.denominator), e.pitch))
    return tuple(out)


def _merge_rests(evs: list[_Ev]) -> list[_Ev]:
    out: list[_Ev] = []
    for e in evs:
        if out and e.pitch is None and out[-1].pitch is None:
            out[-1].dur += e.dur
        else:
            out.append(e)
    return out


def _diatonic(pitch: int, steps: int, key: Key) -> int | None:
    """``pitch`` moved ``steps`` degrees along the key's scale (None if it is off the scale)."""
    for sc in (key.harmonic(), key.scale(True), key.natural):
        if pitch % 12 in sc:
            break
    else:
        return None
    deg = sc.index(pitch % 12)
    tonic_below = pitch - ((pitch - sc[0]) % 12)
    o, d = divmod(7 * ((tonic_below - sc[0]) // 12) + deg + steps, 7)
    p = sc[0] + 12 * o + ((sc[d] - sc[0]) % 12)
    return p if 0 <= p <= 127 else None


def _to_notes(evs: list[_Ev]) -> list[Note]:
    """Sounding events as notes, sorted; rests dropped."""
    out = []
    for e in sorted((e for e in evs if e.pitch is not None), key=lambda e: (e.start, e.pitch)):
        # float() of a Fraction is numerator / denominator (correctly rounded int division)
        out.append(Note(e.start.numerator / e.start.denominator,
                        e.dur.numerator / e.dur.denominator, float(e.pitch), int(e.vel)))
    return out
