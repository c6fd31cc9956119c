"""Every stateful kernel: rendering in blocks equals rendering in one pass, bit for bit.

Each case is a function ``run(lo, hi, state) -> (samples, state)`` that
renders samples ``lo .. hi - 1`` of one note/stream, continuing ``state``
(``None`` at the start).  The test cuts the same signal into blocks at
awkward places (1 sample, one short of a sub-block, long blocks) and compares
with one call over the whole length.
"""

from __future__ import annotations

import numpy as np
import pytest

from synth.dsp import additive, effects, fairlight, filters, fm, modulation, oscillators

SR = 44100
N = 6000
_rng = np.random.default_rng(1234)
STEREO = _rng.standard_normal((2, N)) * 0.3
MONO = STEREO[0].copy()
FREQ_SWEEP = 220.0 * 2 ** (np.arange(N) / N)                      # an octave glide
CUTOFF_SWEEP = 200.0 * 2 ** (6 * np.arange(N) / N)
TABLE = fairlight.mode1_table_from_harmonics(_rng.uniform(0, 1, (4, 32)))
SAMPLE = fairlight.quantize_8bit(_rng.uniform(-1, 1, 3000))
PAGES = _rng.uniform(0, 1, (8, 32))


def with_start(fn, **kw):
    """Oscillators that also take the note-relative sample index ``start``."""
    def run(lo, hi, state):
        return fn(freq=FREQ_SWEEP[lo:hi], sr=SR, phase=0.0 if state is None else state, start=lo, **kw)
    return run


class Seeded:
    """A kernel that draws from a Generator: the same generator must serve every block."""

    def __init__(self, make):
        self.make = make

    def __call__(self, lo, hi, state):
        if state is None:
            state = (np.random.default_rng(99), None)
        gen, inner = state
        y, inner = self.make(gen, lo, hi, inner)
        return y, (gen, inner)


CASES = {
    # oscillators
    "pulse_pwm": lambda lo, hi, s: oscillators.pulse(
        FREQ_SWEEP[lo:hi], sr=SR, phase=0.0 if s is None else s,
        width=0.5 + 0.4 * np.sin(np.arange(lo, hi) / 500.0), max_freq=440.0),
    "saw": lambda lo, hi, s: oscillators.saw(FREQ_SWEEP[lo:hi], sr=SR, phase=0.0 if s is None else s,
                                             max_freq=440.0),
    "hard_sync": lambda lo, hi, s: oscillators.hard_sync(
        FREQ_SWEEP[lo:hi], 1.5 + np.arange(lo, hi) / N * 3.0, sr=SR, state=s),
    "pink_noise": Seeded(lambda g, lo, hi, s: oscillators.pink_noise(hi - lo, g, state=s)),
    "unison": lambda lo, hi, s: oscillators.unison(
        oscillators.saw, FREQ_SWEEP[lo:hi], sr=SR, voices=4, detune_cents=15.0,
        rng=np.random.default_rng(5), phases=s, max_freq=440.0),
    # modulation
    "lfo_sine": lambda lo, hi, s: modulation.lfo("sine", 3.3, sr=SR, n=hi - lo, state=s),
    "lfo_sample_hold": Seeded(lambda g, lo, hi, s: modulation.lfo("sample_hold", 37.0, sr=SR, n=hi - lo,
                                                                rng=g, state=s)),
    "multi_segment": lambda lo, hi, s: (modulation.multi_segment(
        hi - lo, sr=SR, levels=[0, 1, 0.3, 0.6, 0], times=[0.01, 0.03, 0.02, 0.05],
        curves=["exp", "linear", -3.0, "exp"], start=lo), None),
    "cmi_envelope": lambda lo, hi, s: (modulation.cmi_envelope(
        hi - lo, sr=SR, gate_samples=3000, attack=0.02, damping=0.05, held_damping=0.5, start=lo), None),
    # filters
    "sos_apply": lambda lo, hi, s: filters.apply(
        STEREO[:, lo:hi], filters.design_filter("highpass", 800.0, sr=SR, q=3.0, order=4), s),
    "modulated_lowpass": lambda lo, hi, s: filters.modulated_filter(
        STEREO[:, lo:hi], CUTOFF_SWEEP[lo:hi], sr=SR, kind="lowpass", q=5.0, order=4, state=s),
    "modulated_bandpass": lambda lo, hi, s: filters.modulated_filter(
        MONO[lo:hi], CUTOFF_SWEEP[lo:hi], sr=SR, kind="bandpass", q=2.0, order=2, state=s),
    # effects
    "reverb": lambda lo, hi, s: effects.reverb(STEREO[:, lo:hi], sr=SR, rt60=1.2, damping=0.4,
                                               size=0.5, state=s),
    "delay": lambda lo, hi, s: effects.delay(STEREO[:, lo:hi], sr=SR, time=0.0123, feedback=0.6,
                                             damping=0.3, state=s),
    "chorus": lambda lo, hi, s: effects.chorus(STEREO[:, lo:hi], sr=SR, state=s),
    "decimate": lambda lo, hi, s: effects.decimate(STEREO[:, lo:hi], sr=SR, rate_hz=7000.0, state=s),
    "saturate_oversampled": lambda lo, hi, s: effects.saturate(
        STEREO[:, lo:hi], drive_db=12.0, shape="fold", oversample=4, mix=0.7, state=s),
    # Fairlight
    "fairlight_mode1": lambda lo, hi, s: fairlight.voice(
        TABLE, FREQ_SWEEP[lo:hi], sr=SR, mode=1, loops=3, series="II", state=s,
        envelope=modulation.cmi_envelope(hi - lo, sr=SR, gate_samples=4000, attack=0.01, damping=0.1,
                                         start=lo)),
    "fairlight_mode4_high_clock": lambda lo, hi, s: fairlight.voice(
        SAMPLE, 3 * FREQ_SWEEP[lo:hi], sr=SR, mode=4, root_freq=220.0, series="I", state=s),
    "fairlight_play_naive": lambda lo, hi, s: fairlight.play(
        SAMPLE, 20000.0, sr=SR, n=hi - lo, bandlimited=False, state=s),
    # additive / FM
    "harmonic_pages": with_start(additive.harmonic_pages, amplitudes=PAGES, segment_seconds=0.02),
    "partials": with_start(additive.partials, ratios=[1.0, 2.4, 3.9, 6.1], amplitudes=[1, .5, .3, .2],
                           decays=[1.0, 0.5, 0.3, 0.2]),
    "drawn_wave": lambda lo, hi, s: additive.drawn_wave(
        np.sin(np.linspace(0, 6, 128)) ** 3, FREQ_SWEEP[lo:hi], sr=SR, phase=0.0 if s is None else s,
        max_freq=440.0),
    "fm2_index_envelope": lambda lo, hi, s: fm.fm2(
        FREQ_SWEEP[lo:hi], sr=SR, phase=0.0 if s is None else s, ratio=1.4,
        index=np.linspace(0, 8, N)[lo:hi]),
    "fm3": lambda lo, hi, s: fm.fm3(FREQ_SWEEP[lo:hi], sr=SR, phase=0.0 if s is None else s,
                                    ratios=(2.0, 0.5), indices=(2.0, 1.0)),
}

CUTS = [(1,), (31,), (33, 97), (1000, 1001, 4096), (N - 1,)]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("cuts", CUTS, ids=lambda c: "-".join(map(str, c)))
def test_blocks_equal_one_pass(name, cuts):
    run = CASES[name]
    whole, _ = run(0, N, None)
    bounds = [0, *cuts, N]
    state, pieces = None, []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        y, state = run(lo, hi, state)
        pieces.append(y)
    chunked = np.concatenate(pieces, axis=-1)
    assert chunked.shape == whole.shape
    assert np.array_equal(chunked, whole), f"max difference {np.max(np.abs(chunked - whole))!r}"
