"""Additive voices, measured: harmonic amplitudes per segment, Nyquist drop,
partial frequencies and decay times, drawn cycles against their own DFT."""

from __future__ import annotations

import numpy as np
import pytest

from synth.dsp import additive as add

SR = 44100


def amplitudes_at(x, freqs, centre, width):
    """Amplitudes of sinusoids at ``freqs`` in x[centre - width : centre + width], fitted jointly (least squares)."""
    seg = x[centre - width: centre + width]
    t = np.arange(len(seg)) / SR
    basis = np.concatenate([np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)], axis=1)
                            for f in freqs], axis=1)
    coef, *_ = np.linalg.lstsq(basis, seg, rcond=None)
    return np.hypot(coef[0::2], coef[1::2])


def amplitude_at(x, freq, centre, width):
    return float(amplitudes_at(x, [freq], centre, width)[0])


def test_harmonic_pages_play_each_segment_and_interpolate_between():
    amps = np.zeros((3, 4))
    amps[0] = [1.0, 0.0, 0.0, 0.0]
    amps[1] = [0.0, 0.0, 0.5, 0.0]
    amps[2] = [0.2, 0.2, 0.2, 0.2]
    y, _ = add.harmonic_pages(amps, 100.0, sr=SR, n=SR, segment_seconds=0.4)
    # on segment 1's sample (0.4 s): h3 = 0.5, h1 = 0
    at = int(0.4 * SR)
    assert y[at - 441: at + 441].std() > 0
    assert amplitude_at(y, 300.0, at, 441) == pytest.approx(0.5, abs=0.01)
    assert amplitude_at(y, 100.0, at, 441) < 0.01
    # half-way between segments 0 and 1 (0.2 s): h1 and h3 both at half their values
    mid = int(0.2 * SR)
    assert amplitude_at(y, 100.0, mid, 441) == pytest.approx(0.5, abs=0.01)
    assert amplitude_at(y, 300.0, mid, 441) == pytest.approx(0.25, abs=0.01)
    # after the last segment: held
    assert amplitude_at(y, 400.0, int(0.95 * SR), 441) == pytest.approx(0.2, abs=0.005)


def test_harmonics_above_nyquist_are_dropped_not_folded():
    amps = np.ones((1, 32))
    f0 = 1000.0
    y, _ = add.harmonic_pages(amps, f0, sr=SR, n=SR, segment_seconds=1.0)
    s = np.abs(np.fft.rfft(y * np.kaiser(SR, 20.0)))
    s /= s.max()
    f = np.fft.rfftfreq(SR, 1 / SR)
    k = np.round(f / f0)
    off = (np.abs(f - k * f0) > 40) & (f > 40)
    assert 20 * np.log10(s[off].max()) < -100
    spec = np.abs(np.fft.rfft(y)) * 2 / SR
    assert spec[19000] == pytest.approx(1.0, abs=1e-6)                  # h19 full (below 0.9 of the limit)
    assert spec[22000] < 1e-9                                           # h22 beyond the limit: gone


def test_partials_ring_at_their_ratios_and_decay_in_their_times():
    ratios, amps, decays = [1.0, 2.76, 5.40], [1.0, 0.5, 0.25], [2.0, 1.0, 0.5]
    y, _ = add.partials(ratios, amps, decays, 200.0, sr=SR, n=SR)
    freqs = [r * 200.0 for r in ratios]
    early = amplitudes_at(y, freqs, 2205, 441)                          # 20 ms around 0.05 s
    late = amplitudes_at(y, freqs, 2205 + SR // 2, 441)                 # 0.5 s later
    for e, l, a, d in zip(early, late, amps, decays):
        assert e == pytest.approx(a * 10 ** (-3 * 0.05 / d), rel=0.01)
        assert 20 * np.log10(l / e) == pytest.approx(-60 * 0.5 / d, abs=0.5)


def test_partials_are_refused_with_a_zero_ratio():
    with pytest.raises(ValueError, match="ratios and decays must be > 0"):
        add.partials([0.0], [1.0], [1.0], 100.0, sr=SR, n=10)


def test_drawn_cycle_plays_its_own_harmonics_band_limited():
    values = np.random.default_rng(2).uniform(-1, 1, 128)
    y, _ = add.drawn_wave(values, 100.0, sr=SR, n=SR)
    played = np.fft.rfft(y) / (SR / 2)
    drawn = np.fft.rfft(values) / 64
    k = np.arange(1, 64)
    assert np.allclose(np.abs(played[100 * k]), np.abs(drawn[k]), atol=2e-4)
    assert np.abs(played[0]) < 1e-6                                     # no DC
    # at 1 kHz only harmonics below Nyquist remain, nothing folds
    hi, _ = add.drawn_wave(values, 1000.0, sr=SR, n=SR)
    s = np.abs(np.fft.rfft(hi * np.kaiser(SR, 20.0)))
    s /= s.max()
    f = np.fft.rfftfreq(SR, 1 / SR)
    off = (np.abs(f - np.round(f / 1000) * 1000) > 40) & (f > 40)
    assert 20 * np.log10(s[off].max()) < -90


def test_pages_shape_is_checked():
    with pytest.raises(ValueError, match="shape \\(1..32, 1..32\\), got \\(2, 40\\)"):
        add.harmonic_pages(np.ones((2, 40)), 100.0, sr=SR, n=10)
