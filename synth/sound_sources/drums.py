"""The ``drums`` source: a GM drum kit, the note number picking the drum.

A complete instrument (``whole_note``): each drum has its own length and
envelope (:mod:`synth.dsp.drums`), so the voice's envelope and filter do not
apply; the voice scales the hit by velocity and gain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..dsp import drums
from ..params import Param
from .registry import Source, register_source

if TYPE_CHECKING:
    from ..patch import Patch


def _length(patch: "Patch", gate_samples: int, sr: float, pitch: float | None) -> int:
    """Samples of the hit: its drum's decay (the longest without a pitch) x decay_scale, + 1."""
    decay = drums.longest_decay() if pitch is None else drums.drum_for_note(pitch).decay
    return int(round(max(0.0, float(decay * patch.param("decay_scale"))) * sr)) + 1


def _hit(patch: "Patch", pitch: float, sr: float, n: int, rng: np.random.Generator) -> np.ndarray:
    return drums.drum_hit(pitch, sr=sr, n=n, tune=2.0 ** (patch.param("tune") / 12.0), rng=rng)


register_source(Source(
    "drums", "a General MIDI drum kit (pitch chooses the drum)",
    params={
        "tune": Param("float", 0.0, -24, 24, unit="semitones", doc="retunes every drum"),
        "decay_scale": Param("float", 1.0, 0.1, 4, doc="scales every drum's decay"),
    },
    whole_note=_hit, note_length=_length, pitched=False,
    spectrum_exact=False))
