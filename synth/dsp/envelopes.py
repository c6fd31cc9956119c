"""Envelopes as closed-form functions of the sample index.

An envelope value depends only on the absolute sample index within the note,
so any block of it can be computed on its own: block rendering equals one
pass exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adsr", "adsr_length", "CURVES"]

CURVES = ("linear", "exp")

#: Steepness of the exponential segments: the curve covers 1 - e^-5 (99.3 %)
#: of its way in an exponential fashion and is then pulled onto the target.
_EXP_STEEPNESS = 5.0


def _shape(x: np.ndarray, curve: str, rising: bool) -> np.ndarray:
    """Progress 0..1 along a segment at fractions ``x`` in [0, 1]."""
    if curve == "linear":
        return x
    if curve == "exp":
        c = _EXP_STEEPNESS
        if rising:      # fast start, slow finish (an RC charging)
            return (1.0 - np.exp(-c * x)) / (1.0 - np.exp(-c))
        return 1.0 - (np.exp(-c * x) - np.exp(-c)) / (1.0 - np.exp(-c))
    raise ValueError(f"unknown envelope curve {curve!r}; expected one of {CURVES}")


def _samples(seconds: float, sr: float) -> int:
    return int(round(max(0.0, float(seconds)) * sr))


def adsr_length(gate_samples: int, release: float, *, sr: float) -> int:
    """Total samples of an ADSR note: the gate plus the release, plus the final zero."""
    return int(gate_samples) + _samples(release, sr) + 1


def adsr(n: int, *, sr: float, gate_samples: int, attack: float, decay: float,
         sustain: float, release: float, curve: str = "linear", start: int = 0) -> np.ndarray:
    """Attack-decay-sustain-release envelope, samples ``start .. start + n - 1``.

    Parameters
    ----------
    n : int
        Number of samples to compute.
    sr : float
        Sample rate in Hz.
    gate_samples : int
        Sample index (from the note's start) at which the key is released.
    attack, decay, release : float
        Segment times in seconds (rounded to whole samples).
    sustain : float
        Sustain level, 0..1.
    curve : {"linear", "exp"}
        Segment shape.
    start : int
        Index of the first sample to compute (for block rendering).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        The attack reaches 1.0 exactly at sample ``A = round(attack*sr)``;
        the decay reaches ``sustain`` at ``A + D``; at ``gate_samples`` the
        release starts from the level reached (also mid-attack) and arrives at
        exactly 0.0 on sample ``gate_samples + R``, the last of
        :func:`adsr_length` samples; later samples are 0.
    """
    if not 0.0 <= sustain <= 1.0:
        raise ValueError(f"sustain must be within 0..1, got {sustain!r}")
    a, d, r = _samples(attack, sr), _samples(decay, sr), _samples(release, sr)
    g = int(gate_samples)
    lo, hi = int(start), int(start) + int(n)
    out = np.empty(int(n))

    def held(idx: np.ndarray) -> np.ndarray:
        """Levels before the key is released at indices ``idx`` (sorted), segment by segment."""
        level = np.empty(len(idx))
        i1 = int(np.searchsorted(idx, a))            # attack: idx < a
        i2 = int(np.searchsorted(idx, a + d))        # decay: a <= idx < a + d
        if i1:
            level[:i1] = _shape(idx[:i1] / a, curve, rising=True)
        if i2 > i1:
            level[i1:i2] = 1.0 - (1.0 - sustain) * _shape((idx[i1:i2] - a) / d, curve,
                                                            rising=False)
        level[i2:] = float(sustain)
        return level

    # each segment is evaluated on its own slice (no masks over the whole note)
    split = min(max(g, lo), hi)
    if split > lo:
        out[:split - lo] = held(np.arange(lo, split, dtype=np.float64))
    if split < hi:
        level_at_gate = float(held(np.array([float(g)]))[0])
        k = np.arange(split, hi, dtype=np.float64)
        if r > 0:
            x = np.clip((k - g) / r, 0.0, 1.0)
            out[split - lo:] = level_at_gate * (1.0 - _shape(x, curve, rising=False))
        else:
            out[split - lo:] = 0.0
    return out
