"""The patch model: what an instrument is, and the named presets.

A :class:`Patch` is a frozen description of a voice: its sound source, its
amplitude envelope, its level and tuning.  Presets are named patches;
:func:`resolve_patch` looks one up and applies overrides given as dotted keys
(``{"envelope.release": 2.0, "gain_db": -3}``), validating every key and value
so that a typo in a score file is an error naming the key, never ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .dsp.envelopes import CURVES
from .errors import PatchError

__all__ = [
    "Envelope",
    "Patch",
    "SOURCES",
    "PRESETS",
    "register_preset",
    "preset_names",
    "get_preset",
    "resolve_patch",
    "apply_overrides",
]

#: Sound sources a patch may name.  Later layers register more.
SOURCES = {"sine", "saw", "square", "triangle", "noise",
           "naive_saw", "naive_square", "naive_triangle"}


@dataclass(frozen=True)
class Envelope:
    """ADSR amplitude envelope.

    Parameters
    ----------
    attack, decay, release : float
        Seconds (>= 0).
    sustain : float
        Level 0..1 held while the key is down after the decay.
    curve : {"linear", "exp"}
    """

    attack: float = 0.005
    decay: float = 0.08
    sustain: float = 0.8
    release: float = 0.12
    curve: str = "linear"

    def __post_init__(self):
        for name in ("attack", "decay", "release"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 600):
                raise PatchError(f"envelope.{name} must be 0..600 seconds, got {v!r}")
        if not (isinstance(self.sustain, (int, float)) and 0 <= self.sustain <= 1):
            raise PatchError(f"envelope.sustain must be 0..1, got {self.sustain!r}")
        if self.curve not in CURVES:
            raise PatchError(f"envelope.curve must be one of {', '.join(CURVES)}, got {self.curve!r}")


@dataclass(frozen=True)
class Patch:
    """A voice: source, envelope, level and tuning.

    Parameters
    ----------
    name : str
    source : str
        One of :data:`SOURCES` (e.g. ``"saw"``: band-limited sawtooth).
    envelope : Envelope
    gain_db : float
        Voice level in dB at full velocity.
    octave : int
        Octave shift applied to every note.
    detune_cents : float
        Fine tuning applied to every note.
    velocity_curve : float
        Exponent of the velocity -> amplitude law ``(v/127) ** velocity_curve``
        (2.0: velocity 64 is about -12 dB).
    params : mapping
        Source-specific parameters.
    description : str
        One line for ``synth presets``.
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

    def __post_init__(self):
        if self.source not in SOURCES:
            raise PatchError(f"patch {self.name!r}: unknown source {self.source!r}"
                             + _suggest(self.source, SOURCES))
        if not (isinstance(self.gain_db, (int, float)) and math.isfinite(self.gain_db)
                and -120 <= self.gain_db <= 24):
            raise PatchError(f"patch {self.name!r}: gain_db must be -120..24, got {self.gain_db!r}")
        if not (isinstance(self.octave, int) and -4 <= self.octave <= 4):
            raise PatchError(f"patch {self.name!r}: octave must be an integer -4..4, got {self.octave!r}")
        if not (isinstance(self.detune_cents, (int, float)) and abs(self.detune_cents) <= 1200):
            raise PatchError(f"patch {self.name!r}: detune_cents must be within ±1200, got {self.detune_cents!r}")
        if not (isinstance(self.velocity_curve, (int, float)) and 0 <= self.velocity_curve <= 8):
            raise PatchError(f"patch {self.name!r}: velocity_curve must be 0..8, got {self.velocity_curve!r}")
        object.__setattr__(self, "params", dict(self.params))

    def __hash__(self):
        return hash((self.name, self.source, self.envelope, self.gain_db, self.octave,
                     self.detune_cents, tuple(sorted(self.params.items(), key=lambda kv: kv[0]))
                     if all(isinstance(v, (int, float, str, bool)) for v in self.params.values())
                     else id(self)))


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def apply_overrides(patch: Patch, overrides: Mapping[str, Any]) -> Patch:
    """A copy of ``patch`` with dotted-key overrides applied and validated.

    ``{"envelope.release": 2.0}`` replaces a field of the nested envelope;
    ``{"params.index": 3}`` sets a source parameter; nested mappings
    (``{"envelope": {"release": 2.0}}``) are flattened first.

    Raises
    ------
    PatchError
        Naming the key when it is unknown or its value is invalid.
    """
    flat: dict[str, Any] = {}

    def flatten(prefix, value):
        if isinstance(value, Mapping) and prefix not in ("params",):
            for k, v in value.items():
                flatten(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat[prefix] = value

    flatten("", overrides)
    top = {f.name for f in dataclasses.fields(Patch)} - {"name"}
    env_fields = {f.name for f in dataclasses.fields(Envelope)}
    changes: dict[str, Any] = {}
    env_changes: dict[str, Any] = {}
    params = dict(patch.params)
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        if head == "envelope" and rest:
            if rest not in env_fields:
                raise PatchError(f"unknown patch key {key!r}" + _suggest(rest, env_fields))
            env_changes[rest] = value
        elif head == "params" and rest:
            params[rest] = value
        elif head == "params" and isinstance(value, Mapping):
            params.update(value)
        elif key in top and key not in ("envelope", "params"):
            changes[key] = value
        else:
            raise PatchError(f"unknown patch key {key!r}"
                             + _suggest(key, sorted(top - {"envelope", "params"})
                                        + [f"envelope.{f}" for f in env_fields]))
    try:
        if env_changes:
            changes["envelope"] = dataclasses.replace(patch.envelope, **env_changes)
        if params != patch.params:
            changes["params"] = params
        return dataclasses.replace(patch, **changes) if changes else patch
    except PatchError as e:
        raise PatchError(f"bad patch override: {e.message}") from None
    except TypeError as e:
        raise PatchError(f"bad patch override: {e}") from None


# ---------------------------------------------------------------- presets

PRESETS: dict[str, Patch] = {}


def register_preset(patch: Patch) -> Patch:
    """Add ``patch`` to the preset table under its name (replacing any)."""
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


for _p in (
    Patch("sine", "sine", Envelope(0.005, 0.05, 0.9, 0.08), gain_db=-3.0,
          description="pure sine tone with a short, click-free envelope"),
    Patch("saw", "saw", Envelope(0.005, 0.1, 0.75, 0.12),
          description="band-limited sawtooth: bright, buzzy"),
    Patch("square", "square", Envelope(0.005, 0.1, 0.75, 0.12),
          description="band-limited square: hollow, clarinet-like"),
    Patch("triangle", "triangle", Envelope(0.005, 0.1, 0.8, 0.12), gain_db=-3.0,
          description="band-limited triangle: soft, flute-like"),
    Patch("noise", "noise", Envelope(0.002, 0.15, 0.3, 0.2), gain_db=-12.0,
          description="white noise burst (pitch ignored)"),
):
    register_preset(_p)
