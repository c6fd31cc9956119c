"""Mixing kernels: panning and the master ceiling."""

from __future__ import annotations

import numpy as np

__all__ = ["pan_gains", "soft_limit"]


def pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power (-3 dB at centre) left/right gains for ``pan`` in -1..+1."""
    theta = (float(pan) + 1.0) * np.pi / 4.0
    left, right = float(np.cos(theta)), float(np.sin(theta))
    # cos(pi/2) is 6e-17, not 0: a hard-panned part must leave the other side silent
    return (0.0 if pan >= 1.0 else left), (0.0 if pan <= -1.0 else right)


def soft_limit(x: np.ndarray, ceiling: float) -> np.ndarray:
    """Memoryless soft limiter: identity below ``ceiling/2``, never above ``ceiling``.

    (In float64 ``tanh`` of a huge excess rounds to 1, so the output can touch
    the ceiling exactly; it never exceeds it.)

    Above the knee the excess is compressed with ``tanh``, so the curve and its
    slope are continuous and the output approaches but never reaches the
    ceiling.  Being memoryless it is trivially block-invariant.
    """
    knee = 0.5 * ceiling
    mag = np.abs(x)
    over = mag > knee
    if not over.any():
        return x
    y = x.copy()
    span = ceiling - knee
    y[over] = np.sign(x[over]) * (knee + span * np.tanh((mag[over] - knee) / span))
    return y
