"""Streaming BS.1770 loudness and true peak (issue 15): the same values as pyloudnorm
and an 8x-oversampled true peak, for any block size, in memory that does not grow."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from scipy import signal

from synth.loudness import LoudnessMeter, TruePeakMeter, integrated_loudness, measure, true_peak

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def music_like(sr, seconds, seed=0):
    """Chords with a loud and a quiet section, a silent gap and noise bursts (gating matters)."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    x = np.zeros((2, n))
    for f, pan in ((220.0, 0.3), (277.2, 0.7), (329.6, 0.5), (1760.0, 0.2)):
        tone = np.sin(2 * np.pi * f * t + rng.uniform(0, 6))
        x[0] += (1 - pan) * tone * 0.2
        x[1] += pan * tone * 0.2
    level = np.where(t < seconds / 3, 1.0, np.where(t < seconds / 2, 0.0, 0.08))
    x *= level
    burst = (t % 1.0) < 0.05
    x += 0.1 * burst * rng.standard_normal((2, n))
    return x


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("seconds", [0.45, 2.0, 9.3])
def test_integrated_loudness_agrees_with_pyloudnorm(sr, seconds):
    x = music_like(sr, seconds)
    ref = pyloudnorm.Meter(sr).integrated_loudness(x.T)
    assert abs(integrated_loudness(x, sr) - ref) < 0.1


@pytest.mark.parametrize("block", [7, 777, 4410, 1 << 16])
def test_the_block_size_does_not_change_the_values(block):
    sr = 22050
    x = music_like(sr, 3.0, seed=1)[:, :sr * 3 if block > 7 else sr // 2]
    whole = LoudnessMeter(sr)
    whole.add(x)
    parts = LoudnessMeter(sr)
    for a in range(0, x.shape[1], block):
        parts.add(x[:, a:a + block])
    assert parts.integrated() == pytest.approx(whole.integrated(), abs=1e-9)
    tp_whole, tp_parts = TruePeakMeter(), TruePeakMeter()
    tp_whole.add(x)
    for a in range(0, x.shape[1], block):
        tp_parts.add(x[:, a:a + block])
    assert tp_parts.peak() == pytest.approx(tp_whole.peak(), rel=1e-9)


def test_true_peak_finds_an_inter_sample_peak():
    sr = 48000
    n = np.arange(4800)
    # a sine at a quarter of the rate, phased so every sample misses the crest by 45 degrees
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)[None, :].repeat(2, axis=0) * 0.5
    independent = np.abs(signal.resample_poly(x, 16, 1, axis=1)).max()
    assert np.abs(x).max() == pytest.approx(0.5 * np.sqrt(0.5), rel=1e-9)
    assert true_peak(x, sr) == pytest.approx(independent, rel=2e-3)
    assert true_peak(x, sr) > 0.49


def test_silence_and_short_audio():
    assert integrated_loudness(np.zeros((2, 48000)), 48000) == float("-inf")
    assert integrated_loudness(np.ones((2, 100)) * 0.5, 48000) == float("-inf")
    m = measure(np.zeros((2, 0)), 48000)
    assert m["frames"] == 0 and m["true_peak"] == 0.0


def test_measure_refuses_non_finite_samples():
    x = np.zeros((2, 1000))
    x[1, 10] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        measure(x, 48000)


PROBE = """
import resource, sys
from synth.cli import main
status = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(status)
"""


def peak_kb(*args):
    r = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, PYTHONPATH=REPO))
    assert r.returncode == 0, r.stderr
    return int(r.stderr.strip().splitlines()[-1]), r.stdout


def test_analyze_memory_does_not_grow_with_the_length_of_the_wav(tmp_path):
    sr = 22050
    for name, seconds in (("short.wav", 20), ("long.wav", 160)):
        with sf.SoundFile(tmp_path / name, "w", sr, 2, "PCM_16") as f:
            block = music_like(sr, 10.0).T * 0.5
            for _ in range(seconds // 10):
                f.write(block)
    short, out_short = peak_kb("analyze", tmp_path / "short.wav", "--json")
    long, out_long = peak_kb("analyze", tmp_path / "long.wav", "--json")
    assert '"duration_seconds": 160.0' in out_long
    # reading the long file whole as float64 would take 160 * 22050 * 16 bytes = 56 MB more
    assert long - short < 25_000, (short, long)
