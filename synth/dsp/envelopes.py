"""Envelopes as closed-form functions of the sample index.

An envelope value depends only on the absolute sample index within the note,
so any block of it can be computed on its own: block rendering equals one
pass exactly.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

__all__ = ["adsr", "adsr_length", "adsr_segments", "adsr_kernel", "adsr_columns", "EXP_GAIN", "EXP_ROW",
           "CURVES"]

CURVES = ("linear", "exp")

#: Steepness of the exponential segments: the curve covers 1 - e^-5 (99.3 %)
#: of its way in an exponential fashion and is then pulled onto the target.
_EXP_STEEPNESS = 5.0


#: Samples per row of the separable exponential (see :func:`_exp_ramp`).
EXP_ROW = 64


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
    c, r = float(steepness), EXP_ROW
    q0, q1 = k0 // r, (k1 - 1) // r + 1
    rows = scale * np.exp((-c * r / length) * np.arange(q0, q1, dtype=np.float64))
    grid = np.multiply.outer(rows, np.exp((-c / length) * np.arange(r, dtype=np.float64)))
    out = grid.reshape(-1)[k0 - q0 * r:k1 - q0 * r]
    out += offset
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
    out = np.empty(int(n))
    segments = adsr_segments(sr=sr, gate_samples=gate_samples, attack=attack, decay=decay,
                             sustain=sustain, release=release, curve=curve, start=start,
                             peak=peak)
    columns = np.zeros((3, EXP_ROW))
    if segments[-1]:
        adsr_columns(segments[1], segments[2], segments[3], columns)
    adsr_kernel(out, *segments, EXP_GAIN, columns)
    return out


def adsr_segments(*, sr: float, gate_samples: int, attack: float, decay: float, sustain: float,
                  release: float, curve: str = "linear", start: int = 0,
                  peak: float = 1.0) -> tuple[int, int, int, int, int, float, float, bool]:
    """:func:`adsr`'s parameters as :func:`adsr_kernel` takes them (checked).

    Returns
    -------
    tuple
        ``(start, attack, decay, release, gate)`` in samples, the peak level,
        the sustain level times the peak, and whether the curve is ``"exp"``.
    """
    if not 0.0 <= sustain <= 1.0:
        raise ValueError(f"sustain must be within 0..1, got {sustain!r}")
    if curve not in CURVES:
        raise ValueError(f"unknown envelope curve {curve!r}; expected one of {CURVES}")
    return (int(start), _samples(attack, sr), _samples(decay, sr), _samples(release, sr),
            int(gate_samples), float(peak), float(sustain) * float(peak), curve == "exp")


#: ``1 - e^-c``: the share of its way an exponential segment covers before
#: it is pulled onto its target.
EXP_GAIN = float(-np.expm1(-_EXP_STEEPNESS))


@kernel
def adsr_kernel(out, lo, a, d, r, g, top, held_level, exp_curve, exp_gain, columns):
    """The ADSR of :func:`adsr` at samples ``lo .. lo + len(out) - 1``, written to ``out``.

    Segments (attack ``0 -> top`` over ``a`` samples, decay ``top ->
    held_level`` over ``d``, sustain, release from the level at the gate
    ``g`` to 0 over ``r``, then 0) each evaluated as one segment of the
    envelope: the first sample exactly the segment's start, a straight line, or
    ``offset + scale * e^(-c k / L)`` as the separable product of
    :func:`_exp_ramp` (one exponential per row of ``EXP_ROW`` samples
    times a row of ``EXP_ROW`` of them).  ``columns`` [shape=(3, EXP_ROW)]:
    that row for the attack, the decay and the release, from
    :func:`adsr_columns` (once a note: a voice calls this block by block).
    """
    hi = lo + out.shape[0]
    rows = EXP_ROW
    c = _EXP_STEEPNESS
    # the level at the gate, where the release starts (also mid-attack or mid-decay)
    lag = held_level
    for seg_lo, length, v0, v1 in ((0, a, 0.0, top), (a, d, top, held_level)):
        if seg_lo <= g < seg_lo + length:
            k = g - seg_lo
            if k == 0:
                lag = v0
            elif not exp_curve:
                lag = v0 + (v1 - v0) * min(k / max(length, 1), 1.0)
            else:
                gain = (v1 - v0) / exp_gain
                lag = (-gain * np.exp((-c * rows / length) * float(k // rows))
                       * np.exp((-c / length) * float(k % rows)) + (v0 + gain))
    # (first sample, end, length, start level, end level) of each segment
    attack_end, decay_end = min(a, g), min(a + d, g)
    # (and the row of ``columns`` of its exponential)
    segments = ((0, attack_end, a, 0.0, top, 0), (a, decay_end, d, top, held_level, 1),
                (a + d, g, 0, held_level, held_level, 0), (g, g + r, r, lag, 0.0, 2),
                (g + r, hi, 0, 0.0, 0.0, 0))
    for seg_lo, seg_hi, length, v0, v1, which in segments:
        k0, k1 = max(seg_lo, lo), min(seg_hi, hi)
        if k1 <= k0:
            continue
        if length == 0:                     # a level held
            out[k0 - lo:k1 - lo] = v1
            continue
        if not exp_curve:
            for k in range(k0, k1):
                x = min((k - seg_lo) / max(length, 1), 1.0)
                out[k - lo] = v0 + (v1 - v0) * x
        else:
            gain = (v1 - v0) / exp_gain
            scale, offset = -gain, v0 + gain
            row_rate = -c * rows / length
            column = columns[which]
            # row by row (kk = rows q + j, kk >= 0): no division per sample
            kk0, kk1 = k0 - seg_lo, k1 - seg_lo
            for q in range(kk0 // rows, (kk1 - 1) // rows + 1):
                row = scale * np.exp(row_rate * float(q))
                j0, j1 = max(kk0 - rows * q, 0), min(kk1 - rows * q, rows)
                part = out[seg_lo + rows * q - lo + j0:]     # (from 0: no wrap-around)
                for j in range(j1 - j0):
                    part[j] = row * column[j0 + j] + offset
        if k0 == seg_lo:
            out[k0 - lo] = v0


@kernel
def adsr_columns(a, d, r, columns):
    """The rows of exponentials :func:`adsr_kernel` multiplies out, into ``columns``.

    ``columns[i, j] = exp((-c / L_i) j)`` for the attack, decay and release
    lengths ``L_i`` = ``a``, ``d``, ``r`` samples (rows of zero-length
    segments are left as they are: never read).
    """
    c = _EXP_STEEPNESS
    lengths = (a, d, r)
    for i in range(3):
        length = lengths[i]
        if length > 0:
            column_rate = -c / length
            for j in range(columns.shape[1]):
                columns[i, j] = np.exp(column_rate * float(j))
