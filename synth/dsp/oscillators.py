"""Oscillators: band-limited wavetables and their naive counterparts.

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

import numpy as np

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
]

#: Fraction of the Nyquist frequency the top harmonic may reach.
NYQUIST_FRACTION = 0.98

BANDLIMITED_SHAPES = ("saw", "square", "triangle")


def phase_ramp(freq, *, sr: float, n: int | None = None, phase: float = 0.0):
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


def _wrap(phases):
    return phases - np.floor(phases)


def sine(freq, *, sr: float, n: int | None = None, phase: float = 0.0):
    """Sine wave.  Returns ``(samples [shape=(n,)], phase_out)``; see :func:`phase_ramp`."""
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    return np.sin(2.0 * np.pi * _wrap(ph)), out


# ---------------------------------------------------------------- naive shapes

def naive_saw(freq, *, sr: float, n: int | None = None, phase: float = 0.0):
    """Rising sawtooth ``2*phase - 1`` computed per sample: aliases freely."""
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    return 2.0 * _wrap(ph) - 1.0, out


def naive_square(freq, *, sr: float, n: int | None = None, phase: float = 0.0):
    """Square wave, +1 for the first half-cycle, -1 for the second: aliases freely."""
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    return np.where(_wrap(ph) < 0.5, 1.0, -1.0), out


def naive_triangle(freq, *, sr: float, n: int | None = None, phase: float = 0.0):
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
    size = 2048
    while size < 16 * n_harmonics:
        size *= 2
    spec = np.zeros(size // 2 + 1, dtype=np.complex128)
    if n_harmonics:
        # sin(2 pi k x) has rfft coefficient -1j * size / 2
        spec[1:n_harmonics + 1] = -0.5j * size * harmonic_amplitudes(shape, n_harmonics)
    table = np.fft.irfft(spec, n=size)
    out = np.append(table, table[0])
    out.setflags(write=False)
    return out


def table_lookup(table: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Linearly interpolated read of a guarded single-cycle table at ``phases`` (cycles)."""
    size = len(table) - 1
    pos = _wrap(phases) * size
    i = pos.astype(np.intp)
    np.minimum(i, size - 1, out=i)
    frac = pos - i
    return table[i] + frac * (table[i + 1] - table[i])


def _bandlimited(shape, freq, sr, n, phase, max_freq):
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    if max_freq is None:
        max_freq = float(np.max(np.abs(freq))) if np.ndim(freq) else abs(float(freq))
    table = harmonic_table(shape, max_harmonics(max_freq, sr=sr))
    return table_lookup(table, ph), out


def saw(freq, *, sr: float, n: int | None = None, phase: float = 0.0,
        max_freq: float | None = None):
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


def square(freq, *, sr: float, n: int | None = None, phase: float = 0.0,
           max_freq: float | None = None):
    """Band-limited square wave; see :func:`saw` for the parameters."""
    return _bandlimited("square", freq, sr, n, phase, max_freq)


def triangle(freq, *, sr: float, n: int | None = None, phase: float = 0.0,
             max_freq: float | None = None):
    """Band-limited triangle wave; see :func:`saw` for the parameters."""
    return _bandlimited("triangle", freq, sr, n, phase, max_freq)


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform white noise in [-1, 1) from the caller's generator, shape (n,)."""
    return rng.uniform(-1.0, 1.0, int(n))
