"""Tension curves: how dissonance should move over a piece, bar by bar.

Why over 500 lines: the tension curve, its parser, the parameter curves that
follow it and the measures that compare a piece with it share one vocabulary
(bars, sections, quantised levels) that arrangements read as a unit.

An arrangement file may say how its tension builds, peaks and releases with a
``[tension]`` table (a curve over bars, values 0 = calm .. 1 = most tense) and
``[[tension.section]]`` tables (named bar ranges, some marked as releases).
Transform parameters can then follow the curve (see
:class:`ParamCurve` and :func:`synth.arrangement.read_arrangement`).

Public API
----------
TensionCurve.per_bar(n_bars) -> ndarray (n_bars,)     value of each bar (index 0 = bar 1)
TensionCurve.at(bars, n_bars) -> ndarray               at fractional bar positions
TensionCurve.per_beat(meters, beats, n_bars) -> ndarray at beats, through a meter map
TensionCurve.window_means(n_bars, first_bars, window_bars) -> ndarray
bar_window_means(per_bar, first_bars, last_bars) -> ndarray   the same, of a per-bar array
parse_tension(table, *, source) -> TensionCurve        the validated ``[tension]`` table
ParamCurve, parse_param_curve(...)                     a transform parameter that follows it
quantise(values) -> ndarray                            the 1/16 steps used to cut segments
SHAPES                                                  the named shapes

The curve model is pure: numbers in, numbers out.  Measuring a score
(normalised roughness per bar or window) is done by :mod:`synth.analysis`;
:func:`measured_windows` and :func:`pearson` are thin helpers that compare a
measurement with a curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from .errors import ArrangementError
from .params import suggest as _suggest

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from .score import MeterMap, Score

__all__ = ["SHAPES", "QUANTUM", "Section", "TensionCurve", "Choice", "ParamCurve", "parse_tension",
           "parse_param_curve", "is_param_curve", "quantise", "pearson", "coefficient_of_variation",
           "measured_windows", "bar_window_means"]

#: Named shapes of a curve and the keys each one reads (besides ``low``/``high``).
SHAPES = {
    "flat": (),                 # ``level`` (default: ``high``)
    "ramp": (),                 # low -> high, linearly
    "arch": ("peak_at",),       # low -> high -> low, peak at the fraction ``peak_at``
    "waves": ("period_bars",),  # raised-cosine waves from low to high, ``period_bars`` long
    "terraces": ("steps",),     # ``steps`` levels: a number (evenly low..high) or a list of levels
}

#: Tension is quantised to multiples of this before it chooses a parameter value,
#: so that a slowly moving curve cuts a piece into few segments (at most 17 values).
QUANTUM = 1.0 / 16.0

_CURVE_KEYS = ("points", "shape", "low", "high", "level", "peak_at", "period_bars", "steps")
_TENSION_KEYS = _CURVE_KEYS + ("last_bar", "section")
_SECTION_KEYS = _CURVE_KEYS + ("bars", "name", "release", "release_bars", "release_to")


def _err(msg: str, source: str | None) -> ArrangementError:
    return ArrangementError(msg, source=source)


def _check_keys(table: Mapping, valid: Sequence[str], where: str, source) -> None:
    """Refuse a key of ``table`` not in ``valid``, naming it with a "did you mean"."""
    for key in table:
        if key not in valid:
            raise _err(f"{where}.{key}: unknown key{_suggest(key, valid)} "
                       f"(valid: {', '.join(valid)})", source)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            and math.isfinite(float(v)))


def _num(v, key: str, source, *, lo: float | None = None, hi: float | None = None,
         integer: bool = False) -> float:
    if not _is_number(v) or (integer and float(v) != int(v)):
        raise _err(f"{key}: expected {'a whole number' if integer else 'a number'}, got {v!r}", source)
    if lo is not None and v < lo:
        raise _err(f"{key}: {v!r} is below the minimum {lo:g}", source)
    if hi is not None and v > hi:
        raise _err(f"{key}: {v!r} is above the maximum {hi:g}", source)
    return int(v) if integer else float(v)


# ---------------------------------------------------------------- the curve

@dataclass(frozen=True)
class _Shape:
    """One curve definition (global or local to a section): points or a named shape."""

    points: tuple[tuple[float, float], ...] | None = None
    shape: str | None = None
    low: float = 0.0
    high: float = 1.0
    level: float | None = None
    peak_at: float = 0.5
    period_bars: float = 16.0
    steps: tuple[float, ...] | int = 3

    @property
    def defined(self) -> bool:
        return self.points is not None or self.shape is not None or self.level is not None

    def evaluate(self, bars: np.ndarray, first: float, last: float) -> np.ndarray:
        """Values at (fractional) ``bars`` for a span ``[first, last]`` of bars."""
        bars = np.asarray(bars, dtype=np.float64)
        if self.points is not None:
            xs = np.array([p[0] for p in self.points])
            ys = np.array([p[1] for p in self.points])
            return np.interp(bars, xs, ys)
        lo, hi = self.low, self.high
        if self.shape is None or self.shape == "flat":
            return np.full(bars.shape, hi if self.level is None else self.level)
        x = np.clip((bars - first) / max(last - first, 1e-9), 0.0, 1.0)
        if self.shape == "ramp":
            u = x
        elif self.shape == "arch":
            p = self.peak_at
            u = np.where(x <= p, np.sin(0.5 * np.pi * x / max(p, 1e-9)),
                         np.cos(0.5 * np.pi * (x - p) / max(1.0 - p, 1e-9)))
            u = np.clip(u, 0.0, 1.0)
        elif self.shape == "waves":
            u = 0.5 - 0.5 * np.cos(2.0 * np.pi * (bars - first) / self.period_bars)
        elif self.shape == "terraces":
            levels = (np.linspace(0.0, 1.0, self.steps) if isinstance(self.steps, int)
                      else None)
            n = self.steps if isinstance(self.steps, int) else len(self.steps)
            idx = np.minimum((x * n).astype(int), n - 1)
            if levels is None:   # explicit levels are absolute tension values
                return np.asarray(self.steps, dtype=np.float64)[idx]
            u = levels[idx]
        else:  # pragma: no cover - parse_tension refuses unknown shapes
            raise AssertionError(self.shape)
        return lo + (hi - lo) * u


@dataclass(frozen=True)
class Section:
    """A named bar range of the plan.

    Attributes
    ----------
    first, last : int
        Inclusive 1-based bars.
    name : str
    release : bool
        The section must resolve: over its last ``release_bars`` bars the
        tension falls linearly to ``release_to`` (reached on the last bar).
    release_bars : int
    release_to : float
    curve : _Shape
        A local curve for the section's bars (its shapes span the section);
        when undefined, the global curve applies.
    """

    first: int
    last: int
    name: str
    release: bool = False
    release_bars: int = 4
    release_to: float = 0.0
    curve: _Shape = field(default_factory=_Shape)


@dataclass(frozen=True)
class TensionCurve:
    """The requested tension of a piece, 0 (calm) .. 1 (most tense), over bars.

    Build it with :func:`parse_tension` (from an arrangement's ``[tension]``
    table) or directly.  A global curve (``points`` linearly interpolated in
    bar numbers and held flat beyond the first and last point, or a named
    ``shape`` spanning bars 1 .. ``last_bar``) is overridden inside sections
    that define their own curve; release sections then fall to
    ``release_to`` over their last ``release_bars`` bars.

    Attributes
    ----------
    curve : _Shape
    sections : tuple of Section
        Sorted, not overlapping.
    last_bar : int or None
        Last bar of a named shape's span (default: the piece's last bar).
    """

    curve: _Shape = field(default_factory=_Shape)
    sections: tuple[Section, ...] = ()
    last_bar: int | None = None

    def at(self, bars: ArrayLike, n_bars: int) -> np.ndarray:
        """Tension at (fractional) bar positions.

        Parameters
        ----------
        bars : array_like, shape (m,)
            1-based bar positions (bar 3.5 = the middle of bar 3).
        n_bars : int
            Bars in the piece (the span of a named shape when ``last_bar`` is unset).

        Returns
        -------
        np.ndarray, shape (m,)
            Values clipped to 0..1.
        """
        whole = np.arange(1, max(int(n_bars), 1) + 1, dtype=np.float64)
        per = self.per_bar(n_bars)
        return np.interp(np.asarray(bars, dtype=np.float64), whole, per)

    def per_bar(self, n_bars: int) -> np.ndarray:
        """Tension of each bar, index 0 = bar 1.

        Returns
        -------
        np.ndarray, shape (n_bars,)
        """
        n = max(int(n_bars), 0)
        bars = np.arange(1, n + 1, dtype=np.float64)
        last = float(self.last_bar or n)
        out = (self.curve.evaluate(bars, 1.0, last) if self.curve.defined
               else np.full(n, 0.5))
        for s in self.sections:
            inside = (bars >= s.first) & (bars <= s.last)
            if s.curve.defined and inside.any():
                out[inside] = s.curve.evaluate(bars[inside], float(s.first), float(s.last))
            if s.release:
                k = s.last - bars            # 0 on the last bar
                fall = inside & (k < s.release_bars)
                frac = k[fall] / s.release_bars
                out[fall] = np.minimum(out[fall], s.release_to + (out[fall] - s.release_to) * frac)
        return np.clip(out, 0.0, 1.0)

    def per_beat(self, meters: MeterMap, beats: ArrayLike, n_bars: int) -> np.ndarray:
        """Tension at ``beats`` (bars found through ``meters``, a :class:`~synth.score.MeterMap`).

        Within a bar the value moves linearly from the bar's value towards the
        next bar's, so a ramp rises smoothly rather than in steps.
        """
        beats = np.atleast_1d(np.asarray(beats, dtype=np.float64))
        pos = np.empty_like(beats)
        for i, b in enumerate(beats):
            bar = meters.bar_at(float(b))
            start, end = meters.bar_start(bar), meters.bar_start(bar + 1)
            pos[i] = bar + (b - start) / max(end - start, 1e-12)
        return self.at(pos, n_bars)

    def window_means(self, n_bars: int, first_bars: ArrayLike, window_bars: int) -> np.ndarray:
        """Mean tension over each window ``[first, first + window_bars - 1]`` (clipped to the piece).

        Returns
        -------
        np.ndarray, shape (len(first_bars),)
        """
        first = np.asarray(first_bars, dtype=int)
        return bar_window_means(self.per_bar(n_bars), first, first + int(window_bars) - 1)

    def section_names(self, n_bars: int) -> list[str]:
        """The section name of each bar ('' outside every section), index 0 = bar 1."""
        names = [""] * max(int(n_bars), 0)
        for s in self.sections:
            for b in range(max(s.first, 1), min(s.last, len(names)) + 1):
                names[b - 1] = s.name
        return names


def bar_window_means(per_bar: ArrayLike, first_bars: ArrayLike, last_bars: ArrayLike) -> np.ndarray:
    """Mean of ``per_bar`` (index 0 = bar 1) over each window of bars
    ``[first, last]``; a window wholly past the end holds the last value (as
    :func:`synth.arrangement.apply_curves` does), 0 when ``per_bar`` is empty.

    Returns
    -------
    np.ndarray, shape (len(first_bars),)
    """
    per = np.asarray(per_bar, dtype=np.float64)
    hold = float(per[-1]) if per.size else 0.0
    out = []
    for f, la in zip(np.asarray(first_bars, dtype=int), np.asarray(last_bars, dtype=int)):
        chunk = per[max(f - 1, 0):max(la, 0)]
        out.append(float(chunk.mean()) if chunk.size else hold)
    return np.asarray(out, dtype=np.float64)


def quantise(values: ArrayLike) -> np.ndarray:
    """Tension rounded to multiples of :data:`QUANTUM` (1/16)."""
    return np.round(np.asarray(values, dtype=np.float64) / QUANTUM) * QUANTUM


# ---------------------------------------------------------------- parsing

def _parse_shape(table: Mapping, where: str, source) -> _Shape:
    kw: dict[str, Any] = {}
    if "points" in table and ("shape" in table or "level" in table):
        raise _err(f"{where}.shape: give points or a shape, not both", source)
    if "points" in table:
        pts = table["points"]
        if not isinstance(pts, list) or not pts:
            raise _err(f"{where}.points: expected a list of [bar, tension] pairs, got {pts!r}", source)
        out = []
        for i, p in enumerate(pts):
            if not isinstance(p, list) or len(p) != 2 or not all(_is_number(v) for v in p):
                raise _err(f"{where}.points[{i}]: expected [bar, tension], got {p!r}", source)
            bar = _num(p[0], f"{where}.points[{i}]", source, lo=1)
            value = _num(p[1], f"{where}.points[{i}]", source, lo=0, hi=1)
            if out and bar <= out[-1][0]:
                raise _err(f"{where}.points[{i}]: bars must increase, got {p[0]!r} after "
                           f"{out[-1][0]:g}", source)
            out.append((bar, value))
        kw["points"] = tuple(out)
    if "shape" in table:
        shape = table["shape"]
        if shape not in SHAPES:
            raise _err(f"{where}.shape: unknown shape {shape!r}{_suggest(shape, SHAPES)} "
                       f"(shapes: {', '.join(SHAPES)})", source)
        kw["shape"] = shape
        for key in ("peak_at", "period_bars", "steps"):
            if key in table and key not in SHAPES[shape]:
                raise _err(f"{where}.{key}: not a key of shape {shape!r}", source)
    for key in ("low", "high", "level"):
        if key in table:
            kw[key] = _num(table[key], f"{where}.{key}", source, lo=0, hi=1)
    if "peak_at" in table:
        kw["peak_at"] = _num(table["peak_at"], f"{where}.peak_at", source, lo=0, hi=1)
    if "period_bars" in table:
        kw["period_bars"] = _num(table["period_bars"], f"{where}.period_bars", source, lo=1)
    if "steps" in table:
        st = table["steps"]
        if isinstance(st, list):
            if not st:
                raise _err(f"{where}.steps: expected a number of levels or a list of levels", source)
            kw["steps"] = tuple(_num(v, f"{where}.steps[{i}]", source, lo=0, hi=1)
                                for i, v in enumerate(st))
        else:
            kw["steps"] = _num(st, f"{where}.steps", source, lo=1, hi=64, integer=True)
    if "level" in table and "shape" not in table:
        kw["shape"] = "flat"
    return _Shape(**kw)


def parse_tension(table: Mapping[str, Any], *, source: str | None = None) -> TensionCurve:
    """Validate an arrangement's ``[tension]`` table.

    Keys: ``points`` (``[[bar, tension], ...]``, bars increasing, tension
    0..1) or ``shape`` (one of :data:`SHAPES`) with ``low``, ``high`` and the
    shape's own key; ``level`` (a flat curve); ``last_bar`` (span of a
    shape); ``section`` (the ``[[tension.section]]`` tables: ``bars =
    [first, last]``, ``name``, optional ``release``, ``release_bars``,
    ``release_to`` and a local curve with the same keys as the global one).

    Raises
    ------
    ArrangementError
        Naming ``source`` and the key, e.g. ``tension.section[1].bars``.
    """
    if not isinstance(table, dict):
        raise _err(f"tension: expected a [tension] table, got {table!r}", source)
    _check_keys(table, _TENSION_KEYS, "tension", source)
    curve = _parse_shape(table, "tension", source)
    last_bar = (_num(table["last_bar"], "tension.last_bar", source, lo=1, integer=True)
                if "last_bar" in table else None)
    raw = table.get("section", [])
    if not isinstance(raw, list):
        raise _err("tension.section: expected [[tension.section]] tables", source)
    sections: list[Section] = []
    names: set[str] = set()
    for i, s in enumerate(raw):
        where = f"tension.section[{i}]"
        if not isinstance(s, dict):
            raise _err(f"{where}: expected a table, got {s!r}", source)
        _check_keys(s, _SECTION_KEYS, where, source)
        bars = s.get("bars")
        if (not isinstance(bars, list) or len(bars) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in bars)
                or not 1 <= bars[0] <= bars[1]):
            raise _err(f"{where}.bars: expected [first, last] bar numbers (1-based, first <= last), "
                       f"got {bars!r}", source)
        name = s.get("name", f"section{i + 1}")
        if not isinstance(name, str) or not name:
            raise _err(f"{where}.name: expected a non-empty string, got {name!r}", source)
        if name in names:
            raise _err(f"{where}.name: section {name!r} is named twice", source)
        names.add(name)
        release = s.get("release", False)
        if not isinstance(release, bool):
            raise _err(f"{where}.release: expected true or false, got {release!r}", source)
        rb = _num(s.get("release_bars", 4), f"{where}.release_bars", source, lo=1, integer=True)
        rt = _num(s.get("release_to", 0.0), f"{where}.release_to", source, lo=0, hi=1)
        if sections and bars[0] <= sections[-1].last:
            raise _err(f"{where}.bars: {bars!r} overlaps or precedes section "
                       f"{sections[-1].name!r} (bars {sections[-1].first}-{sections[-1].last}); "
                       f"sections must be in order and apart", source)
        sections.append(Section(bars[0], bars[1], name, release, rb, rt,
                                _parse_shape(s, where, source)))
    if not curve.defined and not sections:
        raise _err("tension: give points, a shape, a level or sections", source)
    return TensionCurve(curve, tuple(sections), last_bar)


# ---------------------------------------------------------------- parameters that follow the curve

@dataclass(frozen=True)
class Choice:
    """A seeded choice among ``options``, drawn once per segment (or every ``every`` bars)."""

    options: tuple
    every: int | None = None


@dataclass(frozen=True)
class ParamCurve:
    """A transform parameter given as a function of the bar.

    Forms (TOML inline tables in a ``[[transform]]``):

    * ``{ tension = [low, high] }``: a number, linearly from ``low`` (tension
      0) to ``high`` (tension 1); more than two numbers are breakpoints at
      even tension steps.  Whole-number parameters are rounded.
    * ``{ tension = [v0, v1, ..., vn], levels = true }`` (the default for
      three or more values, and for non-numbers): value ``k`` for tension in
      ``[k/(n+1), (k+1)/(n+1))``: e.g. ``interval = { tension = [12, 7, 1] }``.
    * ``{ section = { name = value, ... }, default = value }``: one value per
      section of the plan (``default`` outside the named sections; without
      it, a bar outside takes the value of the nearest section before it).
    * ``{ choose = [a, b, ...], every = N }``: a seeded choice per segment
      (or every ``N`` bars), from the render's seed.  A value of the two
      forms above may itself be a ``{ choose = [...] }`` table.

    Tension is quantised to :data:`QUANTUM` before it is mapped.
    """

    kind: str                      # "tension", "section" or "choose"
    values: Any                    # tuple (tension), dict (section) or Choice
    levels: bool = False
    default: Any = None

    def value_key(self, t: float, section: str, bar: int,
                  held: str = "") -> tuple[Any, tuple[Any, ...]]:
        """The (pre-choice) value for one bar: a plain value or a :class:`Choice`, and a
        key that changes where a new segment must start.

        ``held`` names the nearest section before the bar (or the first one):
        a ``section`` mapping without ``default`` uses its value outside the
        sections (e.g. for a tail that a canon adds after the last bar).
        """
        if self.kind == "choose":
            v = self.values
            return v, ("c", (bar - 1) // v.every if v.every else 0)
        if self.kind == "section":
            v = self.values.get(section, self.default)
            if v is None:
                v = self.values.get(held)
        elif self.levels:
            n = len(self.values)
            k = min(int(t * n + 1e-9), n - 1)
            v = self.values[k]
        else:
            xs = np.linspace(0.0, 1.0, len(self.values))
            v = float(np.interp(t, xs, np.asarray(self.values, dtype=np.float64)))
        if isinstance(v, Choice):
            return v, ("c", id(v), (bar - 1) // v.every if v.every else 0)
        return v, ("v", repr(v))

    def candidates(self) -> list:
        """Every plain value this curve can produce (for validation)."""
        vals = (list(self.values.values()) + ([self.default] if self.default is not None else [])
                if self.kind == "section" else [self.values] if self.kind == "choose"
                else list(self.values))
        out = []
        for v in vals:
            out.extend(v.options if isinstance(v, Choice) else [v])
        return out


def is_param_curve(value: Any) -> bool:
    """True for a parameter value that is a curve mapping (a table)."""
    return isinstance(value, dict)


def _parse_choice(value, key: str, source) -> Choice:
    _check_keys(value, ("choose", "every"), key, source)
    opts = value.get("choose")
    if not isinstance(opts, list) or not opts:
        raise _err(f"{key}.choose: expected a non-empty list of values, got {opts!r}", source)
    every = (_num(value["every"], f"{key}.every", source, lo=1, integer=True)
             if "every" in value else None)
    return Choice(tuple(opts), every)


def _plain_or_choice(v, key: str, source):
    return _parse_choice(v, key, source) if isinstance(v, dict) else v


def parse_param_curve(value: Any, key: str, *, source: str | None = None,
                      sections: Sequence[str] = (), check: Callable[[Any, str], Any] | None = None
                      ) -> ParamCurve:
    """Validate a curve-valued parameter (see :class:`ParamCurve`).

    Parameters
    ----------
    value : dict
        The TOML inline table.
    key : str
        Its key for messages, e.g. ``"transform[3].interval"``.
    sections : sequence of str
        Names of the plan's sections (a ``section`` mapping must use them).
    check : callable, optional
        ``check(value, key) -> value``: validates one plain value (the
        transform parameter's own check); its errors propagate.
    """
    forms = [k for k in ("tension", "section", "choose") if k in value]
    if len(forms) != 1:
        raise _err(f"{key}: a parameter curve needs exactly one of tension, section, choose; "
                   f"got {sorted(value)!r}", source)
    form = forms[0]
    if form == "choose":
        pc = ParamCurve("choose", _parse_choice(value, key, source))
    elif form == "tension":
        _check_keys(value, ("tension", "levels"), key, source)
        vals = value["tension"]
        if not isinstance(vals, list) or len(vals) < 2:
            raise _err(f"{key}.tension: expected a list of at least two values "
                       f"(low .. high tension), got {vals!r}", source)
        vals = tuple(_plain_or_choice(v, f"{key}.tension[{i}]", source) for i, v in enumerate(vals))
        numeric = all(_is_number(v) for v in vals)
        levels = value.get("levels", not (numeric and len(vals) == 2))
        if not isinstance(levels, bool):
            raise _err(f"{key}.levels: expected true or false, got {levels!r}", source)
        if not levels and not numeric:
            raise _err(f"{key}.tension: linear mapping needs numbers, got {list(vals)!r} "
                       f"(use levels = true)", source)
        pc = ParamCurve("tension", vals, levels)
    else:
        _check_keys(value, ("section", "default"), key, source)
        table = value["section"]
        if not isinstance(table, dict) or not table:
            raise _err(f"{key}.section: expected a table of section name = value, got {table!r}",
                       source)
        for name in table:
            if name not in sections:
                raise _err(f"{key}.section.{name}: no section named {name!r} in [tension]"
                           f"{_suggest(name, sections)} (sections: {', '.join(sections) or 'none'})",
                           source)
        vals = {n: _plain_or_choice(v, f"{key}.section.{n}", source) for n, v in table.items()}
        default = value.get("default")
        if default is None and set(sections) - set(vals):
            missing = ", ".join(sorted(set(sections) - set(vals)))
            raise _err(f"{key}.default: needed for the sections without a value ({missing})",
                       source)
        pc = ParamCurve("section", vals, False,
                        _plain_or_choice(default, f"{key}.default", source) if default is not None
                        else None)
    if check is not None:
        for v in pc.candidates():
            check(v, key)
    return pc


# ---------------------------------------------------------------- comparing a measurement with a curve

def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson correlation of two equal-length sequences (0 if either is constant)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size < 2 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def coefficient_of_variation(values: ArrayLike) -> float:
    """Standard deviation over mean (0 for an empty or zero-mean sequence)."""
    v = np.asarray(values, dtype=np.float64)
    m = v.mean() if v.size else 0.0
    return float(v.std() / m) if m > 0 else 0.0


def measured_windows(score: Score, window_bars: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``(first_bars, values)``: the normalised roughness of ``score`` per window
    (:func:`synth.analysis.windowed_roughness`, loudness-independent)."""
    from .analysis import windowed_roughness
    w = windowed_roughness(score, window_bars=window_bars)
    return np.asarray(w.first_bars, dtype=int), np.asarray(w.values, dtype=np.float64)
