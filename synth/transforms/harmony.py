"""Figured-bass harmony over a ground: which chord sits on a bass note in a key.

A ground bass fixes the bass; the key of a passage is heard through the
chords built on it.  This module chooses them the way a continuo player
reads an unfigured bass, after the **rule of the octave** (*règle de
l'octave*: François Campion, *Traité d'accompagnement et de composition
selon la règle des octaves*, 1716; Johann David Heinichen, *Der General-Bass
in der Composition*, 1728; summarised in Thomas Christensen, "The Règle de
l'Octave in Thorough-Bass Theory and Practice", *Acta Musicologica* 64,
1992).  Each scale degree of the bass has its usual chords:

=======  ==========================  ============================
degree   minor                        major
=======  ==========================  ============================
1        i (5/3)                     I (5/3)
2        vii°6, V4/3 (6/4/3), ii°    V4/3, vii°6, ii
3        i6, III                     I6, iii
4        iv, ii°6/5, vii°4/3         IV, ii6/5
5        V (raised third), V7,       V, V7, I6/4-V
         i6/4-V (cadential 6/4)
6        VI, iv6, vii°4/2             vi, IV6
7        vii°, V6 (raised 7th)       V6, vii°
=======  ==========================  ============================

In minor, every chord of dominant function takes the **raised seventh** (the
leading tone of harmonic minor: C# in D minor, G# in A minor); a melody
ascending to the tonic uses melodic minor's raised sixth and seventh.

For the Sonnerie's ground D-F-E this gives the readings the style expects
(see ``shared/reference/MUSIC.md``): in D minor i - i6/III - V4/3/vii°6; in
A minor iv - VI/iv6 - V; in F major vi/IV6 - I - V6/vii°.  The choice among
a degree's chords is seeded, weighted, and constrained by function at
cadences (:func:`chord_options`, ``function="D"``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..score import parse_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["Key", "Chord", "chord_options", "key_of", "pitches_in", "nearest_index"]

_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

#: Scale steps (semitones above the tonic) of the natural scales.
_NATURAL = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


@dataclass(frozen=True)
class Key:
    """A major or minor key: tonic pitch class 0..11 and mode."""

    tonic: int
    mode: str     # "major" or "minor"

    @functools.cached_property
    def natural(self) -> tuple[int, ...]:
        """Pitch classes of the natural scale, degree 1 first (made once per key: the
        divisions ask for it thousands of times)."""
        return tuple((self.tonic + s) % 12 for s in _NATURAL[self.mode])

    @property
    def leading_tone(self) -> int:
        """The raised seventh (major: the seventh itself)."""
        return (self.tonic + 11) % 12

    def scale(self, ascending: bool = True) -> tuple[int, ...]:
        """Melodic scale: in minor, raised 6 and 7 ascending, natural descending."""
        if self.mode == "minor" and ascending:
            nat = list(self.natural)
            nat[5] = (self.tonic + 9) % 12
            nat[6] = self.leading_tone
            return tuple(nat)
        return self.natural

    def scale_over(self, chord_pcs: Iterable[int], ascending: bool = True) -> tuple[int, ...]:
        """The melodic scale over a chord: in minor, the sixth and seventh take the
        form the chord holds (C# over A major, C over F major in D minor), else
        the melodic form (raised ascending, natural descending), so a run never
        sounds both forms of a degree against each other."""
        sc = list(self.scale(ascending))
        if self.mode == "minor":
            for deg, (nat, raised) in ((5, (8, 9)), (6, (10, 11))):
                for form in (nat, raised):
                    if (self.tonic + form) % 12 in chord_pcs:
                        sc[deg] = (self.tonic + form) % 12
        return tuple(sc)

    def harmonic(self) -> tuple[int, ...]:
        """Scale of the chords: harmonic minor (raised 7) in minor, else natural."""
        if self.mode == "minor":
            nat = list(self.natural)
            nat[6] = self.leading_tone
            return tuple(nat)
        return self.natural

    def degree(self, pc: int) -> int | None:
        """Scale degree 0..6 of pitch class ``pc`` (a raised 6/7 counts as 5/6), or None."""
        pc %= 12
        if pc in self.natural:
            return self.natural.index(pc)
        if self.mode == "minor" and pc in ((self.tonic + 9) % 12, self.leading_tone):
            return 5 if pc == (self.tonic + 9) % 12 else 6
        return None

    def __str__(self) -> str:
        names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
        return f"{names[self.tonic]} {self.mode}"


def key_of(tonic: str, mode: str) -> Key:
    """A :class:`Key` from a key change's tonic name and mode (modes other than
    major/minor are read as their nearest: ionian/lydian/mixolydian as major,
    the others as minor)."""
    t, m = parse_key(f"{tonic} {mode}")
    pc = _PC[t[0]] + (1 if t[1:] == "#" else -1 if t[1:] == "b" else 0)
    return Key(pc % 12, "major" if m in ("major", "ionian", "lydian", "mixolydian") else "minor")


@dataclass(frozen=True)
class Chord:
    """A chord over a bass note.

    Attributes
    ----------
    pcs : tuple of int
        Pitch classes, root first, then third, fifth (and seventh).
    figure : str
        Roman numeral with inversion figures, e.g. ``"V4/3"``, ``"vii°6"``.
    pre : tuple of int or None
        Pitch classes sounding over the first half of the bass note before
        ``pcs``: the cadential six-four (the tonic triad over the dominant
        bass, resolving to V), else None.
    function : str
        ``"T"`` tonic, ``"S"`` predominant, ``"D"`` dominant.
    """

    pcs: tuple[int, ...]
    figure: str
    function: str
    pre: tuple[int, ...] | None = None   # an appoggiatura chord over the first half (6/4 - 5/3)

    @property
    def root(self) -> int:
        return self.pcs[0]


def _chord(key: Key, root_degree: int, size: int = 3, dominant: bool = False) -> tuple[int, ...]:
    """Stacked thirds on a degree: from harmonic minor for a dominant (its raised
    seventh), from the natural scale otherwise (III and VII of minor are major)."""
    sc = key.harmonic() if dominant else key.natural
    return tuple(sc[(root_degree + 2 * k) % 7] for k in range(size))


# (root degree, size, figure label, function, weight) per bass degree; labels are
# written for minor and major separately because the qualities differ.
_MINOR = {
    0: ((0, 3, "i", "T", 0.85), (5, 3, "VI6", "S", 0.15)),
    1: ((6, 3, "vii°6", "D", 0.45), (4, 4, "V4/3", "D", 0.40), (1, 3, "ii°", "S", 0.15)),
    2: ((0, 3, "i6", "T", 0.55), (2, 3, "III", "T", 0.45)),
    3: ((3, 3, "iv", "S", 0.35), (1, 4, "ii°6/5", "S", 0.35), (6, 4, "vii°4/3", "D", 0.30)),
    4: ((4, 3, "V", "D", 0.30), (4, 4, "V7", "D", 0.15), (4, 3, "i6/4-V", "D", 0.55)),
    5: ((5, 3, "VI", "S", 0.75), (3, 3, "iv6", "S", 0.05), (6, 4, "vii°4/2", "D", 0.20)),
    6: ((6, 3, "vii°", "D", 0.5), (4, 3, "V6", "D", 0.5)),
}
_MAJOR = {
    0: ((0, 3, "I", "T", 0.85), (5, 3, "vi6", "T", 0.15)),
    1: ((4, 4, "V4/3", "D", 0.45), (6, 3, "vii°6", "D", 0.20), (1, 3, "ii", "S", 0.35)),
    2: ((0, 3, "I6", "T", 0.60), (2, 3, "iii", "T", 0.40)),
    3: ((3, 3, "IV", "S", 0.55), (1, 4, "ii6/5", "S", 0.30), (4, 4, "V4/2", "D", 0.15)),
    4: ((4, 3, "V", "D", 0.45), (4, 4, "V7", "D", 0.20), (4, 3, "I6/4-V", "D", 0.35)),
    5: ((3, 3, "IV6", "S", 0.50), (5, 3, "vi", "T", 0.50)),
    6: ((4, 3, "V6", "D", 0.75), (6, 3, "vii°", "D", 0.25)),
}


def chord_options(bass_pc: int, key: Key, *, function: str | None = None
                  ) -> list[tuple[Chord, float]]:
    """The chords a continuo player would put on ``bass_pc`` in ``key``, with weights.

    Parameters
    ----------
    bass_pc : int
        Pitch class of the bass note.
    key : Key
    function : {"T", "S", "D"}, optional
        Keep only chords of this function (a cadence asks for ``"D"`` before
        its goal); if none qualifies, all options are returned.

    Returns
    -------
    list of (Chord, float)
        Options and their (unnormalised) weights.  A bass note outside the
        key gets a major triad on itself (a chromatic bass is read as a
        secondary dominant's root).
    """
    deg = key.degree(bass_pc)
    if deg is None:
        pcs = (bass_pc % 12, (bass_pc + 4) % 12, (bass_pc + 7) % 12)
        return [(Chord(pcs, "V/x", "D"), 1.0)]
    table = _MINOR if key.mode == "minor" else _MAJOR
    out = []
    for root_deg, size, label, fn, w in table[deg]:
        pcs = _chord(key, root_deg, size, dominant=fn == "D")
        if bass_pc % 12 not in pcs:     # a raised/natural 7th in the bass: rule-of-octave 6/3
            continue
        pre = _chord(key, 0, 3) if label.endswith("6/4-V") else None
        out.append((Chord(pcs, label, fn, pre), w))
    if not out:   # the natural 7th of minor in the bass (descending): VII or v6
        nat = key.natural
        out = [(Chord(tuple(nat[(deg + 2 * k) % 7] for k in range(3)), "VII", "S"), 0.6),
               (Chord(tuple(nat[(deg - 2 + 2 * k) % 7] for k in range(3)), "v6", "D"), 0.4)]
    if function is not None:
        kept = [(c, w) for c, w in out if c.function == function]
        if kept:
            return kept
    return out


def pitches_in(pcs: Iterable[int], low: float, high: float) -> list[int]:
    """The whole MIDI pitches in ``[low, high]`` whose pitch class is in ``pcs``, rising."""
    classes = {int(p) % 12 for p in pcs}
    return [p for p in range(math.ceil(low), math.floor(high) + 1) if p % 12 in classes]


def nearest_index(values: Sequence[float], target: float) -> int:
    """Index of the value nearest ``target`` (the first of equals)."""
    return int(np.argmin(np.abs(np.asarray(values, dtype=np.float64) - target)))
