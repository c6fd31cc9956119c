"""Loudness (ITU-R BS.1770) and true peak, for the master stage and ``analyze``.

Integrated loudness follows BS.1770-4 (K-weighting, 400 ms gating blocks
with 75 % overlap, absolute and relative gates), computed block by block with
the filter state carried (:class:`LoudnessMeter`), so memory does not grow
with the length of the audio; the tests check it against :mod:`pyloudnorm`.  True peak follows BS.1770 Annex 2: the signal is
oversampled four times with a polyphase low-pass and the largest magnitude is
taken.  Neither imports scipy.signal (its import alone costs more resident
memory than a render's working set).
"""

from __future__ import annotations

import numpy as np

from .dsp.filters import sosfilt

__all__ = ["integrated_loudness", "true_peak", "measure", "LoudnessMeter", "TruePeakMeter", "true_peak_db", "sample_peak_db", "k_weighting_sos",
           "LoudnessRangeMeter", "loudness_range"]

#: oversampling factor for true-peak measurement (BS.1770 asks for >= 4 at 48 kHz)
OVERSAMPLE = 4
_BLOCK = 1 << 16
_CONTEXT = 256          # samples of overlap so the polyphase filter has history at block edges


#: BS.1770 gating block (s) and the hop between blocks (75 % overlap)
GATE_BLOCK_SECONDS = 0.4
GATE_HOP_SECONDS = 0.1
#: BS.1770 gates: absolute in LUFS, relative in LU below the absolutely gated mean
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0


class LoudnessMeter:
    """Streaming ITU-R BS.1770-4 integrated loudness: feed blocks, read the LUFS.

    Each block [shape=(channels, n)] is K-weighted with the filter state
    carried across blocks; the channel-weighted energy is summed into 100 ms
    sub-blocks whose boundaries fall on the absolute sample
    ``floor(k * sr / 10)``, so any way of cutting the signal gives the same
    value.  A 400 ms gating block is four consecutive sub-blocks (75 %
    overlap).  Memory: one float per 100 ms of audio (30,000 for 50 minutes).

    Parameters
    ----------
    sr : int
        Sample rate in Hz (>= 1000).
    channels : int
        1 to 5 (weights L, R, C = 1, Ls, Rs = 1.41).
    """

    def __init__(self, sr: int, channels: int = 2):
        self._energy = SubBlockEnergy(sr, channels, GATE_HOP_SECONDS)
        self.sr, self.channels = self._energy.sr, self._energy.channels
        self._subs: list[float] = []          # energy of each completed sub-block

    @property
    def frames(self) -> int:
        """Samples (per channel) fed so far."""
        return self._energy.frames

    def add(self, block: np.ndarray) -> None:
        """Feed the next ``block`` [shape=(channels, n)] (or (n,) for mono)."""
        self._subs.extend(self._energy.add(block))

    def block_powers(self) -> np.ndarray:
        """Channel-weighted mean square of each complete 400 ms gating block [shape=(m,)]."""
        sub = np.asarray(self._subs, dtype=np.float64)
        per = int(round(GATE_BLOCK_SECONDS / GATE_HOP_SECONDS))
        if sub.size < per:
            return np.zeros(0)
        sums = np.convolve(sub, np.ones(per), mode="valid")
        starts = np.arange(sums.size)
        lengths = (np.array([self._energy.boundary(k + per) for k in starts])
                   - np.array([self._energy.boundary(k) for k in starts]))
        return sums / lengths

    def integrated(self) -> float:
        """Integrated loudness in LUFS of everything fed so far; ``-inf`` for silence
        or less than one 400 ms block."""
        z = self.block_powers()
        abs_power = 10.0 ** ((ABSOLUTE_GATE + 0.691) / 10.0)
        z = z[z > abs_power]
        if z.size == 0:
            return float("-inf")
        rel_power = float(np.mean(z)) * 10.0 ** (RELATIVE_GATE / 10.0)
        z = z[z > rel_power]
        if z.size == 0:
            return float("-inf")
        return float(-0.691 + 10.0 * np.log10(np.mean(z)))


#: half-length (taps each side, at the oversampled rate) and Kaiser beta of the true-peak
#: interpolation filter: the design of scipy.signal.resample_poly for a 4x upsampling,
#: written here in NumPy so that a loudness measurement does not import scipy.signal
#: (66 MB of resident memory, more than the rest of a render's working set)
_TP_HALF = 10 * OVERSAMPLE
_TP_BETA = 5.0


def _interpolation_phases() -> list[np.ndarray]:
    """The polyphase taps of the 4x true-peak interpolator [OVERSAMPLE arrays of ~21 taps].

    A windowed-sinc low-pass at the original Nyquist frequency (Kaiser
    window, beta 5, 81 taps at the oversampled rate), unity gain at DC after
    zero-stuffing; phase ``p`` holds taps ``p, p + 4, ...``.
    """
    n = np.arange(2 * _TP_HALF + 1) - _TP_HALF
    cutoff = 1.0 / OVERSAMPLE
    h = cutoff * np.sinc(cutoff * n) * np.kaiser(2 * _TP_HALF + 1, _TP_BETA)
    h *= OVERSAMPLE / np.sum(h)
    return [h[p::OVERSAMPLE].copy() for p in range(OVERSAMPLE)]


_PHASES = _interpolation_phases()


def _interpolated_peak(seg: np.ndarray, lo: int, count: int) -> float:
    """Largest magnitude of the 4x-interpolated ``seg`` [shape=(channels, n)] between its
    samples ``lo`` and ``lo + count`` (the interpolator's delay, _TP_HALF / 4 input samples,
    taken into account; ``seg`` holds at least that much on each side, or zeros are assumed)."""
    delay = _TP_HALF // OVERSAMPLE
    peak = 0.0
    for taps in _PHASES:
        for channel in seg:
            y = np.convolve(channel, taps)[lo + delay:lo + delay + count]
            if y.size:
                peak = max(peak, float(np.max(np.abs(y))))
    return peak


class TruePeakMeter:
    """Streaming true peak (BS.1770 Annex 2): feed blocks, read the largest magnitude.

    Each block is oversampled :data:`OVERSAMPLE` times together with the
    last samples of the one before (so the interpolation filter has history
    at the edges); the last :data:`_CONTEXT` samples wait for the next
    block's samples (their future), and :meth:`peak` takes them at the end.
    """

    def __init__(self, channels: int = 2):
        self.channels = int(channels)
        self._tail = np.zeros((channels, 0))      # samples not yet measured (the last _CONTEXT)
        self._hist = np.zeros((channels, 0))      # up to _CONTEXT measured samples before them
        self._peak = 0.0

    def add(self, block: np.ndarray) -> None:
        """Feed the next ``block`` [shape=(channels, n)] (or (n,) for mono)."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] == 0:
            return
        self._peak = max(self._peak, float(np.max(np.abs(x))))
        pending = np.concatenate([self._tail, x], axis=1)
        ready = pending.shape[1] - _CONTEXT
        if ready <= 0:
            self._tail = pending
            return
        seg = np.concatenate([self._hist, pending], axis=1)
        lo = self._hist.shape[1]
        self._peak = max(self._peak, _interpolated_peak(seg, lo, ready))
        done = np.concatenate([self._hist, pending[:, :ready]], axis=1)
        self._hist = done[:, -_CONTEXT:]
        self._tail = pending[:, ready:]

    def peak(self) -> float:
        """The true peak (linear) of everything fed so far."""
        if self._tail.shape[1] == 0:
            return self._peak
        seg = np.concatenate([self._hist, self._tail], axis=1)
        lo = self._hist.shape[1]
        return max(self._peak, _interpolated_peak(seg, lo, self._tail.shape[1]))


def _blocks_of(audio, block_samples: int = _BLOCK):
    """``audio`` [shape=(channels, n) or (n,)] as blocks, or the blocks of an iterable."""
    if isinstance(audio, np.ndarray) or not hasattr(audio, "__iter__") \
            or isinstance(audio, (list, tuple)) and audio and np.isscalar(audio[0]):
        x = np.asarray(audio, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        for a in range(0, x.shape[1], block_samples):
            yield x[:, a:a + block_samples]
        if x.shape[1] == 0:
            yield x
        return
    for b in audio:
        b = np.asarray(b, dtype=np.float64)
        b = b[None, :] if b.ndim == 1 else b
        # large blocks are measured in slices: the 4x-oversampled copy and the filter
        # outputs of a whole render chunk would cost several times its size
        for a in range(0, max(b.shape[1], 1), block_samples):
            yield b[:, a:a + block_samples]


def measure(audio: np.ndarray, sr: int, *, lra: bool = False) -> dict:
    """Integrated loudness, true peak, sample peak (and LRA) in one streaming pass.

    Parameters
    ----------
    audio : np.ndarray [shape=(channels, n)] or iterable of such blocks
        Blocks are read once and not kept: memory does not grow with length.
    sr : int
        Sample rate in Hz.
    lra : bool
        Also measure the loudness range (EBU Tech 3342).

    Returns
    -------
    dict
        ``lufs`` (``-inf`` when silent), ``true_peak`` and ``sample_peak``
        (linear), ``frames``, ``channels`` and, with ``lra``, ``lra`` in LU.
    """
    meter = tp = lr = None
    sample_peak = 0.0
    for block in _blocks_of(audio):
        if meter is None:
            ch = block.shape[0]
            meter, tp = LoudnessMeter(sr, ch), TruePeakMeter(ch)
            lr = LoudnessRangeMeter(sr, ch) if lra else None
        if block.shape[1] == 0:
            continue
        if not np.isfinite(np.max(np.abs(block))):
            raise ValueError("audio holds NaN or infinite samples")
        meter.add(block)
        tp.add(block)
        if lr is not None:
            lr.add(block)
        sample_peak = max(sample_peak, float(np.max(np.abs(block))))
    if meter is None:
        return {"lufs": float("-inf"), "true_peak": 0.0, "sample_peak": 0.0, "frames": 0,
                "channels": 0, **({"lra": 0.0} if lra else {})}
    out = {"lufs": meter.integrated(), "true_peak": tp.peak(), "sample_peak": sample_peak,
           "frames": meter.frames, "channels": meter.channels}
    if lra:
        out["lra"] = lr.loudness_range()
    return out


def integrated_loudness(audio: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS of ``audio`` [shape=(channels, n)] or an iterable of blocks.

    Returns ``-inf`` for a signal that is silent (or shorter than one 400 ms
    block).  Computed block by block (:class:`LoudnessMeter`).
    """
    meter = None
    for block in _blocks_of(audio):
        if meter is None:
            meter = LoudnessMeter(sr, block.shape[0])
        meter.add(block)
    return meter.integrated() if meter is not None else float("-inf")


def true_peak(audio: np.ndarray, sr: int | None = None) -> float:
    """Largest magnitude of ``audio`` [shape=(channels, n)] (or blocks) oversampled 4x (linear)."""
    meter = None
    for block in _blocks_of(audio):
        if meter is None:
            meter = TruePeakMeter(block.shape[0])
        meter.add(block)
    return meter.peak() if meter is not None else 0.0


def _db(v: float) -> float:
    return float(20 * np.log10(v)) if v > 0 else float("-inf")


def true_peak_db(audio: np.ndarray, sr: int | None = None) -> float:
    """True peak in dBTP."""
    return _db(true_peak(audio, sr))


def sample_peak_db(audio: np.ndarray) -> float:
    """Largest sample magnitude in dBFS."""
    x = np.asarray(audio)
    return _db(float(np.max(np.abs(x))) if x.size else 0.0)


# ---------------------------------------------------------------- loudness range (EBU Tech 3342)

#: K-weighting stage 1 (the "pre-filter", a high shelf) and stage 2 (the RLB
#: high-pass) as analogue prototypes: (f0 in Hz, gain in dB, Q, shelf-midpoint
#: exponent).  These values reproduce the 48 kHz coefficients tabulated in
#: ITU-R BS.1770-4, Annex 1, to 1e-8 and give the filters at any sample rate
#: (the bilinear-transform derivation used by libebur128).
_SHELF = (1681.974450955533, 3.999843853973347, 0.7071752369554196, 0.4996667741545416)
_HIGHPASS = (38.13547087602444, 0.5003270373238773)
#: BS.1770 channel weights G_i, in the channel order L, R, C, Ls, Rs
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
#: short-term loudness window (EBU Tech 3341/3342), seconds
SHORT_TERM_SECONDS = 3.0
#: hop between short-term values for the loudness range: 10 Hz, as EBU Tech 3342
#: (2016) asks (consecutive 3 s windows overlap by at least 2.9 s)
LRA_HOP_SECONDS = 0.1
#: EBU Tech 3342 gates: absolute in LUFS, relative in LU below the gated mean
LRA_ABSOLUTE_GATE = -70.0
LRA_RELATIVE_GATE = -20.0
#: the percentiles whose difference is the loudness range
LRA_PERCENTILES = (10.0, 95.0)


def k_weighting_sos(sr: int) -> np.ndarray:
    """The BS.1770 K-weighting filter at ``sr`` Hz as second-order sections [shape=(2, 6)].

    Row 0 is the high-shelf pre-filter, row 1 the RLB high-pass, in the
    ``scipy.signal.sosfilt`` layout ``[b0, b1, b2, 1, a1, a2]``.
    """
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr < 1000:
        raise ValueError(f"sr must be an integer sample rate >= 1000 Hz, got {sr!r}")
    f0, gain_db, q, mid = _SHELF
    k = np.tan(np.pi * f0 / sr)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** mid
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
             (vh - vb * k / q + k * k) / a0, 1.0, 2.0 * (k * k - 1.0) / a0,
             (1.0 - k / q + k * k) / a0]
    f0, q = _HIGHPASS
    k = np.tan(np.pi * f0 / sr)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


class SubBlockEnergy:
    """K-weighted, channel-weighted energy of consecutive sub-blocks, fed block by block.

    The one front end of :class:`LoudnessMeter` and :class:`LoudnessRangeMeter`: each
    block [shape=(channels, n)] is K-weighted with the filter state carried, its
    channels' squares weighted by :data:`CHANNEL_WEIGHTS` and summed into sub-blocks of
    ``hop_seconds`` whose boundaries fall on the absolute sample
    ``floor(k * sr * hop_seconds)``, so any way of cutting the signal into blocks gives
    the same energies.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    channels : int
        1 to 5 (BS.1770 weights: L, R, C = 1, Ls, Rs = 1.41).
    hop_seconds : float
        Sub-block length in seconds.
    """

    def __init__(self, sr: int, channels: int, hop_seconds: float):
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) \
                or not 1 <= channels <= len(CHANNEL_WEIGHTS):
            raise ValueError(f"channels must be 1..{len(CHANNEL_WEIGHTS)}, got {channels!r}")
        self.sos = k_weighting_sos(sr)
        self.sr, self.channels, self.hop_seconds = int(sr), int(channels), float(hop_seconds)
        self._weights = np.asarray(CHANNEL_WEIGHTS[:channels])[:, None]
        self._zi = np.zeros((2, channels, 2))
        self.frames = 0                   # samples (per channel) consumed
        self._closed = 0                  # sub-blocks completed
        self._acc = 0.0                   # weighted energy of the sub-block being filled

    def boundary(self, k: int) -> int:
        """First sample of sub-block ``k``."""
        return int(k * self.sr * self.hop_seconds)

    def add(self, block: np.ndarray) -> list[float]:
        """Feed the next ``block`` [shape=(channels, n)] (or (n,) for mono); return the
        energies of the sub-blocks it completed, in order."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"expected a block of shape ({self.channels}, n), got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("audio block holds NaN or infinite samples")
        if x.shape[1] == 0:
            return []
        y, self._zi = sosfilt(self.sos, x, zi=self._zi)
        energy = np.cumsum(np.sum(self._weights * y * y, axis=0))
        start, end = self.frames, self.frames + x.shape[1]
        closed, taken = [], 0.0
        while self.boundary(self._closed + 1) <= end:
            cut = self.boundary(self._closed + 1) - start   # samples of this block in the sub-block
            total = float(energy[cut - 1]) if cut > 0 else 0.0
            closed.append(self._acc + total - taken)
            taken, self._acc = total, 0.0
            self._closed += 1
        self._acc += float(energy[-1]) - taken
        self.frames = end
        return closed


class LoudnessRangeMeter:
    """Streaming EBU Tech 3342 loudness range: feed blocks, read the LRA.

    Each block [shape=(channels, n)] is K-weighted (filter state carried
    across blocks), its channels' mean squares weighted by :data:`CHANNEL_WEIGHTS`
    and summed into 100 ms sub-blocks, whose boundaries fall on the absolute
    sample ``floor(k * sr / 10)`` (:class:`SubBlockEnergy`), so any way of cutting the signal into
    blocks gives the same values.  Every completed sub-block closes a 3 s
    window (30 sub-blocks): one short-term loudness value per 0.1 s
    (:data:`LRA_HOP_SECONDS`), starting when the first 3 s are in.  Memory
    holds one float per 0.1 s of audio.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    channels : int
        1 to 5 (BS.1770 weights: L, R, C = 1, Ls, Rs = 1.41).
    """

    def __init__(self, sr: int, channels: int = 2):
        self._energy = SubBlockEnergy(sr, channels, LRA_HOP_SECONDS)
        self.sr, self.channels = self._energy.sr, self._energy.channels
        self._sub = 0                     # index of the next sub-block to close
        self._subs = int(round(SHORT_TERM_SECONDS / LRA_HOP_SECONDS))
        self._recent: list[tuple[float, int]] = []      # last sub-blocks: (energy, samples)
        self._powers: list[float] = []                  # weighted mean square per window

    def add(self, block: np.ndarray) -> None:
        """Feed the next ``block`` [shape=(channels, n)] (or (n,) for mono)."""
        for energy in self._energy.add(block):
            self._close_sub(energy)

    def _close_sub(self, energy: float) -> None:
        length = self._energy.boundary(self._sub + 1) - self._energy.boundary(self._sub)
        self._recent.append((energy, length))
        if len(self._recent) > self._subs:
            self._recent.pop(0)
        if len(self._recent) == self._subs:
            self._powers.append(sum(e for e, _ in self._recent) / sum(n for _, n in self._recent))
        self._sub += 1

    @property
    def short_term(self) -> np.ndarray:
        """Short-term loudness in LUFS, one value per 0.1 s from 3 s on [shape=(m,)].

        ``-inf`` for a silent window.
        """
        p = np.asarray(self._powers)
        with np.errstate(divide="ignore"):
            return -0.691 + 10.0 * np.log10(p)

    def loudness_range(self) -> float:
        """The loudness range (LRA) in LU of everything fed so far.

        Short-term values at or below -70 LUFS are dropped; of the rest, those
        below the power mean of the survivors minus 20 LU are dropped too; the
        LRA is the 95th minus the 10th percentile of what remains, each taken
        as the value at rank ``round((m - 1) * p / 100)`` of the ``m`` sorted
        values (the estimator of the reference code in EBU Tech 3342).
        Returns 0.0 when no window survives the gates (silence, or less than
        3 s of audio).
        """
        p = np.asarray(self._powers)
        abs_power = 10.0 ** ((LRA_ABSOLUTE_GATE + 0.691) / 10.0)
        p = p[p > abs_power]
        if p.size == 0:
            return 0.0
        rel_power = float(np.mean(p)) * 10.0 ** (LRA_RELATIVE_GATE / 10.0)
        p = np.sort(p[p > rel_power])
        if p.size == 0:
            return 0.0
        loud = -0.691 + 10.0 * np.log10(p)
        lo, hi = (loud[int(np.floor((p.size - 1) * q / 100.0 + 0.5))] for q in LRA_PERCENTILES)
        return float(hi - lo)


def loudness_range(audio: np.ndarray, sr: int, *, block_samples: int = _BLOCK) -> float:
    """EBU Tech 3342 loudness range (LRA) in LU of ``audio`` [shape=(channels, n)].

    The audio is fed to a :class:`LoudnessRangeMeter` in blocks of
    ``block_samples``; the result does not depend on the block size.
    Returns 0.0 for silence or audio shorter than 3 s.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"audio must have shape (channels, n), got {x.shape}")
    if block_samples < 1:
        raise ValueError(f"block_samples must be >= 1, got {block_samples!r}")
    meter = LoudnessRangeMeter(sr, x.shape[0])
    for a in range(0, x.shape[1], block_samples):
        meter.add(x[:, a:a + block_samples])
    return meter.loudness_range()
