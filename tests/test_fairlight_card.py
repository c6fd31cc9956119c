"""The CMI-01A channel card as MAME's cmi01a.cpp (update_filters()) models it: the SSM2045
output filter and its cutoff law, the 8-bit envelope counter whose speed depends on its level,
and changes taken at zero crossings; plus Mode-4 sustain loops."""

from __future__ import annotations

import numpy as np
import pytest

from synth.dsp import fairlight, filters
from synth.dsp.modulation import cmi_envelope_length


# ---------------------------------------------------------------- the SSM2045 cutoff law

def _octave_base(octave):
    """Lowest clock of octave register ``octave`` at the centre tune (the IIx divider)."""
    f_master = (3840 + 128) * (34.291712e6 / 2) / 4096
    return f_master / 16 / 2 ** (8 - octave) / 2


def test_cutoff_law_is_6410_hz_times_1_02162_to_the_fval_minus_256():
    mid3 = 1.5 * _octave_base(3)                        # a clock in octave register 3
    assert fairlight.octave_register(mid3)[0] == 3
    # fval = 3 * 32 + 160 = 256: exactly the reference
    assert fairlight.ssm2045_cutoff(mid3, 160) == pytest.approx(6410.0, rel=1e-12)
    assert fairlight.ssm2045_cutoff(mid3, 100) == pytest.approx(6410.0 * 1.02162 ** -60, rel=1e-12)
    # one octave register up: x 1.02162 ** 32 = 1.98 (about an octave)
    ratio = fairlight.ssm2045_cutoff(2 * mid3, 100) / fairlight.ssm2045_cutoff(mid3, 100)
    assert ratio == pytest.approx(1.02162 ** 32, rel=1e-12) and 1.97 < ratio < 1.99
    # capped at 14 kHz
    assert fairlight.ssm2045_cutoff(mid3, 255) == 14000.0


def test_octave_tracking_steps_while_per_note_tracking_follows_the_pitch():
    base = _octave_base(2)
    clocks = base * 2 ** np.linspace(0.02, 1.98, 99)   # across the octave 2 -> 3 boundary
    stepped = fairlight.ssm2045_cutoff(clocks, 120, tracking="octave")
    smooth = fairlight.ssm2045_cutoff(clocks, 120, tracking="note")
    assert len(np.unique(np.round(stepped, 6))) == 2          # one value per octave register
    below, above = stepped[clocks < 2 * base], stepped[clocks >= 2 * base]
    assert above[0] / below[-1] == pytest.approx(1.02162 ** 32, rel=1e-9)
    steps = np.diff(np.log2(smooth))
    assert np.all(steps > 0)                                   # rises with every note
    assert np.max(steps) < 3 * np.median(steps)                # no jump at the boundary
    # per-note tracking is the octave law plus 32 x the position within the octave
    assert smooth[0] == pytest.approx(stepped[0] * 1.02162 ** (32 * 0.02), rel=1e-9)


@pytest.mark.parametrize("bad, match", [
    (dict(latch=300), r"latch must lie in 0\.\.255"),
    (dict(latch=100, tracking="semitone"), r"tracking must be one of"),
])
def test_cutoff_law_refuses_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        fairlight.ssm2045_cutoff(20000.0, **bad)


# ---------------------------------------------------------------- the SSM2045 response

def _analogue_db(f, fc):
    """The two stages' analogue response, written from the stage formula
    H(s) = 1 / ((s/w)^2 + d s/w + 1) (stage 1: fc, d 1.81659; stage 2: 1.22474 fc, d 1.48324)."""
    s = 2j * np.pi * np.asarray(f)
    h = np.ones_like(s)
    for ratio, damping in ((1.0, 1.81659021245849), (1.22474487139159, 1.48323969741913)):
        w = 2 * np.pi * fc * ratio
        h = h / ((s / w) ** 2 + damping * s / w + 1)
    return 20 * np.log10(np.abs(h))


def test_ssm2045_design_matches_the_two_unequal_stages():
    sr, fc = 192000.0, 2000.0
    sos = fairlight.design_ssm2045(fc, sr=sr)
    assert sos.shape == (2, 6)
    f = np.array([50.0, 500.0, 1000.0, 1832.0, 3000.0, 6000.0])
    digital = 20 * np.log10(np.abs(filters.sos_response(sos, f, sr=sr)))
    np.testing.assert_allclose(digital, _analogue_db(f, fc), atol=0.15)
    # -6 dB at 0.916 fc (where the bilinear transform is prewarped), no peak
    at = 20 * np.log10(np.abs(filters.sos_response(sos, [0.916 * fc], sr=sr)[0]))
    assert at == pytest.approx(_analogue_db(0.916 * fc, fc), abs=1e-6)
    assert -6.5 < at < -5.5
    grid = np.linspace(1.0, 20000.0, 4000)
    assert np.max(np.abs(filters.sos_response(sos, grid, sr=sr))) <= 1.0 + 1e-9
    # 4 poles: 24 dB per octave far above the cutoff
    hi = 20 * np.log10(np.abs(filters.sos_response(sos, [4 * fc, 8 * fc], sr=sr)))
    assert 22.0 < hi[0] - hi[1] < 26.0


def test_ssm2045_is_held_inside_the_band_at_low_sample_rates():
    sos = fairlight.design_ssm2045(14000.0, sr=22050.0)
    h = np.abs(filters.sos_response(sos, [100.0, 10000.0], sr=22050.0))
    assert np.all(np.isfinite(h)) and h[0] == pytest.approx(1.0, abs=1e-3)


def test_voice_with_a_latch_uses_the_ssm2045_at_the_octave_cutoff():
    sr = 44100
    table = np.zeros((1, 128))
    table[0, 0] = 1.0                                   # an impulse a cycle: every harmonic equal
    f0 = 220.0
    clock = fairlight.quantize_clock(fairlight.mode1_clock(f0))
    y, state = fairlight.voice(table, f0, sr=sr, n=sr, latch=140)
    fc = fairlight.ssm2045_cutoff(clock, 140)
    expected = fairlight.design_ssm2045(float(fc), sr=sr)
    np.testing.assert_array_equal(state.sos, expected)


# ---------------------------------------------------------------- the envelope counter

def _divider(level, up):
    """The rate multiplier's setting, from the counter's bits (written out again here)."""
    source = 255 - level if up else level
    return ((source >> 2) & 0x3C) | 3


def _holds(env):
    """(level, samples held) of each run of a piecewise-constant counter output."""
    levels = np.round(env * 255).astype(int)
    edges = np.flatnonzero(np.diff(levels)) + 1
    starts = np.concatenate([[0], edges])
    lengths = np.diff(np.concatenate([starts, [len(levels)]]))
    return levels[starts], lengths


def test_envelope_counter_speed_depends_on_its_level():
    sr = 100000.0
    # a 4 s release from full level: each count lasts 64 / divider base periods
    gate = 1000
    env = fairlight.channel_card_envelope(int(6 * sr), sr=sr, gate_samples=gate, attack=0.0,
                                          damping=3.0, zero_crossing_samples=1.0)
    assert np.all(np.diff(np.round(env * 255)) <= 0)             # only down
    levels, lengths = _holds(env[gate:])
    run = {int(lv): int(n) for lv, n in zip(levels, lengths)}
    base = run[200] * _divider(200, False) / 64.0
    for level in (250, 130, 64, 20, 10, 3):
        predicted = 64.0 / _divider(level, False) * base
        assert run[level] == pytest.approx(predicted, rel=0.01, abs=1.5), level
    assert run[5] > 15 * run[250]                                  # slow near the end
    # roughly exponential above -24 dB: each halving of the level takes about as long
    t = np.array([np.argmax(env[gate:] <= lv / 255) for lv in (255, 128, 64, 32)])
    halvings = np.diff(t)
    assert np.max(halvings) < 1.6 * np.min(halvings)
    # the attack: fast at the bottom, slow near the top
    rise = fairlight.channel_card_envelope(int(2 * sr), sr=sr, gate_samples=int(2 * sr), attack=1.0,
                                           damping=1.0, zero_crossing_samples=1.0)
    levels, lengths = _holds(rise)
    run = {int(lv): int(n) for lv, n in zip(levels, lengths)}
    assert run[250] == pytest.approx(run[5] * _divider(5, True) / _divider(250, True), rel=0.02)
    assert rise[int(1.0 * sr) + 10] == 1.0 and rise[0] == 0.0


def test_envelope_changes_only_at_zero_crossings():
    sr = 10000.0
    zc = 37.5                                            # pulses every 37.5 samples
    gate = 1000                                          # between pulses 26 (975) and 27 (1012.5)
    env = fairlight.channel_card_envelope(3000, sr=sr, gate_samples=gate, attack=0.0, damping=0.1,
                                          zero_crossing_samples=zc)
    first_fall = int(np.flatnonzero(env < 1.0)[0])
    # the release turns at the first pulse at or after the key-up (1012.5), and
    # the first count follows one count period (64/63 x 1.38 samples) later
    assert 1012.5 < first_fall <= 1012.5 + 2
    assert np.all(env[:first_fall] == 1.0)
    late = fairlight.channel_card_envelope(3000, sr=sr, gate_samples=1013, attack=0.0, damping=0.1,
                                           zero_crossing_samples=zc)
    assert 1050.0 < int(np.flatnonzero(late < 1.0)[0]) <= 1050.0 + 2   # waits for pulse 28
    # the turn from the attack to the held decay, too
    env = fairlight.channel_card_envelope(3000, sr=sr, gate_samples=2500, attack=0.0105,
                                          damping=0.1, held_damping=0.2, zero_crossing_samples=zc)
    top = int(np.flatnonzero(env == 1.0)[0])
    fall = int(np.flatnonzero((env < 1.0) & (np.arange(3000) > top))[0])
    pulse = np.ceil(top / zc) * zc
    assert pulse < fall <= pulse + 4                 # one count period (2.9 samples) after it


def test_envelope_fits_the_announced_note_length_and_joins_blocks():
    sr = 22050.0
    gate = 5000
    total = cmi_envelope_length(gate, sr=sr, damping=0.4)
    kwargs = dict(sr=sr, gate_samples=gate, attack=0.05, damping=0.4, zero_crossing_samples=300.0)
    env = fairlight.channel_card_envelope(total, **kwargs)
    assert env[-1] == 0.0 and env[gate - 1] > 0.9
    a = fairlight.channel_card_envelope(3333, **kwargs)
    b = fairlight.channel_card_envelope(total - 3333, start=3333, **kwargs)
    np.testing.assert_array_equal(np.concatenate([a, b]), env)


# ---------------------------------------------------------------- Mode-4 loops

def test_envelope_counter_equals_its_numpy_formulation():
    # the events (counted in a kernel) and the hold, bit for bit, over attack, held
    # decay and release, notes shorter than the attack, no attack, and blocks
    from fairlight_oracle import card_envelope_numpy

    rng = np.random.default_rng(11)
    sr = 44100.0
    for _ in range(120):
        kwargs = dict(sr=sr, gate_samples=int(rng.integers(1, 40000)),
                      attack=float(rng.choice([0.0, rng.uniform(0.001, 0.6)])),
                      damping=float(rng.choice([0.0, rng.uniform(0.01, 1.5)])),
                      zero_crossing_samples=float(rng.uniform(2.0, 400.0)),
                      held_damping=None if rng.random() < 0.4 else float(rng.uniform(0.05, 3.0)))
        n, start = int(rng.integers(0, 60000)), int(rng.integers(0, 20000))
        got = fairlight.channel_card_envelope(n, start=start, **kwargs)
        assert np.array_equal(got, card_envelope_numpy(n, start=start, **kwargs)), kwargs


def test_a_mode4_loop_jumps_from_its_end_back_to_its_start():
    stored = fairlight.quantize_8bit(np.sin(np.arange(1000) * 0.37) * 0.9)
    clock = 8000.0
    y, _ = fairlight.play(stored, clock, sr=8000.0, n=3000, loop=(600, 1000),
                          bandlimited=False)
    ticks = np.arange(3000)
    index = np.where(ticks >= 1000, 600 + (ticks - 600) % 400, ticks)
    np.testing.assert_array_equal(y, stored[index])
    one_shot, _ = fairlight.play(stored, clock, sr=8000.0, n=3000, bandlimited=False)
    assert np.all(one_shot[1000:] == 0.0)
    with pytest.raises(ValueError, match=r"loop must be \(start, end\)"):
        fairlight.play(stored, clock, sr=8000.0, n=10, loop=(600, 1200))
