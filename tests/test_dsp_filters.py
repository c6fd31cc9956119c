"""Filters, measured on impulse responses (FFT of the filtered impulse, not the
filter's own response formula): -3 dB points, resonance peaks, slopes."""

from __future__ import annotations

import numpy as np
import pytest

from synth.dsp import filters as flt

SR = 44100


def measured_response_db(sos, n=SR):
    """Magnitude (dB) at 1 Hz resolution: FFT of the filtered unit impulse."""
    imp = np.zeros(n)
    imp[0] = 1.0
    y, _ = flt.apply(imp, sos)
    return 20 * np.log10(np.abs(np.fft.rfft(y)) + 1e-300)


def crossing_hz(db, level, rising):
    """First frequency (Hz, linear interpolation) where ``db`` crosses ``level``."""
    above = db >= level
    idx = np.flatnonzero(above[1:] != above[:-1])
    idx = idx[idx > 5]
    i = int(idx[0])
    return i + (level - db[i]) / (db[i + 1] - db[i])


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("cutoff", [200.0, 1000.0, 5000.0])
def test_lowpass_minus_3db_point_within_2_percent(order, cutoff):
    db = measured_response_db(flt.design_filter("lowpass", cutoff, sr=SR, order=order))
    assert abs(db[20]) < 0.1                                   # flat pass band
    f3 = crossing_hz(db, -3.0103, rising=False)
    assert f3 == pytest.approx(cutoff, rel=0.02)


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("cutoff", [200.0, 2000.0])
def test_highpass_minus_3db_point_within_2_percent(order, cutoff):
    db = measured_response_db(flt.design_filter("highpass", cutoff, sr=SR, order=order))
    assert abs(db[15000]) < 0.1
    f3 = crossing_hz(db, -3.0103, rising=True)
    assert f3 == pytest.approx(cutoff, rel=0.02)


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("q", [2.0, 4.0, 10.0])
def test_resonance_peak_sits_at_the_cutoff_with_height_q(order, q):
    cutoff = 1000.0
    db = measured_response_db(flt.design_filter("lowpass", cutoff, sr=SR, q=q, order=order))
    peak_hz = int(np.argmax(db))
    assert peak_hz == pytest.approx(cutoff, rel=0.1)
    assert db[int(cutoff)] == pytest.approx(20 * np.log10(q), abs=0.1)   # gain q at the cutoff
    assert db.max() == pytest.approx(20 * np.log10(q), abs=0.6 if order == 2 else 1.5)


@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
def test_slopes_are_12_and_24_db_per_octave(kind):
    cutoff = 500.0 if kind == "lowpass" else 1000.0
    for order, slope in [(2, 12.0), (4, 24.0)]:
        db = measured_response_db(flt.design_filter(kind, cutoff, sr=SR, order=order))
        if kind == "lowpass":     # the octave from 4x to 8x the cutoff
            per_octave = db[int(cutoff * 4)] - db[int(cutoff * 8)]
        else:
            per_octave = db[int(cutoff / 4)] - db[int(cutoff / 8)]
        assert per_octave == pytest.approx(slope, abs=1.5)


@pytest.mark.parametrize("order", [2, 4])
def test_bandpass_peaks_at_0db_on_its_centre(order):
    db = measured_response_db(flt.design_filter("bandpass", 1000.0, sr=SR, q=5.0, order=order))
    assert int(np.argmax(db)) == pytest.approx(1000, abs=5)
    assert db.max() == pytest.approx(0.0, abs=0.05)
    # order 2: -3 dB bandwidth = centre / q
    if order == 2:
        upper = 1000 + crossing_hz(db[1000:], -3.0103, rising=False)
        lower = crossing_hz(db, -3.0103, rising=True)
        assert upper - lower == pytest.approx(200.0, rel=0.05)


def test_fairlight_output_filter_is_4_pole_and_never_resonates():
    db = measured_response_db(flt.design_fairlight_lowpass(2000.0, sr=SR))
    assert crossing_hz(db, -3.0103, rising=False) == pytest.approx(2000.0, rel=0.02)
    assert db.max() <= 1e-9 and np.all(np.diff(db[10:20000]) <= 1e-9)     # monotonic, no peak
    assert db[8000] - db[16000] > 18.0                                     # heading to 24 dB/oct


def test_extreme_settings_stay_stable():
    for q in (0.05, 50.0):
        for cutoff in (5.0, 1e6):                      # held within [10 Hz, 0.45 sr]
            sos = flt.design_filter("lowpass", cutoff, sr=SR, q=q, order=4)
            poles = np.concatenate([np.roots(section[3:]) for section in sos])
            assert np.max(np.abs(poles)) < 1.0
            imp = np.zeros(SR * 2)
            imp[0] = 1.0
            y, _ = flt.apply(imp, sos)
            assert np.all(np.isfinite(y))
            tail, head = np.abs(y[-SR // 4:]).max(), np.abs(y).max()
            assert tail < head


def test_key_tracking_moves_an_octave_per_octave():
    assert flt.key_track(1000.0, 523.2511306011972, amount=1.0) == pytest.approx(2000.0)
    assert flt.key_track(1000.0, 523.2511306011972, amount=0.5) == pytest.approx(1000 * np.sqrt(2))
    assert flt.key_track(1000.0, 523.2511306011972, amount=0.0) == pytest.approx(1000.0)


def test_modulated_filter_with_a_constant_cutoff_equals_the_static_filter():
    x = np.random.default_rng(0).standard_normal((2, 3000))
    y, _ = flt.modulated_filter(x, 1500.0, sr=SR, kind="lowpass", q=2.0, order=4)
    ref, _ = flt.apply(x, flt.design_filter("lowpass", 1500.0, sr=SR, q=2.0, order=4))
    assert np.array_equal(y, ref)


def _swept_hf_peak_db():
    from scipy.signal import butter, sosfilt
    n = SR
    x = np.sin(2 * np.pi * 220.0 * np.arange(n) / SR)
    cutoff = 300.0 * 2 ** (5 * np.arange(n) / n)                # 300 Hz -> 9.6 kHz in a second
    y, _ = flt.modulated_filter(x, cutoff, sr=SR, kind="lowpass", q=4.0, order=4)
    # a click is broadband: look above 15 kHz, where a <= 9.6 kHz 24 dB/oct low-pass leaves nothing
    hf = sosfilt(butter(8, 15000.0, "highpass", fs=SR, output="sos"), y)[2000:]
    return 20 * np.log10(np.max(np.abs(hf)) / np.max(np.abs(y)))


def test_a_swept_cutoff_does_not_click(monkeypatch):
    assert _swept_hf_peak_db() < -60.0                           # measured -72 dB
    # the measurement hears clicks: coarse coefficient updates do click
    monkeypatch.setattr(flt, "SUB_BLOCK", 1024)
    assert _swept_hf_peak_db() > -50.0                           # measured -44 dB


def test_the_sweep_really_moves_the_filter():
    n = SR
    x = np.random.default_rng(1).standard_normal(n)
    cutoff = np.where(np.arange(n) < n // 2, 300.0, 6000.0)
    y, _ = flt.modulated_filter(x, cutoff, sr=SR, kind="lowpass", order=4)
    first, second = y[: n // 2], y[n // 2 + 2000:]
    assert np.std(second) > 3 * np.std(first)


def test_bad_kind_and_order_are_refused():
    with pytest.raises(ValueError, match="unknown filter kind 'notch'"):
        flt.design_filter("notch", 100.0, sr=SR)
    with pytest.raises(ValueError, match="order must be 2 .* or 4 .* got 3"):
        flt.design_filter("lowpass", 100.0, sr=SR, order=3)
    with pytest.raises(ValueError, match="q must be > 0, got 0"):
        flt.design_filter("lowpass", 100.0, sr=SR, q=0)


def test_filter_runs_equals_sosfilt_run_by_run_and_continues_across_blocks():
    from scipy.signal import butter, sosfilt

    from synth.dsp.filters import filter_runs

    x = np.random.default_rng(5).standard_normal(6000)
    designs = [butter(4, fc, fs=44100, output="sos") for fc in (300.0, 900.0, 2700.0)]
    bounds = [0, 1000, 3500, 6000]
    expected = np.empty_like(x)
    zi = np.zeros((2, 2))
    for sos, lo, hi in zip(designs, bounds[:-1], bounds[1:]):
        expected[lo:hi], zi = sosfilt(sos, x[lo:hi], zi=zi)
    y, state = filter_runs(x, designs, bounds)
    assert np.array_equal(y, expected)
    assert np.array_equal(state, zi)
    # the same signal in two blocks, the memory carried: identical
    first, mid = filter_runs(x[:2000], designs[:2], [0, 1000, 2000])
    second, _ = filter_runs(x[2000:], designs[1:], [0, 1500, 4000], state=mid)
    assert np.array_equal(np.concatenate([first, second]), expected)


@pytest.mark.parametrize("shape", [(1000,), (3, 700)])
def test_sosfilt_is_scipys_sample_for_sample_with_and_without_state(shape):
    from scipy import signal

    x = np.random.default_rng(7).standard_normal(shape)
    sos = signal.butter(4, 0.07, output="sos")
    assert np.array_equal(flt.sosfilt(sos, x), signal.sosfilt(sos, x))
    zi = np.random.default_rng(8).standard_normal((2,) + shape[:-1] + (2,))
    y, zf = flt.sosfilt(sos, x, zi=zi)
    y_ref, zf_ref = signal.sosfilt(sos, x, zi=zi)
    assert np.array_equal(y, y_ref) and np.array_equal(zf, zf_ref)
    assert zf.shape == zi.shape


def test_filtering_a_note_does_not_import_the_scipy_signal_package():
    # importing scipy.signal costs ~0.55 s and ~70 MB in every render process;
    # the filters need only its compiled kernel
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from synth.dsp import filters\n"
            "y, _ = filters.modulated_filter(np.ones(5000), np.linspace(200, 4000, 5000), sr=44100)\n"
            "print(int(abs(y[-1] - 1.0) < 1e-3), int('scipy.signal' in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "0"]


@pytest.mark.parametrize("cutoff", [40.0, 1234.5, 5000.0, 15000.0])
@pytest.mark.parametrize("sr", [22050, 44100, 96000])
def test_fairlight_lowpass_has_scipys_coefficients(cutoff, sr):
    # written out without scipy.signal (0.55 s to import, 0.5 ms a design);
    # the reference is SciPy's bilinear transform of the same four poles
    from scipy.signal import bilinear_zpk, zpk2sos

    fc = float(np.clip(cutoff, flt.MIN_CUTOFF_HZ, flt.MAX_CUTOFF_FRACTION * sr))
    omega_c = 2.0 * sr * np.tan(np.pi * fc / sr)
    pole = -omega_c / np.sqrt(2.0 ** 0.25 - 1.0)
    reference = zpk2sos(*bilinear_zpk([], [pole] * 4, pole ** 4, fs=sr))
    np.testing.assert_allclose(flt.design_fairlight_lowpass(cutoff, sr=sr), reference,
                               rtol=1e-13, atol=1e-15)


def test_filters_take_read_only_cached_designs():
    # designs are cached and shared read-only; the compiled kernel needs a
    # writable buffer, so both entry points must accept them unchanged
    from scipy import signal

    sos = signal.butter(2, 0.1, output="sos")
    frozen = sos.copy()
    frozen.setflags(write=False)
    x = np.random.default_rng(3).standard_normal(500)
    y, _ = flt.filter_runs(x, [frozen, frozen], [0, 200, 500])
    assert np.array_equal(y, signal.sosfilt(sos, x))
    assert np.array_equal(flt.sosfilt(frozen, x), signal.sosfilt(sos, x))
    assert not frozen.flags.writeable and np.array_equal(frozen, sos)
