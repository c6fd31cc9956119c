"""The Fairlight CMI voice, measured: 8-bit steps before the envelope, images
on harmonics of the played pitch, Mode-1 scanning and Mode-4 duration,
the IIx clock law, voice stealing."""

from __future__ import annotations

import numpy as np
import pytest

from fairlight_oracle import play_mode1
from synth.dsp import fairlight as fl
from synth.dsp.oscillators import BLEP_LATENCY

SR = 44100


def spectrum(x):
    w = np.kaiser(len(x), 20.0)
    s = np.abs(np.fft.rfft(x * w))
    return s / s.max(), np.fft.rfftfreq(len(x), 1.0 / SR)


def bright_cycle():
    """One 128-sample cycle with harmonics 1, 3, 7, 21, 32 (an 8-bit-ish organ)."""
    amps = np.zeros((1, 32))
    amps[0, [0, 2, 6, 20, 31]] = [1.0, 0.5, 0.3, 0.2, 0.1]
    return fl.mode1_table_from_harmonics(amps)


def test_quantize_8bit_is_on_the_1_128_grid_clipped_and_idempotent():
    x = np.array([-1.5, -1.0, -0.5004, 0.0, 0.3, 0.99, 1.0, 2.0])
    q = fl.quantize_8bit(x)
    assert np.array_equal(q * 128, [-128, -128, -64, 0, 38, 127, 127, 127])
    assert np.array_equal(fl.quantize_8bit(q), q)
    with pytest.raises(ValueError, match="NaN or infinite"):
        fl.quantize_8bit([0.0, np.nan])


def test_held_signal_takes_only_stored_8bit_values():
    stored = fl.quantize_8bit(bright_cycle())
    held, _ = play_mode1(stored, fl.mode1_clock(187.3), sr=SR, n=5000, bandlimited=False)
    codes = held * 128
    assert np.array_equal(codes, np.round(codes))                     # on the 1/128 grid
    assert set(np.unique(held)) <= set(np.unique(stored))
    assert len(np.unique(held)) > 50                                   # and it does move through them


def test_quantisation_noise_rides_the_envelope():
    """Quantised before the VCA: a quiet note has the same signal-to-noise ratio as a loud one."""
    cycle = bright_cycle()
    clock = fl.mode1_clock(220.0)
    exact, _ = play_mode1(cycle, clock, sr=SR, n=SR // 2)           # unquantised reference
    snr = []
    for level in (1.0, 0.01):
        env = np.full(SR // 2, level)
        y, _ = fl.voice(cycle, 220.0, sr=SR, n=SR // 2, series="I", envelope=env, brightness=None)
        noise = y - level * exact
        snr.append(10 * np.log10(np.sum((level * exact) ** 2) / np.sum(noise ** 2)))
    assert snr[0] == pytest.approx(snr[1], abs=0.01)
    assert 30 < snr[0] < 60                                             # 8 bits: about 40 dB here
    # quantising *after* the envelope (not the CMI) would lose ~40 dB at the quiet level
    late = play_mode1(fl.quantize_8bit(0.01 * cycle), clock, sr=SR, n=SR // 2)[0]
    late_snr = 10 * np.log10(np.sum((0.01 * exact) ** 2) / np.sum((late - 0.01 * exact) ** 2))
    assert late_snr < snr[1] - 20


@pytest.mark.parametrize("method", ["voice", "steps"])
@pytest.mark.parametrize("f0", [110.0, 123.47])
def test_images_sit_on_harmonics_of_the_played_pitch(f0, method, capsys):
    if method == "voice":
        y, _ = fl.voice(bright_cycle(), f0, sr=SR, n=SR, series="I", brightness=None)
    else:                                             # the band-limited steps of every tick
        y, _ = play_mode1(fl.quantize_8bit(bright_cycle()), fl.mode1_clock(f0), sr=SR, n=SR)
    s, f = spectrum(y[2000:])
    k = np.round(f / f0)
    near = (np.abs(f - k * f0) < 20) & (k >= 1)
    off_db = 20 * np.log10(s[~near & (f > 20)].max())
    # the images of a 128-sample cycle clocked at 128 f0 are there: harmonics 96..160
    image_db = 20 * np.log10(s[near & (k > 64) & (k < 200)].max())
    with capsys.disabled():
        print(f"\n[measured] CMI voice ({method}) at {f0} Hz: images up to {image_db:.1f} dB, "
              f"strongest off-harmonic component {off_db:.1f} dB")
    assert image_db > -50.0
    assert off_db < -120.0


def test_naive_hold_would_alias_off_the_harmonics():
    """The engine's band-limited steps are what keeps the spectrum on the harmonics."""
    stored = fl.quantize_8bit(bright_cycle())
    naive, _ = play_mode1(stored, fl.mode1_clock(110.0), sr=SR, n=SR, bandlimited=False)
    s, f = spectrum(naive[2000:])
    k = np.round(f / 110.0)
    near = (np.abs(f - k * 110.0) < 20) & (k >= 1)
    assert 20 * np.log10(s[~near & (f > 20)].max()) > -60.0


def test_band_limited_hold_follows_the_naive_hold_delayed():
    stored = fl.quantize_8bit(bright_cycle())
    clock = fl.mode1_clock(5.0)                        # slow clock: long flat steps (69 samples)
    naive, _ = play_mode1(stored, clock, sr=SR, n=20000, bandlimited=False)
    bl, _ = play_mode1(stored, clock, sr=SR, n=20000)
    diff = np.abs(bl[BLEP_LATENCY:] - naive[:-BLEP_LATENCY])
    assert np.median(diff) < 1e-3


def test_output_filter_damps_the_images():
    raw, _ = fl.voice(bright_cycle(), 110.0, sr=SR, n=SR, series="I", brightness=None)
    filt, _ = fl.voice(bright_cycle(), 110.0, sr=SR, n=SR, series="I", brightness=0.5)
    open_, _ = fl.voice(bright_cycle(), 110.0, sr=SR, n=SR, series="I", brightness=1.0)

    def band_db(x, lo, hi):
        s = np.abs(np.fft.rfft(x[2000:]))
        f = np.fft.rfftfreq(len(x) - 2000, 1.0 / SR)
        return 10 * np.log10(np.sum(s[(f > lo) & (f < hi)] ** 2))
    images = (110 * 96, 110 * 160)
    # cutoff at clock/4 = the 32nd harmonic: images (3x the cutoff and up) lose ~20 dB
    assert band_db(filt, *images) < band_db(raw, *images) - 15
    assert band_db(raw, *images) - 15 < band_db(open_, *images) < band_db(raw, *images) - 5
    assert band_db(filt, 100, 1000) == pytest.approx(band_db(raw, 100, 1000), abs=0.5)


def test_mode1_moves_to_the_next_segment_after_its_loops():
    table = np.zeros((2, 128))
    table[0] = 0.5 * np.sin(2 * np.pi * np.arange(128) / 128)
    table[1] = 0.5 * np.sin(2 * np.pi * 3 * np.arange(128) / 128)
    f0, loops = 100.0, 7
    held, _ = play_mode1(fl.quantize_8bit(table), fl.mode1_clock(f0), sr=SR, n=SR // 5, loops=loops,
                         bandlimited=False)
    switch = int(np.ceil(loops / f0 * SR))             # tick 128 * loops at clock 128 f0
    first, second = held[:switch - 2], held[switch + 2: switch + 2 + 441]
    assert np.abs(np.fft.rfft(first[:441 * 3]))[3] > 10 * np.abs(np.fft.rfft(first[:441 * 3]))[9]
    assert np.abs(np.fft.rfft(second))[3] > 10 * np.abs(np.fft.rfft(second))[1]
    # and the segment lasts about as long at any pitch when loops follow mode1_loops
    assert fl.mode1_loops(100.0, 0.05) / 100.0 == pytest.approx(fl.mode1_loops(400.0, 0.05) / 400.0)


def test_mode4_sample_lasts_its_length_at_the_root_and_half_an_octave_up():
    rate = 24000.0
    sample = np.full(2400, 0.5)                         # 0.1 s at 24 kHz
    for freq, seconds in [(261.6255653005986, 0.1), (2 * 261.6255653005986, 0.05)]:
        clock = fl.mode4_clock(freq, root_freq=261.6255653005986, rate_hz=rate)
        held, _ = fl.play(sample, clock, sr=SR, n=SR // 4, bandlimited=False)
        sounding = np.flatnonzero(held != 0)
        assert sounding[-1] + 1 == pytest.approx(seconds * SR, abs=1)


def test_mode1_table_from_harmonics_has_the_pages_amplitudes():
    amps = np.zeros((3, 32))
    amps[0, 0], amps[1, 4], amps[2, [1, 2]] = 1.0, 0.5, [0.25, 0.25]
    table = fl.mode1_table_from_harmonics(amps)
    assert np.max(np.abs(table)) == pytest.approx(127 / 128)
    mags = np.abs(np.fft.rfft(table, axis=1)) * 2 / 128
    scale = mags[0, 1]
    assert mags[1, 5] == pytest.approx(0.5 * scale)
    assert mags[2, 2] == pytest.approx(0.25 * scale) and mags[2, 3] == pytest.approx(0.25 * scale)


def test_iix_clock_law_spans_the_documented_lowest_octave():
    low = fl.quantize_clock(2027.6)
    assert low == pytest.approx(2027.6, rel=1e-3)
    clocks = fl.quantize_clock(np.geomspace(2100.0, 400000.0, 500))
    rel = np.abs(clocks / np.geomspace(2100.0, 400000.0, 500) - 1)
    assert rel.max() < 1.0 / 1024                       # within one step of the 10-bit divider
    assert rel.max() > 1e-6                             # and it does quantise


@pytest.mark.parametrize("series, cents_tolerance", [("I", 0.01), ("II", 1.0)])
def test_series_pitch(series, cents_tolerance):
    cycle = np.sin(2 * np.pi * np.arange(128) / 128)[None, :]
    y, _ = fl.voice(cycle, 443.0, sr=SR, n=SR, series=series, brightness=None)
    zc = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    zc = zc[zc > 1000]                                  # past the onset
    t = zc + y[zc] / (y[zc] - y[zc + 1])
    f = (len(t) - 1) / ((t[-1] - t[0]) / SR)
    assert abs(1200 * np.log2(f / 443.0)) < cents_tolerance


def test_voice_stealing_takes_the_oldest_voice():
    starts = np.arange(9) * 100
    ends = np.full(9, 10_000)
    new_ends = fl.steal_voices(starts, ends, max_voices=8)
    assert new_ends[0] == 800 and np.all(new_ends[1:] == 10_000)
    assert np.array_equal(fl.steal_voices(starts, ends, max_voices=9), ends)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="Fairlight mode must be one of \\(1, 4\\), got 2"):
        fl.voice(np.zeros((1, 128)), 100.0, sr=SR, n=10, mode=2)
    with pytest.raises(ValueError, match="Mode 4 needs a 1-D sample, got shape \\(1, 128\\)"):
        fl.play(np.zeros((1, 128)), 1000.0, sr=SR, n=10)
    with pytest.raises(ValueError, match="Mode 1 needs a \\(segments, 128\\) table, got shape \\(64,\\)"):
        fl.voice(np.zeros(64), 100.0, sr=SR, n=10, mode=1)
    with pytest.raises(ValueError, match="clock_hz must be finite and > 0"):
        fl.play(np.zeros(128), 0.0, sr=SR, n=10)
    with pytest.raises(ValueError, match="unknown Fairlight series 'III'"):
        fl.voice(np.zeros((1, 128)), 100.0, sr=SR, n=10, series="III")


def test_sample_to_memory_resamples_to_the_series_rate_and_quantises():
    src = 44100.0
    x = 0.5 * np.sin(2 * np.pi * 1000.0 * np.arange(44100) / src)
    stored, rate = fl.sample_to_memory(x, source_rate_hz=src, series="I")
    assert rate == pytest.approx(24000.0, rel=1e-5)
    assert len(stored) == pytest.approx(24000, abs=2)
    assert np.array_equal(stored * 128, np.round(stored * 128))
    # the 1 kHz tone keeps its pitch at the new rate (zero crossings)
    zc = np.flatnonzero((stored[:-1] < 0) & (stored[1:] >= 0))
    assert (len(zc) - 1) * rate / (zc[-1] - zc[0]) == pytest.approx(1000.0, rel=2e-3)
    with pytest.raises(ValueError, match="recording rate must lie within \\(0, 30200.0\\] Hz"):
        fl.sample_to_memory(x, source_rate_hz=src, series="II", rate_hz=44100.0)


def test_sample_to_memory_cuts_to_the_memory_with_a_fade_and_normalises():
    src = 24000.0
    x = 0.25 * np.sin(2 * np.pi * 500.0 * np.arange(30000) / src)
    stored, rate = fl.sample_to_memory(x, source_rate_hz=src, series="I", max_words=16384,
                                       normalize=True)
    assert rate == 24000.0 and len(stored) == 16384               # same rate: not resampled, cut
    assert np.max(np.abs(stored)) == 127 / 128                     # the peak at 8-bit full scale
    fade = int(round(0.08 * rate))                                 # the last 80 ms fall to 0
    assert stored[-1] == 0.0 and np.max(np.abs(stored[-fade // 8:])) < 0.05   # cos: 0.038 there
    assert np.max(np.abs(stored[-2 * fade:-fade])) == 127 / 128
    # no series: any rate (a patch's own rate_hz), exact ratio of whole rates
    stored, rate = fl.sample_to_memory(x, source_rate_hz=src, series=None, rate_hz=44100.0)
    assert rate == 44100.0 and len(stored) == 55125
    with pytest.raises(ValueError, match="the recording is silent"):
        fl.sample_to_memory(np.zeros(100), source_rate_hz=src, normalize=True)
    with pytest.raises(ValueError, match="rate_hz is required when no series bounds it"):
        fl.sample_to_memory(x, source_rate_hz=src, series=None)
