"""What every patch key, effect and transform takes, read from the code itself.

The facts behind ``synth presets NAME``, ``synth effects``, ``synth
transforms``, ``docs/reference.md`` and the coverage test of
``docs/sound-design.md``:

- **patch keys** (:func:`patch_keys_info`): every dotted key of
  :func:`synth.patch.patch_keys`; its kind, range and unit are read from the
  validator itself (``params.*``: the source's :class:`synth.params.Param`
  specs; the other keys: the key is given a value no validator accepts and
  the refusal is parsed), its line of doc from the numpydoc of
  :class:`~synth.patch.Patch`, :class:`~synth.patch.Envelope`,
  :class:`~synth.patch.Filter`, :class:`~synth.patch.Lfo`,
  :class:`~synth.patch.PitchEnv` or :data:`~synth.patch.SOURCE_PARAMS`, so
  none of it can drift from what a score file accepts;
- **effects** (:data:`EFFECT_PARAMS`): every parameter of every effect type
  registered in :data:`synth.fx.EFFECTS`, with its default, range, unit and
  an example (a test checks the table against the registry: same names,
  the kernels' defaults, the bounds accepted and the values past them
  refused);
- **transforms** (:func:`transform_example`): a ``[[transform]]`` table
  listing every parameter of a registered transform at its default.

Plain data only: the CLI formats it.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from .errors import PatchError
from .params import EFFECT_PARAMS as PARAM_SPECS
from .params import Param, suggest
from . import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
from .patch import (SOURCE_PARAMS, SOURCES, Envelope, Filter, Lfo, Patch, PitchEnv,
                    apply_overrides, get_preset, patch_keys, patch_partials)
from .sound_sources import SOURCES as SOURCE_REGISTRY

__all__ = ["KeyInfo", "EffectParam", "EFFECT_PARAMS", "EFFECT_DOCS", "SOURCE_DOCS",
           "patch_keys_info", "all_patch_keys", "preset_info", "spectrum_summary",
           "effect_info", "transform_info", "transform_example", "example_toml_value",
           "paragraphs", "rst_to_md"]


# ---------------------------------------------------------------- numpydoc

def _param_docs(obj) -> dict[str, str]:
    """``name -> first sentence`` from the Parameters section of ``obj``'s docstring."""
    lines = inspect.cleandoc(obj.__doc__ or "").splitlines()
    out, names, text, inside = {}, [], [], False

    def flush():
        doc = " ".join(text).strip()
        for n in names:
            out[n] = doc
    for i, line in enumerate(lines):
        if line.strip() == "Parameters" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            inside = True
            continue
        if not inside or set(line.strip()) == {"-"}:
            continue
        if line and not line.startswith(" "):
            if i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"} and line.strip():
                break                                   # next section
            flush()
            head = line.split(":", 1)[0]
            names, text = [n.strip() for n in head.split(",")], []
        elif line.strip():
            text.append(line.strip())
    flush()
    return {k: re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", v.replace("``", "")) for k, v in out.items()}


_SUB_CLASSES = {"envelope": Envelope, "filter": Filter, "lfo": Lfo, "pitch_env": PitchEnv}

class _SourceDocs(Mapping):
    """source name -> its one line of doc (:attr:`synth.sound_sources.Source.doc`), live."""

    def __getitem__(self, name: str) -> str:
        return SOURCE_REGISTRY[name].doc

    def __iter__(self) -> Iterator[str]:
        return iter(SOURCE_REGISTRY)

    def __len__(self) -> int:
        return len(SOURCE_REGISTRY)


#: one line about each sound source (``source = "..."``), from the source registry
SOURCE_DOCS: Mapping[str, str] = _SourceDocs()


@dataclass(frozen=True)
class KeyInfo:
    """One patch key: ``kind`` (number, integer, choice, list, text), range, unit, doc."""

    key: str
    kind: str
    range: str
    unit: str
    doc: str
    default: Any = None


class _Bad:
    """A value no validator accepts (and whose repr is short)."""

    def __repr__(self):
        return "<bad>"


_NUMBER = re.compile(r"must be a number (?P<lo>\S+?)\.\.(?P<hi>[-\d.e+]+)(?P<unit> [A-Za-z ]+)?, got")
_INTEGER = re.compile(r"must be an integer (?P<lo>-?\d+)\.\.(?P<hi>-?\d+)")
_CHOICE = re.compile(r"must be one of (?P<choices>.*?), got")
_LIST = re.compile(r"every value must be a number (?P<lo>\S+?)\.\.(?P<hi>[-\d.e+]+)")
_LEN = re.compile(r"must have (?P<lo>\d+)\.\.(?P<hi>\d+) values")


def _probe(patch: Patch, key: str) -> tuple[str, str, str]:
    """(kind, range, unit) of ``key``, read from the validator's refusal of a bad value."""
    def refusal(value) -> str:
        try:
            apply_overrides(patch, {key: value})
        except PatchError as e:
            return e.message
        return ""
    if key == "source":
        return "choice", ", ".join(sorted(SOURCES)), ""
    if key.startswith("params."):
        return _spec_info(SOURCE_PARAMS[patch.source][key[len("params."):]])
    msg = refusal(_Bad())
    if m := _NUMBER.search(msg):
        return "number", f"{m['lo']} .. {m['hi']}", (m["unit"] or "").strip()
    if m := _INTEGER.search(msg):
        return "integer", f"{m['lo']} .. {m['hi']}", ""
    if m := _CHOICE.search(msg):
        return "choice", m["choices"], ""
    if "rows of harmonic amplitudes" in msg:
        return "pages", "1..32 rows of 1..32 amplitudes 0 .. 1000", ""
    if "must be a list of numbers" in msg:
        n = _LEN.search(refusal([]) or "")
        m = _LIST.search(refusal([_Bad()] * max(1, int(n["lo"]) if n else 1)))
        bits = [f"{m['lo']} .. {m['hi']}"] if m else []
        if n:
            bits.append(f"{n['lo']}..{n['hi']} values")
        return "list", "; ".join(bits), ""
    if "must be a string" in msg or "file name" in msg or not msg:
        return "text", "", ""
    return "value", "", ""


def _spec_info(p: Param) -> tuple[str, str, str]:
    """(kind, range, unit) of a parameter spec, as the docs show them."""
    def span() -> str:
        return f"{p.lo:g} .. {p.hi:g}" if p.lo is not None and p.hi is not None else ""
    if p.kind in ("float", "int"):
        return ("number" if p.kind == "float" else "integer"), span(), p.unit
    if p.kind in ("choice", "str") and p.choices is not None:
        return "choice", ", ".join(map(str, p.choices)), ""
    if p.kind == "custom":          # harmonic pages (the only custom source parameter)
        return "pages", "1..32 rows of 1..32 amplitudes 0 .. 1000", ""
    if p.kind in ("floats", "ints"):
        bits = [span()] if span() else []
        if p.min_len > 0:
            bits.append(f"{p.min_len}..{p.max_len} values")
        return "list", "; ".join(bits), ""
    return "text", "", ""


#: a line for the keys whose numpydoc entry has none
_EXTRA_DOCS = {
    "envelope.attack": "seconds to rise to full level (adsr, cmi)",
    "envelope.decay": "seconds to fall from full level to the sustain level (adsr)",
    "envelope.release": "seconds to fade after the key is released (cmi: to fall 60 dB)",
    "filter.env_attack": "seconds of the filter envelope's rise to its peak",
    "filter.env_decay": "seconds of the filter envelope's fall to env_sustain",
    "lfo.rate_hz": "LFO frequency",
    "filter.type": "the filter's response (off: no filter)",
    "lfo.shape": "waveform of the LFO (sample_hold: a random step per cycle)",
    "pitch_env.curve": "shape of the glide onto the note",
}


def _key_doc(key: str, patch: Patch) -> str:
    if key in _EXTRA_DOCS:
        return _EXTRA_DOCS[key]
    head, _, rest = key.partition(".")
    if head in _SUB_CLASSES:
        return _param_docs(_SUB_CLASSES[head]).get(rest, "")
    if head == "params":
        return SOURCE_PARAMS[patch.source][rest].doc
    return _param_docs(Patch).get(key, "")


def _value_of(patch: Patch, key: str):
    head, _, rest = key.partition(".")
    if head in _SUB_CLASSES:
        return getattr(getattr(patch, head), rest)
    if head == "params":
        return patch.param(rest)
    return getattr(patch, key)


def patch_keys_info(patch: Patch | str | None = None) -> list[KeyInfo]:
    """Every key an override of ``patch`` (a Patch or preset name) may set.

    ``default`` is the patch's own value (for ``patch=None``: a plain
    ``Patch``'s, without ``params.*``).
    """
    if isinstance(patch, str):
        patch = get_preset(patch)
    probe = patch if patch is not None else Patch("probe")
    out = []
    for key in patch_keys(patch):
        kind, rng, unit = _probe(probe, key)
        value = _value_of(probe, key)
        if kind == "number" and isinstance(value, (int, float)) and rng:
            lo, hi = (float(x) for x in rng.split(" .. "))
            if not lo <= value <= hi:
                rng += f" (or {value:g})"              # e.g. 0 = off, outside the range
        out.append(KeyInfo(key, kind, rng, unit, _key_doc(key, probe), value))
    return out


def all_patch_keys() -> list[KeyInfo]:
    """The shared keys, then ``params.*`` of every source (each with its source's key info)."""
    out = patch_keys_info(None)
    for source in sorted(SOURCE_PARAMS):
        if SOURCE_PARAMS[source]:
            patch = Patch(f"probe-{source}", source=source)
            out += [dataclasses.replace(k, key=f"{k.key} ({source})") for k in
                    patch_keys_info(patch) if k.key.startswith("params.")]
    return out


def _short(value) -> Any:
    """A JSON-friendly value; long lists summarised as text."""
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):
            return f"{len(value)} rows x {len(value[0])} values"
        if len(value) > 12:
            return f"{len(value)} values"
        return [_short(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def spectrum_summary(patch: Patch, max_partials: int = 8) -> dict:
    """The steady partial spectrum of ``patch`` (:func:`synth.patch.patch_partials`), summarised.

    Returns a dict: ``partials`` (``[ratio, amplitude]`` pairs of the loudest,
    in ratio order), ``count``, ``harmonic`` (every ratio a whole multiple of
    the lowest), ``centroid`` (amplitude-weighted mean ratio) and ``model``:
    ``"exact"`` where the source defines its spectrum, ``"approximate"`` for
    the sources :func:`~synth.patch.patch_partials` models with a generic
    6-harmonic spectrum (fm3, sync) or by the carrier alone (ring), and
    ``"unpitched"`` for noise and drums (the figures are then the generic model's).
    """
    source = SOURCE_REGISTRY[patch.source]
    ratios, amps = patch_partials(patch)
    top = np.sort(np.argsort(-amps, kind="stable")[:max_partials])
    base = ratios.min()
    harmonic = bool(np.allclose(ratios / base, np.round(ratios / base), atol=1e-3))
    return {"count": int(len(ratios)),
            "partials": [[round(float(r), 3), round(float(a), 3)] for r, a in
                         zip(ratios[top], amps[top])],
            "harmonic": harmonic,
            "centroid": round(float(np.sum(ratios * amps) / np.sum(amps)), 3),
            "model": ("unpitched" if not source.pitched else
                      "exact" if source.spectrum_exact else "approximate")}


def preset_info(name: str) -> dict:
    """Everything about preset ``name``, JSON-friendly (``synth presets NAME --json``)."""
    patch = get_preset(name)
    keys = patch_keys_info(patch)
    return {"name": patch.name, "description": patch.description, "source": patch.source,
            "source_doc": SOURCE_DOCS.get(patch.source, ""),
            "keys": [{"key": k.key, "value": _short(k.default), "kind": k.kind,
                      "range": k.range, "unit": k.unit, "doc": k.doc} for k in keys],
            "spectrum": spectrum_summary(patch)}


# ---------------------------------------------------------------- effects

@dataclass(frozen=True)
class EffectParam:
    """One parameter of an effect type: default (None: must be given or derived), range, unit."""

    default: Any
    range: str
    unit: str
    doc: str
    lo: float | None = None          # inclusive bounds (None: a choice)
    hi: float | None = None


#: what each effect type does (one line)
EFFECT_DOCS = {
    "gain": "a fixed level change",
    "reverb": "feedback-delay-network reverb (8 lines, Hadamard feedback, per-line damping)",
    "delay": "feedback echo, in seconds or tempo-synced beats",
    "chorus": "each channel mixed with a copy under a sine-modulated delay",
    "bitcrush": "quantise to a number of bits (memoryless)",
    "decimate": "sample-rate reducer: holds one sample per period (aliases on purpose)",
    "saturate": "waveshaper (tanh, soft clip or wavefolder), optionally oversampled",
}

def _effect_param(p: Param) -> EffectParam:
    if p.choices is not None:
        span = ", ".join(map(str, p.choices))
    elif p.kind == "int":
        span = f"integer {p.lo:g} .. {p.hi:g}"
    else:
        span = f"{p.lo:g} .. {p.hi:g}"
    return EffectParam(None if p.required else p.default, span, p.unit, p.doc, p.lo, p.hi)


#: effect type -> parameter -> EffectParam, from :data:`synth.params.EFFECT_PARAMS`
#: (the load-time validator; checked against synth.fx.EFFECTS by a test)
EFFECT_PARAMS: dict[str, dict[str, EffectParam]] = {
    kind: {key: _effect_param(p) for key, p in params.items()}
    for kind, params in PARAM_SPECS.items()}

#: an example effect table for each type (each renders; a test builds them)
EFFECT_EXAMPLES = {
    "gain": {"type": "gain", "gain_db": -6},
    "reverb": {"type": "reverb", "rt60": 3.5, "damping": 0.5, "size": 1.5, "mix": 0.35},
    "delay": {"type": "delay", "beats": 0.75, "feedback": 0.45, "mix": 0.3, "damping": 0.4},
    "chorus": {"type": "chorus", "rate_hz": 0.5, "depth_ms": 3, "delay_ms": 15, "mix": 0.5},
    "bitcrush": {"type": "bitcrush", "bits": 6},
    "decimate": {"type": "decimate", "rate_hz": 6000},
    "saturate": {"type": "saturate", "drive_db": 12, "shape": "fold", "oversample": 4,
                 "mix": 0.6},
}


def example_toml_value(value: Any) -> str:
    """``value`` written as TOML (strings quoted, lists in brackets, booleans lowercase)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(example_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def effect_example_toml(name: str) -> str:
    spec = EFFECT_EXAMPLES[name]
    return "effects = [{" + ", ".join(f"{k} = {example_toml_value(v)}"
                                      for k, v in spec.items()) + "}]"


def effect_info(name: str) -> dict:
    """What effect ``name`` does and takes (``synth effects NAME --json``)."""
    from .fx import EFFECTS
    if name not in EFFECTS or name not in EFFECT_PARAMS:
        raise PatchError(f"unknown effect {name!r}{suggest(name, EFFECTS)}; "
                         f"effects: {', '.join(sorted(EFFECTS))}")
    return {"name": name, "doc": EFFECT_DOCS.get(name, ""),
            "params": [{"name": k, "default": p.default, "range": p.range, "unit": p.unit,
                        "doc": p.doc} for k, p in EFFECT_PARAMS[name].items()],
            "example": effect_example_toml(name)}


# ---------------------------------------------------------------- transforms

_REQUIRED_EXAMPLES = {"displace": {"beats": 0.5}, "ostinato": {"from_bars": [1, 2]},
                      "remap": {"to_scale": "octatonic"}, "remeter": {"meter": "7/8"},
                      "transpose": {"semitones": -12}}


def _required_value(name: str, key: str, p):
    if key in _REQUIRED_EXAMPLES.get(name, {}):
        return _REQUIRED_EXAMPLES[name][key]
    if p.choices:
        return p.choices[0] if p.kind == "str" else [p.choices[0]]
    base = {"float": 1.0, "int": 1, "bool": True, "str": "x", "pitch": "C4",
            "pitches": ["C4"], "bars": [1, 2], "floats": [1.0], "ints": [1], "strs": ["x"]}
    value = base.get(p.kind, 1)
    if p.lo is not None and isinstance(value, (int, float)) and value < p.lo:
        value = p.lo
    if p.hi is not None and isinstance(value, (int, float)) and value > p.hi:
        value = p.hi
    return value


def transform_example(name: str, part: str = "melody") -> str:
    """A ``[[transform]]`` table for transform ``name``: required parameters set, the others
    commented out at their defaults (so it loads as it is, and each line can be uncommented)."""
    from .transforms import REGISTRY
    sp = REGISTRY[name]
    rows = [(f'name = "{name}"', "")]
    if not sp.whole_score:
        rows.append((f'parts = ["{part}"]', "optional: default every part"))
    rows.append(("# bars = [1, 8]", "optional: only these bars"))
    for key, p in sp.params.items():
        unit = f", {p.unit}" if p.unit else ""
        if p.required:
            rows.append((f"{key} = {example_toml_value(_required_value(name, key, p))}",
                         f"required{unit}"))
        elif p.default is None or p.default == ():          # "not given": no value to write
            rows.append((f"# {key} = ...", f"optional{unit}"))
        else:
            rows.append((f"# {key} = {example_toml_value(p.default)}", f"default{unit}"))
    width = max(len(code) for code, _ in rows)
    lines = ["[[transform]]"] + [f"{code:<{width}}  # {why}" if why else code
                                 for code, why in rows]
    return "\n".join(lines) + "\n"


_SECTION = re.compile(r"^(Parameters|Returns|Raises|Notes|Examples?|See Also|Yields)\s*$")


def rst_to_md(text: str) -> str:
    """Inline reStructuredText -> Markdown: ``x`` -> `x`, :func:`x` -> `x`."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def paragraphs(doc: str) -> list[str]:
    """A docstring's prose paragraphs (numpydoc sections dropped), each on one line."""
    lines = inspect.cleandoc(doc).splitlines()
    prose = []
    for i, line in enumerate(lines):
        if _SECTION.match(line) and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            break
        prose.append(line)
    paras, current = [], []
    for line in prose + [""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paras.append(rst_to_md(" ".join(current)))
            current = []
    return paras


def transform_info(name: str) -> dict:
    """Everything about transform ``name``, JSON-friendly (``synth transforms NAME --json``)."""
    from .transforms.base import spec
    sp = spec(name)
    params = []
    for key, p in sp.params.items():
        params.append({"name": key, "kind": p.kind, "required": p.required,
                       "default": None if p.required else _short(p.default),
                       "lo": p.lo, "hi": p.hi,
                       "choices": list(p.choices) if p.choices is not None else None,
                       "unit": p.unit, "doc": p.doc})
    return {"name": name, "family": sp.family, "whole_score": sp.whole_score,
            "doc": paragraphs(sp.doc), "params": params, "example": transform_example(name)}
