"""Tunings: Scala scales (``.scl``) with keyboard mappings (``.kbm``), EDOs, just intonation.

A :class:`Tuning` maps a *key* (a MIDI note number, as the notation writes
it: ``C4`` = key 60) to a *pitch* (a float MIDI number, the model's pitch), so
a tuned score is an ordinary score whose pitches are fractional.

The Scala formats follow their published description
(https://www.huygens-fokker.org/scala/scl_format.html and the keyboard
mapping section of the Scala help):

``.scl``
    Lines starting with ``!`` are comments.  The first other line is a
    description (may be empty); the next holds the number of notes N; then N
    pitches, one per line: a value with a ``.`` is in cents (``701.955``,
    ``-5.``), otherwise a ratio (``3/2``) or a whole number (``2`` = 2/1).
    Anything after the value on its line is ignored; leading blanks are
    allowed; the file may end without a newline.  Degree 0 (1/1) is implied;
    the last pitch is the *period* (usually 2/1, the octave).
``.kbm``
    After ``!`` comments: map size, first and last key to retune, middle key
    (where degree 0 of the mapping sits), reference key, reference frequency
    in Hz, the scale degree that is the formal octave (0 = the scale's
    period), then ``map size`` entries (a degree, or ``x`` for an unmapped
    key).  Map size 0 is a linear mapping: key ``middle + i`` plays degree i.
    Keys outside first..last are not retuned (they keep 12-EDO pitches).

Without a ``.kbm`` the mapping is linear with key 60 at degree 0, tuned to
261.6256 Hz (12-EDO middle C, MIDI 60): the default of most Scala-aware
synthesizers.

Public API
----------
Tuning                    key -> pitch; ``.pitch(key)``, ``.cents``, ``.period_cents``
parse_scl(text, source)   -> (description, cents tuple)
parse_kbm(text, source)   -> KeyboardMap
load_tuning(spec, base_dir=None, kbm=None) -> Tuning (built-in name or .scl path)
BUILTIN                   names of the built-in tunings: ``12-edo`` .. ``31-edo``, ``just``, ``just-7``
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from .errors import ScoreError
from .files import read_bytes

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Tuning", "KeyboardMap", "parse_scl", "parse_kbm", "load_tuning", "edo",
           "BUILTIN", "MAX_TUNING_FILE_BYTES"]

#: Largest .scl / .kbm file read (real ones are a few kilobytes).
MAX_TUNING_FILE_BYTES = 1 << 20
_MAX_NOTES = 4096

#: 5-limit just intonation on C: the ratios of the chromatic "just" scale.
_JUST_5 = ("16/15", "9/8", "6/5", "5/4", "4/3", "45/32", "3/2", "8/5", "5/3", "9/5", "15/8",
           "2/1")
#: 7-limit just intonation on C (harmonic seventh 7/4, septimal tritone 7/5).
_JUST_7 = ("15/14", "8/7", "6/5", "5/4", "4/3", "7/5", "3/2", "8/5", "5/3", "7/4", "15/8",
           "2/1")


def _ratio_cents(r: Fraction) -> float:
    return 1200.0 * math.log2(r)


@dataclass(frozen=True)
class KeyboardMap:
    """A Scala keyboard mapping (``.kbm``); see the module docstring."""

    size: int = 0
    first: int = 0
    last: int = 127
    middle: int = 60
    reference_key: int = 60
    reference_hz: float = 440.0 * 2.0 ** ((60 - 69) / 12.0)
    octave_degree: int = 0
    mapping: tuple[int | None, ...] = ()


class Tuning:
    """A scale (cents of degrees 1..N, the last being the period) and a keyboard map.

    Parameters
    ----------
    cents : sequence of float
        Degrees 1..N in cents above degree 0; the last is the period.
    name : str
        For messages and ``synth info``.
    kbm : KeyboardMap, optional
        Default: linear, key 60 = degree 0 = 261.6256 Hz.
    """

    def __init__(self, cents: Sequence[float], *, name: str = "", kbm: KeyboardMap | None = None,
                 source: str | None = None):
        self.cents = tuple(float(c) for c in cents)
        if not self.cents:
            raise ScoreError("a tuning needs at least one pitch (its period)", source=source)
        self.name = name
        self.kbm = kbm or KeyboardMap()
        self.source = source
        self.period_cents = self.cents[-1]
        if not self.period_cents > 0:
            raise ScoreError(f"the period (last pitch) must be above 1/1, got "
                             f"{self.period_cents:g} cents", source=source)
        n = len(self.cents)
        k = self.kbm
        if k.size and any(d is not None and d > n * 64 for d in k.mapping):
            raise ScoreError("keyboard mapping degree out of range", source=source)
        octave = k.octave_degree or n
        self._octave_cents = self._degree_cents(octave)
        ref = self._key_cents(k.reference_key)
        if ref is None:
            raise ScoreError(f"the reference key {k.reference_key} is not mapped", source=source)
        self._ref_pitch = 69.0 + 12.0 * math.log2(k.reference_hz / 440.0)
        self._ref_cents = ref

    @property
    def size(self) -> int:
        """Notes per period."""
        return len(self.cents)

    def _degree_cents(self, degree: int) -> float:
        n = len(self.cents)
        octave, d = divmod(degree, n)
        return octave * self.period_cents + (self.cents[d - 1] if d else 0.0)

    def _key_cents(self, key: int) -> float | None:
        k = self.kbm
        if k.size == 0:
            return self._degree_cents(key - k.middle)
        octave, i = divmod(key - k.middle, k.size)
        degree = k.mapping[i] if i < len(k.mapping) else None
        if degree is None:
            return None
        return octave * self._octave_cents + self._degree_cents(degree)

    def pitch(self, key: float) -> float:
        """Tuned pitch (float MIDI number) of ``key``.

        A fractional key (a written cent offset, ``C4+25c``) keeps its offset
        from the nearest whole key: ``pitch(60.25) == pitch(60) + 0.25``.
        Keys outside the mapping's first..last are not retuned.

        Raises
        ------
        ScoreError
            For a key the keyboard mapping leaves unmapped (``x``).
        """
        whole = int(round(key))
        offset = key - whole
        if not self.kbm.first <= whole <= self.kbm.last:
            return float(key)
        cents = self._key_cents(whole)
        if cents is None:
            raise ScoreError(f"key {whole} is not mapped by the keyboard mapping of tuning "
                             f"{self.name!r} ('x')", source=self.source)
        return self._ref_pitch + (cents - self._ref_cents) / 100.0 + offset

    def __repr__(self):
        return f"Tuning({self.name!r}, {self.size} notes, period {self.period_cents:g} cents)"


# ---------------------------------------------------------------- parsing

def _decode(raw: bytes, source: str | None) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ScoreError(f"not UTF-8: byte {raw[e.start]:#04x} at byte offset {e.start} "
                         "(save the file as UTF-8)", source=source, line=line) from None
    return text[1:] if text.startswith("\ufeff") else text


def _lines(text: str):
    """``(line number, text)`` of the lines that are not ``!`` comments."""
    for i, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if not line.lstrip().startswith("!"):
            yield i, line


_CENTS_RE = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)$")
_RATIO_RE = re.compile(r"^(\d+)(?:/(\d+))?$")


def _pitch_cents(token: str, source, line: int) -> float:
    if _CENTS_RE.match(token):
        value = float(token)
        if not math.isfinite(value) or abs(value) > 1e6:
            raise ScoreError(f"cents value {token!r} out of range", source=source, line=line)
        return value
    m = _RATIO_RE.match(token)
    if not m:
        raise ScoreError(f"not a pitch: {token!r} (a ratio such as '3/2', a whole number, "
                         "or cents with a '.', such as '701.955')", source=source, line=line)
    num, den = int(m.group(1)), int(m.group(2) or 1)
    if num == 0 or den == 0:
        raise ScoreError(f"bad ratio {token!r}: numerator and denominator must be > 0",
                         source=source, line=line)
    return _ratio_cents(Fraction(num, den))


def parse_scl(text: str, source: str | None = None) -> tuple[str, tuple[float, ...]]:
    """Parse the text of a ``.scl`` file: ``(description, cents of degrees 1..N)``.

    Raises
    ------
    ScoreError
        Naming ``source`` and the line: a missing or bad count, a bad pitch,
        fewer or more pitches than the count says.
    """
    lines = list(_lines(text))
    if not lines or not text.strip():          # nothing, or only a '!' comment line
        raise ScoreError("empty Scala file (a description line, a note count and the "
                         "pitches are expected)", source=source, line=1)
    desc_line, description = lines[0]
    rest = [(i, ln) for i, ln in lines[1:] if ln.strip()]
    if not rest:
        raise ScoreError("no note count after the description line", source=source,
                         line=desc_line + 1)
    count_line, count_text = rest[0]
    token = count_text.split()[0]
    if not token.isdigit():
        raise ScoreError(f"the note count must be a whole number, got {token!r}",
                         source=source, line=count_line)
    count = int(token)
    if not 1 <= count <= _MAX_NOTES:
        raise ScoreError(f"the note count must be 1..{_MAX_NOTES}, got {count}",
                         source=source, line=count_line)
    pitches = rest[1:]
    if len(pitches) < count:
        last = pitches[-1][0] if pitches else count_line
        raise ScoreError(f"the count on line {count_line} says {count} notes, but only "
                         f"{len(pitches)} follow", source=source, line=last)
    if len(pitches) > count:
        line, extra = pitches[count]
        raise ScoreError(f"the count on line {count_line} says {count} notes, but more "
                         f"follow: {extra.strip()!r}", source=source, line=line)
    cents = tuple(_pitch_cents(ln.split()[0], source, i) for i, ln in pitches)
    return description.strip(), cents


def parse_kbm(text: str, source: str | None = None) -> KeyboardMap:
    """Parse the text of a ``.kbm`` keyboard mapping (see the module docstring)."""
    lines = [(i, ln.split()[0]) for i, ln in _lines(text) if ln.strip()]
    names = ("map size", "first key", "last key", "middle key", "reference key",
             "reference frequency", "octave degree")
    if len(lines) < len(names):
        line = lines[-1][0] if lines else 1
        raise ScoreError(f"a keyboard mapping needs {len(names)} header values (map size .. "
                         f"octave degree), found {len(lines)}", source=source, line=line)
    values = []
    for (i, tok), name in zip(lines, names):
        try:
            v = float(tok) if name == "reference frequency" else int(tok)
        except ValueError:
            raise ScoreError(f"{name} must be a number, got {tok!r}", source=source,
                             line=i) from None
        values.append((v, i))
    (size, l1), (first, l2), (last, l3), (middle, l4), (ref, l5), (hz, l6), (octave, l7) = values
    for v, line, name in ((size, l1, "map size"), (octave, l7, "octave degree")):
        if not 0 <= v <= _MAX_NOTES:
            raise ScoreError(f"{name} must be 0..{_MAX_NOTES}, got {v}", source=source, line=line)
    for v, line, name in ((first, l2, "first key"), (last, l3, "last key"),
                          (middle, l4, "middle key"), (ref, l5, "reference key")):
        if not 0 <= v <= 127:
            raise ScoreError(f"{name} must be a MIDI key 0..127, got {v}", source=source,
                             line=line)
    if not (math.isfinite(hz) and 1.0 <= hz <= 30000.0):
        raise ScoreError(f"reference frequency must be 1..30000 Hz, got {hz:g}", source=source,
                         line=l6)
    mapping: list[int | None] = []
    for i, tok in lines[len(names):]:
        if tok.lower() == "x":
            mapping.append(None)
        elif tok.isdigit():
            mapping.append(int(tok))
        else:
            raise ScoreError(f"a mapping entry is a scale degree or 'x', got {tok!r}",
                             source=source, line=i)
    if len(mapping) > size:
        raise ScoreError(f"map size is {size} but {len(mapping)} entries follow",
                         source=source, line=lines[len(names) + size][0])
    return KeyboardMap(size, first, last, middle, ref, hz, octave, tuple(mapping))


# ---------------------------------------------------------------- built-ins, loading

def edo(n: int, *, kbm: KeyboardMap | None = None) -> Tuning:
    """``n`` equal divisions of the octave (``n``-EDO), one key per step."""
    if not (isinstance(n, int) and 1 <= n <= 1200):
        raise ScoreError(f"an EDO needs 1..1200 steps, got {n!r}")
    return Tuning([1200.0 * k / n for k in range(1, n + 1)], name=f"{n}-edo", kbm=kbm)


def _just(ratios, name, kbm=None) -> Tuning:
    return Tuning([_ratio_cents(Fraction(r)) for r in ratios], name=name, kbm=kbm)


#: Built-in tunings by name.
BUILTIN = ("12-edo", "19-edo", "22-edo", "24-edo", "31-edo", "53-edo", "just", "just-7")


def load_tuning(spec: str, *, base_dir: str | None = None, kbm: str | None = None) -> Tuning:
    """A built-in tuning by name (:data:`BUILTIN`, or any ``N-edo``) or a ``.scl`` file.

    Parameters
    ----------
    spec : str
        ``"19-edo"``, ``"just"``, ... or a path to a ``.scl`` file, relative to
        ``base_dir`` (default: the working directory).
    kbm : str, optional
        Path to a ``.kbm`` keyboard mapping (relative to ``base_dir``).

    Raises
    ------
    ScoreError
        An unknown name, an unreadable file, or a malformed file (naming the
        file and the line).
    """
    keymap = None
    if kbm is not None:
        path = os.path.join(base_dir or "", kbm)
        raw, _ = read_bytes(path, limit=MAX_TUNING_FILE_BYTES, error_type=ScoreError,
                            kind="keyboard mappings")
        keymap = parse_kbm(_decode(raw, path), path)
    m = re.fullmatch(r"(\d+)-edo", spec.strip().lower())
    if m:
        return edo(int(m.group(1)), kbm=keymap)
    if spec == "just":
        return _just(_JUST_5, "just", keymap)
    if spec == "just-7":
        return _just(_JUST_7, "just-7", keymap)
    if not spec.lower().endswith(".scl"):
        raise ScoreError(f"unknown tuning {spec!r}: a built-in ({', '.join(BUILTIN)}, or any "
                         "'N-edo') or a Scala file ending in .scl")
    path = os.path.join(base_dir or "", spec)
    raw, _ = read_bytes(path, limit=MAX_TUNING_FILE_BYTES, error_type=ScoreError,
                        kind="Scala files")
    description, cents = parse_scl(_decode(raw, path), path)
    return Tuning(cents, name=os.path.basename(spec), kbm=keymap, source=path)
