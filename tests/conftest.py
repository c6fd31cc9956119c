"""Shared measurement helpers for the tests.

These estimators are written independently of synth's own code (plain NumPy
on the rendered samples), so that a test compares synth against a separate
measurement rather than against itself.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest

# The composed-score cache (synth.cache) of the CLI runs of this session goes
# to a folder of its own, removed at the end: never the user's ~/.cache, and
# no entry of an earlier run is read.  Set before any test starts a process.
_CACHE = tempfile.mkdtemp(prefix="synth-test-cache-")
os.environ["SYNTH_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
# Likewise the synth engine's folder: a user's running engine is never used by
# the tests (tests/test_engine.py starts its own).
_ENGINE = tempfile.mkdtemp(prefix="synth-test-engine-")
os.environ["SYNTH_ENGINE_DIR"] = _ENGINE
atexit.register(shutil.rmtree, _ENGINE, ignore_errors=True)


def peak_frequency(x: np.ndarray, sr: float, fmin: float = 20.0, fmax: float | None = None) -> float:
    """Frequency (Hz) of the strongest spectral peak, refined by parabolic
    interpolation of the log magnitude of a Hann-windowed, zero-padded FFT."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    nfft = 1 << int(np.ceil(np.log2(n * 4)))
    spec = np.abs(np.fft.rfft(x * np.hanning(n), nfft))
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    band = (freqs >= fmin) & (freqs <= (fmax or sr / 2))
    k = int(np.argmax(np.where(band, spec, 0.0)))
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-300)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + offset) * sr / nfft)


def cents(f_measured: float, f_expected: float) -> float:
    return float(1200.0 * np.log2(f_measured / f_expected))


def first_onset(x: np.ndarray, threshold: float = 1e-4, start: int = 0) -> int:
    """Index of the first sample at or after ``start`` whose magnitude exceeds ``threshold``."""
    idx = np.flatnonzero(np.abs(x[start:]) > threshold)
    return int(idx[0]) + start if len(idx) else -1


def off_harmonic_db(x: np.ndarray, sr: float, f0: float, width_hz: float = 30.0) -> float:
    """Strongest spectral component away from the harmonics of ``f0``, in dB
    relative to the strongest component overall (Blackman-Harris window)."""
    n = len(x)
    w = np.blackman(n)
    spec = np.abs(np.fft.rfft(x * w))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    k = np.round(freqs / f0)
    near = (np.abs(freqs - k * f0) < width_hz) & (k >= 1)
    away = ~near & (freqs > width_hz)
    return float(20 * np.log10(spec[away].max() / spec.max()))


@pytest.fixture
def sr():
    return 44100
