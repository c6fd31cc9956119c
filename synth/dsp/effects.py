"""Effects for stereo signals: reverb, delay, chorus, bit-crusher, decimator, saturation.

Why over 500 lines: the seven effect kernels with their typed states and tail
rules. Each is short; they share the parameter checks and the compiled
recursive loops, so a file per effect would mostly repeat imports.

Calling convention (every effect)::

    y, state = effect(x, *, sr, state=None, **params)

- ``x`` is ``[shape=(2, n)]`` (left, right; any leading shape works for the
  memoryless ones), ``y`` has the same shape.
- ``state=None`` means a fresh effect (silent history); pass the returned
  state with the next block: chunked processing equals one pass exactly
  (bit for bit).  Parameters must stay the same between blocks of one run.
- ``<effect>_tail_seconds(**params)`` says how long the effect keeps sounding
  after its input falls silent (to about -90 dB), so the renderer can render
  the tail instead of cutting it.  Memoryless effects have no tail.

Recursive parts run on sub-blocks no longer than their shortest delay (so
each sub-block only reads what earlier ones wrote), with the compiled
second-order-section kernel of :mod:`.filters` for the damping filters: no
per-sample Python loops.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import filters
from .jit import kernel
from .oscillators import phase_ramp

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "reverb", "reverb_tail_seconds", "REVERB_DELAYS_MS",
    "delay", "delay_tail_seconds",
    "chorus", "chorus_tail_seconds",
    "bitcrush", "decimate",
    "saturate", "SATURATION_SHAPES", "saturate_latency",
    "ReverbState", "DelayState", "ChorusState", "DecimateState", "SaturateState",
]


# ---------------------------------------------------------------- kernel states
# What each effect carries from one block to the next (``state=None`` starts fresh).
# The arrays are never written after a state is returned: each call works on copies.

class ReverbState(NamedTuple):
    """The FDN's delay lines and damping filters between blocks."""

    buf: np.ndarray        #: [shape=(sum of the 8 delays,)] the delay lines end to end
    t: int                 #: samples processed so far (the lines' write position)
    zi: np.ndarray         #: [shape=(8, 1)] each line's one-pole damping state


class DelayState(NamedTuple):
    """The echo's delay line and damping filters between blocks."""

    buf: np.ndarray        #: [shape=(2, D)] the delay line of each channel, D = time * sr
    t: int                 #: samples processed so far (the write position)
    zi: np.ndarray         #: [shape=(2, 1)] each channel's one-pole damping state


class ChorusState(NamedTuple):
    """The chorus's input history and LFO phase between blocks."""

    hist: np.ndarray       #: [shape=(2, h)] the last h input samples (longest delay + 2)
    phase: float           #: LFO phase in cycles [0, 1)


class DecimateState(NamedTuple):
    """The sample-and-hold clock and the value held between blocks."""

    phase: float           #: clock phase in cycles
    cycle: int             #: index of the last clock cycle that took a sample
    held: np.ndarray       #: [shape=x.shape[:-1]] the value held


class SaturateState(NamedTuple):
    """The oversampling filters' histories and the dry path's latency line."""

    up: np.ndarray         #: [shape=(..., taps - 1)] interpolation filter input history
    down: np.ndarray       #: [shape=(..., taps - 1)] decimation filter input history
    dry: np.ndarray        #: [shape=(..., latency)] dry signal delayed to match the wet


def _stereo(x, name):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != 2:
        raise ValueError(f"{name} needs a stereo signal of shape (2, n), got shape {x.shape!r}")
    return x


def _check_range(name, value, lo, hi, hi_open=False):
    ok = lo <= value < hi if hi_open else lo <= value <= hi
    if not ok:
        bracket = ")" if hi_open else "]"
        raise ValueError(f"{name} must lie within [{lo}, {hi}{bracket}, got {value!r}")


# ---------------------------------------------------------------- reverb

#: Delay-line lengths of the FDN at ``size=1`` (ms): spread over 30-75 ms,
#: mutually incommensurate so the echoes do not pile up on a common period.
REVERB_DELAYS_MS = (31.7, 37.3, 41.9, 45.7, 53.1, 59.3, 67.1, 73.9)


def _fdn_delays(sr, size):
    d = np.round(np.asarray(REVERB_DELAYS_MS) * 1e-3 * sr * float(size)).astype(np.int64)
    return np.maximum(d, 1)


def reverb(x: np.ndarray, *, sr: float, rt60: float = 2.0, damping: float = 0.3, size: float = 1.0,
           mix: float = 0.25, state: ReverbState | None = None
        ) -> tuple[np.ndarray, ReverbState]:
    """Feedback-delay-network reverb (8 lines, Hadamard feedback, per-line damping).

    Parameters
    ----------
    x : np.ndarray [shape=(2, n)]
    sr : float
        Sample rate in Hz.
    rt60 : float
        Seconds for the (low-frequency) tail to fall 60 dB; each line's gain
        is ``10 ** (-3 * delay / (rt60 * sr))``, so the network decays at that
        rate whatever path the sound takes.
    damping : float
        0..1: a one-pole low-pass in each line (coefficient ``0.85 * damping``)
        makes high frequencies die sooner, like air and soft walls.
    size : float
        Scales the delay lengths (``REVERB_DELAYS_MS``), 0.3..3.
    mix : float
        0..1: ``(1 - mix) * dry + mix * wet``.
    state : ReverbState, optional

    Returns
    -------
    y : np.ndarray [shape=(2, n)]
    state : ReverbState
    """
    x = _stereo(x, "reverb")
    if rt60 <= 0:
        raise ValueError(f"reverb rt60 must be > 0 seconds, got {rt60!r}")
    _check_range("reverb damping", damping, 0.0, 1.0)
    _check_range("reverb size", size, 0.3, 3.0)
    _check_range("reverb mix", mix, 0.0, 1.0)
    d = _fdn_delays(sr, size)
    offsets = np.concatenate([[0], np.cumsum(d)[:-1]])
    gains = 10.0 ** (-3.0 * d / (rt60 * sr))
    a = 0.85 * float(damping)
    if state is None:
        state = ReverbState(np.zeros(int(d.sum())), 0, np.zeros((8, 1)))
    buf, t = state.buf.copy(), int(state.t)
    zi = np.array(state.zi[:, 0], dtype=np.float64)
    n = x.shape[1]
    y = np.empty((2, n))
    _fdn(np.ascontiguousarray(x), buf, offsets.astype(np.int64), d.astype(np.int64), t,
         np.array([1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]), gains / np.sqrt(8.0), zi,
         1.0 - mix, mix * 0.5, y)
    return y, ReverbState(buf, t + n, zi[:, None])


@kernel
def _fdn(x, buf, offsets, delays, t, damp, line_gains, zi, dry, wet, y):
    """The reverb's feedback delay network, one frame at a time.

    Per frame: each line's oldest sample goes through its one-pole damping
    filter (the second-order-section recursion of :func:`.filters.sosfilt`
    with ``damp = [1 - a, 0, 0, 1, -a, 0]``, whose second state is restarted
    every ``min(delays)`` frames as it was when the filter ran on sub-blocks
    of that length; it is always a signed zero) and its gain; the eight
    lines are mixed by an unnormalised Hadamard butterfly (the ``1/sqrt(8)``
    is in ``line_gains``), left input added to the even lines and right to
    the odd ones, and written back; the wet signal takes fixed-order sums
    of the lines' outputs, and ``y = dry * x + wet * (wet signal)``.

    Parameters
    ----------
    x : np.ndarray [shape=(2, n)]
    buf : np.ndarray [shape=(sum(delays),)]
        The eight delay lines end to end; updated in place.
    offsets, delays : np.ndarray [shape=(8,), dtype=int64]
        Where each line starts in ``buf``, and its length in frames.
    t : int
        Frames processed before this block (each line's read position is
        ``t mod delay``).
    damp : np.ndarray [shape=(6,)]
    line_gains : np.ndarray [shape=(8,)]
    zi : np.ndarray [shape=(8,)]
        Damping filters' state; updated in place.
    dry, wet : float
        Gains of the input and of the network's output.
    y : np.ndarray [shape=(2, n)]
        Written.
    """
    n = x.shape[1]
    step = delays.min()
    pos = np.empty(8, dtype=np.int64)
    for line in range(8):
        pos[line] = t % delays[line]
    z1 = np.zeros(8)
    o = np.empty(8)
    v = np.empty(8)
    w = np.empty(8)
    b0, b1, b2, a1, a2 = damp[0], damp[1], damp[2], damp[4], damp[5]
    countdown = 0
    for i in range(n):
        if countdown == 0:
            z1[:] = 0.0
            countdown = step
        countdown -= 1
        for line in range(8):
            out = buf[offsets[line] + pos[line]]
            o[line] = out
            damped = b0 * out + zi[line]
            zi[line] = b1 * out - a1 * damped + z1[line]
            z1[line] = b2 * out - a2 * damped
            v[line] = damped * line_gains[line]
        for j in range(4):                      # butterflies: pairs 4, 2, 1 apart
            w[j], w[j + 4] = v[j] + v[j + 4], v[j] - v[j + 4]
        for g in range(0, 8, 4):
            for j in range(g, g + 2):
                v[j], v[j + 2] = w[j] + w[j + 2], w[j] - w[j + 2]
        for j in range(0, 8, 2):
            w[j], w[j + 1] = v[j] + v[j + 1], v[j] - v[j + 1]
        for line in range(8):
            buf[offsets[line] + pos[line]] = w[line] + x[line % 2, i]
            pos[line] += 1
            if pos[line] == delays[line]:
                pos[line] = 0
        left = ((o[0] - o[1]) + (o[2] - o[3])) + ((o[4] - o[5]) + (o[6] - o[7]))
        right = ((o[0] + o[1]) - (o[2] + o[3])) + ((o[4] + o[5]) - (o[6] + o[7]))
        y[0, i] = dry * x[0, i] + wet * left
        y[1, i] = dry * x[1, i] + wet * right


def reverb_tail_seconds(*, rt60: float = 2.0, size: float = 1.0, **_ignored: Any) -> float:
    """Tail to -90 dB: 1.5 x RT60 plus the longest delay line."""
    return 1.5 * float(rt60) + max(REVERB_DELAYS_MS) * 1e-3 * float(size)


# ---------------------------------------------------------------- delay

def delay(x: np.ndarray, *, sr: float, time: float, feedback: float = 0.35, mix: float = 0.3,
          damping: float = 0.0, state: DelayState | None = None
        ) -> tuple[np.ndarray, DelayState]:
    """Feedback echo (the caller converts beats to seconds for tempo sync).

    Parameters
    ----------
    x : np.ndarray [shape=(2, n)]
    sr : float
        Sample rate in Hz.
    time : float
        Delay in seconds; rounded to ``D = round(time * sr)`` samples (>= 1).
    feedback : float
        0..0.98: gain of each further repeat.
    mix : float
        0..1: ``(1 - mix) * dry + mix * wet``; the first echo arrives at sample
        ``D`` with gain ``mix``, the k-th at ``k * D`` with ``mix * feedback**(k-1)``
        (when ``damping`` is 0).
    damping : float
        0..1: one-pole low-pass (coefficient ``0.9 * damping``) in the feedback
        path, so repeats grow darker.
    state : DelayState, optional

    Returns
    -------
    y : np.ndarray [shape=(2, n)]
    state : DelayState
    """
    x = _stereo(x, "delay")
    _check_range("delay feedback", feedback, 0.0, 0.98)
    _check_range("delay mix", mix, 0.0, 1.0)
    _check_range("delay damping", damping, 0.0, 1.0)
    D = int(round(float(time) * sr))
    if D < 1:
        raise ValueError(f"delay time must be at least one sample (1/sr), got {time!r} s")
    a = 0.9 * float(damping)
    if state is None:
        state = DelayState(np.zeros((2, D)), 0, np.zeros((2, 1)))
    buf, t = state.buf.copy(), int(state.t)
    zi = np.array(state.zi[:, 0], dtype=np.float64)
    y = np.empty((2, x.shape[1]))
    _echo(np.ascontiguousarray(x), buf, t, np.array([1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]),
          float(feedback), zi, 1.0 - mix, float(mix), y)
    return y, DelayState(buf, t + x.shape[1], zi[:, None])


@kernel
def _echo(x, buf, t, damp, feedback, zi, dry, wet, y):
    """The feedback delay, one frame at a time, both channels.

    Per frame and channel: the line's oldest sample is the wet output; it
    goes through the damping one-pole (the section recursion of
    :func:`.filters.sosfilt` with ``damp = [1 - a, 0, 0, 1, -a, 0]``, its
    second state restarted every ``D`` frames as when the filter ran on
    sub-blocks of one delay) and back into the line, ``x + feedback *
    damped``; ``y = dry * x + wet * out``.

    Parameters
    ----------
    x : np.ndarray [shape=(2, n)]
    buf : np.ndarray [shape=(2, D)]
        The delay lines; updated in place.
    t : int
        Frames processed before this block (read position ``t mod D``).
    damp : np.ndarray [shape=(6,)]
    feedback, dry, wet : float
    zi : np.ndarray [shape=(2,)]
        Damping filters' state; updated in place.
    y : np.ndarray [shape=(2, n)]
        Written.
    """
    size = buf.shape[1]
    b0, b1, b2, a1, a2 = damp[0], damp[1], damp[2], damp[4], damp[5]
    z1 = np.zeros(2)
    pos = t % size
    countdown = 0
    for i in range(x.shape[1]):
        if countdown == 0:
            z1[:] = 0.0
            countdown = size
        countdown -= 1
        for c in range(2):
            out = buf[c, pos]
            damped = b0 * out + zi[c]
            zi[c] = b1 * out - a1 * damped + z1[c]
            z1[c] = b2 * out - a2 * damped
            buf[c, pos] = x[c, i] + feedback * damped
            y[c, i] = dry * x[c, i] + wet * out
        pos += 1
        if pos == size:
            pos = 0


def delay_tail_seconds(*, time: float, feedback: float = 0.35, **_ignored: Any) -> float:
    """Time until the repeats fall below -90 dB (at least one delay time)."""
    if feedback <= 0:
        return float(time)
    repeats = np.ceil(np.log(10 ** (-90 / 20)) / np.log(feedback))
    return float(time) * (1.0 + float(repeats))


# ---------------------------------------------------------------- chorus

def chorus(x: np.ndarray, *, sr: float, rate_hz: float = 0.8, depth_ms: float = 2.0,
           delay_ms: float = 12.0, spread: float = 0.25, mix: float = 0.5,
           state: ChorusState | None = None) -> tuple[np.ndarray, ChorusState]:
    """Chorus: each channel mixed with a copy under a sine-modulated delay.

    The delay of channel ``c`` is
    ``delay_ms + depth_ms * sin(2 pi (rate_hz * t + c * spread))`` ms, read by
    linear interpolation between stored samples.

    Parameters
    ----------
    x : np.ndarray [shape=(2, n)]
    sr : float
    rate_hz : float
        Modulation rate in Hz (> 0).
    depth_ms : float
        Peak delay swing in ms (0 <= depth_ms < delay_ms).
    delay_ms : float
        Centre delay in ms.
    spread : float
        Phase offset of the right channel's modulation in cycles (0..1).
    mix : float
        0..1: ``(1 - mix) * dry + mix * delayed``.
    state : ChorusState, optional

    Returns
    -------
    y : np.ndarray [shape=(2, n)]
    state : ChorusState
    """
    x = _stereo(x, "chorus")
    if rate_hz <= 0:
        raise ValueError(f"chorus rate_hz must be > 0, got {rate_hz!r}")
    if not 0.0 <= depth_ms < delay_ms:
        raise ValueError(f"chorus needs 0 <= depth_ms < delay_ms, got depth_ms={depth_ms!r}, "
                         f"delay_ms={delay_ms!r}")
    _check_range("chorus mix", mix, 0.0, 1.0)
    n = x.shape[1]
    hist_len = int(np.ceil((delay_ms + depth_ms) * 1e-3 * sr)) + 2
    if state is None:
        state = ChorusState(np.zeros((2, hist_len)), 0.0)
    ph, phase_out = phase_ramp(rate_hz, sr=sr, n=n, phase=state.phase)
    offsets = np.array([0.0, float(spread)])[:, None]
    d = (delay_ms + depth_ms * np.sin(2 * np.pi * (ph[None, :] + offsets))) * 1e-3 * sr   # (2, n)
    ext = np.concatenate([state.hist, x], axis=1)
    # integer and fractional parts of the read position taken from ``d`` alone, so the
    # arithmetic does not depend on where the block starts (chunked == one pass exactly)
    whole = np.ceil(d)
    frac = whole - d
    i = hist_len + np.arange(n)[None, :] - whole.astype(np.intp)
    rows = np.arange(2)[:, None]
    wet = ext[rows, i] + frac * (ext[rows, i + 1] - ext[rows, i])   # i + 1 <= the current sample
    y = (1.0 - mix) * x + mix * wet
    return y, ChorusState(ext[:, ext.shape[1] - hist_len:].copy(), phase_out)


def chorus_tail_seconds(*, delay_ms: float = 12.0, depth_ms: float = 2.0, **_ignored: Any) -> float:
    """The longest delay: the last input sample leaves the line after it."""
    return (delay_ms + depth_ms) * 1e-3


# ---------------------------------------------------------------- lo-fi

def bitcrush(x: np.ndarray, *, sr: float | None = None, bits: int = 8, state: None = None
        ) -> tuple[np.ndarray, None]:
    """Quantise to ``bits`` bits: ``round(x * 2**(bits-1)) / 2**(bits-1)``, clipped to full scale.

    Memoryless (``state`` passes through as ``None``; ``sr`` is unused and
    accepted for the common signature).

    Returns
    -------
    y : np.ndarray (shape of ``x``)
    state : None
    """
    if not (isinstance(bits, (int, np.integer)) and 1 <= bits <= 24):
        raise ValueError(f"bitcrush bits must be an integer 1..24, got {bits!r}")
    scale = 2.0 ** (int(bits) - 1)
    q = np.clip(np.round(np.asarray(x, dtype=np.float64) * scale), -scale, scale - 1)
    return q / scale, None


def decimate(x: np.ndarray, *, sr: float, rate_hz: float, state: DecimateState | None = None
        ) -> tuple[np.ndarray, DecimateState]:
    """Sample-rate reducer: hold one input sample per period of ``rate_hz`` (no filter: it aliases on purpose).

    A new sample is taken whenever a phase running at ``rate_hz`` passes an
    integer (the first sample of a fresh run is always taken).

    Parameters
    ----------
    x : np.ndarray [shape=(..., n)]
    sr : float
    rate_hz : float
        Target rate in Hz, 0 < rate_hz <= sr.
    state : DecimateState, optional

    Returns
    -------
    y : np.ndarray (shape of ``x``)
    state : DecimateState
    """
    x = np.asarray(x, dtype=np.float64)
    if not 0 < rate_hz <= sr:
        raise ValueError(f"decimate rate_hz must lie within (0, sr={sr!r}], got {rate_hz!r}")
    n = x.shape[-1]
    ph, phase_out = phase_ramp(rate_hz, sr=sr, n=n, phase=0.0 if state is None else state.phase)
    cycle = np.floor(ph).astype(np.int64)
    if state is None:
        prev = cycle[0] - 1 if n else 0
        held = np.zeros(x.shape[:-1])
    else:
        prev, held = state.cycle, state.held
    take = np.diff(np.concatenate([[prev], cycle])) > 0
    marks = np.where(take, np.arange(1, n + 1), 0)
    src = np.maximum.accumulate(marks) if n else marks           # 0 = the held value
    ext = np.concatenate([held[..., None], x], axis=-1)
    y = ext[..., src]
    return y, DecimateState(phase_out, int(cycle[-1]) if n else prev,
                            ext[..., src[-1]].copy() if n else held)


# ---------------------------------------------------------------- saturation

SATURATION_SHAPES = ("tanh", "soft", "fold")
#: Taps per polyphase branch of the oversampling filters.
_OS_TAPS_PER_PHASE = 24


@lru_cache(maxsize=8)
def _oversampling_fir(factor: int) -> np.ndarray:
    """Kaiser-windowed sinc low-pass at the original Nyquist (x ``factor`` for the zero-stuffing gain)."""
    taps = _OS_TAPS_PER_PHASE * factor + 1
    k = np.arange(taps) - (taps - 1) / 2
    cutoff = 0.45 / factor                         # of the oversampled rate
    h = 2 * cutoff * np.sinc(2 * cutoff * k) * np.kaiser(taps, 10.0)
    h *= factor / h.sum()
    h.setflags(write=False)
    return h


def _shape(u, shape):
    if shape == "tanh":
        return np.tanh(u)
    if shape == "soft":
        c = np.clip(u, -1.0, 1.0)
        return 1.5 * c - 0.5 * c ** 3
    v = (u + 1.0) * 0.25                            # triangle fold: identity on [-1, 1]
    return 4.0 * np.abs(v - np.floor(v + 0.5)) - 1.0


def saturate_latency(oversample: int = 1) -> int:
    """Samples the oversampled saturator lags its input (0 without oversampling)."""
    if oversample == 1:
        return 0
    return int(round((len(_oversampling_fir(oversample)) - 1) / oversample))


def saturate(x: np.ndarray, *, sr: float | None = None, drive_db: float = 6.0, shape: str = "tanh",
             oversample: int = 1, mix: float = 1.0, state: SaturateState | None = None
        ) -> tuple[np.ndarray, SaturateState | None]:
    """Waveshaper: ``shape(gain * x)``, optionally oversampled to curb its aliasing.

    Parameters
    ----------
    x : np.ndarray [shape=(..., n)]
    sr : float, optional
        Unused (the shaping is rate-independent); accepted for the common signature.
    drive_db : float
        Input gain in dB before the curve.
    shape : {"tanh", "soft", "fold"}
        ``tanh``; ``soft`` = cubic soft clip ``1.5u - 0.5u^3`` (hard at +-1);
        ``fold`` = triangle wavefolder (identity on [-1, 1], reflected beyond).
    oversample : {1, 2, 4, 8}
        Shape at ``oversample`` x the rate between two Kaiser-windowed sinc
        low-passes (``24 * oversample + 1`` taps, cutoff 0.45 of the original
        rate), so harmonics the curve creates above the original Nyquist are
        removed instead of folding back.  Adds :func:`saturate_latency` samples
        of delay.  The dry part of ``mix`` is delayed to match.
    mix : float
        0..1: ``(1 - mix) * dry + mix * shaped``.
    state : SaturateState, optional

    Returns
    -------
    y : np.ndarray (shape of ``x``)
    state : SaturateState or None (None without oversampling)
    """
    if shape not in SATURATION_SHAPES:
        raise ValueError(f"unknown saturation shape {shape!r}; expected one of {SATURATION_SHAPES}")
    if oversample not in (1, 2, 4, 8):
        raise ValueError(f"saturate oversample must be 1, 2, 4 or 8, got {oversample!r}")
    _check_range("saturate mix", mix, 0.0, 1.0)
    x = np.asarray(x, dtype=np.float64)
    gain = 10.0 ** (drive_db / 20.0)
    if oversample == 1:
        return (1.0 - mix) * x + mix * _shape(gain * x, shape), None
    h = _oversampling_fir(oversample)
    lat = saturate_latency(oversample)
    lead = x.shape[:-1]
    n = x.shape[-1]
    if state is None:
        state = SaturateState(np.zeros(lead + (len(h) - 1,)), np.zeros(lead + (len(h) - 1,)),
                              np.zeros(lead + (lat,)))
    stuffed = np.zeros(lead + (n * oversample,))
    stuffed[..., ::oversample] = x
    up_in = np.concatenate([state.up, stuffed], axis=-1)
    flat_up = up_in.reshape(-1, up_in.shape[-1])
    up = np.stack([np.convolve(row, h, mode="valid") for row in flat_up]).reshape(lead + (n * oversample,))
    shaped = _shape(gain * up, shape)
    down_in = np.concatenate([state.down, shaped], axis=-1)
    flat_down = down_in.reshape(-1, down_in.shape[-1])
    down = np.stack([np.convolve(row, h / oversample, mode="valid")[::oversample]
                     for row in flat_down]).reshape(lead + (n,))
    dry_ext = np.concatenate([state.dry, x], axis=-1)
    dry = dry_ext[..., :n]
    keep = len(h) - 1
    new_state = SaturateState(up_in[..., up_in.shape[-1] - keep:].copy(),
                              down_in[..., down_in.shape[-1] - keep:].copy(),
                              dry_ext[..., dry_ext.shape[-1] - lat:].copy())
    return (1.0 - mix) * dry + mix * down, new_state
