"""The patch model: what an instrument is, and the named presets.

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
registers itself here when the package is imported); :func:`resolve_patch`
looks one up and applies overrides given as dotted keys
(``{"envelope.release": 2.0, "filter.cutoff": 800, "params.index": 3}``),
validating every key and value so that a typo in a score file is an error
naming the key (with a "did you mean"), never ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .dsp.envelopes import CURVES
from .dsp.modulation import LFO_SHAPES
from .errors import PatchError

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
FAIRLIGHT_SERIES = ("I", "II")


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


def _suggest(word, choices) -> str:
    close = difflib.get_close_matches(str(word), sorted(map(str, choices)), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


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

@dataclass(frozen=True)
class SourceParam:
    """One source parameter: its default, its check, and a line of doc."""

    default: Any
    check: Callable[[str, Any], Any]
    doc: str


def _num(lo, hi, unit=""):
    return lambda key, v: _number(key, v, lo, hi, unit)


def _int(lo, hi):
    return lambda key, v: _integer(key, v, lo, hi)


def _one_of(*choices):
    return lambda key, v: _choice(key, v, choices)


def _list(lo, hi, min_len=1, max_len=4096):
    return lambda key, v: _numbers(key, v, lo, hi, min_len=min_len, max_len=max_len)


def _pages(key, v):
    """Harmonic pages: 1..32 rows (time segments) of 1..32 harmonic amplitudes."""
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or not 1 <= len(v) <= 32:
        raise PatchError(f"{key!r} must be a list of 1..32 rows of harmonic amplitudes, got {v!r}")
    rows = v if all(hasattr(r, "__len__") and not isinstance(r, str) for r in v) else [v]
    out = tuple(_numbers(key, r, 0, 1000, min_len=1, max_len=32) for r in rows)
    if len({len(r) for r in out}) != 1:
        raise PatchError(f"{key!r}: every row needs the same number of harmonics, "
                         f"got {[len(r) for r in out]}")
    if not any(any(r) for r in out):
        raise PatchError(f"{key!r}: all harmonic amplitudes are 0 (silent)")
    return out


def _path(key, v):
    if not isinstance(v, str):
        raise PatchError(f"{key!r} must be a file name (string), got {v!r}")
    return v


_NOISE_DOC = "no parameters (pitch ignored)"
_BELL_RATIOS = (0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011, 4.166, 5.433)
_DRAWBARS = ((1.0, 0.7, 0.35, 0.5, 0.0, 0.3, 0.0, 0.25),)

#: source name -> {parameter: SourceParam}.  ``params.<name>`` in overrides.
SOURCE_PARAMS: dict[str, dict[str, SourceParam]] = {
    "sine": {}, "saw": {}, "square": {}, "triangle": {},
    "naive_saw": {}, "naive_square": {}, "naive_triangle": {},
    "noise": {}, "pink": {},
    "pulse": {
        "width": SourceParam(0.5, _num(0.01, 0.99), "fraction of the cycle high (0.5 = square)"),
    },
    "unison": {
        "shape": SourceParam("saw", _one_of("saw", "square", "triangle", "sine", "pulse"),
                             "oscillator stacked"),
        "voices": SourceParam(7, _int(1, 16), "copies in the stack"),
        "spread_cents": SourceParam(20.0, _num(0, 200, " cents"), "total detune spread"),
        "width": SourceParam(0.5, _num(0.01, 0.99), "pulse width (shape pulse)"),
    },
    "additive": {
        "pages": SourceParam(((1.0, 0.5, 0.33, 0.25),), _pages,
                             "harmonic pages: rows = time segments, columns = harmonics 1..32"),
        "segment_seconds": SourceParam(0.05, _num(0.001, 10, " seconds"),
                                       "time from one row to the next"),
    },
    "drawn": {
        "cycle": SourceParam(tuple(np.sin(2 * np.pi * np.arange(128) / 128).round(6)),
                             _list(-10, 10, 4, 4096), "one drawn period (e.g. 128 numbers)"),
    },
    "partials": {
        "ratios": SourceParam(_BELL_RATIOS, _list(0.01, 64, 1, 64), "frequency / note frequency"),
        "amps": SourceParam((0.3, 1.0, 0.5, 0.35, 0.6, 0.2, 0.25, 0.15, 0.1, 0.06),
                            _list(0, 10, 1, 64), "initial amplitude of each partial"),
        "decays": SourceParam((6.0, 4.0, 3.0, 2.5, 2.0, 1.5, 1.4, 1.0, 0.7, 0.5),
                              _list(0, 600, 1, 64), "seconds to fall 60 dB (0 = no decay)"),
    },
    "fm2": {
        "ratio": SourceParam(1.0, _num(0.01, 32), "modulator / carrier frequency"),
        "index": SourceParam(2.0, _num(0, 50, " rad"), "modulation index at note-on"),
        "index_floor": SourceParam(1.0, _num(0, 1), "index after its decay, as a fraction"),
        "index_time": SourceParam(0.5, _num(0.001, 60, " seconds"), "time constant of the decay"),
    },
    "fm3": {
        "ratios": SourceParam((1.0, 2.0), _list(0.01, 32, 2, 2), "op2 and op3 / carrier"),
        "indices": SourceParam((1.5, 1.0), _list(0, 50, 2, 2), "op2->carrier, op3->op2 (rad)"),
        "index_floor": SourceParam(1.0, _num(0, 1), "indices after their decay, as a fraction"),
        "index_time": SourceParam(0.5, _num(0.001, 60, " seconds"), "time constant of the decay"),
    },
    "sync": {
        "ratio": SourceParam(2.0, _num(1, 16), "slave / master frequency at note-on"),
        "ratio_end": SourceParam(0.0, lambda k, v: v if v == 0 else _number(k, v, 1, 16),
                                 "slave ratio after the sweep (0 = no sweep)"),
        "sweep_time": SourceParam(0.5, _num(0.001, 60, " seconds"), "duration of the sweep"),
    },
    "ring": {
        "shape": SourceParam("saw", _one_of("sine", "saw", "square", "triangle"), "carrier"),
        "ratio": SourceParam(1.5, _num(0.01, 16), "modulator (sine) / carrier frequency"),
        "mix": SourceParam(1.0, _num(0, 1), "0 = carrier only, 1 = ring product only"),
    },
    "fairlight": {
        "mode": SourceParam(1, _one_of(1, 4), "1 = 32-segment wavetable, 4 = one-shot sample"),
        "series": SourceParam("II", _one_of(*FAIRLIGHT_SERIES),
                              "I: ~24 kHz, ideal clock; II: ~30 kHz, IIx clock law"),
        "pages": SourceParam(((1.0, 0.5, 0.33, 0.25, 0.2),), _pages,
                             "Mode 1 harmonic pages (rows = segments, <= 32 x 32)"),
        "cycle": SourceParam((), _list(-10, 10, 0, 128),
                             "Mode 1: one drawn 128-sample cycle instead of pages"),
        "segment_seconds": SourceParam(0.08, _num(0.005, 10, " seconds"),
                                       "Mode 1: time each segment sounds"),
        "sample": SourceParam("", _path, "Mode 4: WAV file, relative to the score or arrangement "
                              "file naming it (else the working directory); '' = a built-in "
                              "synthetic sample; mixed to mono, resampled to the series' rate, "
                              "cut to 16384 samples (one voice's memory)"),
        "root": SourceParam(60.0, _num(0, 127), "Mode 4: MIDI pitch of the sample at its own speed"),
        "rate_hz": SourceParam(0.0, lambda k, v: v if v == 0 else _number(k, v, 1000, 100000, " Hz"),
                               "Mode 4: recording rate (0 = the series' maximum)"),
        "brightness": SourceParam(0.5, _num(0.05, 2), "output filter cutoff / (clock / 2)"),
    },
    "drums": {
        "tune": SourceParam(0.0, _num(-24, 24, " semitones"), "retunes every drum"),
        "decay_scale": SourceParam(1.0, _num(0.1, 4), "scales every drum's decay"),
    },
}
#: Sound sources a patch may name.
SOURCES = frozenset(SOURCE_PARAMS)
#: Sources that ignore the played pitch (no tuning test applies).
UNPITCHED_SOURCES = frozenset({"noise", "pink", "drums"})


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
            if self.source not in SOURCES:
                raise PatchError(f"unknown source {self.source!r}" + _suggest(self.source, SOURCES)
                                 + f"; sources: {', '.join(sorted(SOURCES))}")
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
            schema = SOURCE_PARAMS[self.source]
            params = {}
            for key, value in dict(self.params).items():
                if key not in schema:
                    known = ", ".join(sorted(schema)) or "none"
                    raise PatchError(f"unknown patch key {'params.' + str(key)!r} for source "
                                     f"{self.source!r}" + _suggest(f'params.{key}', [f'params.{k}' for k in schema])
                                     + f"; its parameters: {known}")
                params[key] = _freeze(schema[key].check(f"params.{key}", _freeze(value)))
            object.__setattr__(self, "params", params)
            if self.source == "partials":
                lens = {len(self.param(k)) for k in ("ratios", "amps", "decays")}
                if len(lens) != 1:
                    raise PatchError("'params.ratios', 'params.amps' and 'params.decays' need "
                                     f"the same length, got {sorted(lens)}")
            if self.source == "fairlight" and self.param("cycle") and len(self.param("cycle")) != 128:
                raise PatchError(f"'params.cycle' of a Fairlight voice must have 128 values, "
                                 f"got {len(self.param('cycle'))}")
        except PatchError as e:
            raise PatchError(who + e.message) from None

    def param(self, key: str):
        """Source parameter ``key``: the patch's own value or the source's default."""
        if key in self.params:
            return self.params[key]
        return SOURCE_PARAMS[self.source][key].default

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
        if source != patch.source and source in SOURCE_PARAMS:
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

#: name -> Patch.  Filled by :mod:`synth.presets` (imported with the package).
PRESETS: dict[str, Patch] = {}


def register_preset(patch: Patch) -> Patch:
    """Add ``patch`` to the preset table under its name (replacing any)."""
    if not isinstance(patch, Patch):
        raise PatchError(f"register_preset needs a Patch, got {patch!r}")
    PRESETS[patch.name] = patch
    return patch


def preset_names() -> list[str]:
    """Names of every preset, sorted."""
    return sorted(PRESETS)


def get_preset(name: str) -> Patch:
    """The preset called ``name``; PatchError (with a suggestion) if there is none."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise PatchError(f"unknown preset {name!r}" + _suggest(name, PRESETS)
                         + "; run 'synth presets' for the list") from None


def resolve_patch(name: str, overrides: Mapping[str, Any] | None = None) -> Patch:
    """Preset ``name`` with ``overrides`` applied (see :func:`apply_overrides`)."""
    patch = get_preset(name)
    return apply_overrides(patch, overrides) if overrides else patch


# ---------------------------------------------------------------- spectra

def _harmonics(amps) -> tuple[np.ndarray, np.ndarray]:
    a = np.abs(np.asarray(amps, dtype=np.float64))
    return np.arange(1, len(a) + 1, dtype=np.float64), a


def patch_partials(patch: Patch, max_partials: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The steady spectrum of ``patch``: partial ratios to the played note and amplitudes.

    Exact where the source defines it (band-limited shapes' Fourier series,
    additive and Fairlight pages averaged over their segments, drawn cycles,
    bell partials, FM sidebands from Bessel functions); a 6-harmonic
    spectrum (amplitudes ``0.88**(k-1)``) otherwise.  Ratios include the
    patch's octave; the loudest partial has amplitude 1; at most
    ``max_partials`` of the loudest are kept.

    Returns
    -------
    ratios, amps : np.ndarray [shape=(k,)]
    """
    src = patch.source
    k = np.arange(1, 17, dtype=np.float64)
    shape = patch.param("shape") if src in ("unison", "ring") else src
    if src in ("sine",) or shape == "sine" and src == "unison":
        ratios, amps = np.array([1.0]), np.array([1.0])
    elif shape in ("saw", "naive_saw"):
        ratios, amps = k, 1 / k
    elif shape in ("square", "naive_square"):
        ratios, amps = k, np.where(k % 2 == 1, 1 / k, 0.0)
    elif shape in ("triangle", "naive_triangle"):
        ratios, amps = k, np.where(k % 2 == 1, 1 / k ** 2, 0.0)
    elif shape == "pulse":
        w = patch.param("width")
        ratios, amps = k, np.abs(np.sin(np.pi * k * w)) / k
    elif src == "additive" or (src == "fairlight" and not patch.param("cycle")
                               and patch.param("mode") == 1):
        ratios, amps = _harmonics(np.mean(np.asarray(patch.param("pages")), axis=0))
    elif src in ("drawn", "fairlight") and (patch.param("cycle") or src == "drawn"):
        cyc = np.asarray(patch.param("cycle"), dtype=np.float64)
        spec = np.abs(np.fft.rfft(cyc))[1:min(33, len(cyc) // 2)]
        ratios, amps = _harmonics(spec)
    elif src == "partials":
        ratios, amps = np.asarray(patch.param("ratios")), np.asarray(patch.param("amps"))
    elif src == "fm2":
        from scipy.special import jv
        order = np.arange(-12, 13)
        f = np.abs(1.0 + order * patch.param("ratio"))
        a = np.abs(jv(order, patch.param("index") * patch.param("index_floor")))
        uniq = np.unique(np.round(f, 9))
        ratios = uniq[uniq > 0]
        amps = np.array([a[np.isclose(f, r)].sum() for r in ratios])
    else:
        ratios = np.arange(1, 7, dtype=np.float64)
        amps = 0.88 ** (ratios - 1)
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
