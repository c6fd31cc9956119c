"""The drum kit and the built-in vowel sample, measured as kernels (arrays in, arrays out)."""

import numpy as np
import pytest

from conftest import cents, peak_frequency
from synth.dsp.drums import DRUM_KIT, decay_curve, drum_for_note, drum_hit, longest_decay
from synth.dsp.vowel import MIDDLE_C_HZ, PEAK, breathy_vowel

SR = 22050


def _hit(note, seconds=None, tune=1.0, seed=1):
    n = int((seconds or drum_for_note(note).decay) * SR)
    return drum_hit(note, sr=SR, n=n, tune=tune, rng=np.random.default_rng(seed))


def _band_share(x, lo, hi):
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1.0 / SR)
    return spec[(f >= lo) & (f < hi)].sum() / spec.sum()


def test_decay_curve_falls_60_db_and_ends_exactly_at_zero():
    c = decay_curve(10001)
    assert c[0] == 1.0 and c[-1] == 0.0 and np.all(np.diff(c) < 0)
    # halfway down an exponential of 60 dB: about -30 dB (the shift to 0 adds a little)
    assert 20 * np.log10(c[5000]) == pytest.approx(-30.0, abs=0.3)


def test_kick_body_settles_on_its_tuning_and_follows_tune():
    tuning = DRUM_KIT[36].tuning                      # 52 Hz
    late = slice(int(0.15 * SR), int(0.4 * SR))       # the sweep (25 ms) has settled
    f = peak_frequency(_hit(36)[late], SR, fmin=20, fmax=200)
    assert abs(cents(f, tuning)) < 25
    f_up = peak_frequency(_hit(36, tune=2.0)[late], SR, fmin=20, fmax=400)
    assert cents(f_up, f) == pytest.approx(1200, abs=10)


def test_hat_is_bright_and_kick_is_dark():
    assert _band_share(_hit(42, 0.06), 5000, SR / 2) > 0.8
    assert _band_share(_hit(36), 0, 200) > 0.8


def test_snare_rattle_puts_energy_above_1200_hz_where_a_tom_has_none():
    assert _band_share(_hit(38), 1200, SR / 2) > 0.3      # membrane tone + rattle
    assert _band_share(_hit(41), 1200, SR / 2) < 0.01     # a tom: sine body, skin at 4x


def test_an_unmapped_note_is_a_noise_hit_centred_on_its_pitch():
    assert drum_for_note(80).kind == "hit"
    x = _hit(80, 0.5)
    centre = 440 * 2 ** ((80 - 69) / 12)              # 830.6 Hz
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1.0 / SR)
    smooth = np.convolve(spec, np.ones(101) / 101, mode="same")     # 44 Hz wide
    assert abs(cents(f[np.argmax(smooth)], centre)) < 200           # a band-pass at the note


def test_hits_are_reproducible_per_generator_and_differ_between_seeds():
    np.testing.assert_array_equal(_hit(38, seed=5), _hit(38, seed=5))
    assert not np.array_equal(_hit(38, seed=5), _hit(38, seed=6))


def test_the_longest_drum_is_the_crash():
    assert longest_decay() == max(d.decay for d in DRUM_KIT.values()) == DRUM_KIT[49].decay


def test_vowel_sample_is_middle_c_with_an_open_vowel_formant():
    rate = 30000.0
    y = breathy_vowel(rate, np.random.default_rng(0).standard_normal(16384))
    assert len(y) == 16384 and np.max(np.abs(y)) == pytest.approx(PEAK, abs=1e-15)
    seg = y[2000:14000]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    f = np.fft.rfftfreq(len(seg), 1.0 / rate)
    level = [spec[np.abs(f - h * MIDDLE_C_HZ) < 8].max() for h in range(1, 9)]
    strongest = int(np.argmax(level)) + 1
    # the first formant (650 Hz) makes harmonic 2 or 3 the strongest, the fundamental weak
    assert strongest in (2, 3)
    assert 20 * np.log10(level[0] / max(level)) < -12
    # every harmonic of middle C: the pitch is C4 (the vibrato is 5 cents)
    assert abs(cents(peak_frequency(seg, rate, fmin=400, fmax=600), 2 * MIDDLE_C_HZ)) < 6
