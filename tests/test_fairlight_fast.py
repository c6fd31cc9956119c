"""The Mode-1 player of the Fairlight voice (a Fourier-series wavetable read,
compiled), measured against the band-limited-step reference (one step per
clock tick, ``fairlight_oracle.play_mode1``): same sound (difference far below
the signal, A1 to C7, with and without vibrato), exact staircase harmonics
(images included), nothing off the harmonic grid, blocks = one pass, and
the compiled kernels equal their NumPy formulation bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from fairlight_oracle import play_fourier_numpy, play_mode1
from synth.dsp import fairlight as fl

SR = 44100


def bell_table(segments=8):
    """A bright table whose upper harmonics die out over the segments (like cmi_bell)."""
    h = np.arange(1, 25)
    s = np.arange(segments)[:, None]
    pages = np.exp(-s * h[None, :] / 40.0) / h[None, :] ** 0.7
    return fl.quantize_8bit(fl.mode1_table_from_harmonics(pages))


def diff_db(a, b):
    return 10 * np.log10(np.sum((a - b) ** 2) / np.sum(b ** 2))


@pytest.mark.parametrize("midi", [33, 50, 62, 74, 86, 96])        # A1, D3, D4, D5, D6, C7
@pytest.mark.parametrize("vibrato_cents", [0.0, 10.0])
def test_fourier_path_equals_the_blep_reference(midi, vibrato_cents, capsys):
    n = int(0.25 * SR)
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    freq = f0 * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 6.0 * np.arange(n) / SR))
    loops = fl.mode1_loops(f0, 0.02)                             # segment switches every 20 ms
    table = bell_table()
    fast, _ = fl.voice(table, freq, sr=SR, loops=loops, series="II", brightness=None)
    ref, _ = play_mode1(table, fl.quantize_clock(fl.mode1_clock(freq)), sr=SR, loops=loops)
    d = diff_db(fast, ref)
    with capsys.disabled():
        print(f"\n[measured] midi {midi} vibrato {vibrato_cents} c: fourier - steps = {d:.1f} dB")
    assert d < -90.0                                             # measured -104 .. -133 dB


def test_switches_and_note_on_are_band_limited_steps_not_table_jumps():
    """Switching tables at the first sample after a segment boundary would
    leave a naive jump; the exact sum next to jumps removes it."""
    f0, n = 2093.0, int(0.2 * SR)
    table = bell_table()
    loops = fl.mode1_loops(f0, 0.02)
    ref, _ = play_mode1(table, fl.mode1_clock(f0), sr=SR, n=n, loops=loops)
    fast, _ = fl.play_fourier(table, fl.mode1_clock(f0), sr=SR, n=n, loops=loops)
    err = np.abs(fast - ref)
    assert err.max() < 1e-4 * np.abs(ref).max()
    # and the jumps are large enough that a naive switch would show: successive
    # segments differ at phase 0 by far more than that
    tables = fl.mode1_wavetables(table, 10)
    assert np.max(np.abs(np.diff(tables[:, 0]))) > 1e-2


def test_wavetables_hold_the_staircase_fourier_series_images_included():
    """Coefficients of the held 128-step staircase, integrated step by step
    in closed form, against the table's spectrum."""
    stored = bell_table(2)
    n_harmonics = 300                                           # well past the first images (127, 129)
    tables = fl.mode1_wavetables(stored, n_harmonics)
    size = tables.shape[1]
    spec = np.fft.rfft(tables, axis=1) / size
    h = np.arange(1, n_harmonics + 1)
    k = np.arange(128)
    w = 2 * np.pi * h[:, None] / 128
    # (1/128) * sum_k s_k * integral_k^{k+1} exp(-i w t) dt
    steps = (np.exp(-1j * w * k) - np.exp(-1j * w * (k + 1))) / (1j * w)
    expected = (steps @ stored.T).T / 128                        # (segments, harmonics)
    got = spec[:, 1:n_harmonics + 1]
    scale = np.abs(expected).max()
    assert np.max(np.abs(got - expected)) < 1e-12 * scale
    assert np.allclose(spec[:, 0], stored.mean(axis=1), atol=1e-15)
    assert np.max(np.abs(spec[:, n_harmonics + 1:])) < 1e-12 * scale     # nothing above
    image = np.abs(got[0, 126]) / np.abs(got[0, 0])              # harmonic 127: the first image
    assert 1e-3 < image < 0.1


@pytest.mark.parametrize("f0", [110.0, 123.47, 1046.5])
def test_nothing_off_the_harmonic_grid(f0):
    """One segment, steady pitch: every component (images and 8-bit noise
    included) on a harmonic of f0; off the grid only the window's skirts."""
    table = bell_table(1)
    y, _ = fl.voice(table, f0, sr=SR, n=SR // 2, series="I", brightness=None)
    x = y[2000:]
    s = np.abs(np.fft.rfft(x * np.kaiser(len(x), 20.0)))
    s /= s.max()
    f = np.fft.rfftfreq(len(x), 1.0 / SR)
    k = np.round(f / f0)
    near = (np.abs(f - k * f0) < 25) & (k >= 1)
    assert 20 * np.log10(s[~near & (f > 25)].max()) < -120.0     # measured below -150 dB
    if f0 < 200:                                                 # images below Nyquist are there
        assert 20 * np.log10(s[near & (k > 100) & (k < 160)].max()) > -60.0


@pytest.mark.parametrize("cuts", [(1,), (7, 40), (500, 501, 2222), (3001,)])
def test_blocks_equal_one_pass_across_switch_windows(cuts):
    n = 4000
    f0 = 1500.0
    clock = fl.mode1_clock(f0 * 2 ** (0.3 * np.sin(np.arange(n) / 300.0)))   # wide vibrato: table changes too
    table = bell_table()
    whole, _ = fl.play_fourier(table, clock, sr=SR, loops=3)
    bounds, state, pieces = [0, *cuts, n], None, []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        y, state = fl.play_fourier(table, clock[lo:hi], sr=SR, loops=3, state=state)
        pieces.append(y)
    assert np.array_equal(np.concatenate(pieces), whole)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="Fairlight mode must be one of \\(1, 4\\), got 2"):
        fl.voice(bell_table(), 100.0, sr=SR, n=10, mode=2)
    with pytest.raises(ValueError, match="Mode 1 needs a \\(segments, 128\\) table, got shape \\(64,\\)"):
        fl.play_fourier(np.zeros(64), 1000.0, sr=SR, n=10)
    with pytest.raises(ValueError, match="clock_hz must be finite and > 0"):
        fl.play_fourier(np.zeros((1, 128)), -5.0, sr=SR, n=10)
    with pytest.raises(ValueError, match="loops must be >= 1, got 0"):
        fl.play_fourier(np.zeros((1, 128)), 1000.0, sr=SR, n=10, loops=0)


@pytest.mark.parametrize("f0, loops, vibrato", [(55.0, 2, 0.0), (523.25, 3, 0.02), (2093.0, 40, 0.3),
                                               (4186.0, 1, 0.0)])
def test_compiled_player_equals_its_numpy_formulation_in_blocks(f0, loops, vibrato):
    """Table reads and exact sums next to jumps, bit for bit, whole and in blocks
    cut next to segment switches (the oracle is the NumPy code the kernels replaced)."""
    n = 6000
    clock = fl.mode1_clock(f0 * 2 ** (vibrato * np.sin(np.arange(n) / 300.0)))
    table = bell_table()
    for cuts in [(), (1, 37, 2500), (3001,)]:
        bounds, state, ref_state, got, ref = [0, *cuts, n], None, None, [], []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            y, state = fl.play_fourier(table, clock[lo:hi], sr=SR, loops=loops, state=state)
            r, ref_state = play_fourier_numpy(table, clock[lo:hi], sr=SR, loops=loops, state=ref_state)
            got.append(y)
            ref.append(r)
        assert np.array_equal(np.concatenate(got), np.concatenate(ref))


def test_wavetable_cache_is_bounded_in_bytes_and_keeps_the_newest():
    cache = fl.WavetableCache(max_bytes=1)
    table = bell_table(2)
    first, size = cache.get(table.tobytes(), 2, 10)
    assert size == 1024 and first.shape == (2 * 1024, 4) and len(cache) == 1
    assert cache.get(table.tobytes(), 2, 10)[0] is first              # a hit: the same arrays
    cache.get(table.tobytes(), 2, 200)                                # over the bound: the old one goes
    assert len(cache) == 1 and cache.nbytes == 2 * 4096 * 4 * 8
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0
