"""Modulation sources at tiny sample rates, with hand-written expectations."""

from __future__ import annotations

import numpy as np
import pytest

from synth.dsp import modulation as mod


def test_multi_segment_breakpoints_fall_on_the_expected_samples():
    # sr = 10: 0 -> 1 over 0.2 s (2 samples), 1 -> 0.5 over 0.4 s, then hold
    env = mod.multi_segment(9, sr=10, levels=[0, 1, 0.5], times=[0.2, 0.4])
    assert env.tolist() == [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.5, 0.5]


def test_multi_segment_rounds_absolute_times_once():
    # three 0.15 s segments at sr = 10: boundaries at round(1.5)=2, round(3.0)=3, round(4.5)=4
    env = mod.multi_segment(6, sr=10, levels=[0, 1, 2, 3], times=[0.15, 0.15, 0.15])
    assert env.tolist() == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_multi_segment_zero_length_segment_is_a_jump_and_blocks_equal_one_pass():
    kw = dict(sr=10, levels=[1, 0, 0.8, 0], times=[0.3, 0.0, 0.5], curves=["linear", "linear", "exp"])
    whole = mod.multi_segment(12, **kw)
    assert whole[3] == 0.8 and whole[8] == 0.0 and whole[2] == pytest.approx(1 / 3)
    parts = np.concatenate([mod.multi_segment(5, **kw), mod.multi_segment(7, start=5, **kw)])
    assert np.array_equal(parts, whole)


def test_exp_curve_moves_fast_first_and_lands_exactly():
    env = mod.multi_segment(11, sr=10, levels=[0, 1], times=[1.0], curves="exp")
    expected = (1 - np.exp(-5 * np.arange(11) / 10)) / (1 - np.exp(-5))
    assert np.allclose(env, expected, rtol=0, atol=1e-15)
    assert env[10] == 1.0 and env[5] > 0.9


def test_multi_segment_validates_its_lists():
    with pytest.raises(ValueError, match="len\\(levels\\) == len\\(times\\) \\+ 1, got 2 levels and 2 times"):
        mod.multi_segment(4, sr=10, levels=[0, 1], times=[0.1, 0.1])
    with pytest.raises(ValueError, match="unknown segment curve 'log'"):
        mod.multi_segment(4, sr=10, levels=[0, 1], times=[0.1], curves="log")


def test_cmi_envelope_hand_computed():
    # sr = 10, attack 0.4 s (4 samples), key up at sample 6, damping 0.3 s
    # -> the 80 dB fall takes round(0.3 * 80/60 * 10) = 4 samples: 20 dB per sample
    env = mod.cmi_envelope(12, sr=10, gate_samples=6, attack=0.4, damping=0.3)
    floor = 1e-4
    fall = [(10 ** (-k / 20 * 20) - floor) / (1 - floor) for k in range(5)]   # 0, -20, -40, -60, -80 dB
    expected = [0.0, 0.25, 0.5, 0.75, 1.0, 1.0] + fall + [0.0]
    assert np.allclose(env, expected, rtol=0, atol=1e-15)
    assert env[10] == 0.0
    assert mod.cmi_envelope_length(6, sr=10, damping=0.3) == 11


def test_cmi_held_damping_decays_60db_in_its_time():
    sr = 100
    env = mod.cmi_envelope(400, sr=sr, gate_samples=1000, attack=0.0, damping=1.0, held_damping=2.0)
    assert env[0] == 1.0
    assert 20 * np.log10(env[200]) == pytest.approx(-60.0, abs=1e-9)


def test_cmi_release_starts_from_the_level_reached():
    env = mod.cmi_envelope(8, sr=10, gate_samples=2, attack=0.4, damping=0.3)
    assert env[2] == 0.5 and env[3] == pytest.approx(0.5 * (0.1 - 1e-4) / (1 - 1e-4))


def test_glide_and_pitch_envelope_endpoints():
    g = mod.glide(6, sr=10, from_pitch=60, to_pitch=64, time=0.4)
    assert g.tolist() == [60.0, 61.0, 62.0, 63.0, 64.0, 64.0]
    p = mod.pitch_envelope(6, sr=10, semitones=12, time=0.3, curve="exp")
    assert p[0] == 12.0 and p[3] == 0.0 and p[1] < 6.0       # falls fast first
    g2 = mod.glide(3, sr=10, from_pitch=60, to_pitch=64, time=0.4, start=3)
    assert np.array_equal(g2, g[3:])


def test_lfo_shapes_at_8_samples_per_cycle():
    sine, _ = mod.lfo("sine", 1.0, sr=8, n=9)
    assert np.allclose(sine, np.sin(2 * np.pi * np.arange(9) / 8), atol=1e-15)
    tri, _ = mod.lfo("triangle", 1.0, sr=8, n=9)
    assert tri.tolist() == [0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5, 0.0]
    sq, _ = mod.lfo("square", 1.0, sr=8, n=9)
    assert sq.tolist() == [1, 1, 1, 1, -1, -1, -1, -1, 1]
    saw, _ = mod.lfo("saw", 1.0, sr=8, n=9)
    assert saw.tolist() == [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, -1.0]


def test_sample_and_hold_holds_per_cycle_and_follows_the_seed():
    from synth.seeds import rng
    # 4 samples per cycle with an increment exact in binary (0.25)
    y, _ = mod.lfo("sample_hold", 2.0, sr=8, n=16, rng=rng(1, "lfo"))
    cycles = y.reshape(4, 4)
    assert np.all(cycles == cycles[:, :1])                  # constant within each 4-sample cycle
    assert len(np.unique(cycles[:, 0])) == 4 and np.all(np.abs(y) <= 1)
    again, _ = mod.lfo("sample_hold", 2.0, sr=8, n=16, rng=rng(1, "lfo"))
    other, _ = mod.lfo("sample_hold", 2.0, sr=8, n=16, rng=rng(2, "lfo"))
    assert np.array_equal(y, again) and not np.array_equal(y, other)
    with pytest.raises(ValueError, match="sample_hold LFO needs rng"):
        mod.lfo("sample_hold", 2.0, sr=10, n=20)


def test_vibrato_and_tremolo_depths():
    values, _ = mod.lfo("sine", 5.0, sr=1000, n=1000)
    f = mod.vibrato(440.0, values, depth_cents=50.0)
    cents = 1200 * np.log2(f / 440.0)
    assert cents.max() == pytest.approx(50.0, abs=1e-9) and cents.min() == pytest.approx(-50.0, abs=1e-9)
    gain = mod.tremolo(values, 0.5)
    assert gain.max() == pytest.approx(1.0) and gain.min() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown LFO shape 'noise'"):
        mod.lfo("noise", 1.0, sr=10, n=4)


def test_cmi_envelope_follows_its_definition_and_joins_in_blocks():
    rng = np.random.default_rng(11)
    sr = 8000
    c = 80 / 20 * np.log(10)
    for _ in range(30):
        a, g, r = int(rng.integers(0, 900)), int(rng.integers(1, 4000)), int(rng.integers(1, 3000))
        held_damping = float(rng.choice([0.2, 1.5])) if rng.random() < 0.7 else None
        damping = r / sr * 60 / 80
        r = round(damping * 80 / 60 * sr)
        n = g + r + 1
        k = np.arange(n, dtype=np.float64)

        def held(i):
            level = np.where(i < a, i / max(a, 1), 1.0)
            if held_damping is not None:
                level = level * np.exp(-np.log(1000) * np.maximum(i - a, 0) / (held_damping * sr))
            return level

        x = np.clip((k - g) / r, 0, 1)
        want = np.where(k < g, held(k), held(np.float64(g)) * (np.exp(-c * x) - np.exp(-c))
                        / (1 - np.exp(-c)))
        env = mod.cmi_envelope(n, sr=sr, gate_samples=g, attack=a / sr, damping=damping,
                               held_damping=held_damping)
        assert np.max(np.abs(env - want)) < 1e-12
        # the release starts from exactly the level the held key had reached
        still_held = mod.cmi_envelope(1, sr=sr, gate_samples=n + 10, attack=a / sr,
                                      damping=damping, held_damping=held_damping, start=g)[0]
        assert env[g + r] == 0.0 and env[g] == still_held
        cuts = np.sort(rng.integers(0, n, 4))
        parts = [mod.cmi_envelope(hi - lo, sr=sr, gate_samples=g, attack=a / sr, damping=damping,
                                  held_damping=held_damping, start=lo)
                 for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n])]
        assert np.array_equal(np.concatenate(parts), env)


@pytest.mark.parametrize("shape", ["triangle", "sample_hold"])
def test_lfo_state_is_typed_and_blocks_equal_one_pass(shape):
    from synth.dsp.modulation import LfoState, lfo

    whole, _ = lfo(shape, 7.0, sr=1000, n=700, rng=np.random.default_rng(3))
    rng = np.random.default_rng(3)
    first, state = lfo(shape, 7.0, sr=1000, n=250, rng=rng)
    assert type(state) is LfoState
    second, _ = lfo(shape, 7.0, sr=1000, n=450, rng=rng, state=state)
    assert np.array_equal(np.concatenate([first, second]), whole)
