"""The patch model: what an instrument is, and the named presets.

Why over 500 lines: the settings classes (Envelope, Filter, Lfo, PitchEnv),
Patch, dotted-key overrides and the preset registry validate against one
another. The preset table itself is in presets.py and the sources in
sound_sources/.

A :class:`Patch` is a frozen, validated description of a voice:

- a sound ``source`` (:data:`SOURCES`) with its source parameters
  (``params``, checked against :data:`SOURCE_PARAMS`: every key known, every
  value in range);
- an amplitude :class:`Envelope` (ADSR with linear or exponential segments,
  a multi-segment breakpoint envelope, or the Fairlight CMI's attack + two
  damping times);
- a :class:`Filter` (low/high/band-pass, 12 or 24 dB/oct, resonance, key
  tracking, its own attack/decay envelope), an :class:`Lfo` (to pitch,
  amplitude, cutoff and pulse width), a :class:`PitchEnv`, ``glide``
  (portamento from the part's previous note) and ``max_voices`` (the CMI's
  8-voice limit with stealing);
- level, tuning and velocity response.

Presets are named patches (the table lives in :mod:`synth.presets`, which
registers itself here, at the latest on the first lookup); :func:`resolve_patch`
looks one up and applies overrides given as dotted keys
(``{"envelope.release": 2.0, "filter.cutoff": 800, "params.index": 3}``),
validating every key and value so that a typo in a score file is an error
naming the key (with a "did you mean"), never ignored.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from collections.abc import Set as AbstractSet
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from .dsp.envelopes import CURVES
from .dsp.modulation import LFO_SHAPES
from .errors import PatchError
from .params import FrozenMap, Param, suggest
from .sound_sources import SOURCES as SOURCE_REGISTRY
from .sound_sources import get_source

__all__ = [
    "Envelope",
    "Filter",
    "Lfo",
    "PitchEnv",
    "Patch",
    "SOURCES",
    "SOURCE_PARAMS",
    "ENVELOPE_KINDS",
    "FILTER_TYPES",
    "PRESETS",
    "register_preset",
    "preset_names",
    "get_preset",
    "resolve_patch",
    "apply_overrides",
    "patch_keys",
    "preset_partials",
    "patch_partials",
    "SourceParam",
    "UNPITCHED_SOURCES",
]

ENVELOPE_KINDS = ("adsr", "multi", "cmi")
FILTER_TYPES = ("off", "lowpass", "highpass", "bandpass")


# ---------------------------------------------------------------- value checks

def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
        and math.isfinite(float(v))


def _number(key: str, v, lo: float, hi: float, unit: str = "") -> float:
    if not (_is_number(v) and lo <= float(v) <= hi):
        raise PatchError(f"{key!r} must be a number {lo:g}..{hi:g}{unit}, got {v!r}")
    return float(v) if not isinstance(v, (int, np.integer)) else v


def _integer(key: str, v, lo: int, hi: int) -> int:
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi):
        raise PatchError(f"{key!r} must be an integer {lo}..{hi}, got {v!r}")
    return int(v)


def _choice(key: str, v, choices) -> str:
    if v not in choices:
        raise PatchError(f"{key!r} must be one of {', '.join(map(str, choices))}, got {v!r}"
                         + _suggest(v, [str(c) for c in choices]))
    return v


def _numbers(key: str, v, lo: float, hi: float, *, min_len: int = 1, max_len: int = 4096) -> tuple:
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
        raise PatchError(f"{key!r} must be a list of numbers, got {v!r}")
    out = tuple(v)
    if not min_len <= len(out) <= max_len:
        raise PatchError(f"{key!r} must have {min_len}..{max_len} values, got {len(out)}")
    for x in out:
        if not (_is_number(x) and lo <= float(x) <= hi):
            raise PatchError(f"{key!r}: every value must be a number {lo:g}..{hi:g}, got {x!r}")
    return tuple(float(x) for x in out)


#: The package's one "did you mean" (kept under this name for its importers).
_suggest = suggest


# ---------------------------------------------------------------- settings

@dataclass(frozen=True)
class Envelope:
    """Amplitude envelope.

    Parameters
    ----------
    kind : {"adsr", "multi", "cmi"}
        ``adsr``: attack, decay, sustain, release.  ``multi``: breakpoints
        ``levels`` (0..1) joined by segments of ``times`` seconds from note-on,
        the last level held while the key is down, then ``release``; when the
        last level is 0 the envelope is one-shot (the note lasts its segments
        whatever the gate, like a struck instrument).  ``cmi``: the Fairlight's
        linear ``attack``, a damping time while held (``held_damping``, seconds
        to fall 60 dB; 0 = hold) and a damping time after release
        (``release``, seconds to fall 60 dB).
    attack, decay, release : float
        Seconds (0..600).
    sustain : float
        Level 0..1 held while the key is down after the decay (``adsr``).
    curve : {"linear", "exp"}
        Segment shape (``adsr`` and ``multi``).
    levels, times : tuple of float
        ``multi`` breakpoints: ``len(levels) == len(times) + 1``.
    held_damping : float
        ``cmi``: seconds to fall 60 dB while the key is held (0 = no decay).
    """

    attack: float = 0.005
    decay: float = 0.08
    sustain: float = 0.8
    release: float = 0.12
    curve: str = "linear"
    kind: str = "adsr"
    levels: tuple = ()
    times: tuple = ()
    held_damping: float = 0.0

    def __post_init__(self):
        for name in ("attack", "decay", "release", "held_damping"):
            _number(f"envelope.{name}", getattr(self, name), 0, 600, " seconds")
        _number("envelope.sustain", self.sustain, 0, 1)
        _choice("envelope.curve", self.curve, CURVES)
        _choice("envelope.kind", self.kind, ENVELOPE_KINDS)
        levels = _numbers("envelope.levels", self.levels, 0, 1, min_len=0, max_len=64)
        times = _numbers("envelope.times", self.times, 0, 600, min_len=0, max_len=63)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "times", times)
        if self.kind == "multi":
            if len(times) < 1 or len(levels) != len(times) + 1:
                raise PatchError(f"'envelope.levels' needs one more value than 'envelope.times' "
                                 f"(at least 2 levels), got {len(levels)} levels and "
                                 f"{len(times)} times")

    @property
    def one_shot(self) -> bool:
        """True for a ``multi`` envelope that ends at 0 (the gate does not matter)."""
        return self.kind == "multi" and self.levels[-1] == 0.0


@dataclass(frozen=True)
class Filter:
    """The voice filter (after the source, before the amplitude envelope).

    Parameters
    ----------
    type : {"off", "lowpass", "highpass", "bandpass"}
    slope : {12, 24}
        dB per octave (a band-pass's skirts are half that).
    cutoff : float
        Hz at middle C (before key tracking and modulation), 10..20000.
    resonance : float
        Gain at the cutoff (0.7071 = no peak; 4 = +12 dB), or centre /
        bandwidth for a band-pass; 0.1..20.
    key_track : float
        0..1.5: octaves the cutoff moves per octave played (1 = follows the
        keyboard, a fixed harmonic number; reference middle C).
    env_amount : float
        Octaves (-8..8) the filter envelope adds at its peak.
    env_attack, env_decay : float
        Seconds of the filter envelope's rise to 1 and fall to ``env_sustain``.
    env_sustain : float
        0..1, held to the end of the note (the filter envelope has no
        release stage of its own).
    """

    type: str = "off"
    slope: int = 12
    cutoff: float = 2000.0
    resonance: float = 0.7071
    key_track: float = 0.0
    env_amount: float = 0.0
    env_attack: float = 0.002
    env_decay: float = 0.3
    env_sustain: float = 0.0

    def __post_init__(self):
        _choice("filter.type", self.type, FILTER_TYPES)
        _choice("filter.slope", self.slope, (12, 24))
        _number("filter.cutoff", self.cutoff, 10, 20000, " Hz")
        _number("filter.resonance", self.resonance, 0.1, 20)
        _number("filter.key_track", self.key_track, 0, 1.5)
        _number("filter.env_amount", self.env_amount, -8, 8, " octaves")
        _number("filter.env_attack", self.env_attack, 0, 60, " seconds")
        _number("filter.env_decay", self.env_decay, 0, 60, " seconds")
        _number("filter.env_sustain", self.env_sustain, 0, 1)

    @property
    def active(self) -> bool:
        return self.type != "off"


@dataclass(frozen=True)
class Lfo:
    """One low-frequency oscillator, routed to any of four destinations.

    Parameters
    ----------
    shape : {"sine", "triangle", "square", "saw", "sample_hold"}
    rate_hz : float
        0.01..50 Hz.
    delay : float
        Seconds after note-on before the LFO has faded in (linearly) to full depth.
    to_pitch_cents : float
        Vibrato depth (peak, cents, 0..1200).
    to_amp : float
        Tremolo depth 0..1 (gain swings between 1 - depth and 1).
    to_cutoff_octaves : float
        Filter cutoff swing (peak, octaves, 0..8).
    to_width : float
        Pulse-width swing (peak, 0..0.49) for ``pulse`` sources.
    """

    shape: str = "sine"
    rate_hz: float = 5.0
    delay: float = 0.0
    to_pitch_cents: float = 0.0
    to_amp: float = 0.0
    to_cutoff_octaves: float = 0.0
    to_width: float = 0.0

    def __post_init__(self):
        _choice("lfo.shape", self.shape, LFO_SHAPES)
        _number("lfo.rate_hz", self.rate_hz, 0.01, 50, " Hz")
        _number("lfo.delay", self.delay, 0, 60, " seconds")
        _number("lfo.to_pitch_cents", self.to_pitch_cents, 0, 1200, " cents")
        _number("lfo.to_amp", self.to_amp, 0, 1)
        _number("lfo.to_cutoff_octaves", self.to_cutoff_octaves, 0, 8, " octaves")
        _number("lfo.to_width", self.to_width, 0, 0.49)

    @property
    def active(self) -> bool:
        return bool(self.to_pitch_cents or self.to_amp or self.to_cutoff_octaves or self.to_width)


@dataclass(frozen=True)
class PitchEnv:
    """A pitch offset at note-on that settles onto the note.

    Parameters
    ----------
    semitones : float
        Offset at note-on (-48..48; 0 = off).
    time : float
        Seconds to reach the note (0.001..10).
    curve : {"linear", "exp"}
    """

    semitones: float = 0.0
    time: float = 0.05
    curve: str = "exp"

    def __post_init__(self):
        _number("pitch_env.semitones", self.semitones, -48, 48, " semitones")
        _number("pitch_env.time", self.time, 0.001, 10, " seconds")
        _choice("pitch_env.curve", self.curve, CURVES)


# ---------------------------------------------------------------- source parameters

#: A source parameter's spec (the package-wide :class:`synth.params.Param`).
SourceParam = Param


class _SourceParamsView(Mapping):
    """source name -> {parameter: Param}, read live from the source registry."""

    def __getitem__(self, name: str) -> Mapping[str, Param]:
        return SOURCE_REGISTRY[name].params

    def __iter__(self) -> Iterator[str]:
        return iter(SOURCE_REGISTRY)

    def __len__(self) -> int:
        return len(SOURCE_REGISTRY)


class _SourceNames(AbstractSet):
    """Names of the registered sources (for which ``keep(source)``), read live."""

    def __init__(self, keep: Callable[[Any], bool] = lambda _s: True):
        self._keep = keep

    def _names(self) -> list[str]:
        return [n for n, s in SOURCE_REGISTRY.items() if self._keep(s)]

    def __contains__(self, name: object) -> bool:
        s = SOURCE_REGISTRY.get(name) if isinstance(name, str) else None
        return s is not None and self._keep(s)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: source name -> {parameter: Param} (``params.<name>`` in overrides), from
#: the registry :mod:`synth.sound_sources`.
SOURCE_PARAMS: Mapping[str, Mapping[str, Param]] = _SourceParamsView()
#: Sound sources a patch may name.
SOURCES: AbstractSet[str] = _SourceNames()
#: Sources that ignore the played pitch (no tuning test applies).
UNPITCHED_SOURCES: AbstractSet[str] = _SourceNames(lambda s: not s.pitched)


def _freeze(value):
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    return value


# ---------------------------------------------------------------- the patch

_SUBS = {"envelope": Envelope, "filter": Filter, "lfo": Lfo, "pitch_env": PitchEnv}


@dataclass(frozen=True)
class Patch:
    """A voice: source, envelope, filter, modulation, level and tuning.

    Parameters
    ----------
    name : str
    source : str
        One of :data:`SOURCES` (e.g. ``"saw"``: band-limited sawtooth;
        ``"fairlight"``: the CMI voice; ``"drums"``: a GM drum kit).
    envelope : Envelope
    gain_db : float
        Voice level in dB at full velocity (-120..24).
    octave : int
        Octave shift applied to every note (-4..4).
    detune_cents : float
        Fine tuning applied to every note (within ±1200).
    velocity_curve : float
        Exponent of the velocity -> amplitude law ``(v/127) ** velocity_curve``
        (2.0: velocity 64 is about -12 dB).
    params : mapping
        Source parameters, checked against :data:`SOURCE_PARAMS` (lists are
        stored as tuples); missing ones take their defaults (:meth:`param`).
    description : str
        One line for ``synth presets``.
    filter : Filter
    lfo : Lfo
    pitch_env : PitchEnv
    glide : float
        Portamento: seconds to slide from the part's previous note (0 = off, <= 10).
    max_voices : int
        Simultaneous notes of the part (0 = unlimited; 8 = the CMI): a note
        beyond the limit steals the oldest sounding one, which fades out in
        :data:`synth.voice.STEAL_FADE_SECONDS` before the new note starts.
    """

    name: str
    source: str = "saw"
    envelope: Envelope = field(default_factory=Envelope)
    gain_db: float = -6.0
    octave: int = 0
    detune_cents: float = 0.0
    velocity_curve: float = 2.0
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    filter: Filter = field(default_factory=Filter)
    lfo: Lfo = field(default_factory=Lfo)
    pitch_env: PitchEnv = field(default_factory=PitchEnv)
    glide: float = 0.0
    max_voices: int = 0

    def __post_init__(self):
        who = f"patch {self.name!r}: "
        try:
            get_source(self.source)             # unknown: "did you mean" and the list
            for key, cls in _SUBS.items():
                if not isinstance(getattr(self, key), cls):
                    raise PatchError(f"{key!r} must be a {cls.__name__}, got {getattr(self, key)!r}")
            _number("gain_db", self.gain_db, -120, 24, " dB")
            _integer("octave", self.octave, -4, 4)
            _number("detune_cents", self.detune_cents, -1200, 1200, " cents")
            _number("velocity_curve", self.velocity_curve, 0, 8)
            _number("glide", self.glide, 0, 10, " seconds")
            _integer("max_voices", self.max_voices, 0, 256)
            if not isinstance(self.description, str):
                raise PatchError(f"'description' must be a string, got {self.description!r}")
            source = get_source(self.source)
            schema = source.params
            params = {}
            for key, value in dict(self.params).items():
                if key not in schema:
                    known = ", ".join(sorted(schema)) or "none"
                    raise PatchError(f"unknown patch key {'params.' + str(key)!r} for source "
                                     f"{self.source!r}" + _suggest(f'params.{key}', [f'params.{k}' for k in schema])
                                     + f"; its parameters: {known}")
                params[key] = _freeze(schema[key].check(_freeze(value), f"params.{key}", PatchError))
            object.__setattr__(self, "params", FrozenMap(params))
            if source.check is not None:
                source.check(self)
        except PatchError as e:
            raise PatchError(who + e.message) from None

    def param(self, key: str) -> Any:
        """Source parameter ``key``: the patch's own value or the source's default."""
        if key in self.params:
            return self.params[key]
        return SOURCE_REGISTRY[self.source].params[key].default

    def __hash__(self):
        return hash((self.name, self.source, self.envelope, self.gain_db, self.octave,
                     self.detune_cents, self.velocity_curve, self.filter, self.lfo,
                     self.pitch_env, self.glide, self.max_voices,
                     tuple(sorted(self.params.items()))))


_TOP_KEYS = ("source", "gain_db", "octave", "detune_cents", "velocity_curve", "description",
             "glide", "max_voices")


def patch_keys(patch: Patch | None = None) -> list[str]:
    """Every dotted key an override may set (``params.*`` of ``patch``'s source, if given)."""
    keys = list(_TOP_KEYS)
    for sub, cls in _SUBS.items():
        keys += [f"{sub}.{f.name}" for f in dataclasses.fields(cls)]
    if patch is not None:
        keys += [f"params.{k}" for k in SOURCE_PARAMS[patch.source]]
    return keys


def apply_overrides(patch: Patch, overrides: Mapping[str, Any]) -> Patch:
    """A copy of ``patch`` with dotted-key overrides applied and validated.

    ``{"envelope.release": 2.0}`` replaces a field of the nested envelope
    (likewise ``filter.*``, ``lfo.*``, ``pitch_env.*``); ``{"params.index": 3}``
    sets a source parameter; nested mappings (``{"envelope": {"release":
    2.0}}``) are flattened first.  Changing ``source`` keeps only the
    preset's parameters the new source knows.

    Raises
    ------
    PatchError
        Naming the key when it is unknown or its value is invalid.
    """
    flat: dict[str, Any] = {}

    def flatten(prefix, value):
        if isinstance(value, Mapping):
            for k, v in value.items():
                flatten(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat[prefix] = value

    flatten("", overrides)
    changes: dict[str, Any] = {}
    sub_changes: dict[str, dict[str, Any]] = {k: {} for k in _SUBS}
    param_changes: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        if head in _SUBS and rest:
            names = {f.name for f in dataclasses.fields(_SUBS[head])}
            if rest not in names:
                raise PatchError(f"unknown patch key {key!r}"
                                 + _suggest(key, [f"{head}.{n}" for n in names]))
            sub_changes[head][rest] = _freeze(value)
        elif head == "params" and rest:
            param_changes[rest] = value
        elif key in _TOP_KEYS:
            changes[key] = value
        else:
            raise PatchError(f"unknown patch key {key!r}" + _suggest(key, patch_keys(patch)))
    try:
        for sub, values in sub_changes.items():
            if values:
                changes[sub] = dataclasses.replace(getattr(patch, sub), **values)
        source = changes.get("source", patch.source)
        params = dict(patch.params)
        if source != patch.source and source in SOURCE_REGISTRY:
            params = {k: v for k, v in params.items() if k in SOURCE_PARAMS[source]}
        params.update(param_changes)
        if params != patch.params:
            changes["params"] = params
        return dataclasses.replace(patch, **changes) if changes else patch
    except PatchError as e:
        raise PatchError(f"bad patch override: {e.message}") from None
    except TypeError as e:
        raise PatchError(f"bad patch override: {e}") from None


# ---------------------------------------------------------------- presets

#: name -> Patch.  Filled by :mod:`synth.presets` (see :func:`_builtin_presets`).
PRESETS: dict[str, Patch] = {}


def _builtin_presets() -> dict[str, Patch]:
    """:data:`PRESETS`, with the built-in table registered first if it is not yet.

    :mod:`synth.presets` sits above this module (it builds Patches) and
    registers its table here when it is imported.  The package root no longer
    imports it eagerly (``synth play``'s client stays free of NumPy), so a
    program that imports only ``synth.patch`` gets the table on its first
    lookup, the way a plugin registry loads its entries: by name, on demand.
    """
    global _BUILTINS_ASKED
    if not _BUILTINS_ASKED:
        import importlib

        # marked after the import: a thread asking meanwhile waits for the import (its
        # module lock) instead of reading a half-filled table, and a failed import is
        # raised again at the next lookup instead of turning into "unknown preset"
        importlib.import_module(__name__.rpartition(".")[0] + ".presets")
        _BUILTINS_ASKED = True
    return PRESETS


_BUILTINS_ASKED = False


def register_preset(patch: Patch) -> Patch:
    """Add ``patch`` to the preset table under its name (replacing any)."""
    if not isinstance(patch, Patch):
        raise PatchError(f"register_preset needs a Patch, got {patch!r}")
    PRESETS[patch.name] = patch
    return patch


def preset_names() -> list[str]:
    """Names of every preset, sorted."""
    return sorted(_builtin_presets())


def get_preset(name: str) -> Patch:
    """The preset called ``name``; PatchError (with a suggestion) if there is none."""
    try:
        return _builtin_presets()[name]
    except (KeyError, TypeError):
        raise PatchError(f"unknown preset {name!r}" + _suggest(name, PRESETS)
                         + "; run 'synth presets' for the list") from None


def resolve_patch(name: str, overrides: Mapping[str, Any] | None = None) -> Patch:
    """Preset ``name`` with ``overrides`` applied (see :func:`apply_overrides`)."""
    patch = get_preset(name)
    return apply_overrides(patch, overrides) if overrides else patch


# ---------------------------------------------------------------- spectra

def patch_partials(patch: Patch, max_partials: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The steady spectrum of ``patch``: partial ratios to the played note and amplitudes.

    Exact where the source defines it (:attr:`synth.sound_sources.Source.spectrum`:
    band-limited shapes' Fourier series, additive and Fairlight pages
    averaged over their segments, drawn cycles, bell partials, FM sidebands
    from Bessel functions); a 6-harmonic spectrum (amplitudes
    ``0.88**(k-1)``) otherwise.  Ratios include the patch's octave; the
    loudest partial has amplitude 1; at most ``max_partials`` of the
    loudest are kept.

    Returns
    -------
    ratios, amps : np.ndarray [shape=(k,)]
    """
    source = get_source(patch.source)
    spectrum = source.spectrum(patch) if source.spectrum is not None else None
    if spectrum is None:
        ratios = np.arange(1, 7, dtype=np.float64)
        amps = 0.88 ** (ratios - 1)
    else:
        ratios, amps = spectrum
    ratios = np.asarray(ratios, dtype=np.float64) * 2.0 ** patch.octave
    amps = np.asarray(amps, dtype=np.float64)
    keep = amps > 1e-3 * amps.max()
    ratios, amps = ratios[keep], amps[keep]
    top = np.sort(np.argsort(-amps, kind="stable")[:max_partials])
    ratios, amps = ratios[top], amps[top]
    return ratios, amps / amps.max()


def preset_partials(name: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`patch_partials` of preset ``name`` (used by the roughness analysis)."""
    return patch_partials(get_preset(name))
