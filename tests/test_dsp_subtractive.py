"""The voice's fused kernel (synth/dsp/subtractive.py) against the stages run one by one.

The oracles are NumPy formulations of each stage (the table read, the unison
stack, the AC-coupled pulse) and SciPy's ``sosfilt`` for the filter; the
envelope stage is :func:`synth.dsp.envelopes.adsr`, whose own oracle is in
tests/test_dsp_envelopes.py.  Fused, the samples must be the same bit for bit.
"""

import numpy as np
import pytest
from scipy.signal import sosfilt

from synth.dsp import envelopes, filters, oscillators, subtractive

SR = 22050.0


def _read(table, slopes, phases):
    pos = phases * len(table)
    whole = np.floor(pos)
    index = whole.astype(np.int64) & (len(table) - 1)
    return table[index] + slopes[index] * (pos - whole)


def _filter_runs(y, designs, bounds):
    zi = np.zeros((designs.shape[1], 2))
    out = np.empty_like(y)
    for sos, lo, hi in zip(designs, bounds[:-1], bounds[1:]):
        out[lo:hi], zi = sosfilt(sos, y[lo:hi], zi=zi)
    return out, zi


def _swept_designs(m):
    cutoffs = [300.0, 420.0, 600.0, 850.0, 1200.0]
    designs = np.array([filters.design_filter("lowpass", c, sr=SR, q=1.3, order=4)
                        for c in cutoffs])
    bounds = np.array([0, 1024, 2080, 5000, 8000, m], dtype=np.int64)   # across blocks
    return designs, bounds


ADSR = dict(gate_samples=9000, attack=0.05, decay=0.1, sustain=0.4, release=0.2)


@pytest.mark.parametrize("curve", ["linear", "exp"])
def test_fixed_unison_filter_and_adsr_fused_equal_the_stages(curve):
    m, start = 11_111, 777
    table, slopes = oscillators.wavetable("saw", 150.0, sr=SR)
    inc = np.array([147.0, 150.0, 152.5]) / SR
    p0 = np.array([0.1, 0.6, 0.35])
    designs, bounds = _swept_designs(m)
    state = np.zeros((2, 2))
    read = subtractive.TableRead(subtractive.FIXED, table, slopes, start=start, increments=inc,
                                 phases0=p0)
    seg = envelopes.adsr_segments(sr=SR, curve=curve, start=start, peak=0.3, **ADSR)
    y = subtractive.render_piece(m, read, designs, bounds, state, adsr=seg)
    k = np.arange(start, start + m, dtype=np.float64)
    voices = [_read(table, slopes, k * i + p) for i, p in zip(inc, p0)]
    source = (voices[0] + voices[1]) + voices[2]
    filtered, zf = _filter_runs(source, designs, bounds)
    env = envelopes.adsr(m, sr=SR, curve=curve, start=start, peak=0.3, **ADSR)
    assert np.array_equal(y, filtered * env)
    assert np.array_equal(state, zf)


def test_stepped_stack_fused_equals_the_numpy_stack_times_the_envelope():
    rng = np.random.default_rng(4)
    m, step = 6_000, 32
    starts, inc, _ = oscillators.stepped_phase(200.0 * 2 ** rng.normal(0, 0.01, -(-m // step)),
                                               sr=SR, n=m, step=step, phase=0.25)
    ratios, offsets = 2.0 ** (np.array([-6.0, 0.0, 6.0]) / 1200.0), rng.uniform(0, 1, 3)
    table, slopes = oscillators.wavetable("square", 210.0, sr=SR)
    read = subtractive.TableRead(subtractive.STACK, table, slopes, run_starts=starts,
                                 run_increments=inc, ratios=ratios, offsets=offsets, step=step)
    env = rng.uniform(0.0, 1.0, m)
    y = subtractive.render_piece(m, read, envelope=env)
    ramp = np.arange(step, dtype=np.float64)
    expected = None
    for ratio, offset in zip(ratios, offsets):
        first = (ratio * starts + offset) * len(table)
        slope = (ratio * inc) * len(table)
        pos = (slope[:, None] * ramp + first[:, None]).reshape(-1)[:m]
        voice = _read(table, slopes, pos / len(table))     # pos / size * size: exact (power of 2)
        expected = voice if expected is None else expected + voice
    assert np.array_equal(y, expected * env)


@pytest.mark.parametrize("width", [0.0, 0.3])
def test_stepped_voice_and_pulse_fused_equal_the_expanded_phase_read(width):
    m, step = 5_000, 32
    starts, inc, _ = oscillators.stepped_phase(np.linspace(300.0, 330.0, -(-m // step)), sr=SR,
                                               n=m, step=step, phase=0.7)
    table, slopes = oscillators.wavetable("saw", 330.0, sr=SR)
    read = subtractive.TableRead(subtractive.STEPS, table, slopes, run_starts=starts,
                                 run_increments=inc, step=step, width=width)
    y = subtractive.render_piece(m, read)
    ph = oscillators.expand_steps(starts, inc, step=step, n=m)
    expected = _read(table, slopes, ph)
    if width:
        mean = 2.0 * width - 1.0
        expected = ((_read(table, slopes, ph - width) - expected) + mean) - mean
    assert np.array_equal(y, expected)


def test_given_samples_are_filtered_and_enveloped_and_the_state_carries_over():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, 9_000)
    designs, bounds = _swept_designs(9_000)
    env = rng.uniform(0, 1, 9_000)
    state = np.zeros((2, 2))
    # two pieces, the state carried, equal one pass through the stages
    cut = 4_096
    first = subtractive.render_piece(cut, x[:cut], designs[:3], np.array([0, 1024, 2080, cut]),
                                     state, envelope=env[:cut])
    second = subtractive.render_piece(9_000 - cut, x[cut:], designs[2:],
                                      np.array([0, 5000 - cut, 8000 - cut, 9_000 - cut]),
                                      state, envelope=env[cut:])
    expected, _ = _filter_runs(x, designs, bounds)
    assert np.array_equal(np.concatenate([first, second]), expected * env)
    # no envelope (a source that applied its own): the filtered samples themselves
    alone = subtractive.render_piece(9_000, x, designs, bounds, np.zeros((2, 2)))
    assert np.array_equal(alone, expected)


# ---------------------------------------------------------------- bells (sound_sources.spectral)

def _damped_partials_oracle(ratios, amps, decays, freq, sr, n, block=1024, start=0):
    """The NumPy formulation the compiled product replaced: two real einsums."""
    r, a, T = (np.asarray(v, dtype=np.float64) for v in (ratios, amps, decays))
    w = 2 * np.pi * r * freq / sr
    limit = oscillators.NYQUIST_FRACTION * 0.5 * sr
    fade = np.clip((limit - r * freq) / (0.1 * limit), 0.0, 1.0)
    keep = (fade > 0) & (a > 0)
    w, a, T = w[keep], (a * fade)[keep], T[keep]
    d = np.where(T > 0, 3.0 * np.log(10.0) / (np.where(T > 0, T, 1.0) * sr), 0.0)
    s = -d + 1j * w
    nb = -(-n // block)
    left = a[None, :] * np.exp(np.outer(np.arange(nb) * block + start, s))
    right = np.exp(np.outer(s, np.arange(block)))
    out = np.einsum("bp,pk->bk", np.ascontiguousarray(left.real),
                    np.ascontiguousarray(right.imag))
    out += np.einsum("bp,pk->bk", np.ascontiguousarray(left.imag),
                     np.ascontiguousarray(right.real))
    return out.ravel()[:n]


@pytest.mark.parametrize("n, start", [(5_000, 0), (3_001, 70_000), (1, 5)])
def test_damped_partials_equal_the_einsum_formulation(n, start):
    from synth.sound_sources.spectral import damped_partials

    args = ((0.5, 1.0, 1.183, 2.0, 7.9, 30.0), (0.3, 1.0, 0.5, 0.0, 0.2, 0.4),
            (6.0, 4.0, 0.0, 2.0, 0.5, 1.0), 523.25, SR)
    y = damped_partials(*args, n, start=start)
    assert y.shape == (n,)
    assert np.array_equal(y, _damped_partials_oracle(*args, n, start=start))
