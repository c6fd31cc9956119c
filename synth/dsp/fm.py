"""FM (phase-modulation) voices: two operators and a three-operator stack.

Calling convention (as :mod:`.oscillators`):
``f(freq, *, sr, n=None, phase=0.0, ...) -> (samples [shape=(n,)], phase_out)``,
``freq`` the carrier frequency in Hz (scalar or per sample), ``phase`` the
carrier phase in cycles.  Operator phases are fixed multiples of the carrier
phase, so blocks concatenate exactly.  The index (peak phase deviation in
radians) may be a per-sample array: an index envelope, e.g. from
:func:`synth.dsp.modulation.multi_segment`.

Aliasing: an FM spectrum has sidebands at ``f_c + k f_m`` for all k; they
fall below -60 dB beyond order :func:`sideband_order` (``I + 2.5 I^(1/3) + 2``;
Carson's ``I + 1`` holds only 98 % of the power and leaves -20 dB sidebands).
:func:`max_index` gives the largest index whose sidebands down to -60 dB stay
below :data:`~synth.dsp.oscillators.NYQUIST_FRACTION` of Nyquist, and
``limit_index=True`` (the default) caps the index there per sample, so what
folds back is below -60 dB (measured in the tests).  Pass
``limit_index=False`` for deliberate fold-over grit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .oscillators import NYQUIST_FRACTION, phase_ramp

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["sideband_order", "max_index", "fm2", "fm3"]


def _op_phase(ratio: float, ph: np.ndarray) -> np.ndarray:
    """``ratio * ph`` wrapped to [0, 1), computed per sample from ``ph`` alone."""
    whole = np.floor(ph)
    x = ratio * (ph - whole) + (ratio * whole) % 1.0
    return x - np.floor(x)


def sideband_order(index: ArrayLike) -> float | np.ndarray:
    """Sideband order beyond which every sideband is below -60 dB: ``I + 2.5 I^(1/3) + 2``.

    An empirical bound on the Bessel functions (``|J_k(I)| < 1e-3`` for every
    ``k`` at or above it, checked for I up to 32 in the tests); Carson's rule
    (``I + 1``) only holds 98 % of the power.
    """
    i = np.asarray(index, dtype=np.float64)
    return i + 2.5 * np.cbrt(i) + 2.0


def max_index(freq: ArrayLike, ratio: float, *, sr: float) -> float | np.ndarray:
    """Largest index whose sidebands above -60 dB stay below the Nyquist limit.

    Solves ``f_c + sideband_order(I) * ratio * f_c = limit`` for I (0 when
    even the first sidebands do not fit).

    Parameters
    ----------
    freq : float or np.ndarray
        Carrier frequency in Hz.
    ratio : float
        Modulator / carrier frequency ratio.

    Returns
    -------
    float or np.ndarray (shape of ``freq``), radians
    """
    f = np.abs(np.asarray(freq, dtype=np.float64))
    limit = NYQUIST_FRACTION * 0.5 * sr
    orders = (limit - f) / np.maximum(float(ratio) * f, 1e-12)     # sideband orders that fit
    # I + 2.5 I^(1/3) + 2 = K is the depressed cubic u^3 + 2.5 u + (2 - K) = 0 in
    # u = I^(1/3); with p = 2.5 > 0 it has one real root (Cardano).
    q = 2.0 - orders
    disc = np.sqrt(q * q / 4.0 + (2.5 / 3.0) ** 3)
    u = np.cbrt(-q / 2.0 + disc) + np.cbrt(-q / 2.0 - disc)
    index = np.where(orders > 2.0, np.maximum(u, 0.0) ** 3, 0.0)
    return index if index.ndim else float(index)


def fm2(freq: ArrayLike, *, sr: float, n: int | None = None, phase: float = 0.0, ratio: float = 1.0,
        index: ArrayLike = 1.0, limit_index: bool = True) -> tuple[np.ndarray, float]:
    """Two-operator FM: ``sin(2 pi phi_c + I(t) sin(2 pi ratio phi_c))``.

    Parameters
    ----------
    freq : float or np.ndarray [shape=(n,)]
        Carrier frequency in Hz.
    sr : float
        Sample rate in Hz.
    n : int, optional
        Samples (required for scalar ``freq``).
    phase : float
        Carrier phase (cycles) at the first sample.
    ratio : float
        Modulator / carrier frequency ratio (> 0; integers give harmonic
        spectra, e.g. 1 = saw-like, 2 = square-like; 1.4 or 3.5 bell-like).
    index : float or np.ndarray [shape=(n,)]
        Modulation index in radians (>= 0), per sample for an index envelope.
    limit_index : bool
        Cap the index at :func:`max_index` (per sample): bright high notes
        get a smaller index instead of fold-over.

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    phase_out : float
    """
    if ratio <= 0:
        raise ValueError(f"FM ratio must be > 0, got {ratio!r}")
    ph, phase_out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    idx = np.broadcast_to(np.asarray(index, dtype=np.float64), ph.shape)
    if np.any(idx < 0):
        raise ValueError(f"FM index must be >= 0, got minimum {float(np.min(idx))!r}")
    if limit_index:
        idx = np.minimum(idx, max_index(np.broadcast_to(freq, ph.shape), ratio, sr=sr))
    carrier = ph - np.floor(ph)
    mod = np.sin(2.0 * np.pi * _op_phase(ratio, ph))
    return np.sin(2.0 * np.pi * carrier + idx * mod), phase_out


def fm3(freq: ArrayLike, *, sr: float, n: int | None = None, phase: float = 0.0,
        ratios: tuple[float, float] = (1.0, 2.0),
        indices: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, float]:
    """Three-operator stack: op3 -> op2 -> carrier.

    ``sin(2 pi phi_c + I1(t) sin(2 pi r1 phi_c + I2(t) sin(2 pi r2 phi_c)))``.

    Parameters
    ----------
    ratios : (float, float)
        Frequency ratios of op2 and op3 to the carrier (> 0).
    indices : (float or array, float or array)
        Indices I1 (op2 into the carrier) and I2 (op3 into op2), radians,
        scalars or per-sample arrays.
    freq, sr, n, phase
        As for :func:`fm2`.

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    phase_out : float

    Notes
    -----
    No automatic index limit (a stack's bandwidth has no simple rule); a
    safe bound: keep ``sideband_order(I1 + I2 * r2 / r1)`` orders of ``r1 * f_c``
    above the carrier below Nyquist.
    """
    r1, r2 = (float(r) for r in ratios)
    if r1 <= 0 or r2 <= 0:
        raise ValueError(f"FM ratios must be > 0, got {ratios!r}")
    ph, phase_out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    i1 = np.broadcast_to(np.asarray(indices[0], dtype=np.float64), ph.shape)
    i2 = np.broadcast_to(np.asarray(indices[1], dtype=np.float64), ph.shape)
    if np.any(i1 < 0) or np.any(i2 < 0):
        raise ValueError(f"FM indices must be >= 0, got {indices!r}")
    op3 = np.sin(2.0 * np.pi * _op_phase(r2, ph))
    op2 = np.sin(2.0 * np.pi * _op_phase(r1, ph) + i2 * op3)
    return np.sin(2.0 * np.pi * (ph - np.floor(ph)) + i1 * op2), phase_out
