"""Oscillators, measured: harmonic amplitudes against the Fourier series,
aliasing as energy off the harmonic grid, detune in cents, noise slope."""

from __future__ import annotations

import numpy as np
import pytest

from synth.dsp import oscillators as osc

SR = 44100


def spectrum(x):
    """Magnitude spectrum, Kaiser(beta=20) window (side lobes far below -150 dB), peak = 1."""
    w = np.kaiser(len(x), 20.0)
    s = np.abs(np.fft.rfft(x * w))
    return s / s.max(), np.fft.rfftfreq(len(x), 1.0 / SR)


def off_grid_db(x, f0, width=40.0):
    """Strongest component farther than ``width`` Hz from every multiple of f0, dB re the peak."""
    s, f = spectrum(x)
    k = np.round(f / f0)
    away = (np.abs(f - k * f0) > width) & (f > width)
    return 20 * np.log10(s[away].max())


def harmonic_amplitudes(x, f0, count):
    """Amplitudes of harmonics 1..count of a 1-second signal with an integer f0 (exact bins)."""
    spec = np.fft.rfft(x) * 2.0 / len(x)
    return np.abs(spec[np.arange(1, count + 1) * int(f0)])


# ---------------------------------------------------------------- the lead's shapes

@pytest.mark.parametrize("shape", ["saw", "square", "triangle"])
def test_first_ten_harmonics_match_theory_within_half_a_db(shape):
    y, _ = getattr(osc, shape)(100.0, sr=SR, n=SR)
    k = np.arange(1, 11)
    theory = {"saw": 2 / (np.pi * k),
              "square": np.where(k % 2 == 1, 4 / (np.pi * k), 0.0),
              "triangle": np.where(k % 2 == 1, 8 / (np.pi ** 2 * k ** 2), 0.0)}[shape]
    measured = harmonic_amplitudes(y, 100, 10)
    odd = theory > 0
    assert np.all(np.abs(20 * np.log10(measured[odd] / theory[odd])) < 0.5)
    # absent (even) harmonics at least 80 dB below the fundamental
    assert np.all(measured[~odd] < measured[0] * 1e-4)


def test_saw_at_4khz_aliases_at_least_60db_below_the_fundamental(capsys):
    y, _ = osc.saw(4000.0, sr=SR, n=SR)
    naive, _ = osc.naive_saw(4000.0, sr=SR, n=SR)
    measured, naive_db = off_grid_db(y, 4000.0), off_grid_db(naive, 4000.0)
    with capsys.disabled():
        print(f"\n[measured] band-limited saw 4 kHz: largest alias {measured:.1f} dB "
              f"(naive {naive_db:.1f} dB)")
    assert measured < -60.0
    assert naive_db > -30.0          # the measurement does see aliasing when it is there


# ---------------------------------------------------------------- pulse / PWM

@pytest.mark.parametrize("width", [0.5, 0.3, 0.1])
def test_pulse_harmonics_match_theory(width):
    y, _ = osc.pulse(100.0, sr=SR, n=SR, width=width)
    k = np.arange(1, 11)
    theory = 4 / (np.pi * k) * np.abs(np.sin(np.pi * k * width))
    measured = harmonic_amplitudes(y, 100, 10)
    big = theory > 0.05
    assert np.all(np.abs(20 * np.log10(measured[big] / theory[big])) < 0.5)
    assert np.all(measured[~big] < 0.06)
    # +1 for `width` of the cycle: mean 2w - 1
    assert np.mean(y) == pytest.approx(2 * width - 1, abs=1e-3)


def test_pulse_and_pwm_alias_far_less_than_naive(capsys):
    y, _ = osc.pulse(4000.0, sr=SR, n=SR, width=0.3)
    ph, _ = osc.phase_ramp(4000.0, sr=SR, n=SR)
    naive = np.where(ph % 1.0 < 0.3, 1.0, -1.0)
    fixed, naive_db = off_grid_db(y, 4000.0), off_grid_db(naive, 4000.0)
    # PWM: the width swings 0.2..0.8 at 0.5 Hz; the spectrum smears around the
    # harmonics but folded components land far from them
    width = 0.5 + 0.3 * np.sin(2 * np.pi * 0.5 * np.arange(SR) / SR)
    pwm, _ = osc.pulse(4000.0, sr=SR, n=SR, width=width)
    pwm_db = off_grid_db(pwm, 4000.0, width=300.0)
    with capsys.disabled():
        print(f"\n[measured] pulse 4 kHz w=0.3: largest alias {fixed:.1f} dB (naive {naive_db:.1f}); "
              f"PWM: {pwm_db:.1f} dB")
    assert fixed < -90.0 and pwm_db < -80.0
    assert naive_db > -30.0


def test_pulse_width_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="pulse width must lie within 0..1, got 1.5"):
        osc.pulse(100.0, sr=SR, n=10, width=1.5)


# ---------------------------------------------------------------- hard sync

@pytest.mark.parametrize("f0, ratio", [(1000.0, 2.7), (3000.0, 3.3), (440.0, 5.5)])
def test_hard_sync_is_periodic_in_the_master_and_nearly_alias_free(f0, ratio, capsys):
    y, _ = osc.hard_sync(f0, ratio, sr=SR, n=SR)
    ph, _ = osc.phase_ramp(f0, sr=SR, n=SR)
    q = ratio * (ph % 1.0)
    naive = 2 * (q % 1.0) - 1
    measured, naive_db = off_grid_db(y, f0), off_grid_db(naive, f0)
    with capsys.disabled():
        print(f"\n[measured] hard sync {f0:.0f} Hz x{ratio}: largest alias {measured:.1f} dB "
              f"(naive {naive_db:.1f} dB)")
    assert measured < -100.0          # measured -121 .. -131 dB
    assert naive_db > -30.0


def test_hard_sync_is_the_naive_sync_delayed_except_near_the_jumps():
    y, _ = osc.hard_sync(50.0, 2.7, sr=SR, n=SR // 2)
    ph, _ = osc.phase_ramp(50.0, sr=SR, n=SR // 2)
    q = 2.7 * (ph % 1.0)
    naive = 2 * (q % 1.0) - 1
    lag = osc.BLEP_LATENCY
    diff = np.abs(y[lag:] - naive[:-lag])
    assert np.median(diff) < 0.01
    assert np.percentile(diff, 75) < 0.02


def test_hard_sync_with_ratio_one_is_a_plain_saw():
    y, _ = osc.hard_sync(100.0, 1.0, sr=SR, n=SR)
    measured = harmonic_amplitudes(y, 100, 10)
    theory = 2 / (np.pi * np.arange(1, 11))
    assert np.all(np.abs(20 * np.log10(measured / theory)) < 0.5)


def test_hard_sync_slave_above_nyquist_is_refused():
    with pytest.raises(ValueError, match="at or above the Nyquist"):
        osc.hard_sync(5000.0, 5.0, sr=SR, n=10)


def test_band_limited_step_reaches_its_height_and_is_centred_on_the_latency():
    naive = np.ones(100)
    y, _ = osc.bandlimit_steps(naive, [], [], [])          # fresh: a step 0 -> 1 at t = 0
    lat = osc.BLEP_LATENCY
    assert y[lat] == pytest.approx(0.5, abs=1e-9)          # symmetric step: half-way at its centre
    assert np.all(np.abs(y[2 * lat:] - 1.0) < 1e-12)
    assert np.all(np.abs(y[:lat // 2]) < 0.02)


# ---------------------------------------------------------------- noise, ring, unison

def test_pink_noise_has_equal_power_per_octave():
    rng = np.random.default_rng(7)
    y, _ = osc.pink_noise(SR * 4, rng)
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1.0 / SR)
    edges = 100.0 * 2.0 ** np.arange(8)                    # 100 Hz .. 12.8 kHz
    power = [spec[(f >= lo) & (f < 2 * lo)].sum() for lo in edges[:-1]]
    db = 10 * np.log10(np.array(power) / power[0])
    assert np.all(np.abs(db) < 1.0)                        # white noise would rise 3 dB/octave
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(1 / np.sqrt(3), rel=0.1)


def test_ring_mod_gives_sum_and_difference_only():
    a, _ = osc.sine(1000.0, sr=SR, n=SR)
    b, _ = osc.sine(300.0, sr=SR, n=SR)
    y = osc.ring_mod(a, b)
    spec = np.abs(np.fft.rfft(y)) * 2 / SR
    assert spec[700] == pytest.approx(0.5, abs=1e-6)
    assert spec[1300] == pytest.approx(0.5, abs=1e-6)
    assert spec[1000] < 1e-9 and spec[300] < 1e-9


def test_unison_voices_sit_at_their_detune_in_cents():
    rng = np.random.default_rng(3)
    stack, phases = osc.unison(osc.sine, 440.0, sr=SR, n=SR, voices=5, detune_cents=20.0, rng=rng)
    assert stack.shape == (5, SR)
    expected = 440.0 * 2 ** (np.array([-10.0, -5.0, 0.0, 5.0, 10.0]) / 1200)
    for row, f in zip(stack, expected):
        # instantaneous frequency from the analytic signal's phase, averaged
        zc = np.flatnonzero((row[:-1] < 0) & (row[1:] >= 0))
        t = zc + row[zc] / (row[zc] - row[zc + 1])        # interpolated upward zero crossings
        measured = (len(t) - 1) / ((t[-1] - t[0]) / SR)
        assert 1200 * np.log2(measured / f) == pytest.approx(0.0, abs=0.05)
    start = np.arcsin(np.clip(stack[:, 0], -1, 1))
    assert len(np.unique(np.round(start, 6))) == 5        # random, different start phases


def test_unison_is_reproducible_from_the_seed():
    from synth.seeds import rng
    a, _ = osc.unison(osc.saw, 220.0, sr=SR, n=100, voices=3, rng=rng(5, "part", "x"))
    b, _ = osc.unison(osc.saw, 220.0, sr=SR, n=100, voices=3, rng=rng(5, "part", "x"))
    c, _ = osc.unison(osc.saw, 220.0, sr=SR, n=100, voices=3, rng=rng(6, "part", "x"))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_unison_needs_a_voice():
    with pytest.raises(ValueError, match="at least 1 voice, got 0"):
        osc.unison_offsets_cents(0, 10.0)


def test_stepped_phase_matches_the_running_sum_and_continues_across_blocks():
    from synth.dsp.oscillators import expand_steps, phase_ramp, stepped_phase

    sr, step = 44100, 32
    steps = 440.0 * 2 ** (np.sin(np.arange(300) / 9.0) * 0.5 / 12)     # vibrato, per step
    n = 300 * step - 7                                                  # a short last run
    per_sample, end = phase_ramp(np.repeat(steps, step)[:n], sr=sr, phase=0.25)
    starts, inc, out = stepped_phase(steps, sr=sr, n=n, step=step, phase=0.25)
    stepped = expand_steps(starts, inc, step=step, n=n)
    assert np.max(np.abs(stepped - per_sample)) < 1e-9      # cycles, after ~3000 cycles
    assert abs(out - end) < 1e-9
    # two blocks on the run grid give the one-pass phases exactly
    s1, i1, mid = stepped_phase(steps[:100], sr=sr, n=100 * step, step=step, phase=0.25)
    s2, i2, out2 = stepped_phase(steps[100:], sr=sr, n=n - 100 * step, step=step, phase=mid)
    joined = np.concatenate([expand_steps(s1, i1, step=step, n=100 * step),
                             expand_steps(s2, i2, step=step, n=n - 100 * step)])
    assert np.array_equal(joined, stepped) and out2 == out
    with pytest.raises(ValueError, match="need 300 frequency steps for n=9593, got 299"):
        stepped_phase(steps[:299], sr=sr, n=n, step=step)


@pytest.mark.parametrize("shape", ["saw", "square", "sine"])
def test_stepped_unison_stack_equals_the_stack_read_from_the_centre_phase(shape):
    from synth.dsp.oscillators import expand_steps, stack_sum, stack_sum_stepped, stepped_phase

    sr, step = 44100, 32
    steps = 220.0 * 2 ** (np.sin(np.arange(1500) / 40.0) * 0.3 / 12)
    n = 1500 * step - 5
    starts, inc, _ = stepped_phase(steps, sr=sr, n=n, step=step)
    ratios, offsets = np.array([0.9965, 1.0, 1.0035]), np.array([0.1, 0.5, 0.77])
    top = float(steps.max() * ratios.max())
    got = stack_sum_stepped(shape, starts, inc, ratios, offsets, step=step, n=n, sr=sr,
                            max_freq=top)
    want = stack_sum(shape, expand_steps(starts, inc, step=step, n=n), ratios, offsets,
                     sr=sr, max_freq=top)
    assert got.shape == (n,)
    assert np.max(np.abs(got - want)) < 1e-8


def test_pink_filter_sections_have_the_transfer_function_of_its_coefficients():
    from synth.dsp.filters import sos_response

    f = np.geomspace(5.0, 20000.0, 200)
    z = np.exp(-2j * np.pi * f / 44100)
    direct = (np.polyval(osc._PINK_B[::-1], z) / np.polyval(osc._PINK_A[::-1], z)) * osc._PINK_GAIN
    sections = sos_response(osc._pink_sos(), f, sr=44100)
    assert np.max(np.abs(sections / direct - 1)) < 1e-9
