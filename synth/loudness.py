"""Loudness (ITU-R BS.1770) and true peak, for the master stage and ``analyze``.

Integrated loudness comes from :mod:`pyloudnorm`, a maintained implementation
of BS.1770-4 (K-weighting, 400 ms blocks, absolute and relative gates), rather
than a hand-written one.  True peak follows BS.1770 Annex 2: the signal is
oversampled four times with a polyphase low-pass and the largest magnitude is
taken.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

__all__ = ["integrated_loudness", "true_peak", "true_peak_db", "sample_peak_db"]

#: oversampling factor for true-peak measurement (BS.1770 asks for >= 4 at 48 kHz)
OVERSAMPLE = 4
_BLOCK = 1 << 16
_CONTEXT = 256          # samples of overlap so the polyphase filter has history at block edges


def integrated_loudness(audio: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS of ``audio`` [shape=(channels, n)].

    Returns ``-inf`` for a signal that is silent (or shorter than one 400 ms
    block).
    """
    import pyloudnorm

    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.shape[1] < int(0.4 * sr) or not np.any(x):
        return float("-inf")
    with np.errstate(divide="ignore"):
        value = pyloudnorm.Meter(sr).integrated_loudness(x.T)
    return float(value)


def true_peak(audio: np.ndarray, sr: int | None = None) -> float:
    """Largest magnitude of ``audio`` [shape=(channels, n)] oversampled 4x (linear)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    n = x.shape[1]
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    for a in range(0, n, _BLOCK):
        lo, hi = max(0, a - _CONTEXT), min(n, a + _BLOCK + _CONTEXT)
        up = signal.resample_poly(x[:, lo:hi], OVERSAMPLE, 1, axis=1)
        inner = up[:, (a - lo) * OVERSAMPLE:(min(n, a + _BLOCK) - lo) * OVERSAMPLE]
        if inner.size:
            peak = max(peak, float(np.max(np.abs(inner))))
    return peak


def _db(v: float) -> float:
    return float(20 * np.log10(v)) if v > 0 else float("-inf")


def true_peak_db(audio: np.ndarray, sr: int | None = None) -> float:
    """True peak in dBTP."""
    return _db(true_peak(audio, sr))


def sample_peak_db(audio: np.ndarray) -> float:
    """Largest sample magnitude in dBFS."""
    x = np.asarray(audio)
    return _db(float(np.max(np.abs(x))) if x.size else 0.0)
