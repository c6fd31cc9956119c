"""The streaming master's limiter kernel and ``MasterSettings(limit=True)`` in the library.

True peaks are measured by :func:`synth.loudness.true_peak_db` (BS.1770's 4x
oversampling through resample_poly), the same meter a user would apply.
"""

from __future__ import annotations

import numpy as np
import soundfile as sf

from synth.dsp.limiter import CONTEXT, limit_block, limiter_flush, limiter_state
from synth.loudness import true_peak_db
from synth.render import (MasterSettings, RenderPlan, limit_gain, raw_chunks, render,
                          render_to_file)
from synth.score import Note, Part, Score


def test_limit_master_catches_what_the_prescan_misses(tmp_path):
    """Twelve saws in unison add coherently (12x), the power pre-scan expects ~3.5x."""
    notes = [Note(0.0, 2.0, 48.0, velocity=127) for _ in range(12)]
    score = Score(parts=[Part("wall", notes, preset="saw")])
    plan = RenderPlan(score, sr=22050)
    audio = render(score, sr=22050, master=MasterSettings(limit=True, ceiling_db=-3.0)).audio
    assert audio.shape[1] == plan.frames
    raw_peak = max(float(np.max(np.abs(b.audio))) for b in raw_chunks(plan))
    assert raw_peak * limit_gain(plan, MasterSettings(ceiling_db=-3.0)) > 1.5   # the limiter works
    assert true_peak_db(audio) <= -3.0
    # render_to_file gives the same samples (24-bit) and the raw peak in its result
    out = tmp_path / "wall.wav"
    result = render_to_file(score, out, sr=22050, master=MasterSettings(limit=True, ceiling_db=-3))
    assert result.peak_raw > 0 and result.frames == plan.frames
    np.testing.assert_allclose(sf.read(out, always_2d=True)[0].T, audio, atol=2 ** -22)


def _limit(x, block, **kw):
    state = limiter_state(10 ** (-1 / 20), sr=8000, **kw)
    out = []
    for a in range(0, x.shape[1], block):
        y, state = limit_block(x[:, a:a + block], state)
        out.append(y)
    out.append(limiter_flush(state))
    return np.concatenate(out, axis=1)


def test_limiter_kernel_block_independent_and_transparent_below_the_ceiling():
    rng = np.random.default_rng(5)
    t = np.arange(8000 * 3) / 8000
    loud = np.where((t > 1) & (t < 2), 4.0, 0.3)
    x = np.stack([np.sin(2 * np.pi * 1999.7 * t), 0.3 * rng.standard_normal(t.size)]) * loud
    x[:, 12345] = 9.0                                   # an isolated spike
    whole = _limit(x, x.shape[1])
    assert whole.shape == x.shape
    for block in (1, 7, 64, 1000):
        np.testing.assert_array_equal(_limit(x, block), whole)
    assert true_peak_db(whole) <= -1.0
    # the quiet first second (peaks under the ceiling) passes unchanged
    np.testing.assert_array_equal(whole[:, :7000], x[:, :7000])
    # and the gain recovers after the loud second
    np.testing.assert_allclose(whole[:, -4000:], x[:, -4000:])
    assert CONTEXT >= 10    # resample_poly's interpolation filter reaches 10 samples


def test_limiter_output_lags_by_its_lookahead_and_flush_returns_the_rest():
    state = limiter_state(0.5, sr=8000, lookahead_s=0.005)
    y, state = limit_block(np.ones((2, 100)) * 0.1, state)
    assert y.shape[1] == 100 - CONTEXT - (state.lookahead - 1)
    tail = limiter_flush(state)
    assert y.shape[1] + tail.shape[1] == 100
    np.testing.assert_array_equal(np.concatenate([y, tail], axis=1), np.full((2, 100), 0.1))
