"""Oscillators: band-limited wavetables and their naive counterparts.

Why over 500 lines: the band-limited oscillators, their naive counterparts,
the wavetable mip-map and the band-limited step tables they share; the naive
and band-limited versions sit side by side on purpose (STYLE.md).

Band-limited ``saw``, ``square`` and ``triangle`` read a single-cycle table
that holds only the harmonics that fit below the Nyquist frequency for the
highest frequency the caller will play (``max_freq``).  Tables are built by
inverse FFT of the exact Fourier series and cached per harmonic count, which
is quantised to a ladder of 24 steps per octave (a mip-map finer than the
usual one per octave, so brightness does not jump between octaves).

Every oscillator takes ``freq`` in Hz (scalar, or one value per sample) and
a starting ``phase`` in cycles, and returns ``(samples, phase_out)``, where
``phase_out`` continues the next block exactly: rendering in blocks equals
rendering in one pass, sample for sample.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import filters
from .jit import kernel

if TYPE_CHECKING:
    from collections.abc import Callable
    from numpy.typing import ArrayLike

__all__ = [
    "phase_ramp",
    "sine",
    "saw",
    "square",
    "triangle",
    "naive_saw",
    "naive_square",
    "naive_triangle",
    "white_noise",
    "harmonic_amplitudes",
    "harmonic_table",
    "max_harmonics",
    "table_lookup",
    "BANDLIMITED_SHAPES",
    "read_shape",
    "fixed_pitch",
    "stack_sum",
    "stack_sum_stepped",
    "stepped_phase",
    "expand_steps",
    "wavetable",
    "fixed_row",
    "read_steps",
    "stack_stepped",
]

#: Fraction of the Nyquist frequency the top harmonic may reach.
NYQUIST_FRACTION = 0.98

BANDLIMITED_SHAPES = ("saw", "square", "triangle")


def phase_ramp(freq: ArrayLike, *, sr: float, n: int | None = None,
               phase: float = 0.0) -> tuple[np.ndarray, float]:
    """Running phase (cycles) of an oscillator at ``freq``.

    Parameters
    ----------
    freq : float or np.ndarray [shape=(n,)]
        Instantaneous frequency in Hz.
    sr : float
        Sample rate in Hz.
    n : int, optional
        Number of samples; required when ``freq`` is a scalar.
    phase : float
        Phase in cycles at the first sample.

    Returns
    -------
    phases : np.ndarray [shape=(n,), dtype=float64]
        Unwrapped phase at each sample (``phases[0] == phase``).
    phase_out : float
        Phase at the sample after the last one.

    Notes
    -----
    The phase is a sequential cumulative sum seeded with ``phase``, so the
    concatenation of two blocks equals one pass exactly.
    """
    f = np.asarray(freq, dtype=np.float64)
    if f.ndim == 0:
        if n is None:
            raise ValueError("n is required when freq is a scalar")
        f = np.full(int(n), float(f))
    elif n is not None and len(f) != n:
        raise ValueError(f"freq has {len(f)} samples but n={n}")
    acc = np.empty(len(f) + 1)
    acc[0] = phase
    acc[1:] = f / sr
    np.cumsum(acc, out=acc)
    return acc[:-1], float(acc[-1])


def stepped_phase(freq_steps: ArrayLike, *, sr: float, n: int, step: int,
                  phase: float = 0.0) -> tuple[np.ndarray, float]:
    """Phase of an oscillator whose frequency holds for ``step`` samples at a time.

    Pitch modulation (vibrato, glide, bends) is evaluated at a control rate;
    within a run of ``step`` samples the phase is then a straight line, so it
    needs no per-sample cumulative sum: run ``k`` starts at ``starts[k]`` and
    advances ``increments[k]`` cycles a sample (see :func:`expand_steps`).

    Parameters
    ----------
    freq_steps : np.ndarray [shape=(ceil(n / step),)]
        Frequency in Hz of each run (the last run may be shorter than ``step``).
    sr : float
        Sample rate in Hz.
    n : int
        Number of samples.
    step : int
        Samples per run.
    phase : float
        Phase in cycles at the first sample.

    Returns
    -------
    starts : np.ndarray [shape=(runs,)]
        Phase (cycles) at the first sample of each run.
    increments : np.ndarray [shape=(runs,)]
        Cycles per sample within each run.
    phase_out : float
        Phase at the sample after the last one.

    Notes
    -----
    The run starts are a sequential cumulative sum seeded with ``phase``, so
    blocks that begin on the run grid continue one another exactly.
    """
    runs = -(-int(n) // int(step))
    freq = np.ascontiguousarray(freq_steps, dtype=np.float64)
    if len(freq) < runs:
        raise ValueError(f"need {runs} frequency steps for n={n}, got {len(freq)}")
    acc = np.empty(runs + 1)
    increments = np.empty(runs)
    _stepped_runs(freq, float(sr), float(step), float(phase), acc, increments)
    last = int(n) - step * (runs - 1)
    return acc[:-1], increments, float(acc[-2] + increments[-1] * last)


@kernel
def _stepped_runs(freq, sr, step, phase, acc, increments):
    """:func:`stepped_phase`'s sums: ``increments[k] = freq[k] / sr``, ``acc[k]`` the run starts.

    ``acc[0] = phase`` and ``acc[k + 1] = acc[k] + increments[k] * step``, added one after
    the other (as NumPy's cumulative sum does; a kernel call instead of five NumPy calls
    costs a note a third as much).
    """
    runs = increments.shape[0]
    for k in range(runs):           # divisions apart: this loop vectorises
        increments[k] = freq[k] / sr
    total = phase
    acc[0] = total
    for k in range(runs):
        total += increments[k] * step
        acc[k + 1] = total


def expand_steps(starts: ArrayLike, increments: ArrayLike, *, step: int, n: int) -> np.ndarray:
    """Per-sample phases ``starts[..., k] + increments[..., k] * j`` from :func:`stepped_phase`.

    Parameters
    ----------
    starts, increments : np.ndarray [shape=(..., runs)]
    step : int
        Samples per run.
    n : int
        Samples wanted (at most ``runs * step``).

    Returns
    -------
    np.ndarray [shape=(..., n)]
    """
    ramp = np.arange(step, dtype=np.float64)
    ph = np.multiply(increments[..., None], ramp)
    ph += starts[..., None]
    return ph.reshape(ph.shape[:-2] + (-1,))[..., :n]


def _wrap(phases):
    return phases - np.floor(phases)


def sine(freq: ArrayLike, *, sr: float, n: int | None = None,
         phase: float = 0.0) -> tuple[np.ndarray, float]:
    """Sine wave.  Returns ``(samples [shape=(n,)], phase_out)``; see :func:`phase_ramp`."""
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    return np.sin(2.0 * np.pi * _wrap(ph)), out


# ---------------------------------------------------------------- naive shapes

def naive_saw(freq: ArrayLike, *, sr: float, n: int | None = None,
              phase: float = 0.0) -> tuple[np.ndarray, float]:
    """Rising sawtooth ``2*phase - 1`` computed per sample: aliases freely."""
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    return 2.0 * _wrap(ph) - 1.0, out


def naive_square(freq: ArrayLike, *, sr: float, n: int | None = None,
                 phase: float = 0.0) -> tuple[np.ndarray, float]:
    """Square wave, +1 for the first half-cycle, -1 for the second: aliases freely."""
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    return np.where(_wrap(ph) < 0.5, 1.0, -1.0), out


def naive_triangle(freq: ArrayLike, *, sr: float, n: int | None = None,
                   phase: float = 0.0) -> tuple[np.ndarray, float]:
    """Triangle from 0 up to +1 at a quarter cycle, -1 at three quarters: aliases (mildly)."""
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    x = _wrap(ph + 0.25)  # 0 at the trough
    return 1.0 - 4.0 * np.abs(x - 0.5), out


# ---------------------------------------------------------------- band-limited

def harmonic_amplitudes(shape: str, n_harmonics: int) -> np.ndarray:
    """Sine-series amplitudes ``b_k`` (k = 1..n_harmonics) of the naive shapes.

    ``naive_saw = sum_k b_k sin(2 pi k phase)`` with ``b_k = -2/(pi k)``;
    square: ``4/(pi k)`` for odd k; triangle: ``8/(pi^2 k^2) (-1)^((k-1)/2)``
    for odd k.

    Returns
    -------
    np.ndarray [shape=(n_harmonics,)]
    """
    k = np.arange(1, n_harmonics + 1, dtype=np.float64)
    odd = (k % 2) == 1
    if shape == "saw":
        return -2.0 / (np.pi * k)
    if shape == "square":
        return np.where(odd, 4.0 / (np.pi * k), 0.0)
    if shape == "triangle":
        sign = np.where(((k - 1) / 2) % 2 == 0, 1.0, -1.0)
        return np.where(odd, 8.0 / (np.pi ** 2 * k ** 2) * sign, 0.0)
    raise ValueError(f"unknown band-limited shape {shape!r}; expected one of {BANDLIMITED_SHAPES}")


def max_harmonics(max_freq: float, *, sr: float) -> int:
    """Harmonic count that keeps every partial of a tone at ``max_freq`` below Nyquist.

    Quantised down to a ladder of 24 steps per octave so that tables can be
    shared between nearby pitches.
    """
    return _max_harmonics(float(max_freq), float(sr))


@lru_cache(maxsize=4096)
def _max_harmonics(max_freq: float, sr: float) -> int:
    limit = NYQUIST_FRACTION * 0.5 * sr
    h = int(limit // max(float(max_freq), 1e-9))
    if h < 1:
        return 0
    if h <= 24:
        return h
    step = np.floor(24 * np.log2(h)) / 24
    return int(np.floor(2.0 ** step))


@lru_cache(maxsize=512)
def harmonic_table(shape: str, n_harmonics: int) -> np.ndarray:
    """Single-cycle table of ``shape`` with harmonics 1..n_harmonics.

    The table has ``size + 1`` samples (a guard sample equal to the first) for
    linear interpolation; ``size`` is at least 16 samples per top harmonic so
    interpolation error stays below -80 dB.

    Returns
    -------
    np.ndarray [shape=(size + 1,), read-only]
    """
    return _cycle(shape, n_harmonics)


def _cycle(shape: str, n_harmonics: int, gains=None) -> np.ndarray:
    """Guarded single cycle of ``shape``, harmonic ``k`` times ``gains[k - 1]`` (complex)."""
    size = 2048
    while size < 16 * n_harmonics:
        size *= 2
    spec = np.zeros(size // 2 + 1, dtype=np.complex128)
    if n_harmonics:
        # sin(2 pi k x) has rfft coefficient -1j * size / 2
        spec[1:n_harmonics + 1] = -0.5j * size * harmonic_amplitudes(shape, n_harmonics)
        if gains is not None:
            spec[1:n_harmonics + 1] *= gains
    table = np.fft.irfft(spec, n=size)
    out = np.append(table, table[0])
    out.setflags(write=False)
    return out


def table_lookup(table: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Linearly interpolated read of a guarded single-cycle table at ``phases`` (cycles)."""
    phases = np.ascontiguousarray(phases, dtype=np.float64)
    out = np.empty(phases.shape)
    _lookup(np.ascontiguousarray(table, dtype=np.float64), phases.reshape(-1), out.reshape(-1))
    return out


@kernel
def _lookup(table, phases, out):
    """:func:`table_lookup`'s loop: ``out[i] =`` the guarded table read at ``phases[i]``.

    The phase wrapped to [0, 1) (``p - floor(p)``), times the table's size
    (without the guard), split into its integer part (at most ``size - 1``)
    and the fraction, then ``t[i] + frac * (t[i + 1] - t[i])``.
    """
    size = table.shape[0] - 1
    for n in range(phases.shape[0]):
        p = phases[n]
        pos = (p - np.floor(p)) * size
        i = min(np.int64(pos), size - 1)
        frac = pos - i
        out[n] = table[i] + frac * (table[i + 1] - table[i])


def read_shape(shape: str, phases: np.ndarray, *, sr: float, max_freq: float,
               tone: float | None = None) -> np.ndarray:
    """Band-limited ``shape`` read at unwrapped ``phases`` (cycles), any array shape.

    The table holds the harmonics that stay below Nyquist at ``max_freq``
    (Hz); it is read by linear interpolation with precomputed slopes.  Used
    by the oscillators here, and by callers that derive several phase
    arrays from one accumulated phase (unison stacks).

    ``tone = (sos, f0, sr)`` bakes a fixed filter into the table: harmonic
    ``k`` is scaled and shifted by the response of ``sos`` (second-order
    sections as a tuple of 6-tuples) at ``k * f0`` Hz.  For a tone held near
    ``f0`` that is the filter's steady-state output, without filtering each
    sample (see :func:`synth.voice` for when it applies).
    """
    if shape == "sine":
        return np.sin(2.0 * np.pi * (phases - np.floor(phases)))
    table, slopes = _table_and_slopes(shape, max_harmonics(max_freq, sr=sr), tone)
    phases = np.ascontiguousarray(phases, dtype=np.float64)
    out = np.empty(phases.shape)
    _read_table(table, slopes, phases.reshape(-1), out.reshape(-1))
    return out


@kernel
def _read_table(table, slopes, phases, out):
    """``out[i] =`` the guarded-cycle ``table`` read at ``phases[i]`` cycles.

    Linear interpolation with precomputed ``slopes`` (``table[k + 1] -
    table[k]``); the table size is a power of two, so the integer part of
    the position wraps with a mask.  One pass, no temporaries.

    Parameters
    ----------
    table, slopes : np.ndarray [shape=(size,)]
    phases : np.ndarray [shape=(n,)]
        Unwrapped phases in cycles (any real value).
    out : np.ndarray [shape=(n,)]
        Written.
    """
    size = table.shape[0]
    mask = np.uint64(size - 1)          # unsigned: no wrap-around (see stack_stepped)
    for i in range(phases.shape[0]):
        pos = phases[i] * size
        whole = np.floor(pos)
        k = np.uint64(np.int64(whole)) & mask
        out[i] = table[k] + slopes[k] * (pos - whole)


#: Samples per piece in :func:`stack_sum` (scratch arrays stay in the cache).
_READ_BLOCK = 16384


def stack_sum(shape: str, centre_phases: np.ndarray, ratios: ArrayLike, start_phases: ArrayLike, *,
              sr: float, max_freq: float) -> np.ndarray:
    """Sum of a unison stack read from one accumulated centre phase.

    Voice ``v`` has phase ``start_phases[v] + ratios[v] * centre_phases``
    (its frequency is the centre's times ``ratios[v]``), read band-limited
    as :func:`read_shape` does for the highest voice's ``max_freq``; the
    voices are summed piece by piece, so no ``(voices, n)`` array is built.

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    centre = np.asarray(centre_phases, dtype=np.float64)
    out = np.zeros(len(centre))
    ratios = np.asarray(ratios, dtype=np.float64)[:, None]
    starts = np.asarray(start_phases, dtype=np.float64)[:, None]
    phases = np.empty((len(ratios), min(_READ_BLOCK, len(centre))))
    for a in range(0, len(centre), _READ_BLOCK):
        b = min(a + _READ_BLOCK, len(centre))
        p = phases[:, :b - a]
        np.multiply(ratios, centre[a:b], out=p)
        p += starts
        out[a:b] = read_shape(shape, p, sr=sr, max_freq=max_freq).sum(axis=0)
    return out


def stack_sum_stepped(shape: str, starts: ArrayLike, increments: ArrayLike, ratios: ArrayLike,
                      start_phases: ArrayLike, *, step: int, n: int, sr: float, max_freq: float,
                      tone: float | None = None) -> np.ndarray:
    """:func:`stack_sum` for a centre phase given by :func:`stepped_phase`.

    Voice ``v`` has phase ``start_phases[v] + ratios[v] * centre``; within a
    run the centre is a straight line, so each voice's table positions are
    drawn straight from its own run starts and increments, piece by piece,
    into scratch arrays that stay in the cache: the centre's per-sample
    phase is never built.  ``tone``: see :func:`read_shape`.

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    if shape == "sine":
        centre = expand_steps(np.asarray(starts), np.asarray(increments), step=step, n=n)
        return stack_sum(shape, centre, ratios, start_phases, sr=sr, max_freq=max_freq)
    table, slopes = _table_and_slopes(shape, max_harmonics(max_freq, sr=sr), tone)
    starts = np.ascontiguousarray(starts, dtype=np.float64)
    increments = np.ascontiguousarray(increments, dtype=np.float64)
    out = np.empty(n)
    stack_stepped(table, slopes, starts, increments,
                   np.ascontiguousarray(ratios, dtype=np.float64),
                   np.ascontiguousarray(start_phases, dtype=np.float64), int(step), out)
    return out


@kernel
def stack_stepped(table, slopes, starts, increments, ratios, offsets, step, out):
    """Unison stack over a stepped centre phase, summed voice by voice.

    Voice ``v`` at sample ``j`` of run ``k`` is read at table position
    ``(ratio_v * inc_k * size) * j + (ratio_v * start_k + offset_v) * size``;
    the voices are added in order (voice 0 first).

    Two passes over blocks of whole runs (about :data:`GATHER_BLOCK`
    samples): every voice's positions (index and fraction: a loop the
    compiler vectorises), then the reads, the voices summed a sample at a
    time (see :func:`_gather`).

    Parameters
    ----------
    table, slopes : np.ndarray [shape=(size,)]
    starts, increments : np.ndarray [shape=(runs,)]
        Centre phase (cycles) at each run's first sample, cycles per sample.
    ratios, offsets : np.ndarray [shape=(voices,)]
        Each voice's frequency ratio to the centre and start phase (cycles).
    step : int
        Samples per run.
    out : np.ndarray [shape=(n,)]
        Written; ``n <= runs * step``.
    """
    size = table.shape[0]
    # an unsigned index: the masked index is never negative, and numba adds
    # no wrap-around of negative indices for unsigned ones
    mask = np.uint64(size - 1)
    n = out.shape[0]
    voices = ratios.shape[0]
    per = max(GATHER_BLOCK // step, 1)              # runs per block
    index = np.empty((voices, per * step), dtype=np.uint64)
    frac = np.empty((voices, per * step))
    for k0 in range(0, starts.shape[0], per):
        k1 = min(k0 + per, starts.shape[0])
        lo0, hi0 = k0 * step, min(k1 * step, n)
        if hi0 <= lo0:
            break
        for v in range(voices):
            for k in range(k0, k1):
                first = ratios[v] * starts[k]
                first += offsets[v]
                first *= size
                slope = ratios[v] * increments[k]
                slope *= size
                lo = k * step
                hi = min(lo + step, n)
                run_index = index[v, lo - lo0:]     # indexed from 0: no wrap-around either
                run_frac = frac[v, lo - lo0:]
                for j in range(hi - lo):
                    pos = slope * float(j) + first
                    whole = np.floor(pos)
                    run_index[j] = np.uint64(np.int64(whole)) & mask
                    run_frac[j] = pos - whole
        _gather(table, slopes, index, frac, out[lo0:hi0], False)


#: Samples per block of the two-pass table reads (positions, then reads): the
#: index and fraction scratch of a voice take 32 KB.
GATHER_BLOCK = 2048


@kernel
def _gather(table, slopes, index, frac, out, add):
    """The table reads of the two-pass kernels: ``out[i] (+)= sum_v (table[k] + slopes[k] * f)``.

    ``k, f = index[v, i], frac[v, i]``; the voices are summed in order
    (``(y0 + y1) + y2 ...``, what adding them to ``out`` one after the
    other gives), two at a time in one pass.  ``add``: added to ``out``
    (``out[i] + y0`` first) instead of written.

    Parameters
    ----------
    table, slopes : np.ndarray [shape=(size,)]
    index : np.ndarray [shape=(voices, >= n), dtype=uint64]
    frac : np.ndarray [shape=(voices, >= n)]
    out : np.ndarray [shape=(n,)]
    add : bool
    """
    n = out.shape[0]
    voices = index.shape[0]
    k0, f0 = index[0], frac[0]
    if add:
        for i in range(n):
            k = k0[i]
            out[i] += table[k] + slopes[k] * f0[i]
        v = 1
    elif voices >= 2:
        k1, f1 = index[1], frac[1]
        for i in range(n):
            a, b = k0[i], k1[i]
            out[i] = (table[a] + slopes[a] * f0[i]) + (table[b] + slopes[b] * f1[i])
        v = 2
    else:
        for i in range(n):
            k = k0[i]
            out[i] = table[k] + slopes[k] * f0[i]
        v = 1
    for w in range(v, voices):
        kw, fw = index[w], frac[w]
        for i in range(n):
            k = kw[i]
            out[i] += table[k] + slopes[k] * fw[i]


def _bandlimited(shape, freq, sr, n, phase, max_freq):
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    if max_freq is None:
        max_freq = float(np.max(np.abs(freq))) if np.ndim(freq) else abs(float(freq))
    return read_shape(shape, ph, sr=sr, max_freq=max_freq), out


def saw(freq: ArrayLike, *, sr: float, n: int | None = None, phase: float = 0.0,
        max_freq: float | None = None) -> tuple[np.ndarray, float]:
    """Band-limited rising sawtooth (the alias-free counterpart of :func:`naive_saw`).

    Parameters
    ----------
    freq : float or np.ndarray [shape=(n,)]
        Frequency in Hz.
    sr : float
        Sample rate in Hz.
    n : int, optional
        Number of samples (required for scalar ``freq``).
    phase : float
        Starting phase in cycles.
    max_freq : float, optional
        Highest frequency the tone will reach (Hz); fixes the harmonic count.
        Defaults to the maximum of ``freq`` in this block; pass it explicitly
        when rendering a modulated tone in blocks so every block uses the
        same table.

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    phase_out : float
    """
    return _bandlimited("saw", freq, sr, n, phase, max_freq)


def square(freq: ArrayLike, *, sr: float, n: int | None = None, phase: float = 0.0,
           max_freq: float | None = None) -> tuple[np.ndarray, float]:
    """Band-limited square wave; see :func:`saw` for the parameters."""
    return _bandlimited("square", freq, sr, n, phase, max_freq)


def triangle(freq: ArrayLike, *, sr: float, n: int | None = None, phase: float = 0.0,
             max_freq: float | None = None) -> tuple[np.ndarray, float]:
    """Band-limited triangle wave; see :func:`saw` for the parameters."""
    return _bandlimited("triangle", freq, sr, n, phase, max_freq)


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform white noise in [-1, 1) from the caller's generator, shape (n,)."""
    return rng.uniform(-1.0, 1.0, int(n))


# ================================================================ additions (issue 3)
#
# Calling conventions of the stateful oscillators below: they take an optional
# ``state`` (``None`` = a fresh start) and return ``(samples, state)``; feed the
# returned state to the next block and the blocks concatenate to one pass,
# sample for sample.  States are small NamedTuples of floats and arrays
# (:class:`BlepState`, :class:`HardSyncState`); callers carry them opaquely.

__all__ += [
    "pulse",
    "pulse_at",
    "pink_noise",
    "hard_sync",
    "HardSyncState",
    "ring_mod",
    "unison",
    "unison_offsets_cents",
    "BLEP_TAPS",
    "BLEP_LATENCY",
    "bandlimit_steps",
    "BlepState",
    "BLEP_OVERSAMPLING",
    "blep_step_table",
]


class BlepState(NamedTuple):
    """What :func:`bandlimit_steps` carries into the next block."""

    carry: np.ndarray       #: [shape=(BLEP_TAPS,)] the steps' residuals spilling past the block's end
    history: np.ndarray     #: [shape=(BLEP_LATENCY,)] the block's last naive samples (the output is delayed)


class HardSyncState(NamedTuple):
    """Where a :func:`hard_sync` oscillator stands between blocks."""

    phase: float            #: master phase (cycles) at the next block's first sample
    prev_phase: float       #: master phase at the previous block's last sample
    prev_q: float           #: slave phase (cycles, 0..ratio) at that sample
    blep: BlepState         #: the band-limited steps' spill-over and delay line

#: Length (output samples) of the band-limited step residual.
BLEP_TAPS = 32
#: Oversampling of the tabulated residual (points per output sample).
BLEP_OVERSAMPLING = 512
#: Kaiser stop-band attenuation of the band-limiting low-pass (dB).
_BLEP_STOPBAND_DB = 100.0
#: Every band-limited step is centred this many samples after its true time:
#: BLEP-based kernels lag their naive counterparts by this much (0.36 ms at 44.1 kHz).
BLEP_LATENCY = BLEP_TAPS // 2


@lru_cache(maxsize=1)
def blep_step_table() -> np.ndarray:
    """Tabulated band-limited unit step ``H(tau)`` for ``tau`` in [0, BLEP_TAPS].

    ``H`` is the integral of a Kaiser-windowed sinc low-pass centred at
    ``tau = BLEP_LATENCY`` whose stop band starts at the Nyquist frequency, so
    a step built from it has (almost) nothing left to fold back.
    ``H(0) ~ 0``, ``H(BLEP_TAPS) == 1``.
    """
    taps, over = BLEP_TAPS, BLEP_OVERSAMPLING
    att = _BLEP_STOPBAND_DB
    beta = 0.1102 * (att - 8.7)
    transition = (att - 7.95) / (14.36 * taps)      # in units of sr (Kaiser's estimate)
    cutoff = 0.5 - 0.5 * transition                 # centre of the transition band
    tau = np.arange(taps * over + 1) / over
    centred = tau - 0.5 * taps
    h = 2 * cutoff * np.sinc(2 * cutoff * centred)
    h *= np.i0(beta * np.sqrt(np.clip(1 - (centred / (0.5 * taps)) ** 2, 0, None))) / np.i0(beta)
    step = np.concatenate([[0.0], np.cumsum(0.5 * (h[1:] + h[:-1]))])  # trapezoid integral
    step /= step[-1]
    step.setflags(write=False)
    return step


@lru_cache(maxsize=1)
def _blep_residual_rows() -> np.ndarray:
    """Residual of the band-limited step against the naive step delayed by ``BLEP_LATENCY``.

    ``rows[i, j] = H(j + i / over) - (j >= BLEP_LATENCY)`` for ``i`` in
    0..over: one row of ``BLEP_TAPS`` taps per sub-sample offset, so an
    event's taps are one contiguous row (fast to gather).
    """
    taps, over, lat = BLEP_TAPS, BLEP_OVERSAMPLING, BLEP_LATENCY
    table = blep_step_table()
    i = np.arange(over + 1)[:, None]
    j = np.arange(taps)[None, :]
    rows = table[i + over * j] - (j >= lat)
    rows.setflags(write=False)
    return rows


def bandlimit_steps(naive: np.ndarray, step_sample: np.ndarray, step_offset: np.ndarray,
                    step_height: np.ndarray, state: BlepState | None = None
                    ) -> tuple[np.ndarray, BlepState]:
    """Turn a naively sampled signal with jumps into one with band-limited jumps.

    ``naive`` is the signal sampled without regard to aliasing (ramps,
    constant stretches and jumps).  Each jump of height ``d`` at fractional
    time ``t`` is replaced by a band-limited step (a Kaiser-windowed
    integrated sinc, :data:`BLEP_TAPS` samples long, stop band from Nyquist
    up, about -100 dB); the smooth parts pass unchanged.  The whole output is
    delayed by :data:`BLEP_LATENCY` samples so the correction is causal.

    Parameters
    ----------
    naive : np.ndarray [shape=(n,)]
        The naive signal (jump at ``t`` included from sample ``ceil(t)`` on).
    step_sample : np.ndarray [shape=(k,), dtype=int]
        First sample at or after each jump (0..n-1), in time order.
    step_offset : np.ndarray [shape=(k,)]
        ``step_sample - t`` in [0, 1): how long before that sample it jumped.
    step_height : np.ndarray [shape=(k,)]
        Size of each jump.
    state : BlepState, optional
        From the previous block.  ``None`` = fresh start from silence: the
        signal is 0 before the block and its first value enters as a
        band-limited step at sample 0.

    Returns
    -------
    y : np.ndarray [shape=(n,)]
        ``y[m]`` is the band-limited signal at time ``m - BLEP_LATENCY``.
    state : BlepState

    Notes
    -----
    Corrections are accumulated with :func:`numpy.bincount` in time order,
    the spill-over from the previous block entered first, so every sample
    sees the same floating-point additions in the same order in one pass or
    in blocks: chunked output equals one pass exactly.
    """
    taps, over, lat = BLEP_TAPS, BLEP_OVERSAMPLING, BLEP_LATENCY
    rows = _blep_residual_rows()
    naive = np.asarray(naive, dtype=np.float64)
    n = len(naive)
    step_sample = np.asarray(step_sample, dtype=np.intp)
    step_offset = np.asarray(step_offset, dtype=np.float64)
    step_height = np.asarray(step_height, dtype=np.float64)
    if state is None:
        carry, history = np.zeros(taps), np.zeros(lat)
        if n:
            step_sample = np.concatenate([[0], step_sample])
            step_offset = np.concatenate([[0.0], step_offset])
            step_height = np.concatenate([[naive[0]], step_height])
    else:
        carry, history = state
    pos = step_offset * over
    i0 = np.minimum(pos.astype(np.intp), over - 1)
    frac = (pos - i0)[:, None]
    k = len(step_sample)
    # bincount input: the carried spill-over first (bins 0..taps-1), then each
    # event's taps, written in place to avoid copies
    bins = np.empty(taps * (k + 1), dtype=np.intp)
    bins[:taps] = np.arange(taps)
    np.add(step_sample[:, None], np.arange(taps)[None, :], out=bins[taps:].reshape(k, taps))
    weights = np.empty(taps * (k + 1))
    weights[:taps] = carry
    w = weights[taps:].reshape(k, taps)
    lo = rows[i0]                                   # (k, taps): residual at tau = j + i0/over
    np.subtract(rows[i0 + 1], lo, out=w)
    w *= frac
    w += lo
    w *= step_height[:, None]
    full = np.bincount(bins, weights, minlength=n + taps)
    delayed = np.concatenate([history, naive])
    y = delayed[:n] + full[:n]
    return y, BlepState(full[n:n + taps].copy(), delayed[len(delayed) - lat:].copy())


# ---------------------------------------------------------------- pulse / PWM

def pulse(freq: ArrayLike, *, sr: float, n: int | None = None, phase: float = 0.0,
          width: ArrayLike = 0.5, max_freq: float | None = None) -> tuple[np.ndarray, float]:
    """Band-limited pulse wave with (optionally per-sample) pulse width.

    Built as the difference of two band-limited saws offset by ``width`` of a
    cycle (plus the pulse's mean ``2*width - 1``), so it inherits the saw's
    alias suppression; a per-sample ``width`` gives pulse-width modulation.

    Parameters
    ----------
    freq : float or np.ndarray [shape=(n,)]
        Frequency in Hz.
    width : float or np.ndarray [shape=(n,)]
        Fraction of the cycle at +1, within [0, 1] (0.5 = square).
    sr, n, phase, max_freq
        As for :func:`saw`.

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
        +1 for the first ``width`` of each cycle, -1 for the rest (band-limited).
    phase_out : float
    """
    w = np.asarray(width, dtype=np.float64)
    if np.any(w < 0.0) or np.any(w > 1.0):
        raise ValueError(f"pulse width must lie within 0..1, got {width!r}")
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    if max_freq is None:
        max_freq = float(np.max(np.abs(freq))) if np.ndim(freq) else abs(float(freq))
    return pulse_at(ph, w, sr=sr, max_freq=max_freq), out


def pulse_at(phases: np.ndarray, width: ArrayLike, *, sr: float, max_freq: float,
             tone: float | None = None) -> np.ndarray:
    """:func:`pulse` read at given unwrapped ``phases`` (cycles), shape of ``phases``.

    ``tone``: a fixed filter baked into the saw tables (see :func:`read_shape`);
    the mean ``2 * width - 1`` is added unfiltered.
    """
    w = np.asarray(width, dtype=np.float64)
    return (read_shape("saw", phases - w, sr=sr, max_freq=max_freq, tone=tone)
            - read_shape("saw", phases, sr=sr, max_freq=max_freq, tone=tone) + (2.0 * w - 1.0))


# ---------------------------------------------------------------- pink noise

#: A 3-pole/3-zero approximation of a -3 dB/octave slope (within ~0.3 dB
#: from 10 Hz to 20 kHz at 44.1 kHz; coefficients from J. O. Smith,
#: "Spectral Audio Signal Processing", pink-noise example).
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
#: Gain that brings uniform white noise through the filter to about the same
#: RMS as the white noise itself (measured at 44.1 kHz).
_PINK_GAIN = 1.0 / 0.08623


def pink_noise(n: int, rng: np.random.Generator, *,
               state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pink (-3 dB/octave) noise: uniform white noise through a fixed IIR filter.

    Parameters
    ----------
    n : int
        Number of samples.
    rng : numpy.random.Generator
        Source of the white noise (from :mod:`synth.seeds`); consecutive
        blocks must use the same generator.
    state : np.ndarray [shape=(3,)], optional
        Filter state from the previous block (``None`` = fresh).

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
        RMS about 0.58 (the RMS of the white source).
    state : np.ndarray [shape=(2, 2)]
    """
    zi = np.zeros((2, 2)) if state is None else state
    return filters.sosfilt(_pink_sos(), white_noise(n, rng), zi=zi)


@lru_cache(maxsize=1)
def _pink_sos() -> np.ndarray:
    """The pink filter as two second-order sections, for SciPy's compiled kernel.

    Its zeros and poles are all real: the two nearest the unit circle form
    one section, the third a first-order one (same response, tested; no
    ``scipy.signal`` import).
    """
    zeros = np.sort(np.roots(_PINK_B).real)[::-1]
    poles = np.sort(np.roots(_PINK_A).real)[::-1]
    k = _PINK_B[0] / _PINK_A[0] * _PINK_GAIN
    sos = np.array([
        [k, -k * (zeros[0] + zeros[1]), k * zeros[0] * zeros[1],
         1.0, -(poles[0] + poles[1]), poles[0] * poles[1]],
        [1.0, -zeros[2], 0.0, 1.0, -poles[2], 0.0],
    ])
    sos.setflags(write=False)
    return sos


# ---------------------------------------------------------------- hard sync

def hard_sync(freq: ArrayLike, ratio: ArrayLike, *, sr: float, n: int | None = None,
              phase: float = 0.0, state: HardSyncState | None = None
              ) -> tuple[np.ndarray, HardSyncState]:
    """Band-limited hard-synced sawtooth: a slave saw reset by every master cycle.

    The slave's phase is ``ratio * frac(master_phase)``, so it restarts from
    zero at each master cycle; sweeping ``ratio`` gives the classic sync
    sound.  Both kinds of discontinuity (the slave's own wraps and the master
    resets) are rendered as band-limited steps, so
    the output lags a naive sync by :data:`BLEP_LATENCY` samples (see
    :func:`bandlimit_steps`).

    Parameters
    ----------
    freq : float or np.ndarray [shape=(n,)]
        Master (pitch) frequency in Hz.
    ratio : float or np.ndarray [shape=(n,)]
        Slave / master frequency ratio, >= 1; ``ratio * freq`` must stay below
        ``sr / 2``.
    sr : float
        Sample rate in Hz.
    n : int, optional
        Number of samples (required for scalar ``freq``).
    phase : float
        Master phase (cycles) at the first sample of a fresh start.
    state : HardSyncState, optional
        From the previous block (``None`` = fresh; ``phase`` is then used).

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
        Rising slave saw in [-1, 1] (band-limited).
    state : HardSyncState
    """
    if state is not None:
        phase = state.phase
    pm, phase_out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    n = len(pm)
    r = np.broadcast_to(np.asarray(ratio, dtype=np.float64), (n,))
    fm = np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,))
    if np.any(r < 1.0):
        raise ValueError(f"hard_sync ratio must be >= 1, got minimum {float(np.min(r))!r}")
    if np.any(r * np.abs(fm) >= 0.5 * sr):
        raise ValueError(f"hard_sync slave frequency reaches {float(np.max(r * fm))!r} Hz, "
                         f"at or above the Nyquist frequency {0.5 * sr!r} Hz")
    master_frac = pm - np.floor(pm)
    q = r * master_frac                              # slave phase
    y = 2.0 * (q - np.floor(q)) - 1.0
    if state is None:
        prev_pm = np.concatenate([[pm[0]], pm[:-1]]) if n else pm
        prev_q = np.concatenate([[q[0]], q[:-1]]) if n else q
    else:
        prev_pm = np.concatenate([[state.prev_phase], pm[:-1]])
        prev_q = np.concatenate([[state.prev_q], q[:-1]])
    reset = np.floor(pm) > np.floor(prev_pm)
    # master resets: fraction of the interval elapsed since the reset
    d_reset = np.where(reset, (pm - np.floor(pm)) / np.where(reset, pm - prev_pm, 1.0), 0.0)
    # slave wraps: between prev_q and q (no reset) or between prev_q and r (before a reset)
    hi = np.where(reset, r, q)
    wrap = np.floor(hi) > np.floor(prev_q)
    j = np.floor(hi)
    s = (j - prev_q) / np.where(wrap, hi - prev_q, 1.0)          # fraction along the segment
    d_wrap = np.where(reset, 1.0 - s * (1.0 - d_reset), 1.0 - s)
    d_wrap = np.clip(d_wrap, 0.0, np.nextafter(1.0, 0.0))
    # events in time order within a sample: a slave wrap (earlier) before the reset
    idx_w = np.flatnonzero(wrap)
    idx_r = np.flatnonzero(reset)
    samples = np.concatenate([idx_w, idx_r])
    offsets = np.concatenate([d_wrap[idx_w], d_reset[idx_r]])
    heights = np.concatenate([np.full(len(idx_w), -2.0), -2.0 * (r[idx_r] - np.floor(r[idx_r]))])
    order = np.lexsort((-offsets, samples))
    out, blep_state = bandlimit_steps(y, samples[order], offsets[order], heights[order],
                                      None if state is None else state.blep)
    if n:
        return out, HardSyncState(phase_out, float(pm[-1]), float(q[-1]), blep_state)
    if state is None:
        return out, HardSyncState(phase_out, phase, 0.0, blep_state)
    return out, HardSyncState(phase_out, state.prev_phase, state.prev_q, blep_state)


# ---------------------------------------------------------------- ring modulation

def ring_mod(carrier: np.ndarray, modulator: np.ndarray, *, mix: float = 1.0) -> np.ndarray:
    """Ring modulation: ``(1 - mix) * carrier + mix * carrier * modulator``.

    Memoryless (block-invariant).  The product of two band-limited signals
    holds sum and difference frequencies; keep ``f_carrier + f_modulator``
    (times their top harmonics) below Nyquist to stay alias-free.

    Returns
    -------
    np.ndarray [shape=carrier.shape]
    """
    carrier = np.asarray(carrier, dtype=np.float64)
    return (1.0 - mix) * carrier + mix * carrier * np.asarray(modulator, dtype=np.float64)


# ---------------------------------------------------------------- unison

def unison_offsets_cents(voices: int, detune_cents: float) -> np.ndarray:
    """Detune of each unison voice in cents, spread evenly over ``detune_cents``.

    One voice sits at 0; ``voices`` voices span ``-detune/2 .. +detune/2``.

    Returns
    -------
    np.ndarray [shape=(voices,)]
    """
    voices = int(voices)
    if voices < 1:
        raise ValueError(f"unison needs at least 1 voice, got {voices!r}")
    if voices == 1:
        return np.zeros(1)
    return np.linspace(-0.5, 0.5, voices) * float(detune_cents)


def unison(oscillator: Callable[..., tuple[np.ndarray, float]], freq: ArrayLike, *, sr: float,
           n: int | None = None, voices: int = 3, detune_cents: float = 10.0,
           rng: np.random.Generator | None = None, phases: ArrayLike | None = None,
           max_freq: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A stack of detuned copies of an oscillator.

    Parameters
    ----------
    oscillator : callable
        One of this module's phase oscillators (``sine``, ``saw``, ``square``,
        ``triangle``, ``pulse``, ``naive_*``) or any callable with the same
        ``f(freq, *, sr, n, phase, [max_freq]) -> (samples, phase_out)`` form.
    freq : float or np.ndarray [shape=(n,)]
        Centre frequency in Hz.
    voices : int
        Number of copies.
    detune_cents : float
        Total spread (see :func:`unison_offsets_cents`).
    rng : numpy.random.Generator, optional
        Draws the voices' random start phases (uniform in [0, 1)) on a fresh
        start; ``None`` starts every voice at phase 0.
    phases : np.ndarray [shape=(voices,)], optional
        Phases from the previous block (then ``rng`` is not used).
    max_freq : float, optional
        Highest centre frequency of the note (band-limited oscillators).

    Returns
    -------
    stack : np.ndarray [shape=(voices, n)]
        One row per voice (sum, or pan, as you like; the sum of ``N``
        uncorrelated voices has about ``sqrt(N)`` times one voice's RMS).
    phases_out : np.ndarray [shape=(voices,)]
    """
    ratios = 2.0 ** (unison_offsets_cents(voices, detune_cents) / 1200.0)
    if phases is None:
        phases = rng.uniform(0.0, 1.0, len(ratios)) if rng is not None else np.zeros(len(ratios))
    f = np.asarray(freq, dtype=np.float64)
    if max_freq is None:
        max_freq = float(np.max(np.abs(f)))
    rows, outs = [], []
    for ratio, ph in zip(ratios, phases):
        kwargs = {"sr": sr, "n": n, "phase": float(ph)}
        if oscillator in (saw, square, triangle, pulse):
            kwargs["max_freq"] = max_freq * ratio
        y, ph_out = oscillator(f * ratio, **kwargs)
        rows.append(y)
        outs.append(ph_out)
    return np.stack(rows), np.array(outs)


# ---------------------------------------------------------------- whole notes at a fixed pitch

@lru_cache(maxsize=128)
def _table_and_slopes(shape: str, n_harmonics: int, tone=None) -> tuple[np.ndarray, np.ndarray]:
    if tone is None:
        guarded = harmonic_table(shape, n_harmonics)
    else:           # a fixed filter applied to every harmonic of a tone at f0
        sos, f0, sr = tone
        gains = filters.sos_response(np.array(sos), f0 * np.arange(1, n_harmonics + 1), sr=sr)
        guarded = _cycle(shape, n_harmonics, gains)
    table, slopes = guarded[:-1].copy(), np.diff(guarded)
    table.setflags(write=False)
    slopes.setflags(write=False)
    return table, slopes


def wavetable(shape: str, max_freq: float, *, sr: float, tone=None) -> tuple[np.ndarray, np.ndarray]:
    """The band-limited cycle of ``shape`` for tones up to ``max_freq`` Hz, and its slopes.

    What :func:`read_shape` reads (``tone``: see there), for a caller that
    hands the read to a compiled kernel (:mod:`synth.dsp.subtractive`).

    Returns
    -------
    table, slopes : np.ndarray [shape=(size,), read-only]
        ``slopes[k] = table[k + 1] - table[k]`` (the cycle wraps).
    """
    return _table_and_slopes(shape, max_harmonics(max_freq, sr=sr), tone)


def fixed_pitch(shape: str, freq: float, *, sr: float, n: int, phase: float = 0.0,
                max_freq: float | None = None, start: int = 0,
                tone: float | None = None) -> np.ndarray:
    """A whole note of a band-limited shape (or sine) at constant frequency.

    The one-shot counterpart of :func:`saw` / :func:`square` /
    :func:`triangle` / :func:`sine` for a tone whose frequency does not move:
    the phase is computed in closed form (``phase + k * freq / sr``) rather
    than accumulated, and the table is read with precomputed slopes, so a
    note costs about half as much.  Several phases at once give a unison
    stack in one pass.

    Parameters
    ----------
    shape : {"saw", "square", "triangle", "sine"}
    freq : float or np.ndarray [shape=(voices,)]
        Frequency in Hz, one per row.
    sr : float
        Sample rate in Hz.
    n : int
        Samples.
    phase : float or np.ndarray [shape=(voices,)]
        Start phase in cycles, one per row.
    max_freq : float, optional
        Frequency that fixes the harmonic count (default: the highest
        ``freq``).
    start : int
        Index of the first sample: samples ``start .. start + n - 1`` of the
        tone, so a long note can be rendered piece by piece exactly.
    tone : tuple, optional
        A fixed filter baked into the table (see :func:`read_shape`).

    Returns
    -------
    np.ndarray [shape=(n,) for scalar ``freq``, (voices, n) otherwise]

    Notes
    -----
    Not for block rendering: a following block cannot continue it bit for
    bit (use the phase-carrying oscillators for that).  Its samples equal
    theirs to within about 1e-7 (the phase accumulator's rounding).
    """
    f = np.asarray(freq, dtype=np.float64)
    scalar = f.ndim == 0
    f = np.atleast_1d(f)[:, None]
    p0 = np.broadcast_to(np.asarray(phase, dtype=np.float64), f.shape[:1])[:, None]
    top = float(np.max(f)) if max_freq is None else float(max_freq)
    if shape == "sine":
        phases = np.arange(int(start), int(start) + int(n), dtype=np.float64) * (f / sr)
        phases += p0
        y = read_shape(shape, phases, sr=sr, max_freq=top)
    else:
        table, slopes = _table_and_slopes(shape, max_harmonics(top, sr=sr), tone)
        y = np.empty((len(f), int(n)))
        _fixed_pitch(table, slopes, np.ascontiguousarray((f / sr)[:, 0]),
                     np.ascontiguousarray(p0[:, 0]), int(start), y)
    return y[0] if scalar else y


@kernel
def _fixed_pitch(table, slopes, increments, phases0, start, out):
    """Rows of constant-frequency tones read from ``table``: row ``v`` by :func:`fixed_row`.

    Parameters
    ----------
    table, slopes : np.ndarray [shape=(size,)]
    increments, phases0 : np.ndarray [shape=(voices,)]
        Cycles per sample, phase at sample 0 (cycles).
    start : int
        Index of the first sample.
    out : np.ndarray [shape=(voices, n)]
        Written.
    """
    for v in range(out.shape[0]):
        fixed_row(table, slopes, increments[v], phases0[v], start, out[v], False)


@kernel
def fixed_row(table, slopes, inc, p0, start, out, add):
    """One constant-frequency tone read from ``table`` into (or added to) ``out``.

    Sample ``i``: phase ``(start + i) * inc + p0`` (cycles, closed form),
    read as :func:`_read_table` does.  ``add``: ``out[i] += y`` (a unison
    voice after the first, summed in voice order) instead of ``out[i] = y``.
    Two passes a block, as :func:`stack_stepped`.

    Parameters
    ----------
    table, slopes : np.ndarray [shape=(size,)]
    inc, p0 : float
        Cycles per sample, phase at sample 0 (cycles).
    start : int
        Index of the first sample.
    out : np.ndarray [shape=(n,)]
    add : bool
    """
    size = table.shape[0]
    n = out.shape[0]
    index = np.empty((1, min(n, GATHER_BLOCK)), dtype=np.uint64)
    frac = np.empty((1, min(n, GATHER_BLOCK)))
    for lo in range(0, n, GATHER_BLOCK):
        hi = min(lo + GATHER_BLOCK, n)
        fixed_positions(size, inc, p0, start + lo, index[0, :hi - lo], frac[0, :hi - lo])
        _gather(table, slopes, index, frac, out[lo:hi], add)


@kernel
def fixed_positions(size, inc, p0, start, index, frac):
    """:func:`fixed_row`'s first pass: table index and fraction of samples ``start ..``.

    Sample ``i`` (of ``len(index)``) is at position ``((start + i) * inc + p0) * size``
    of a table of ``size`` (a power of two): its whole part masked into the
    table, and the fraction.  A loop the compiler vectorises.
    """
    mask = np.uint64(size - 1)          # unsigned: no wrap-around (see stack_stepped)
    for i in range(index.shape[0]):
        pos = (float(start + i) * inc + p0) * size
        whole = np.floor(pos)
        index[i] = np.uint64(np.int64(whole)) & mask
        frac[i] = pos - whole


@kernel
def steps_positions(size, starts, increments, step, width, n, index, frac):
    """:func:`read_steps`' first pass over samples ``0 .. n - 1`` of runs ``starts``, ``increments``.

    ``index[0], frac[0]``: table index and fraction of the phase (as
    :func:`fixed_positions`); for a pulse (``width > 0``) also ``index[1],
    frac[1]``: those of the phase minus ``width``.
    """
    mask = np.uint64(size - 1)          # unsigned: no wrap-around (see stack_stepped)
    for k in range(starts.shape[0]):
        inc, first = increments[k], starts[k]
        lo = k * step
        hi = min(lo + step, n)
        run_index, run_frac = index[0, lo:], frac[0, lo:]     # from 0: no wrap-around
        if width > 0.0:
            late_index, late_frac = index[1, lo:], frac[1, lo:]
            for j in range(hi - lo):
                ph = inc * float(j) + first
                pos = ph * size
                whole = np.floor(pos)
                run_index[j] = np.uint64(np.int64(whole)) & mask
                run_frac[j] = pos - whole
                pos = (ph - width) * size
                whole = np.floor(pos)
                late_index[j] = np.uint64(np.int64(whole)) & mask
                late_frac[j] = pos - whole
        else:
            for j in range(hi - lo):
                pos = (inc * float(j) + first) * size
                whole = np.floor(pos)
                run_index[j] = np.uint64(np.int64(whole)) & mask
                run_frac[j] = pos - whole


@kernel
def pulse_read(table, slopes, a, fa, b, fb, mean):
    """The AC-coupled pulse of :func:`read_steps` from its two saw reads (index, fraction)."""
    y = table[a] + slopes[a] * fa
    return ((table[b] + slopes[b] * fb) - y + mean) - mean


@kernel
def read_steps(table, slopes, starts, increments, step, width, out):
    """A band-limited tone over a stepped phase (:func:`stepped_phase` runs), one voice.

    Sample ``j`` of run ``k`` has phase ``increments[k] * j + starts[k]``
    (as :func:`expand_steps` gives it) and is read as :func:`read_shape`
    does.  ``width > 0`` reads the pulse of :func:`pulse_at` AC-coupled:
    ``(saw(phase - width) - saw(phase) + (2 width - 1)) - (2 width - 1)``
    (the table is then the saw's).  Two passes a block, as :func:`stack_stepped`.

    Parameters
    ----------
    table, slopes : np.ndarray [shape=(size,)]
    starts, increments : np.ndarray [shape=(runs,)]
    step : int
        Samples per run.
    width : float
        0 for the shape itself, else the pulse width (0..1).
    out : np.ndarray [shape=(n,)]
        Written; ``n <= runs * step``.
    """
    size = table.shape[0]
    n = out.shape[0]
    mean = 2.0 * width - 1.0
    pulse = width > 0.0
    per = max(GATHER_BLOCK // step, 1)              # runs per block
    index = np.empty((2, per * step), dtype=np.uint64)
    frac = np.empty((2, per * step))
    for k0 in range(0, starts.shape[0], per):
        k1 = min(k0 + per, starts.shape[0])
        lo0, hi0 = k0 * step, min(k1 * step, n)
        if hi0 <= lo0:
            break
        steps_positions(size, starts[k0:k1], increments[k0:k1], step, width, hi0 - lo0,
                        index, frac)
        block = out[lo0:hi0]
        if pulse:
            saw, late = index[0], index[1]
            saw_frac, late_frac = frac[0], frac[1]
            for i in range(hi0 - lo0):
                block[i] = pulse_read(table, slopes, saw[i], saw_frac[i], late[i], late_frac[i],
                                      mean)
        else:
            _gather(table, slopes, index[:1], frac[:1], block, False)
