"""Modulation sources: LFOs, glide, pitch envelopes, multi-segment and CMI envelopes.

Calling conventions:

- Envelopes and glides are closed-form in the sample index within the note:
  ``f(n, *, sr, ..., start=0) -> values [shape=(n,)]`` computes samples
  ``start .. start + n - 1``, so any block can be computed on its own
  (blocks == one pass exactly).  Segment boundaries are the absolute
  times rounded to whole samples once (no accumulation of rounding).
- LFOs run a phase: ``lfo(shape, rate_hz, *, sr, n, state=None, rng=None)
  -> (values in [-1, 1], state)``; the state continues the next block.
- Helpers turn unit LFO values into the units they modulate:
  :func:`cents_to_ratio` (pitch), :func:`vibrato` (Hz), :func:`tremolo`
  (amplitude).  Pitches here are MIDI numbers (semitones); convert with
  :func:`synth.units.midi_to_hz`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import envelopes
from .oscillators import phase_ramp

if TYPE_CHECKING:
    from collections.abc import Sequence
    from numpy.typing import ArrayLike

__all__ = [
    "LFO_SHAPES",
    "lfo",
    "LfoState",
    "cents_to_ratio",
    "vibrato",
    "tremolo",
    "segment_progress",
    "multi_segment",
    "multi_segment_length",
    "glide",
    "pitch_envelope",
    "cmi_envelope",
    "cmi_envelope_length",
]

LFO_SHAPES = ("sine", "triangle", "square", "saw", "sample_hold")
#: Curvature that "exp" stands for: 1 - e^-5 (99.3 %) of the way covered
#: exponentially, then pulled onto the target (as :mod:`.envelopes` does).
EXP_CURVATURE = 5.0
#: Depth (dB) at which a CMI damping decay is taken to end (exactly 0 there).
CMI_FLOOR_DB = 80.0


# ---------------------------------------------------------------- LFOs

class LfoState(NamedTuple):
    """Where an LFO is between blocks (``state=None`` starts fresh)."""

    phase: float                 #: phase in cycles
    held: float | None = None    #: sample_hold: the value held, in [-1, 1)
    cycle: int | None = None     #: sample_hold: the cycle that drew it

def lfo(shape: str, rate_hz: ArrayLike, *, sr: float, n: int | None = None, phase: float = 0.0,
        rng: np.random.Generator | None = None,
        state: LfoState | None = None) -> tuple[np.ndarray, LfoState]:
    """Low-frequency oscillator with values in [-1, 1].

    Parameters
    ----------
    shape : {"sine", "triangle", "square", "saw", "sample_hold"}
        ``sine`` starts at 0 rising; ``triangle`` at 0 rising to +1 at a
        quarter cycle; ``square`` is +1 for the first half-cycle; ``saw``
        rises from -1; ``sample_hold`` holds a uniform random value in
        [-1, 1) per cycle, drawn from ``rng`` at each cycle start.
    rate_hz : float or np.ndarray [shape=(n,)]
        LFO rate in Hz.
    sr : float
        Sample rate in Hz.
    n : int, optional
        Samples (required for a scalar rate).
    phase : float
        Start phase in cycles (fresh start only).
    rng : numpy.random.Generator, optional
        Required for ``sample_hold`` (use a stream from :mod:`synth.seeds`,
        the same generator for consecutive blocks).
    state : LfoState, optional
        From the previous block.

    Returns
    -------
    values : np.ndarray [shape=(n,)]
    state : LfoState

    Notes
    -----
    Naive shapes: at LFO rates (below ~50 Hz) the discontinuities of square,
    saw and sample-and-hold are the point; smooth them with a filter if needed.
    """
    if shape not in LFO_SHAPES:
        raise ValueError(f"unknown LFO shape {shape!r}; expected one of {LFO_SHAPES}")
    if state is not None:
        phase = state.phase
    ph, phase_out = phase_ramp(rate_hz, sr=sr, n=n, phase=phase)
    frac = ph - np.floor(ph)
    if shape == "sine":
        y = np.sin(2 * np.pi * frac)
    elif shape == "triangle":
        y = 1.0 - 4.0 * np.abs(((frac + 0.25) % 1.0) - 0.5)
    elif shape == "square":
        y = np.where(frac < 0.5, 1.0, -1.0)
    elif shape == "saw":
        y = 2.0 * frac - 1.0
    else:
        if rng is None:
            raise ValueError("a sample_hold LFO needs rng (a numpy Generator from synth.seeds)")
        cycle = np.floor(ph).astype(np.int64)
        if state is None:                      # note-on: a fresh value for the first cycle
            prev_cycle = int(cycle[0]) if len(cycle) else int(np.floor(phase))
            held = float(rng.uniform(-1.0, 1.0))
        else:
            prev_cycle, held = state.cycle, state.held
        starts = np.flatnonzero(np.diff(np.concatenate([[prev_cycle], cycle])) > 0)
        values = np.concatenate([[held], rng.uniform(-1.0, 1.0, len(starts))])
        marks = np.zeros(len(cycle), dtype=np.int64)
        marks[starts] = np.arange(1, len(starts) + 1)
        y = values[np.maximum.accumulate(marks)] if len(marks) else np.zeros(0)
        return y, LfoState(phase_out, float(values[-1]),
                           int(cycle[-1]) if len(cycle) else prev_cycle)
    return y, LfoState(phase_out)


def cents_to_ratio(cents: ArrayLike) -> np.ndarray:
    """Frequency ratio of an interval in cents: ``2 ** (cents / 1200)``."""
    return 2.0 ** (np.asarray(cents, dtype=np.float64) / 1200.0)


def vibrato(freq: ArrayLike, lfo_values: ArrayLike, depth_cents: float) -> np.ndarray:
    """Frequency (Hz) swung by ``depth_cents`` (peak) times the LFO's value."""
    return np.asarray(freq, dtype=np.float64) * cents_to_ratio(depth_cents * np.asarray(lfo_values))


def tremolo(lfo_values: ArrayLike, depth: float) -> np.ndarray:
    """Gain in [1 - depth, 1] following an LFO in [-1, 1] (``depth`` in 0..1)."""
    if not 0.0 <= depth <= 1.0:
        raise ValueError(f"tremolo depth must be within 0..1, got {depth!r}")
    return 1.0 - depth * 0.5 * (1.0 - np.asarray(lfo_values, dtype=np.float64))


# ---------------------------------------------------------------- segments

def _curvature(curve) -> float:
    if isinstance(curve, str):
        if curve == "linear":
            return 0.0
        if curve == "exp":
            return EXP_CURVATURE
        raise ValueError(f"unknown segment curve {curve!r}; expected 'linear', 'exp' or a number")
    return float(curve)


def segment_progress(x: np.ndarray, curve: str) -> np.ndarray:
    """Progress 0..1 along a segment at fractions ``x`` in [0, 1].

    ``curve`` 0 / "linear": ``x``; ``c != 0``: ``(1 - e^(-c x)) / (1 - e^(-c))``
    (c > 0 moves fast first, like an RC charge or decay; c < 0 slow first);
    "exp" is c = 5.  Exactly 0 at x = 0 and 1 at x = 1.
    """
    c = _curvature(curve)
    x = np.asarray(x, dtype=np.float64)
    if c == 0.0:
        return x
    return np.expm1(-c * x) / np.expm1(-c)


def _boundaries(times, sr):
    t = np.asarray(times, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError(f"segment times must be finite and >= 0, got {times!r}")
    return np.round(np.cumsum(t) * sr).astype(np.int64)


def multi_segment_length(times: ArrayLike, *, sr: float) -> int:
    """Samples up to and including the one where the last segment arrives."""
    b = _boundaries(times, sr)
    return int(b[-1]) + 1 if len(b) else 1


def multi_segment(n: int, *, sr: float, levels: ArrayLike, times: ArrayLike,
                  curves: str | Sequence[str] = "linear", start: int = 0) -> np.ndarray:
    """Breakpoint envelope: from ``levels[0]`` through ``levels[1:]``.

    Parameters
    ----------
    n : int
        Samples to compute.
    sr : float
        Sample rate in Hz.
    levels : array_like [shape=(segments + 1,)]
        Level at each breakpoint (any unit: amplitude, semitones, Hz).
    times : array_like [shape=(segments,)]
        Duration of each segment in seconds.  Breakpoint ``i + 1`` falls on
        sample ``round(sum(times[:i + 1]) * sr)`` (absolute times rounded
        once); a zero-length segment is a jump.
    curves : str, float or sequence
        One per segment or one for all (see :func:`segment_progress`).
    start : int
        Index of the first sample to compute.

    Returns
    -------
    np.ndarray [shape=(n,)]
        ``levels[i]`` exactly on each breakpoint's sample, the last level held
        after the last breakpoint.
    """
    lv = np.asarray(levels, dtype=np.float64)
    b = _boundaries(times, sr)
    if len(lv) != len(b) + 1:
        raise ValueError(f"multi_segment needs len(levels) == len(times) + 1, got "
                         f"{len(lv)} levels and {len(b)} times")
    if isinstance(curves, (str, int, float)):
        curves = [curves] * len(b)
    if len(curves) != len(b):
        raise ValueError(f"multi_segment got {len(curves)} curves for {len(b)} segments")
    k = np.arange(start, start + n, dtype=np.int64)
    out = np.full(n, lv[-1])
    seg_starts = np.concatenate([[0], b[:-1]])
    out[k < 0] = lv[0]
    for i, (s0, s1, curve) in enumerate(zip(seg_starts, b, curves)):
        m = (k >= s0) & (k < s1)
        if m.any():
            x = (k[m] - s0) / (s1 - s0)
            out[m] = lv[i] + (lv[i + 1] - lv[i]) * segment_progress(x, curve)
    return out


def glide(n: int, *, sr: float, from_pitch: float, to_pitch: float, time: float,
          curve: str = "linear", start: int = 0) -> np.ndarray:
    """Portamento: pitch (semitones, MIDI) from ``from_pitch`` to ``to_pitch``.

    ``curve="linear"`` moves at a constant rate in semitones (exponential in
    Hz, as a portamento sounds); ``"exp"`` or a number starts fast and settles
    (see :func:`segment_progress`).  Arrives exactly at ``to_pitch`` on
    sample ``round(time * sr)`` and stays.

    Returns
    -------
    np.ndarray [shape=(n,)]  (MIDI pitch; :func:`synth.units.midi_to_hz` for Hz)
    """
    return multi_segment(n, sr=sr, levels=[from_pitch, to_pitch], times=[time], curves=curve,
                         start=start)


def pitch_envelope(n: int, *, sr: float, semitones: float, time: float, curve: str = "exp",
                   start: int = 0) -> np.ndarray:
    """Pitch offset (semitones) from ``semitones`` at note-on to 0 after ``time`` seconds.

    Add it to the note's pitch (a drum's falling thump, a brass "blip").
    """
    return glide(n, sr=sr, from_pitch=semitones, to_pitch=0.0, time=time, curve=curve, start=start)


# ---------------------------------------------------------------- the CMI envelope

def _samples(seconds, sr) -> int:
    return int(round(max(0.0, float(seconds)) * sr))


def cmi_envelope_length(gate_samples: int, *, sr: float, damping: float) -> int:
    """Samples of a CMI note: the gate plus the damping tail, plus the final zero."""
    return int(gate_samples) + _samples(damping * CMI_FLOOR_DB / 60.0, sr) + 1


def cmi_envelope(n: int, *, sr: float, gate_samples: int, attack: float, damping: float,
                 held_damping: float | None = None, start: int = 0) -> np.ndarray:
    """The CMI's envelope: an attack and two "damping" (decay) times, no ADSR.

    Interpretation (the sources only say "attack plus two damping times
    selected by a switch"): one damping time applies while the key is held
    (``held_damping``; ``None`` = no decay, an organ-like hold) and the
    other after the key is released (``damping``).

    Parameters
    ----------
    n : int
        Samples to compute.
    sr : float
        Sample rate in Hz.
    gate_samples : int
        Sample (from note-on) where the key is released.
    attack : float
        Seconds of the linear rise from 0 to 1 (reached on sample
        ``A = round(attack * sr)``).
    damping : float
        Release: seconds to fall 60 dB after the key is released.  The fall
        is exponential and pulled onto exactly 0 at -80 dB, on sample
        ``gate_samples + round(damping * 80 / 60 * sr)``, the last of
        :func:`cmi_envelope_length` samples.
    held_damping : float, optional
        Seconds to fall 60 dB while the key is held (from the end of the attack).
    start : int
        First sample to compute.

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    if damping < 0 or attack < 0 or (held_damping is not None and held_damping <= 0):
        raise ValueError(f"CMI envelope times must be >= 0 (held_damping > 0), got attack={attack!r}, "
                         f"damping={damping!r}, held_damping={held_damping!r}")
    a = _samples(attack, sr)
    g = int(gate_samples)
    r = _samples(damping * CMI_FLOOR_DB / 60.0, sr)
    lo, hi = int(start), int(start) + int(n)
    # every level depends only on its sample index (blocks join exactly); the
    # exponentials are separable products (see envelopes._exp_ramp)

    def held(x0: int, x1: int) -> np.ndarray:
        """Levels with the key down at samples x0..x1-1: the attack, then the held decay."""
        split = min(max(a, x0), x1)
        if held_damping is not None and split < x1:
            decay = envelopes._exp_ramp(split - a, x1 - a, held_damping * sr, 1.0, 0.0,
                                        steepness=np.log(1000.0))
        else:
            decay = 1.0
        if split == x0:
            return np.broadcast_to(decay, (x1 - x0,)).copy() if np.ndim(decay) == 0 else decay
        level = np.empty(x1 - x0)
        # the linear attack, then the held level
        level[:split - x0] = np.maximum(np.arange(x0, split, dtype=np.float64), 0.0) / a
        level[split - x0:] = decay
        return level

    out = np.empty(hi - lo)
    gate = min(max(g, lo), hi)
    if gate > lo:
        out[:gate - lo] = held(lo, gate)
    if gate < hi:
        at_gate = float(held(g, g + 1)[0])
        end = min(max(g + r, gate), hi)      # the fall arrives at 0 on sample g + r
        if r > 0 and end > gate:
            # at_gate * (e^(-c x) - e^-c) / (1 - e^-c), x = (k - g) / r
            c = CMI_FLOOR_DB / 20.0 * np.log(10.0)
            scale = at_gate / -np.expm1(-c)
            out[gate - lo:end - lo] = envelopes._exp_ramp(gate - g, end - g, r, scale,
                                                          -scale * np.exp(-c), steepness=c)
            if gate == g:
                out[gate - lo] = at_gate
        out[end - lo:] = 0.0
    return out
