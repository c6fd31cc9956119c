"""ADSR envelopes: exact end points, the exponential law, and block rendering."""

import numpy as np
import pytest

from synth.dsp.envelopes import adsr

SR = 44100
C = 5.0      # the exponential segments' steepness (1 - e^-5 of the way exponentially)


def reference(n, gate, a, d, s, r, curve):
    """The ADSR written out sample by sample from its definition."""
    def progress(x):                 # 0 -> 1 along a segment
        x = np.clip(x, 0.0, 1.0)
        return x if curve == "linear" else (1 - np.exp(-C * x)) / (1 - np.exp(-C))

    def held(k):
        k = np.asarray(k, dtype=np.float64)
        return np.where(k < a, progress(k / max(a, 1)),
                        np.where(k < a + d, 1 - (1 - s) * progress((k - a) / max(d, 1)), s))

    k = np.arange(n, dtype=np.float64)
    at_gate = held(gate)
    release = at_gate * (1 - progress((k - gate) / r)) if r else np.zeros(n)
    return np.where(k < gate, held(k), release)


@pytest.mark.parametrize("curve", ["linear", "exp"])
def test_adsr_follows_its_definition_and_lands_exactly(curve):
    rng = np.random.default_rng(3)
    cases = [tuple(int(v) for v in rng.integers(0, 3000, 3)) + (float(rng.choice([0.0, 0.35, 1.0])),
                                                               int(rng.integers(1, 7000)))
             for _ in range(40)]
    # the edges random draws hardly reach: no attack, no decay, or neither
    cases += [(0, 0, 500, 0.35, 2000), (0, 800, 500, 0.35, 2000), (700, 0, 0, 0.35, 2000)]
    for a, d, r, s, gate in cases:
        n = gate + r + 1
        env = adsr(n, sr=SR, gate_samples=gate, attack=a / SR, decay=d / SR, sustain=s,
                   release=r / SR, curve=curve)
        assert np.max(np.abs(env - reference(n, gate, a, d, s, r, curve))) < 1e-12
        assert env[0] == (0.0 if a else (1.0 if d else s))     # starts on the first level it has
        if gate > a:
            assert env[a] == (1.0 if d else s)            # the attack arrives exactly
        if gate > a + d:
            assert env[a + d] == s                        # ... and the decay
        assert env[gate + r] == 0.0                       # the release ends at exactly 0
        assert np.all(np.diff(env[gate:]) <= 1e-15)       # and only falls


def test_adsr_blocks_join_exactly():
    rng = np.random.default_rng(4)
    for _ in range(30):
        kwargs = dict(sr=SR, gate_samples=int(rng.integers(1, 9000)), attack=rng.uniform(0, 0.1),
                      decay=rng.uniform(0, 0.1), sustain=float(rng.uniform(0, 1)),
                      release=rng.uniform(0, 0.1), curve=str(rng.choice(["linear", "exp"])))
        n = kwargs["gate_samples"] + int(kwargs["release"] * SR) + 50
        whole = adsr(n, **kwargs)
        cuts = np.sort(rng.integers(0, n, 5))
        parts = [adsr(hi - lo, start=lo, **kwargs)
                 for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n])]
        assert np.array_equal(np.concatenate(parts), whole)


def test_bad_curve_and_sustain_are_refused():
    with pytest.raises(ValueError, match="unknown envelope curve 'log'"):
        adsr(100, sr=SR, gate_samples=50, attack=0.001, decay=0.0, sustain=0.5, release=0.001,
             curve="log")
    with pytest.raises(ValueError, match="sustain must be within 0..1"):
        adsr(100, sr=SR, gate_samples=50, attack=0.0, decay=0.0, sustain=1.5, release=0.0)


@pytest.mark.parametrize("curve", ["linear", "exp"])
def test_peak_scales_the_whole_envelope(curve):
    kw = dict(sr=SR, gate_samples=3000, attack=0.01, decay=0.02, sustain=0.4, release=0.03,
              curve=curve)
    n = 3000 + round(0.03 * SR) + 1
    unit, scaled = adsr(n, **kw), adsr(n, peak=0.3, **kw)
    assert np.max(np.abs(scaled - 0.3 * unit)) < 1e-15
    a, d = round(0.01 * SR), round(0.02 * SR)
    assert scaled[a] == 0.3 and scaled[a + d] == 0.3 * 0.4 and scaled[-1] == 0.0
