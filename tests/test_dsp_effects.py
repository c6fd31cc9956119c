"""Effects, measured: reverb decay time, echo position and gain, chorus depth,
bit depth, hold length, saturation curves and their aliasing."""

from __future__ import annotations

import numpy as np
import pytest

from synth.dsp import effects as fx

SR = 22050      # low rate keeps the long reverb tests fast; nothing here depends on it


def impulse(n, at=0):
    x = np.zeros((2, n))
    x[:, at] = 1.0
    return x


def decay_time_60(y, sr):
    """RT60 from the Schroeder backward-integrated energy, fitted between -5 and -35 dB."""
    energy = (y ** 2).sum(axis=0)
    edc = np.cumsum(energy[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    t = np.arange(len(edc_db)) / sr
    sel = (edc_db < -5) & (edc_db > -35)
    slope = np.polyfit(t[sel], edc_db[sel], 1)[0]            # dB per second
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.8, 2.0])
def test_reverb_decays_at_the_set_rt60(rt60, capsys):
    y, _ = fx.reverb(impulse(int(SR * rt60 * 1.6)), sr=SR, rt60=rt60, damping=0.0, mix=1.0)
    measured = decay_time_60(y, SR)
    with capsys.disabled():
        print(f"\n[measured] reverb RT60 set {rt60} s, measured {measured:.3f} s")
    assert measured == pytest.approx(rt60, rel=0.08)


def test_reverb_damping_shortens_the_high_frequencies():
    y, _ = fx.reverb(impulse(SR * 2), sr=SR, rt60=1.5, damping=0.6, mix=1.0)
    late = y[:, SR:]
    spec = np.abs(np.fft.rfft(late.sum(axis=0))) ** 2
    f = np.fft.rfftfreq(late.shape[1], 1 / SR)
    assert spec[(f > 5000)].mean() < 0.01 * spec[(f > 100) & (f < 500)].mean()


def test_reverb_tail_rings_after_the_input_stops():
    rng = np.random.default_rng(0)
    x = np.zeros((2, SR * 3))
    x[:, : SR // 2] = rng.standard_normal((2, SR // 2)) * 0.1
    y, _ = fx.reverb(x, sr=SR, rt60=1.0, mix=0.5)
    rms = lambda a: np.sqrt(np.mean(a ** 2))
    after = [rms(y[:, SR // 2 + k * SR // 4: SR // 2 + (k + 1) * SR // 4]) for k in range(4)]
    assert after[0] > 0.01 * rms(y[:, : SR // 2])                      # still sounding
    assert after[0] > after[1] > after[2] > after[3] > 0               # and dying away
    tail = fx.reverb_tail_seconds(rt60=1.0)
    end = int((0.5 + tail) * SR)
    assert rms(y[:, end - SR // 10: end]) < 10 ** (-80 / 20) * rms(y[:, : SR // 2])


def test_reverb_is_stereo_and_decorrelated():
    y, _ = fx.reverb(impulse(SR), sr=SR, rt60=1.0, mix=1.0)
    c = np.corrcoef(y[0, 2000:], y[1, 2000:])[0, 1]
    assert abs(c) < 0.1


def test_delay_echo_on_the_expected_sample_with_the_expected_gain():
    y, _ = fx.delay(impulse(SR), sr=SR, time=0.125, feedback=0.5, mix=0.4)
    d = int(round(0.125 * SR))
    assert y[0, 0] == pytest.approx(0.6)                               # dry part
    assert y[0, d] == pytest.approx(0.4)                               # first echo: mix
    assert y[0, 2 * d] == pytest.approx(0.2)                           # then x feedback
    assert y[0, 3 * d] == pytest.approx(0.1)
    taps = np.arange(0, SR, d)
    assert np.allclose(y[0, taps[1:]], 0.4 * 0.5 ** np.arange(len(taps) - 1), rtol=1e-12)
    assert np.all(np.delete(y[0], taps) == 0.0)                        # nothing between the echoes
    assert fx.delay_tail_seconds(time=0.125, feedback=0.5) >= 0.125 * (1 + 90 / 6.02)


def test_delay_damping_darkens_the_repeats():
    y, _ = fx.delay(impulse(SR), sr=SR, time=0.1, feedback=0.7, mix=1.0, damping=0.5)
    d = int(round(0.1 * SR))
    first = y[0, d: d + 50]
    third = y[0, 3 * d: 3 * d + 200]
    assert first[0] == pytest.approx(1.0)
    assert np.max(np.abs(third)) < 0.7 ** 2 * 0.5                       # smeared, not a clean click


def test_chorus_modulation_depth_is_as_set():
    n = SR
    ramp = np.tile(np.arange(n, dtype=np.float64), (2, 1))            # linear interpolation is exact on a ramp
    y, _ = fx.chorus(ramp, sr=SR, rate_hz=2.0, depth_ms=3.0, delay_ms=10.0, mix=1.0, spread=0.25)
    delay = ramp[:, 1000:] - y[:, 1000:]                                # samples of delay, measured
    depth = (delay.max(axis=1) - delay.min(axis=1)) / 2 / SR * 1000
    centre = (delay.max(axis=1) + delay.min(axis=1)) / 2 / SR * 1000
    assert np.allclose(depth, 3.0, atol=0.01) and np.allclose(centre, 10.0, atol=0.01)
    # the right channel's modulation leads by a quarter cycle (spread 0.25) of the 2 Hz rate
    period = SR // 2
    lead = (np.argmax(delay[0, :period]) - np.argmax(delay[1, :period])) % period
    assert abs(lead - period / 4) < 5


def test_bitcrush_puts_values_on_the_grid():
    x = np.linspace(-1, 1, 1001)[None, :].repeat(2, axis=0)
    y, state = fx.bitcrush(x, bits=4)
    assert state is None
    assert np.array_equal(y * 8, np.round(y * 8)) and y.max() == 7 / 8 and y.min() == -1
    assert len(np.unique(y)) == 16


def test_decimate_holds_each_taken_sample():
    x = np.arange(20, dtype=np.float64)[None, :].repeat(2, axis=0)
    y, _ = fx.decimate(x, sr=8, rate_hz=2.0)
    assert y[0].tolist() == [0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12, 16, 16, 16, 16]


def test_saturation_curves():
    x = np.linspace(-3, 3, 601)[None, :].repeat(2, axis=0)
    t, _ = fx.saturate(x, drive_db=0.0, shape="tanh")
    assert np.allclose(t, np.tanh(x), atol=1e-15)
    s, _ = fx.saturate(x, drive_db=0.0, shape="soft")
    assert s.max() == 1.0 and s[0, 300 + 50] == pytest.approx(1.5 * 0.5 - 0.5 * 0.125)
    f, _ = fx.saturate(x, drive_db=0.0, shape="fold")
    assert f[0, 300 + 150] == pytest.approx(0.5)                        # 1.5 folds back to 0.5
    assert f[0, 300 + 50] == pytest.approx(0.5) and f[0, 300 + 200] == pytest.approx(0.0)


def test_oversampling_cuts_the_saturation_aliasing(capsys):
    sr = 44100
    f0 = 3000.0
    x = np.sin(2 * np.pi * f0 * np.arange(sr) / sr)[None, :].repeat(2, axis=0) * 0.9

    def alias_db(y):
        y = y[0, 2000:]
        s = np.abs(np.fft.rfft(y * np.kaiser(len(y), 20.0)))
        s /= s.max()
        f = np.fft.rfftfreq(len(y), 1 / sr)
        k = np.round(f / f0)
        return 20 * np.log10(s[(np.abs(f - k * f0) > 40) & (f > 40) & (f < 18000)].max())
    plain = alias_db(fx.saturate(x, drive_db=18.0, shape="tanh")[0])
    over = alias_db(fx.saturate(x, drive_db=18.0, shape="tanh", oversample=8)[0])
    with capsys.disabled():
        print(f"\n[measured] tanh +18 dB on 3 kHz: alias {plain:.1f} dB, 8x oversampled {over:.1f} dB")
    assert over < plain - 20


def test_oversampled_saturation_is_delayed_by_its_latency():
    x = np.zeros((2, 400))
    x[:, 10] = 0.1
    y, _ = fx.saturate(x, drive_db=0.0, oversample=4, mix=1.0)
    assert int(np.argmax(np.abs(y[0]))) == 10 + fx.saturate_latency(4)


def test_effect_parameters_are_checked():
    with pytest.raises(ValueError, match="shape \\(2, n\\), got shape \\(100,\\)"):
        fx.reverb(np.zeros(100), sr=SR)
    with pytest.raises(ValueError, match="delay feedback must lie within \\[0.0, 0.98\\], got 1.2"):
        fx.delay(np.zeros((2, 10)), sr=SR, time=0.1, feedback=1.2)
    with pytest.raises(ValueError, match="delay time must be at least one sample"):
        fx.delay(np.zeros((2, 10)), sr=SR, time=0.0)
    with pytest.raises(ValueError, match="0 <= depth_ms < delay_ms"):
        fx.chorus(np.zeros((2, 10)), sr=SR, depth_ms=5.0, delay_ms=4.0)
    with pytest.raises(ValueError, match="bits must be an integer 1..24, got 0"):
        fx.bitcrush(np.zeros((2, 10)), bits=0)
    with pytest.raises(ValueError, match="unknown saturation shape 'clip'"):
        fx.saturate(np.zeros((2, 10)), shape="clip")


@pytest.mark.parametrize("name, kwargs, state_type", [
    ("reverb", {"rt60": 0.5}, "ReverbState"),
    ("delay", {"time": 0.01}, "DelayState"),
    ("chorus", {}, "ChorusState"),
    ("decimate", {"rate_hz": 4000.0}, "DecimateState"),
    ("saturate", {"oversample": 2}, "SaturateState"),
])
def test_kernel_states_are_typed_and_read_only(name, kwargs, state_type):
    """Explicit, typed state (STYLE.md): a named tuple, fields read-only, passed back as is."""
    from synth.dsp import effects

    kernel = getattr(effects, name)
    x = np.random.default_rng(1).standard_normal((2, 300)) * 0.1
    y1, state = kernel(x[:, :120], sr=16000, **kwargs)
    assert type(state) is getattr(effects, state_type)
    with pytest.raises(AttributeError):
        state._replace                       # a NamedTuple ...
        setattr(state, state._fields[0], None)   # ... whose fields cannot be rebound
    y2, _ = kernel(x[:, 120:], sr=16000, state=state, **kwargs)
    whole, _ = kernel(x, sr=16000, **kwargs)
    assert np.array_equal(np.concatenate([y1, y2], axis=1), whole)
