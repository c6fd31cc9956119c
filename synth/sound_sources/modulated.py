"""Modulation sources: two- and three-operator FM, hard sync, ring modulation.

Each renders a note in one piece (none is segmentable: their state is not
carried between pieces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..dsp import fm, modulation, oscillators
from ..params import Param
from .oscillators import shape_spectrum
from .registry import NoteContext, Source, register_source

if TYPE_CHECKING:
    from ..patch import Patch


def _index_shape(patch: "Patch", n: int, sr: float) -> Any:
    """The decay of the modulation index over the note: 1, or a curve from 1 to the floor."""
    floor, tau = patch.param("index_floor"), patch.param("index_time")
    return 1.0 if floor >= 1 else floor + (1 - floor) * np.exp(-np.arange(n) / (tau * sr))


def _decay_params(what: str) -> dict[str, Param]:
    """``index_floor`` and ``index_time``; ``what`` names the index ("index after its")."""
    return {
        "index_floor": Param("float", 1.0, 0, 1, doc=f"{what} decay, as a fraction"),
        "index_time": Param("float", 0.5, 0.001, 60, unit="seconds",
                            doc="time constant of the decay"),
    }


# ---------------------------------------------------------------- FM

def _fm2(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch = note.patch
    shape = _index_shape(patch, m, note.sr)
    return fm.fm2(freq, sr=note.sr, n=m, ratio=patch.param("ratio"),
                  index=patch.param("index") * shape)[0]


def _fm3(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch = note.patch
    shape = _index_shape(patch, m, note.sr)
    i1, i2 = patch.param("indices")
    return fm.fm3(freq, sr=note.sr, n=m, ratios=patch.param("ratios"),
                  indices=(i1 * shape, i2 * shape))[0]


def _fm2_spectrum(patch: "Patch") -> tuple[np.ndarray, np.ndarray]:
    """Sidebands ``|1 + k ratio|`` with Bessel amplitudes ``|J_k(index x floor)|``."""
    from scipy.special import jv
    order = np.arange(-12, 13)
    f = np.abs(1.0 + order * patch.param("ratio"))
    a = np.abs(jv(order, patch.param("index") * patch.param("index_floor")))
    uniq = np.unique(np.round(f, 9))
    ratios = uniq[uniq > 0]
    amps = np.array([a[np.isclose(f, r)].sum() for r in ratios])
    return ratios, amps


register_source(Source(
    "fm2", "two-operator FM with a decaying index",
    params={
        "ratio": Param("float", 1.0, 0.01, 32, doc="modulator / carrier frequency"),
        "index": Param("float", 2.0, 0, 50, unit="rad", doc="modulation index at note-on"),
        **_decay_params("index after its"),
    },
    render=_fm2, spectrum=_fm2_spectrum))

register_source(Source(
    "fm3", "three-operator FM (stacked)",
    params={
        "ratios": Param("floats", (1.0, 2.0), 0.01, 32, min_len=2, max_len=2,
                        doc="op2 and op3 / carrier"),
        "indices": Param("floats", (1.5, 1.0), 0, 50, min_len=2, max_len=2,
                         doc="op2->carrier, op3->op2 (rad)"),
        **_decay_params("indices after their"),
    },
    render=_fm3, spectrum_exact=False))


# ---------------------------------------------------------------- hard sync

def _sync(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch, sr = note.patch, note.sr
    r0, r1 = patch.param("ratio"), patch.param("ratio_end")
    ratio = r0 if not r1 else modulation.glide(m, sr=sr, from_pitch=r0, to_pitch=r1,
                                               time=patch.param("sweep_time"))
    ratio = np.minimum(ratio, 0.45 * sr / max(note.max_freq, 1e-9))
    ratio = np.maximum(ratio, 1.0)
    # a slave saw cut off mid-cycle averages -f (1 - f) / ratio over each
    # master cycle (f = frac(ratio)): remove that DC (-19 dB re RMS on
    # sync_lead) as it follows the sweep
    f = np.mod(ratio, 1.0)
    return oscillators.hard_sync(freq, ratio, sr=sr, n=m)[0] + f * (1.0 - f) / ratio


register_source(Source(
    "sync", "hard-synced oscillator with a ratio sweep",
    params={
        "ratio": Param("float", 2.0, 1, 16, doc="slave / master frequency at note-on"),
        "ratio_end": Param("float", 0.0, 1, 16, off=0.0,
                           doc="slave ratio after the sweep (0 = no sweep)"),
        "sweep_time": Param("float", 0.5, 0.001, 60, unit="seconds",
                            doc="duration of the sweep"),
    },
    render=_sync, spectrum_exact=False))


# ---------------------------------------------------------------- ring modulation

def _ring(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch, sr = note.patch, note.sr
    shape, ratio = patch.param("shape"), patch.param("ratio")
    osc = getattr(oscillators, shape)
    carrier = (osc(freq, sr=sr, n=m)[0] if shape == "sine" else
               osc(freq, sr=sr, n=m, max_freq=note.max_freq * (1 + ratio))[0])
    mod = oscillators.sine(np.asarray(freq) * ratio, sr=sr, n=m)[0]
    return oscillators.ring_mod(carrier, mod, mix=patch.param("mix"))


register_source(Source(
    "ring", "ring modulation",
    params={
        "shape": Param("choice", "saw", choices=("sine", "saw", "square", "triangle"),
                       doc="carrier"),
        "ratio": Param("float", 1.5, 0.01, 16, doc="modulator (sine) / carrier frequency"),
        "mix": Param("float", 1.0, 0, 1, doc="0 = carrier only, 1 = ring product only"),
    },
    render=_ring, spectrum_exact=False,
    # the carrier's series (a sine carrier: the generic spectrum, as before)
    spectrum=lambda p: shape_spectrum(p.param("shape"), p)))
