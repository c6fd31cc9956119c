"""FM, measured: sideband amplitudes against Bessel functions, the index
envelope, and the aliasing the index limit prevents."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import jv

from synth.dsp import fm

SR = 44100


def test_sidebands_follow_bessel_functions():
    # carrier 1000 Hz, modulator 100 Hz (ratio 0.1), index 2: sideband k at 1000 + 100 k
    y, _ = fm.fm2(1000.0, sr=SR, n=SR, ratio=0.1, index=2.0)
    spec = np.abs(np.fft.rfft(y)) * 2 / SR
    for k in range(-6, 7):
        expected = abs(jv(k, 2.0))
        assert spec[1000 + 100 * k] == pytest.approx(expected, abs=1e-6)


def test_index_envelope_brightens_the_note():
    n = SR
    index = np.linspace(0.0, 6.0, n)
    y, _ = fm.fm2(200.0, sr=SR, n=n, ratio=1.0, index=index)

    def centroid(x):
        s = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        f = np.fft.rfftfreq(len(x), 1 / SR)
        return np.sum(f * s) / np.sum(s)
    assert centroid(y[:2048]) < 260 and centroid(y[-2048:]) > 2 * centroid(y[:2048])


def test_sideband_order_bounds_the_bessel_tail():
    for index in [0.1, 0.5, 1, 2, 4, 8, 16, 32]:
        k = np.arange(int(np.ceil(fm.sideband_order(index))), 200)
        assert np.all(np.abs(jv(k, index)) < 1e-3)


@pytest.mark.parametrize("f0, ratio, index", [(3000.0, 1.0, 8.0), (1000.0, 3.5, 20.0), (440.0, 1.4, 30.0)])
def test_the_index_limit_keeps_fold_over_below_60db(f0, ratio, index, capsys):
    grid = np.abs(f0 + np.arange(-300, 300) * ratio * f0)

    def alias_db(y):
        s = np.abs(np.fft.rfft(y * np.kaiser(SR, 20.0)))
        s /= s.max()
        f = np.fft.rfftfreq(SR, 1 / SR)
        near = np.min(np.abs(f[:, None] - grid[None, :]), axis=1) < 30
        return 20 * np.log10(s[~near & (f > 30)].max())
    limited = alias_db(fm.fm2(f0, sr=SR, n=SR, ratio=ratio, index=index)[0])
    free = alias_db(fm.fm2(f0, sr=SR, n=SR, ratio=ratio, index=index, limit_index=False)[0])
    with capsys.disabled():
        print(f"\n[measured] FM {f0:.0f} Hz ratio {ratio} index {index}: fold-over {limited:.1f} dB "
              f"limited, {free:.1f} dB unlimited")
    assert limited < -60.0 and free > -40.0


def test_three_operator_stack_reduces_to_two_with_a_silent_top():
    a, _ = fm.fm3(300.0, sr=SR, n=1000, ratios=(2.0, 3.0), indices=(1.5, 0.0))
    b, _ = fm.fm2(300.0, sr=SR, n=1000, ratio=2.0, index=1.5, limit_index=False)
    assert np.allclose(a, b, atol=1e-12)


def test_bad_fm_parameters_are_refused():
    with pytest.raises(ValueError, match="FM ratio must be > 0, got 0"):
        fm.fm2(100.0, sr=SR, n=10, ratio=0)
    with pytest.raises(ValueError, match="FM index must be >= 0"):
        fm.fm2(100.0, sr=SR, n=10, index=-1.0)
