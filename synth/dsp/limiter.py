"""True-peak look-ahead limiter for a stream of stereo blocks.

The gain computer looks at the signal 4x oversampled (the same polyphase
interpolation filter as :func:`scipy.signal.resample_poly`, which the BS.1770
true-peak meter of :mod:`synth.loudness` uses), so peaks *between* samples
are caught too:

1. ``p[k]``: the largest magnitude over both channels at sample ``k`` and
   at the interpolated points on either side of it;
2. ``g[k] = min(1, ceiling / p[k])``: the gain sample ``k`` needs;
3. ``h``: the running minimum of ``g`` over the last ``hold`` samples
   (``hold >= lookahead``), so the gain stays down between the peaks of a
   loud passage instead of fluttering;
4. ``s``: ``h`` averaged over the last ``lookahead`` samples (a box FIR),
   the smooth gain curve;
5. the output is the input delayed by ``lookahead - 1`` samples (plus the
   interpolator's context) times ``s``.

Every value averaged into ``s`` at a peak's (delayed) position is at most
that peak's ``g``, so the gain applied there is at most ``g``: the attack
starts ``lookahead`` samples before the peak and the output's sample peak
never exceeds the ceiling.  The true peak can only exceed it by what the gain
ramp does to the interpolation, which the ``margin_db`` (default 0.1 dB)
covers.  Both channels get the same gain (the stereo image holds).

The state (pending input, the last ``hold - 1`` gains, the FIR state) is
carried from block to block and every step works sample by sample or with
a fixed-length window, so the output does not depend on how the stream is
cut into blocks, bit for bit.  Pure NumPy (SciPy's import would delay the
first block by half a second): arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OVERSAMPLE", "LimiterState", "limiter_state", "limit_block", "limiter_flush"]

#: Oversampling of the true-peak detector (as ITU-R BS.1770-4 annex 2).
OVERSAMPLE = 4
#: Input samples the interpolator needs on each side of a point
#: (resample_poly's default filter reaches 10 samples each way).
CONTEXT = 16
#: The smoothed gains are averaged in fixed point (rounded down to 1/2**32):
#: integer sums are exact, so the average does not depend on where blocks start.
_ONE = 1 << 32


class LimiterState:
    """What :func:`limit_block` carries from one block to the next."""

    __slots__ = ("ceiling", "lookahead", "hold", "pending", "gains", "recent", "delay_line",
                 "skip")

    def __init__(self, ceiling: float, lookahead: int, hold: int, channels: int):
        self.ceiling = float(ceiling)
        self.lookahead = int(lookahead)
        self.hold = int(hold)
        # input not yet through the gain computer, with CONTEXT samples of the past before it
        self.pending = np.zeros((channels, CONTEXT))
        self.gains = np.ones(self.hold - 1)             # the last hold - 1 gains g
        # the last lookahead gains h in fixed point (see _ONE), for the box average
        self.recent = np.full(self.lookahead, _ONE, dtype=np.int64)
        # input samples whose gain is not known yet (the look-ahead delay)
        self.delay_line = np.zeros((channels, self.lookahead - 1))
        self.skip = self.lookahead - 1      # output samples of the delay line's initial zeros


def limiter_state(ceiling: float, *, sr: int, channels: int = 2, lookahead_s: float = 0.005,
                  hold_s: float = 0.05, margin_db: float = 0.1) -> LimiterState:
    """A fresh limiter.

    Parameters
    ----------
    ceiling : float
        Highest allowed true peak, linear (e.g. ``10 ** (-1 / 20)`` for -1 dBTP).
    sr : int
        Sample rate in Hz.
    lookahead_s : float
        Attack time and look-ahead in seconds (default 5 ms).
    hold_s : float
        How long the gain stays down after a peak before it recovers (over
        ``lookahead_s``), in seconds (default 50 ms).
    margin_db : float
        Aim this far below the ceiling, for the gain ramp's effect between samples.
    """
    if not 0 < ceiling <= 1:
        raise ValueError(f"ceiling must be in (0, 1] (linear), got {ceiling!r}")
    lookahead = max(2, int(round(lookahead_s * sr)))
    hold = max(lookahead, int(round((lookahead_s + hold_s) * sr)))
    return LimiterState(ceiling * 10 ** (-margin_db / 20), lookahead, hold, channels)


def _interpolator(oversample: int = OVERSAMPLE, half_taps: int = 10) -> np.ndarray:
    """The polyphase taps of ``resample_poly(x, oversample, 1)``, shape (oversample, 2*half_taps+1).

    The same windowed sinc as SciPy's default (a Kaiser window, beta 5, over
    ``2 * 10 * oversample + 1`` taps, cut off at the original Nyquist
    frequency, DC gain ``oversample``), written out with NumPy so the first
    block does not wait for ``scipy.signal`` to import.  Row ``phase`` holds
    the taps of the points ``phase / oversample`` after each sample, for the
    samples ``+half_taps .. -half_taps`` around it.
    """
    half = half_taps * oversample
    m = np.arange(2 * half + 1) - half
    cutoff = 1.0 / oversample
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(2 * half + 1, 5.0)
    h *= oversample / h.sum()
    taps = np.zeros((oversample, 2 * half_taps + 1))
    for phase in range(oversample):
        row = h[phase::oversample]
        taps[phase, :len(row)] = row
    return taps


_TAPS = _interpolator()


def _running_min(a: np.ndarray, w: int) -> np.ndarray:
    """``out[i] = min(a[i:i + w])`` for every full window (van Herk / Gil-Werman)."""
    n = len(a)
    padded = np.full(-(-n // w) * w, np.inf)
    padded[:n] = a
    blocks = padded.reshape(-1, w)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[:n - w + 1], prefix[w - 1:n])


def _required_gains(x: np.ndarray, ceiling: float) -> np.ndarray:
    """``g`` for the samples ``x[:, CONTEXT:-CONTEXT]`` (which has CONTEXT on each side).

    The peak of sample ``k`` is the largest magnitude at ``k`` and at the
    interpolated points between ``k - 1`` and ``k + 1``, over the channels.
    The interpolation is summed tap by tap in a fixed order (no BLAS dot
    products, whose order depends on memory alignment), so every value is the
    same wherever the block starts.
    """
    n = x.shape[1] - 2 * CONTEXT
    half = (_TAPS.shape[1] - 1) // 2
    lo, hi = CONTEXT - 1, CONTEXT + n          # points after samples lo .. hi - 1
    peak = np.abs(x[:, CONTEXT:CONTEXT + n]).max(axis=0)
    for phase in range(1, OVERSAMPLE):
        acc = np.zeros((x.shape[0], hi - lo))
        for i, tap in enumerate(_TAPS[phase]):
            if tap:
                # the point after sample k weighs sample k + half - i
                acc += tap * x[:, lo + half - i:hi + half - i]
        mag = np.abs(acc).max(axis=0)
        np.maximum(peak, mag[1:], out=peak)     # the gap after sample k
        np.maximum(peak, mag[:-1], out=peak)    # the gap before it
    gains = np.ones(n)
    over = peak > ceiling
    gains[over] = ceiling / peak[over]
    return gains


def limit_block(x: np.ndarray, state: LimiterState) -> tuple[np.ndarray, LimiterState]:
    """Limit the next block of the stream.

    Parameters
    ----------
    x : np.ndarray [shape=(channels, n), dtype=float64]
    state : LimiterState
        From :func:`limiter_state` or the previous call (updated in place and returned).

    Returns
    -------
    y : np.ndarray [shape=(channels, m)]
        The output so far: it lags the input by ``lookahead - 1 + CONTEXT``
        samples, which :func:`limiter_flush` returns at the end (the whole
        output is exactly as long as the whole input).
    state : LimiterState
    """
    x = np.asarray(x, dtype=np.float64)
    buf = np.concatenate([state.pending, x], axis=1)
    # gains are computable for the samples with CONTEXT samples on each side
    n = buf.shape[1] - 2 * CONTEXT
    if n <= 0:
        state.pending = buf
        return np.zeros((x.shape[0], 0)), state
    g = _required_gains(buf, state.ceiling)
    state.pending = buf[:, -2 * CONTEXT:]
    # running minimum over the last `hold` gains
    hist = np.concatenate([state.gains, g])
    h = _running_min(hist, state.hold)
    state.gains = hist[-(state.hold - 1):] if state.hold > 1 else hist[:0]
    # box average over the last `lookahead` values of h, exact in integers
    hq = np.concatenate([state.recent, np.floor(h * _ONE).astype(np.int64)])
    sums = np.cumsum(hq)
    window = sums[state.lookahead:] - sums[:-state.lookahead]
    # (sums[lookahead + i] - sums[i]: hq[i+1 .. i+lookahead], ending at new sample i)
    s = window.astype(np.float64) / (state.lookahead * _ONE)
    state.recent = hq[-state.lookahead:]
    # the samples the gains belong to, delayed by lookahead - 1
    samples = buf[:, CONTEXT:CONTEXT + n]
    line = np.concatenate([state.delay_line, samples], axis=1)
    y = line[:, :n] * s
    state.delay_line = line[:, n:]
    if state.skip:
        drop = min(state.skip, n)
        state.skip -= drop
        y = y[:, drop:]
    return y, state


def limiter_flush(state: LimiterState) -> np.ndarray:
    """The last ``lookahead - 1 + CONTEXT`` output samples (the input followed by silence)."""
    tail = state.lookahead - 1 + CONTEXT
    y, _ = limit_block(np.zeros((state.pending.shape[0], tail)), state)
    return y
