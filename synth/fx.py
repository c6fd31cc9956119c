"""Effect chains for parts and the master bus.

A part's ``effects`` (and a score's master effects) are lists of mappings
``{"type": NAME, **params}``.  :func:`build_chain` validates them with
:func:`synth.params.validate_effect` (the one effect-parameter check, which the
score-file and arrangement loaders run at load time with file and line), builds
them from the registry :data:`EFFECTS` and returns a :class:`Chain`: an immutable
description that processes stereo blocks ``(2, n)`` by the kernel convention
``process(x, state) -> (y, state)``.  The state is explicit and starts fresh
(:meth:`Chain.start`) for every pass, so a chain (and a render plan holding
it) renders the same each time, and a chunked pass equals a one-shot pass.
Each effect reports how long its tail rings, so the renderer can let it ring
out instead of cutting it.

A pass::

    state = chain.start()
    for block in blocks:
        y, state = chain.process(block, state)

Registered types (parameters as in :mod:`synth.dsp.effects`): ``gain``
(``gain_db``), ``reverb`` (``rt60``, ``damping``, ``size``, ``mix``),
``delay`` (``time`` in seconds or ``beats`` at the part's tempo,
``feedback``, ``mix``, ``damping``), ``chorus`` (``rate_hz``, ``depth_ms``,
``delay_ms``, ``spread``, ``mix``), ``bitcrush`` (``bits``), ``decimate``
(``rate_hz``), ``saturate`` (``drive_db``, ``shape``, ``oversample``,
``mix``).  Example part table entry::

    effects = [{type = "delay", beats = 0.75, feedback = 0.4},
               {type = "reverb", rt60 = 2.5, mix = 0.3}]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Tuple

import numpy as np

from .dsp import effects as fx_dsp
from .errors import PatchError
from .params import EFFECT_PARAMS, suggest, validate_effect
from .units import db_to_amp

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Effect", "Chain", "ChainState", "EFFECTS", "register_effect", "build_chain"]

#: A kernel: ``kernel(x [shape=(2, n)], *, sr, state, **params) -> (y, state)``,
#: ``state=None`` for a fresh effect (see :mod:`synth.dsp.effects`).
Kernel = Callable[..., Tuple[np.ndarray, Any]]


@dataclass(frozen=True)
class Effect:
    """A configured effect: its kernel and parameters, no state.

    Attributes
    ----------
    name : str
        The registered type.
    kernel : callable
        ``kernel(x, *, sr, state, **params) -> (y, state)``.
    params : tuple of (str, value)
        Keyword parameters of the kernel, as sorted pairs (immutable).
    sr : float
        Sample rate in Hz.
    tail_samples : int
        Samples the effect keeps sounding after its input falls silent.
    """

    name: str
    kernel: Kernel
    params: tuple[tuple[str, Any], ...]
    sr: float
    tail_samples: int = 0

    def process(self, x: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        """One block ``x`` [shape=(2, n)] -> ``(y [shape=(2, n)], state for the next block)``.

        ``state=None`` starts the effect fresh (silent history).
        """
        return self.kernel(x, sr=self.sr, state=state, **dict(self.params))


def _gain_kernel(x: np.ndarray, *, sr: float, state: None, amp: float) -> tuple[np.ndarray, None]:
    """Memoryless gain: ``x * amp``."""
    return x * amp, None


#: type name -> factory(params: dict, *, sr: float, bpm: float) -> Effect
EFFECTS: dict[str, Callable[..., Effect]] = {}


def register_effect(name: str) -> Callable[[Callable[..., Effect]], Callable[..., Effect]]:
    """Decorator adding an effect factory to :data:`EFFECTS`."""
    def deco(factory):
        EFFECTS[name] = factory
        return factory
    return deco


@register_effect("gain")
def _gain(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    amp = float(db_to_amp(float(params.get("gain_db", 0.0))))
    return Effect("gain", _gain_kernel, (("amp", amp),), sr)


# ---------------------------------------------------------------- the DSP effects

def _stateful(name: str, kernel, kwargs: dict, sr: float, tail_seconds: float = 0.0,
              tail_samples: int = 0) -> Effect:
    """``kernel(x, *, sr, state, **kwargs) -> (y, state)`` with its parameters as an Effect.

    The kernel runs once on a silent sample first, so a bad parameter is
    reported when the chain is built, not in the middle of a render.
    """
    kernel(np.zeros((2, 1)), sr=sr, state=None, **kwargs)
    return Effect(name, kernel, tuple(sorted(kwargs.items())), sr,
                  tail_samples + int(math.ceil(tail_seconds * sr)))


@register_effect("reverb")
def _reverb(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    """Feedback-delay-network reverb: ``rt60`` (s), ``damping`` 0..1, ``size`` 0.3..3, ``mix`` 0..1."""
    kw = dict(params)
    return _stateful("reverb", fx_dsp.reverb, kw, sr, fx_dsp.reverb_tail_seconds(**kw))


@register_effect("delay")
def _delay(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    """Feedback echo: ``time`` (s) or ``beats`` (tempo-synced at the part's bpm),
    ``feedback`` 0..0.98, ``mix`` 0..1, ``damping`` 0..1."""
    kw = dict(params)
    if "beats" in kw:
        beats = kw.pop("beats")
        kw["time"] = float(beats) * 60.0 / float(bpm)
    kw.setdefault("time", 0.375)
    return _stateful("delay", fx_dsp.delay, kw, sr, fx_dsp.delay_tail_seconds(**kw))


@register_effect("chorus")
def _chorus(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    """Chorus: ``rate_hz``, ``depth_ms``, ``delay_ms``, ``spread`` (cycles), ``mix``."""
    kw = dict(params)
    return _stateful("chorus", fx_dsp.chorus, kw, sr, fx_dsp.chorus_tail_seconds(**kw))


@register_effect("bitcrush")
def _bitcrush(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    """Bit-crusher: ``bits`` 1..24 (memoryless)."""
    return _stateful("bitcrush", fx_dsp.bitcrush, dict(params), sr)


@register_effect("decimate")
def _decimate(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    """Sample-rate reducer: ``rate_hz`` (aliases on purpose)."""
    kw = dict(params)
    kw.setdefault("rate_hz", 8000.0)
    return _stateful("decimate", fx_dsp.decimate, kw, sr)


@register_effect("saturate")
def _saturate(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    """Waveshaper: ``drive_db``, ``shape`` (tanh, soft, fold), ``oversample`` 1/2/4/8, ``mix``."""
    kw = dict(params)
    if "oversample" in kw:
        kw["oversample"] = int(kw["oversample"]) if float(kw["oversample"]).is_integer() \
            else kw["oversample"]
    return _stateful("saturate", fx_dsp.saturate, kw, sr,
                     tail_samples=fx_dsp.saturate_latency(kw.get("oversample", 1)))


@dataclass(frozen=True)
class ChainState:
    """Where a pass through a :class:`Chain` is: each effect's kernel state, in order.

    ``None`` for an effect that has not run yet (or keeps no state).  What a
    kernel keeps is its own business (see :mod:`synth.dsp.effects`); the
    chain only hands it back with the next block.
    """

    effects: tuple = ()


@dataclass(frozen=True)
class Chain:
    """Effects applied in order to stereo blocks (an immutable description, no state)."""

    effects: tuple[Effect, ...] = ()

    @property
    def tail_samples(self) -> int:
        """Samples the whole chain rings after its input stops (sum of tails)."""
        return sum(e.tail_samples for e in self.effects)

    def __bool__(self):
        return bool(self.effects)

    def start(self) -> ChainState:
        """The state of a fresh pass: every effect with a silent history."""
        return ChainState((None,) * len(self.effects))

    def process(self, x: np.ndarray, state: ChainState) -> tuple[np.ndarray, ChainState]:
        """Run one block ``x`` [shape=(2, n)] through every effect.

        Returns
        -------
        y : np.ndarray [shape=(2, n)]
        state : ChainState
            To pass with the next block of the same pass.
        """
        after = []
        for effect, before in zip(self.effects, state.effects):
            x, now = effect.process(x, before)
            after.append(now)
        return x, ChainState(tuple(after))


def build_chain(specs: Iterable[Mapping[str, Any]] | None, *, sr: float, bpm: float,
                where: str = "effects") -> Chain:
    """Instantiate effect ``specs`` (list of ``{"type": ..., **params}``).

    Raises
    ------
    PatchError
        For an unknown type or a bad parameter, naming ``where[i]``.
    """
    effects = []
    for i, spec in enumerate(specs or ()):
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise PatchError(f"{where}[{i}]: an effect needs a 'type' key, got {spec!r}")
        kind = spec["type"]
        factory = EFFECTS.get(kind)
        if factory is None:
            raise PatchError(f"{where}[{i}].type: unknown effect type {kind!r}"
                             f"{suggest(kind, EFFECTS)}; effects: {', '.join(sorted(EFFECTS))}")
        if kind in EFFECT_PARAMS:       # an effect registered without a spec checks its own
            spec = validate_effect(spec, f"{where}[{i}]", error=PatchError, bpm=bpm)
        params = {k: v for k, v in spec.items() if k != "type"}
        try:
            effects.append(factory(params, sr=sr, bpm=bpm))
        except PatchError as e:
            raise PatchError(f"{where}[{i}] ({kind}): {e.message}") from None
        except (TypeError, ValueError) as e:
            raise PatchError(f"{where}[{i}] ({kind}): {e}") from None
    return Chain(tuple(effects))
