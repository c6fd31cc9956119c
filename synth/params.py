"""One parameter spec and one "did you mean", for every user-facing parameter.

Transforms (:class:`synth.transforms.base.TransformSpec`), sound sources
(:mod:`synth.sound_sources`), effects (:data:`EFFECT_PARAMS`), score files
and arrangements declare their parameters as :class:`Param`: a kind, a
default, an inclusive range with its unit, choices and a line of doc.  The
same spec checks a value (finite, in range, the right type) and documents it
(:mod:`synth.docgen` writes the ranges into ``docs/reference.md``), so the
check and the docs cannot disagree.

A check raises the caller's error type (``error=PatchError`` ...) with a
message that starts with the dotted key (``cents: 5000 is above the maximum
1200``); the loaders add the file and line.

Effect parameters live here too (:data:`EFFECT_PARAMS`, :func:`validate_effect`)
so score files and arrangements check part and master effects at load, with
file and line, before :mod:`synth.fx` builds them.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from .dsp.effects import SATURATION_SHAPES
from .errors import PatchError, ScoreError, SynthError

__all__ = ["Param", "MISSING", "suggest", "validate", "EFFECT_PARAMS", "validate_effect",
           "range_text", "FrozenMap", "TEMPO_BPM", "TEMPO_SCALE", "METER_NUMERATOR"]


class _Missing:
    """The default of a required parameter."""

    def __repr__(self) -> str:
        return "MISSING"


#: Default of a parameter that must be given.
MISSING: Any = _Missing()

_NUMBER_KINDS = ("float", "int")
_LIST_KINDS = {"floats": "float", "ints": "int", "strs": "str"}


def suggest(word: object, options: Iterable[object], *, cutoff: float = 0.5) -> str:
    """`` (did you mean 'x'?)`` for the option closest to ``word``, or ``""``.

    The one "did you mean" of the package: every unknown key, name or choice
    is reported through it.
    """
    close = difflib.get_close_matches(str(word), sorted(map(str, options)), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _at(key: str) -> str:
    """The message prefix naming ``key`` (none for an empty key: the caller names it)."""
    return f"{key}: " if key else ""


def _is_real(value: object) -> bool:
    # numpy scalars count; bool does not (true/false is never a number in a file)
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            or type(value).__module__ == "numpy" and hasattr(value, "dtype")
            and value.dtype.kind in "iuf")


@dataclass(frozen=True)
class Param:
    """One parameter: what it accepts, what it means, where its range is.

    Parameters
    ----------
    kind : str
        ``"float"``, ``"int"``, ``"bool"``, ``"str"``, ``"choice"`` (one of
        ``choices``, any type), ``"pitch"`` (MIDI number or note name such as
        ``"D3"``), ``"pitches"`` (list of those), ``"bars"`` (``[first, last]``
        1-based, inclusive), ``"floats"``, ``"ints"``, ``"strs"`` (lists),
        ``"path"`` (a file name) or ``"custom"`` (``check_fn`` decides).
    default : object
        Value when the parameter is not given; :data:`MISSING` = required.
    lo, hi : float, optional
        Inclusive bounds of a number (of every element of a list).
    choices : tuple, optional
        Allowed values (``"str"``, ``"strs"``, ``"choice"``).
    unit : str
        Unit of the number (``"Hz"``, ``"seconds"``, ``"dB"`` ...), for
        messages and docs.
    doc : str
        One line: what it does musically.
    min_len, max_len : int
        Bounds of a list's length.
    off : float, optional
        A value accepted outside ``lo..hi`` that switches the feature off
        (``0`` = no sweep).
    check_fn : callable, optional
        ``check_fn(key, value) -> value`` for ``"custom"``; raises
        :class:`ValueError` (or a :class:`SynthError`) with a message.
    """

    kind: str
    default: Any = MISSING
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    unit: str = ""
    doc: str = ""
    min_len: int = 1
    max_len: int = 4096
    off: float | None = None
    check_fn: Callable[[str, Any], Any] | None = None

    @property
    def required(self) -> bool:
        """True when the parameter has no default."""
        return self.default is MISSING

    def describe_range(self) -> str:
        """The accepted values as the docs show them (``0.01..0.99``, ``one of 1, 4``)."""
        return range_text(self)

    def check(self, value: Any, key: str, error: type[SynthError] = PatchError) -> Any:
        """``value`` validated and normalised (lists become tuples).

        Raises
        ------
        error
            ``"{key}: ..."`` naming what is wrong.
        """
        try:
            return self._check(value, key, error)
        except SynthError as e:
            if isinstance(e, error):
                raise
            raise error(_at(key) + f"{e.message}") from None      # a pitch name's ScoreError
        except ValueError as e:     # from a check_fn
            raise error(_at(key) + f"{e}") from None

    def _check(self, value: Any, key: str, error: type[SynthError]) -> Any:
        k = self.kind
        if k == "custom":
            assert self.check_fn is not None, "a custom Param needs check_fn"
            return self.check_fn(key, value)
        if k == "pitches" or k in _LIST_KINDS:
            if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
                what = "pitches" if k == "pitches" else "values"
                raise error(_at(key) + f"expected a list of {what}, got {value!r}")
            if not self.min_len <= len(value) <= self.max_len:
                raise error(_at(key) + f"expected {self._len_text()} values, got {len(value)}")
            inner = Param("pitch" if k == "pitches" else _LIST_KINDS[k], lo=self.lo, hi=self.hi,
                          choices=self.choices, unit=self.unit)
            return tuple(inner._check(v, f"{key}[{i}]", error) for i, v in enumerate(value))
        if k == "bars":
            if (not isinstance(value, (list, tuple)) or len(value) != 2
                    or not all(isinstance(b, int) and not isinstance(b, bool) for b in value)
                    or not 1 <= value[0] <= value[1]):
                raise error(_at(key) + f"expected [first, last] bar numbers (1-based, first <= last), "
                            f"got {value!r}")
            if self.hi is not None and value[1] > self.hi:
                raise error(_at(key) + f"bar {value[1]!r} is above the maximum {self.hi:g}")
            return (int(value[0]), int(value[1]))
        if k == "bool":
            if not isinstance(value, bool):
                raise error(_at(key) + f"expected true or false, got {value!r}")
            return value
        if k in ("str", "path"):
            if not isinstance(value, str):
                what = "a file name (string)" if k == "path" else "a string"
                raise error(_at(key) + f"expected {what}, got {value!r}")
            if self.choices is not None and value not in self.choices:
                raise error(_at(key) + f"{value!r} is not one of {', '.join(map(str, self.choices))}"
                            + suggest(value, self.choices))
            return value
        if k == "choice":
            if value not in self.choices or isinstance(value, bool):
                raise error(_at(key) + f"{value!r} is not one of {', '.join(map(str, self.choices))}"
                            + suggest(value, self.choices))
            return value
        if k == "pitch":
            if isinstance(value, str):
                from .units import parse_note_name
                return parse_note_name(value)
            k = "float"
        if k in _NUMBER_KINDS:
            return self._number(value, key, k, error)
        raise AssertionError(f"unknown parameter kind {k!r}")

    def _number(self, value: Any, key: str, kind: str, error: type[SynthError]) -> float | int:
        if not _is_real(value):
            raise error(_at(key) + f"expected a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise error(_at(key) + f"expected a finite number, got {value!r}")
        if kind == "int" and float(value) != int(value):
            raise error(_at(key) + f"expected a whole number, got {value!r}")
        v = int(value) if kind == "int" else float(value)
        if self.off is not None and v == self.off:
            return v
        unit = f" {self.unit}" if self.unit else ""
        if self.lo is not None and v < self.lo:
            raise error(_at(key) + f"{value!r} is below the minimum {self.lo:g}{unit}")
        if self.hi is not None and v > self.hi:
            raise error(_at(key) + f"{value!r} is above the maximum {self.hi:g}{unit}")
        return v

    def _len_text(self) -> str:
        if self.min_len == self.max_len:
            return str(self.min_len)
        return f"{self.min_len}..{self.max_len}"


def range_text(p: Param) -> str:
    """Accepted values of ``p`` in words, for docs and help."""
    if p.choices is not None:
        return "one of " + ", ".join(map(str, p.choices))
    parts = []
    if p.lo is not None or p.hi is not None:
        lo = "" if p.lo is None else f"{p.lo:g}"
        hi = "" if p.hi is None else f"{p.hi:g}"
        parts.append(f"{lo}..{hi}" + (f" {p.unit}" if p.unit else ""))
    elif p.unit:
        parts.append(p.unit)
    if p.off is not None:
        parts.append(f"or {p.off:g} (off)")
    if p.kind in ("pitches", "floats", "ints", "strs") and (p.min_len, p.max_len) != (1, 4096):
        parts.append(f"{p._len_text()} values")
    return ", ".join(parts)


def validate(specs: Mapping[str, Param], values: Mapping[str, Any], *, what: str,
             where: str = "", error: type[SynthError] = PatchError,
             fill_defaults: bool = True) -> dict[str, Any]:
    """``values`` checked against ``specs`` (unknown keys refused), defaults filled in.

    Parameters
    ----------
    specs : mapping of str to Param
    values : mapping
    what : str
        Names the owner in messages (``"transform 'transpose'"``).
    where : str
        Dotted prefix of every key in messages (``"transform[2]"``).
    error : type
        Error raised.
    fill_defaults : bool
        Add the defaults of missing parameters (a missing required one is an error).
    """
    prefix = f"{where}." if where else ""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in specs:
            valid = ", ".join(specs) or "none"
            raise error(f"{prefix}{key}: unknown parameter of {what}{suggest(key, specs)} "
                        f"(valid: {valid})")
        out[key] = specs[key].check(value, prefix + key, error)
    if fill_defaults:
        for key, p in specs.items():
            if key not in out:
                if p.required:
                    raise error(f"{prefix}{key}: {what} needs this parameter ({p.doc})")
                out[key] = p.default
    return out


class FrozenMap(Mapping):
    """A read-only, hashable, picklable mapping (patch overrides, effect specs).

    ``m["x"] = 1`` raises :class:`TypeError`; build a changed copy with
    ``FrozenMap({**m, "x": 1})``.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMap is read-only")

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items(), key=lambda kv: str(kv[0]))))

    def __eq__(self, other: object) -> bool:
        return dict(self._data) == other if isinstance(other, Mapping) else NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self) -> tuple:
        return FrozenMap, (self._data,)


# ---------------------------------------------------------------- effects

def _f(lo: float, hi: float, unit: str, doc: str, default: Any = MISSING, **kw: Any) -> Param:
    return Param("float", default, lo, hi, unit=unit, doc=doc, **kw)


#: Effect type -> its parameters, with the kernels' defaults (:mod:`synth.dsp.effects`;
#: ``MISSING``: must be given or is derived).  Ranges are musical bounds chosen
#: so a typo (``time = 1e6``) is refused at load instead of allocating
#: gigabytes or overflowing mid-render: delays up to 10 s, chorus delays up
#: to 100 ms, oversampling 1/2/4/8, reverb decay up to a minute.
EFFECT_PARAMS: dict[str, dict[str, Param]] = {
    "gain": {"gain_db": _f(-120, 48, "dB", "level change", 0.0)},
    "reverb": {
        "rt60": _f(0.05, 60, "seconds", "time for the tail to fall 60 dB", 2.0),
        "damping": _f(0, 1, "", "how much sooner the highs die", 0.3),
        "size": _f(0.3, 3, "", "scales the delay lengths (room size)", 1.0),
        "mix": _f(0, 1, "", "(1 - mix) * dry + mix * wet", 0.25),
    },
    "delay": {
        "time": _f(0.001, 10, "seconds", "delay time (or give beats)", 0.375),
        "beats": _f(0.01, 16, "beats", "tempo-synced delay time at the part's tempo "
                    "(instead of time; at most 10 s at the score's first tempo)"),
        "feedback": _f(0, 0.98, "", "gain of each further repeat", 0.35),
        "mix": _f(0, 1, "", "(1 - mix) * dry + mix * wet", 0.3),
        "damping": _f(0, 1, "", "repeats grow darker", 0.0),
    },
    "chorus": {
        "rate_hz": _f(0.01, 20, "Hz", "modulation rate", 0.8),
        "depth_ms": _f(0, 50, "ms", "peak delay swing (below delay_ms)", 2.0),
        "delay_ms": _f(0.1, 100, "ms", "centre delay (above depth_ms)", 12.0),
        "spread": _f(-1, 1, "cycles", "phase offset of the right channel's modulation", 0.25),
        "mix": _f(0, 1, "", "(1 - mix) * dry + mix * delayed", 0.5),
    },
    "bitcrush": {"bits": Param("int", 8, 1, 24, unit="bits", doc="bits kept")},
    "decimate": {"rate_hz": _f(100, 96000, "Hz", "rate of the held samples (at most the "
                               "sample rate)", 8000.0)},
    "saturate": {
        "drive_db": _f(-24, 60, "dB", "input gain before the curve", 6.0),
        "shape": Param("str", "tanh", choices=SATURATION_SHAPES,
                       doc="the curve: tanh, cubic soft clip or triangle wavefolder"),
        "oversample": Param("choice", 1, choices=(1, 2, 4, 8), unit="x",
                            doc="shape at this multiple of the rate to curb aliasing "
                                "(adds latency)"),
        "mix": _f(0, 1, "", "(1 - mix) * dry + mix * shaped", 1.0),
    },
}

# ---------------------------------------------------------------- score files and arrangements

#: Tempo of a score (``[score] tempo``, ``[[tempo]] bpm``) and of an arrangement.
TEMPO_BPM = Param("float", 120.0, 1, 1000, unit="bpm", doc="quarter notes per minute")
#: ``[arrangement] tempo_scale``: a factor on every tempo of the source.
TEMPO_SCALE = Param("float", 1.0, 0.05, 20, doc="factor on every tempo of the source")
#: Beats per bar of a meter (``"7/8"``: 7).
METER_NUMERATOR = Param("int", 4, 1, 64, unit="beats", doc="beats per bar")


#: The longest delay a ``beats`` value may come to at the part's tempo.
MAX_DELAY_SECONDS = 10.0


def validate_effect(spec: Any, where: str, *, error: type[SynthError] = ScoreError,
                    bpm: float | None = None) -> dict[str, Any]:
    """One effect mapping ``{"type": NAME, **params}`` checked against :data:`EFFECT_PARAMS`.

    Parameters
    ----------
    spec : mapping
        The effect as written in the file.
    where : str
        Dotted key of the effect in messages (``"parts.lead.effects[2]"``).
    error : type
        Error raised (the loaders add file and line).
    bpm : float, optional
        Tempo the part starts at: a ``beats`` delay must come to at most
        :data:`MAX_DELAY_SECONDS` at it.

    Returns
    -------
    dict
        The mapping with numbers as floats/ints (unknown keys and values
        outside their range refused; missing parameters left to the kernel).
    """
    if not isinstance(spec, Mapping):
        raise error(f"{where}: an effect must be a table {{type = ...}}, got {spec!r}")
    kind = spec.get("type")
    if kind not in EFFECT_PARAMS:
        raise error(f"{where}.type: unknown effect type {kind!r}{suggest(kind, EFFECT_PARAMS)}; "
                    f"effects: {', '.join(sorted(EFFECT_PARAMS))}")
    params = {k: v for k, v in spec.items() if k != "type"}
    out = validate(EFFECT_PARAMS[kind], params, what=f"effect {kind!r}", where=where,
                   error=error, fill_defaults=False)
    if kind == "chorus" and out.get("depth_ms", 2.0) >= out.get("delay_ms", 12.0):
        raise error(f"{where}: depth_ms must be below delay_ms (the sweep cannot reach "
                    f"before the dry signal), got depth_ms={out.get('depth_ms', 2.0):g}, "
                    f"delay_ms={out.get('delay_ms', 12.0):g}")
    if kind == "delay":
        if "time" in out and "beats" in out:
            raise error(f"{where}: give 'time' (seconds) or 'beats', not both")
        if "beats" in out and bpm is not None and out["beats"] * 60.0 / bpm > MAX_DELAY_SECONDS:
            raise error(f"{where}.beats: {out['beats']:g} beats at {bpm:g} bpm is "
                        f"{out['beats'] * 60.0 / bpm:g} s, above the maximum "
                        f"{MAX_DELAY_SECONDS:g} seconds")
    return {"type": kind, **out}
