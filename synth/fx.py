"""Effect chains for parts and the master bus.

A part's ``effects`` (and a score's master effects) are lists of mappings
``{"type": NAME, **params}``.  :func:`build_chain` validates them against the
registry :data:`EFFECTS` and returns a :class:`Chain` that processes stereo
blocks ``(2, n)`` with its state carried between blocks, so a chunked render
equals a one-shot render.  Each effect reports how long its tail rings, so
the renderer can let it ring out instead of cutting it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .errors import PatchError
from .units import db_to_amp

__all__ = ["Effect", "Chain", "EFFECTS", "register_effect", "build_chain"]


@dataclass
class Effect:
    """A configured, stateful effect instance.

    Attributes
    ----------
    process : callable
        ``process(x [shape=(2, n)]) -> y [shape=(2, n)]``, carrying its own state.
    tail_samples : int
        Samples the effect keeps sounding after its input falls silent.
    """

    name: str
    process: Callable[[np.ndarray], np.ndarray]
    tail_samples: int = 0


#: type name -> factory(params: dict, *, sr: float, bpm: float) -> Effect
EFFECTS: dict[str, Callable[..., Effect]] = {}


def register_effect(name: str):
    """Decorator adding an effect factory to :data:`EFFECTS`."""
    def deco(factory):
        EFFECTS[name] = factory
        return factory
    return deco


@register_effect("gain")
def _gain(params: Mapping[str, Any], *, sr: float, bpm: float) -> Effect:
    unknown = set(params) - {"gain_db"}
    if unknown:
        raise PatchError(f"gain: unknown parameter(s) {sorted(unknown)}")
    amp = float(db_to_amp(float(params.get("gain_db", 0.0))))
    return Effect("gain", lambda x: x * amp)


class Chain:
    """Effects applied in order to stereo blocks."""

    def __init__(self, effects: list[Effect]):
        self.effects = effects

    @property
    def tail_samples(self) -> int:
        """Samples the whole chain rings after its input stops (sum of tails)."""
        return sum(e.tail_samples for e in self.effects)

    def __bool__(self):
        return bool(self.effects)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Run one block ``(2, n)`` through every effect."""
        for e in self.effects:
            x = e.process(x)
        return x


def build_chain(specs, *, sr: float, bpm: float, where: str = "effects") -> Chain:
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
        params = {k: v for k, v in spec.items() if k != "type"}
        kind = spec["type"]
        factory = EFFECTS.get(kind)
        if factory is None:
            close = difflib.get_close_matches(str(kind), sorted(EFFECTS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PatchError(f"{where}[{i}]: unknown effect type {kind!r}{hint}; "
                             f"known: {', '.join(sorted(EFFECTS))}")
        try:
            effects.append(factory(params, sr=sr, bpm=bpm))
        except PatchError as e:
            raise PatchError(f"{where}[{i}] ({kind}): {e.message}") from None
        except (TypeError, ValueError) as e:
            raise PatchError(f"{where}[{i}] ({kind}): {e}") from None
    return Chain(effects)
