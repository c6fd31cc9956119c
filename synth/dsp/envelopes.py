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
    k = np.arange(start, start + n, dtype=np.float64)

    def held(idx):
        idx = np.asarray(idx, dtype=np.float64)
        level = np.full(idx.shape, float(sustain))
        if a > 0:
            m = idx < a
            level[m] = _shape(idx[m] / a, curve, rising=True)
        else:
            m = np.zeros(idx.shape, bool)
        if d > 0:
            md = (~m) & (idx < a + d)
            level[md] = 1.0 - (1.0 - sustain) * _shape((idx[md] - a) / d, curve, rising=False)
        elif a == 0:
            pass
        return level

    out = held(k)
    rel = k >= g
    if rel.any():
        level_at_gate = float(held(np.array([g]))[0])
        if r > 0:
            x = np.clip((k[rel] - g) / r, 0.0, 1.0)
            out[rel] = level_at_gate * (1.0 - _shape(x, curve, rising=False))
        else:
            out[rel] = 0.0
    return out
