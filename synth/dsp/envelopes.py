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


#: Samples per row of the separable exponential (see :func:`_exp_ramp`).
_EXP_ROW = 64


def _exp_ramp(k0: int, k1: int, length: float, scale: float, offset: float,
              steepness: float = _EXP_STEEPNESS) -> np.ndarray:
    """``offset + scale * exp(-c * k / length)`` for the integers ``k0 <= k < k1``.

    ``c`` is ``steepness`` (default: the ADSR's 5).

    The exponential is separable: ``exp(-c (R q + j) / L)`` is
    ``exp(-c R q / L) * exp(-c j / L)``, so one short row of exponentials and
    one per row of ``R`` samples are multiplied out (an outer product), and
    the per-sample cost is a multiply and an add instead of an ``exp``.  The
    value at ``k`` depends only on ``k``, so blocks still join exactly.
    Within 2 ulp of evaluating ``exp`` directly.
    """
    c, r = float(steepness), _EXP_ROW
    q0, q1 = k0 // r, (k1 - 1) // r + 1
    rows = scale * np.exp((-c * r / length) * np.arange(q0, q1, dtype=np.float64))
    grid = np.multiply.outer(rows, np.exp((-c / length) * np.arange(r, dtype=np.float64)))
    out = grid.reshape(-1)[k0 - q0 * r:k1 - q0 * r]
    out += offset
    return out


def _segment(k0: int, k1: int, length: int, curve: str, start: float, end: float) -> np.ndarray:
    """Level at samples ``k0 <= k < k1`` of a segment from ``start`` (k = 0) to ``end`` (k = length).

    ``"linear"`` is a straight line; ``"exp"`` covers its way like an RC
    circuit, fast first, ``1 - e^-c`` (99.3 %) of it exponentially, then
    pulled onto ``end`` (the curve is rescaled so it arrives exactly).
    ``k = 0`` gives exactly ``start`` and ``k >= length`` exactly ``end``.
    """
    if curve not in CURVES:
        raise ValueError(f"unknown envelope curve {curve!r}; expected one of {CURVES}")
    inside = min(k1, length)
    if curve == "linear" or inside <= k0:
        x = np.minimum(np.arange(k0, k1, dtype=np.float64) / max(length, 1), 1.0)
        out = start + (end - start) * x
    else:
        # start + (end - start) * (1 - e^(-c k / L)) / (1 - e^-c), as offset + scale * e^(..)
        g = (end - start) / -np.expm1(-_EXP_STEEPNESS)
        out = np.empty(k1 - k0)
        out[:inside - k0] = _exp_ramp(k0, inside, length, -g, start + g)
        out[inside - k0:] = end
    if k0 == 0 and k1 > 0:
        out[0] = start
    if k1 > length >= k0:
        out[length - k0:] = end
    return out


def _samples(seconds: float, sr: float) -> int:
    return int(round(max(0.0, float(seconds)) * sr))


def adsr_length(gate_samples: int, release: float, *, sr: float) -> int:
    """Total samples of an ADSR note: the gate plus the release, plus the final zero."""
    return int(gate_samples) + _samples(release, sr) + 1


def adsr(n: int, *, sr: float, gate_samples: int, attack: float, decay: float,
         sustain: float, release: float, curve: str = "linear", start: int = 0,
         peak: float = 1.0) -> np.ndarray:
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
    peak : float
        Level at the top of the attack: the whole envelope is scaled by it
        (a note's gain costs nothing more).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        The attack reaches 1.0 exactly at sample ``A = round(attack*sr)``;
        the decay reaches ``sustain`` at ``A + D`` (both times ``peak``); at ``gate_samples`` the
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

    def held(lo: int, hi: int) -> np.ndarray:
        """Levels before the key is released at samples ``lo <= k < hi``, segment by segment."""
        level = np.empty(hi - lo)
        top, held_level = float(peak), float(sustain) * float(peak)
        for seg_lo, seg_hi, v0, v1 in ((0, a, 0.0, top), (a, a + d, top, held_level)):
            x0, x1 = max(lo, seg_lo), min(hi, seg_hi)
            if x1 > x0:
                level[x0 - lo:x1 - lo] = _segment(x0 - seg_lo, x1 - seg_lo, seg_hi - seg_lo,
                                                  curve, v0, v1)
        level[max(a + d, lo) - lo:] = held_level
        return level

    # each segment is evaluated on its own slice (no masks over the whole note)
    split = min(max(g, lo), hi)
    if split > lo:
        out[:split - lo] = held(lo, split)
    if split < hi:
        level_at_gate = float(held(g, g + 1)[0])
        if r > 0:
            out[split - lo:] = _segment(split - g, hi - g, r, curve, level_at_gate, 0.0)
        else:
            out[split - lo:] = 0.0
    return out
