"""Oscillator sources: band-limited shapes, naive shapes, pulse, unison stacks, noise."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..dsp import oscillators
from ..dsp.subtractive import FIXED, STACK, STEPS, TableRead
from ..params import Param
from .registry import CONTROL_SAMPLES, NoteContext, Source, Steps, register_source

if TYPE_CHECKING:
    from ..patch import Patch

__all__ = ["FIXED_PITCH_SHAPES", "WAVETABLE_SHAPES", "shape_spectrum"]

#: Shapes whose notes at a fixed pitch take :func:`synth.dsp.oscillators.fixed_pitch`.
FIXED_PITCH_SHAPES = ("saw", "square", "triangle", "sine")
#: Wavetable shapes a fixed voice filter can be baked into.
WAVETABLE_SHAPES = ("saw", "square", "triangle")
_HARMONICS = np.arange(1, 17, dtype=np.float64)


def shape_spectrum(shape: str, patch: "Patch") -> tuple[np.ndarray, np.ndarray] | None:
    """Fourier series (ratios, amplitudes) of oscillator ``shape``, or None if not a shape."""
    k = _HARMONICS
    if shape in ("saw", "naive_saw"):
        return k, 1 / k
    if shape in ("square", "naive_square"):
        return k, np.where(k % 2 == 1, 1 / k, 0.0)
    if shape in ("triangle", "naive_triangle"):
        return k, np.where(k % 2 == 1, 1 / k ** 2, 0.0)
    if shape == "pulse":
        w = patch.param("width")
        return k, np.abs(np.sin(np.pi * k * w)) / k
    return None


def _always(_patch: "Patch") -> bool:
    return True


# ---------------------------------------------------------------- band-limited shapes

_ZERO = np.zeros(1)


def _shape_render(shape: str):
    def render(note: NoteContext, a: int, m: int, freq: Any, lfo_values,
               envelope) -> np.ndarray | TableRead:
        if shape == "sine":
            if not isinstance(freq, Steps):
                return oscillators.fixed_pitch(shape, freq, sr=note.sr, n=m,
                                               max_freq=note.max_freq, start=a)
            ph = oscillators.expand_steps(*note.stepped(freq, m), step=CONTROL_SAMPLES, n=m)
            return oscillators.read_shape(shape, ph, sr=note.sr, max_freq=note.max_freq)
        table, slopes = oscillators.wavetable(shape, note.max_freq, sr=note.sr, tone=note.tone)
        if not isinstance(freq, Steps):       # phase in closed form from the note's start
            return TableRead(FIXED, table, slopes, start=a,
                             increments=np.array([float(freq) / note.sr]), phases0=_ZERO)
        starts, inc = note.stepped(freq, m)
        return TableRead(STEPS, table, slopes, run_starts=starts, run_increments=inc,
                         step=CONTROL_SAMPLES)
    return render


_SHAPE_DOCS = {"sine": "pure sine", "saw": "band-limited sawtooth (all harmonics, 1/k)",
               "square": "band-limited square (odd harmonics, 1/k)",
               "triangle": "band-limited triangle (odd harmonics, 1/k^2)"}

for _shape in FIXED_PITCH_SHAPES:
    register_source(Source(
        _shape, _SHAPE_DOCS[_shape], render=_shape_render(_shape), stepped_pitch=True,
        segmentable=_always,
        wavetable=_always if _shape in WAVETABLE_SHAPES else (lambda _p: False),
        spectrum=((lambda _p: (np.array([1.0]), np.array([1.0]))) if _shape == "sine"
                  else (lambda p, s=_shape: shape_spectrum(s, p)))))


# ---------------------------------------------------------------- naive (aliasing) shapes

def _naive_render(shape: str):
    def render(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
        return getattr(oscillators, shape)(freq, sr=note.sr, n=m)[0]
    return render


_NAIVE_DOCS = {"naive_saw": "aliasing sawtooth (deliberate grit)",
               "naive_square": "aliasing square", "naive_triangle": "aliasing triangle"}

for _shape in _NAIVE_DOCS:
    register_source(Source(
        _shape, _NAIVE_DOCS[_shape], render=_naive_render(_shape),
        spectrum=lambda p, s=_shape: shape_spectrum(s, p)))


# ---------------------------------------------------------------- pulse

_WIDTH = Param("float", 0.5, 0.01, 0.99, doc="fraction of the cycle high (0.5 = square)")


def _pulse(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch, sr = note.patch, note.sr
    width = patch.param("width")
    if lfo_values is not None and patch.lfo.to_width:
        width = np.clip(width + lfo_values * patch.lfo.to_width, 0.01, 0.99)
    if isinstance(freq, Steps) and np.ndim(width) == 0:
        # the AC-coupled pulse read in the voice's compiled loop
        table, slopes = oscillators.wavetable("saw", note.max_freq, sr=sr, tone=note.tone)
        starts, inc = note.stepped(freq, m)
        return TableRead(STEPS, table, slopes, run_starts=starts, run_increments=inc,
                         step=CONTROL_SAMPLES, width=float(width))
    if isinstance(freq, Steps):
        ph = oscillators.expand_steps(*note.stepped(freq, m), step=CONTROL_SAMPLES, n=m)
    else:
        ph, note.phase = oscillators.phase_ramp(freq, sr=sr, n=m, phase=note.phase)
    y = oscillators.pulse_at(ph, width, sr=sr, max_freq=note.max_freq, tone=note.tone)
    return y - (2.0 * width - 1.0)          # AC-coupled


register_source(Source(
    "pulse", "band-limited pulse of width params.width",
    params={"width": _WIDTH}, render=_pulse, stepped_pitch=True, segmentable=_always,
    wavetable=_always, spectrum=lambda p: shape_spectrum("pulse", p)))


# ---------------------------------------------------------------- unison stacks

class UnisonStack(NamedTuple):
    """A unison note's copies: frequency ratios, start phases (cycles), the largest ratio."""

    ratios: np.ndarray
    phases0: np.ndarray
    top: float


def _unison_prepare(patch: "Patch", rng: np.random.Generator) -> tuple[Any, float]:
    if patch.param("shape") not in FIXED_PITCH_SHAPES:
        return None, 1.0
    voices = patch.param("voices")
    ratios, top, gain = _unison_ratios(int(voices), float(patch.param("spread_cents")))
    return UnisonStack(ratios.copy(), rng.uniform(0.0, 1.0, len(ratios)), top), gain


@lru_cache(maxsize=64)
def _unison_ratios(voices: int, spread_cents: float) -> tuple[np.ndarray, float, float]:
    """Frequency ratio of each unison voice to the note (read-only), the largest, and the
    stack's gain ``1 / sqrt(voices)``: the same for every note."""
    ratios = 2.0 ** (oscillators.unison_offsets_cents(voices, spread_cents) / 1200.0)
    ratios.setflags(write=False)
    return ratios, float(ratios.max()), 1.0 / np.sqrt(voices)


def _unison(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch, sr, shape = note.patch, note.sr, note.patch.param("shape")
    stack = note.source_state
    if stack is not None and shape != "sine":    # read in the voice's compiled loop
        top = note.max_freq * stack.top
        table, slopes = oscillators.wavetable(shape, top, sr=sr, tone=note.tone)
        if isinstance(freq, Steps):
            starts, inc = note.stepped(freq, m)
            return TableRead(STACK, table, slopes, run_starts=starts, run_increments=inc,
                             ratios=stack.ratios, offsets=stack.phases0, step=CONTROL_SAMPLES)
        return TableRead(FIXED, table, slopes, start=a, increments=(freq * stack.ratios) / sr,
                         phases0=stack.phases0)
    if stack is not None:                 # a sine stack
        top = note.max_freq * stack.top
        if isinstance(freq, Steps):
            starts, inc = note.stepped(freq, m)
            return oscillators.stack_sum_stepped(shape, starts, inc, stack.ratios, stack.phases0,
                                                 step=CONTROL_SAMPLES, n=m, sr=sr, max_freq=top,
                                                 tone=note.tone)
        return oscillators.fixed_pitch(shape, freq * stack.ratios, sr=sr, n=m,
                                       phase=stack.phases0, max_freq=top, start=a,
                                       tone=note.tone).sum(axis=0)
    if isinstance(freq, Steps):
        freq = freq.per_sample()
    voices, w = patch.param("voices"), patch.param("width")

    def osc(f, **kw):   # AC-coupled, as the pulse source
        y, ph = oscillators.pulse(f, width=w, **kw)
        return y - (2.0 * w - 1.0), ph
    stack, _ = oscillators.unison(osc, freq, sr=sr, n=m, voices=voices,
                                  detune_cents=patch.param("spread_cents"), rng=note.rng,
                                  max_freq=note.max_freq)
    return stack.sum(axis=0) / np.sqrt(voices)


def _unison_spectrum(patch: "Patch") -> tuple[np.ndarray, np.ndarray] | None:
    if patch.param("shape") == "sine":
        return np.array([1.0]), np.array([1.0])
    return shape_spectrum(patch.param("shape"), patch)


register_source(Source(
    "unison", "a stack of detuned oscillators (supersaw)",
    params={
        "shape": Param("choice", "saw", choices=("saw", "square", "triangle", "sine", "pulse"),
                       doc="oscillator stacked"),
        "voices": Param("int", 7, 1, 16, doc="copies in the stack"),
        "spread_cents": Param("float", 20.0, 0, 200, unit="cents", doc="total detune spread"),
        "width": Param("float", 0.5, 0.01, 0.99, doc="pulse width (shape pulse)"),
    },
    render=_unison, stepped_pitch=True, prepare=_unison_prepare,
    segmentable=lambda p: p.param("shape") in FIXED_PITCH_SHAPES,
    wavetable=lambda p: p.param("shape") in WAVETABLE_SHAPES, spectrum=_unison_spectrum))


# ---------------------------------------------------------------- noise

def _white(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    return oscillators.white_noise(m, note.rng)


def _pink(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    y, note.source_state = oscillators.pink_noise(m, note.rng, state=note.source_state)
    return y


register_source(Source("noise", "white noise (pitch ignored)", render=_white, pitched=False,
                       segmentable=_always, spectrum_exact=False))
register_source(Source("pink", "pink noise (pitch ignored)", render=_pink,
                       pitched=False, segmentable=_always,
                       spectrum_exact=False))
