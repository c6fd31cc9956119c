"""The Fairlight CMI voice: 8-bit waveforms stepped out at a pitch-proportional clock.

What makes the sound (see ``shared/reference/FAIRLIGHT.md``): each voice has
its own DAC whose clock is set by the played pitch; the stored 8-bit samples
are held for one clock period each (no interpolation), so every artefact
(images, quantisation noise) is a time-scaled copy of the stored sound and
moves with the pitch.  Quantisation happens *before* the envelope and the
gain (an analogue VCA follows the DAC), then a key-tracked, non-resonant
4-pole low-pass tames the steps.

The recipe here:

1. :func:`quantize_8bit` the waveform (a Mode-1 table of 32 x 128-sample
   cycles, e.g. from :func:`mode1_table_from_harmonics`, or a Mode-4 sample).
2. :func:`play` steps through it at ``clock_hz`` as a zero-order hold.  Each
   step of the held signal is placed on the output grid as a band-limited
   step (:func:`synth.dsp.oscillators.bandlimit_steps`, stop band -100 dB
   from Nyquist up), so the engine adds no aliasing of its own and the
   machine's own images stay where the machine puts them.
3. :func:`voice` does the lot: clock from the pitch (:func:`mode1_clock`,
   :func:`mode4_clock`, optionally quantised by the Series II/IIx clock law,
   :func:`quantize_clock`), playback, envelope (``envelope`` array, e.g.
   :func:`synth.dsp.modulation.cmi_envelope`) and gain, then the output
   filter (:func:`synth.dsp.filters.design_fairlight_lowpass` at
   :func:`output_cutoff`).

Calling convention: ``f(..., state=None) -> (samples [shape=(n,)], state)``;
``state=None`` is a note-on, the returned state continues the note in the
next block exactly (chunked == one pass, bit for bit).  All output lags the
ideal by :data:`~synth.dsp.oscillators.BLEP_LATENCY` samples (0.36 ms at
44.1 kHz).  Per-sample ``freq`` (vibrato, glide) is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import filters
from .oscillators import bandlimit_steps, phase_ramp

__all__ = [
    "FairlightSeries",
    "SERIES",
    "SEGMENT_LENGTH",
    "MODE1_SEGMENTS",
    "MODES",
    "quantize_8bit",
    "mode1_table_from_harmonics",
    "mode1_loops",
    "mode1_clock",
    "mode4_clock",
    "quantize_clock",
    "output_cutoff",
    "sample_to_memory",
    "play",
    "voice",
    "steal_voices",
]

#: Samples in one stored segment (one cycle in Mode 1).
SEGMENT_LENGTH = 128
#: Segments a Mode-1 table scans (the first 4 KB of a voice's memory).
MODE1_SEGMENTS = 32
MODES = (1, 4)

#: Master clock of the IIx (Hz) and the tune value that puts its lowest
#: octave at 2.03-4.05 kHz, as the documented clock formula gives.
_MASTER_CLOCK_HZ = 34.291712e6
_TUNE_CENTRE = 128


@dataclass(frozen=True)
class FairlightSeries:
    """Constants that differ between CMI models.

    Attributes
    ----------
    name : str
    max_rate_hz : float
        Highest recording (ADC) rate: the default rate of a Mode-4 sample.
    clock_law : {"ideal", "iix"}
        ``"iix"`` rounds every voice clock to what the documented IIx divider
        can produce (:func:`quantize_clock`); ``"ideal"`` plays the exact
        clock (no law is documented for the Series I).
    """

    name: str
    max_rate_hz: float
    clock_law: str


SERIES = {
    "I": FairlightSeries("Series I (1979)", 24000.0, "ideal"),
    "II": FairlightSeries("Series II (1982)", 30200.0, "iix"),
}


def _series(series) -> FairlightSeries:
    if isinstance(series, FairlightSeries):
        return series
    try:
        return SERIES[series]
    except KeyError:
        raise ValueError(f"unknown Fairlight series {series!r}; expected one of {tuple(SERIES)}") from None


def quantize_8bit(x) -> np.ndarray:
    """8-bit linear quantisation as the CMI stores a waveform.

    ``round(x * 128)`` clipped to -128..127, divided by 128: values on the
    1/128 grid in [-1, 127/128].  Idempotent.

    Parameters
    ----------
    x : array_like
        Waveform in [-1, 1] (larger values clip, as the ADC would).

    Returns
    -------
    np.ndarray (shape of ``x``, float64)
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("waveform to quantise contains NaN or infinite values")
    return np.clip(np.round(x * 128.0), -128.0, 127.0) / 128.0


def mode1_table_from_harmonics(amplitudes, phases=None, *, headroom: float = 127.0 / 128.0) -> np.ndarray:
    """Compute Mode-1 segments from the harmonic pages (Page 4/5).

    Parameters
    ----------
    amplitudes : array_like [shape=(segments, harmonics)]
        Amplitude of harmonic ``h + 1`` in segment ``s`` (up to 32 x 32 on the
        machine; any ``harmonics <= 63`` fits a 128-sample cycle).
    phases : array_like [shape=(harmonics,)], optional
        Phase of each harmonic's sine, in cycles (default all 0).
    headroom : float
        Peak of the loudest segment after normalisation (default: 8-bit full scale).

    Returns
    -------
    np.ndarray [shape=(segments, 128)]
        Float cycles, all scaled by one factor so the loudest peaks at
        ``headroom`` (relative levels between segments are kept); quantise
        with :func:`quantize_8bit` (``voice`` does it for you).
    """
    amp = np.atleast_2d(np.asarray(amplitudes, dtype=np.float64))
    if amp.ndim != 2 or amp.shape[1] > SEGMENT_LENGTH // 2 - 1:
        raise ValueError(f"harmonic amplitudes must have shape (segments, <= 63), got {amp.shape!r}")
    harmonics = np.arange(1, amp.shape[1] + 1)
    ph = np.zeros(amp.shape[1]) if phases is None else np.asarray(phases, dtype=np.float64)
    t = np.arange(SEGMENT_LENGTH) / SEGMENT_LENGTH
    basis = np.sin(2 * np.pi * (harmonics[:, None] * t[None, :] + ph[:, None]))   # (H, 128)
    table = amp @ basis
    peak = np.max(np.abs(table))
    return table * (headroom / peak) if peak > 0 else table


def sample_to_memory(x, *, source_rate_hz: float, series="II", rate_hz: float | None = None):
    """"Record" a sample into CMI memory for Mode 4: resample, then quantise to 8 bits.

    The sample is brought to the machine's recording rate with a polyphase
    resampler (:func:`scipy.signal.resample_poly`, whose low-pass stands in
    for the CMI's input anti-alias filter) and then quantised, as the ADC
    did.  The file reading itself belongs to the patch layer.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
        Mono sample in [-1, 1] (peaks above clip, as the ADC would).
    source_rate_hz : float
        Its sample rate (e.g. 44100 from a WAV file).
    series : {"I", "II"} or FairlightSeries
        Sets the default recording rate (the series' maximum).
    rate_hz : float, optional
        Recording rate; at most the series' maximum.

    Returns
    -------
    stored : np.ndarray [shape=(m,)]
        On the 1/128 grid.
    rate_hz : float
        The recording rate actually used (pass it to :func:`voice`): the
        resampling ratio is a fraction with denominator <= 1000, so it can
        differ from the request by a few parts per million.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    spec = _series(series)
    target = spec.max_rate_hz if rate_hz is None else float(rate_hz)
    if not 0 < target <= spec.max_rate_hz:
        raise ValueError(f"recording rate must lie within (0, {spec.max_rate_hz!r}] Hz for the "
                         f"{spec.name}, got {rate_hz!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"a Mode-4 sample must be mono (1-D), got shape {x.shape!r}")
    ratio = Fraction(target / float(source_rate_hz)).limit_denominator(1000)
    y = resample_poly(x, ratio.numerator, ratio.denominator)
    return quantize_8bit(y), float(source_rate_hz) * ratio.numerator / ratio.denominator


def mode1_loops(freq: float, segment_seconds: float) -> int:
    """Times each Mode-1 cycle repeats so a segment lasts ``segment_seconds`` at ``freq``.

    The machine loops each segment several times before moving on, so a note
    scans its table in about the same time at any pitch.
    """
    return max(1, int(round(float(segment_seconds) * float(freq))))


def mode1_clock(freq):
    """DAC clock (Hz) that plays a 128-sample cycle at ``freq`` Hz: ``128 * freq``."""
    return SEGMENT_LENGTH * np.asarray(freq, dtype=np.float64)


def mode4_clock(freq, *, root_freq: float, rate_hz: float):
    """DAC clock (Hz) for a sample recorded at ``rate_hz`` with pitch ``root_freq``.

    Played at ``root_freq`` it runs at its recording rate, like tape speed.
    """
    return float(rate_hz) * np.asarray(freq, dtype=np.float64) / float(root_freq)


def quantize_clock(clock_hz, *, tune: int = _TUNE_CENTRE):
    """Nearest clock the IIx divider can produce.

    ``f_master = (3840 + tune) * (34.291712 MHz / 2) / 4096`` and
    ``f_voice = ((2048 + 2 * pitch10) * f_master / 4096) / 2**(8 - octave) / 16``
    with ``pitch10`` in 0..1023 and ``octave`` in 0..7, so within an octave
    the clock moves in steps of 1/1024 of the octave's base (linear in Hz:
    0.85 to 1.7 cents).

    Parameters
    ----------
    clock_hz : float or np.ndarray
        Wanted clock(s), Hz.
    tune : int
        Master tune (128 puts the lowest octave at 2.03-4.05 kHz).

    Returns
    -------
    np.ndarray (shape of ``clock_hz``)
    """
    f_master = (3840 + int(tune)) * (_MASTER_CLOCK_HZ / 2.0) / 4096.0
    clock = np.asarray(clock_hz, dtype=np.float64)
    base = f_master / 16.0 / 2.0 ** (8 - np.arange(8))        # octave o spans base*[0.5, 1)
    octave = np.clip(np.searchsorted(base, clock, side="right"), 0, 7)
    b = base[octave]
    pitch10 = np.clip(np.round((clock / b * 4096.0 - 2048.0) / 2.0), 0, 1023)
    return (2048.0 + 2.0 * pitch10) / 4096.0 * b


def output_cutoff(clock_hz, *, sr: float, brightness: float = 0.5):
    """Cutoff (Hz) of the key-tracked output filter: ``brightness * clock / 2``.

    No source documents the machine's law.  Tracking the DAC clock keeps
    the filter at a fixed place in the stored signal's own band: at the
    default ``brightness = 0.5`` a quarter of the clock, i.e. the 32nd
    harmonic of a Mode-1 cycle (the top of the harmonic pages) and 6 kHz for
    a 24 kHz sample at its root.  The first images (96th harmonic and up)
    then lose about 20 dB to the soft 4-pole slope but are not removed: the
    grit survives, as it does on the machine (measured in the tests; 1.0
    puts the cutoff at the stored Nyquist and damps them only ~10 dB).
    ``brightness`` stands for the control that raised the cutoff.  Held
    below ``0.45 * sr``.
    """
    return np.minimum(0.5 * float(brightness) * np.asarray(clock_hz, dtype=np.float64),
                      filters.MAX_CUTOFF_FRACTION * sr)


# ---------------------------------------------------------------- playback

def _lookup(stored: np.ndarray, mode: int, loops: int, ticks: np.ndarray) -> np.ndarray:
    """Stored value at each clock tick (tick 0 = first sample of the note)."""
    if mode == 1:
        segments = stored.shape[0]
        seg = np.minimum(ticks // (SEGMENT_LENGTH * loops), segments - 1)   # last one sustains
        return stored[seg, ticks % SEGMENT_LENGTH]
    out = np.zeros(ticks.shape)
    inside = ticks < len(stored)
    out[inside] = stored[ticks[inside]]
    return out                                                               # silent after the end


#: Output samples processed at once inside :func:`play` (bounds memory at high clocks).
_PLAY_BLOCK = 4096


def play(stored, clock_hz, *, sr: float, n: int | None = None, mode: int = 1, loops: int = 1,
         bandlimited: bool = True, state=None):
    """Step through 8-bit stored samples at a clock: the held DAC output.

    Parameters
    ----------
    stored : np.ndarray
        Mode 1: ``[shape=(segments, 128)]`` cycles; Mode 4: ``[shape=(N,)]``
        sample.  Values should be quantised already (:func:`quantize_8bit`).
    clock_hz : float or np.ndarray [shape=(n,)]
        DAC clock in Hz (> 0): stored samples per second.
    sr : float
        Output sample rate in Hz.
    n : int, optional
        Samples to render (required for a scalar clock).
    mode : {1, 4}
        1 = each segment looped ``loops`` times, then the next; the last
        segment sustains.  4 = one-shot, silent after the last sample.
    loops : int
        Mode 1 only: repetitions per segment (:func:`mode1_loops`).
    bandlimited : bool
        True: each step of the hold is a band-limited step (the output
        lags by ``BLEP_LATENCY`` samples).  False: the naive hold sampled on
        the output grid (aliases; its values are exactly the stored ones,
        which tests use to check the 8-bit grid).
    state : dict, optional
        From the previous block (``None`` = note-on).

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    state : dict
    """
    if mode not in MODES:
        raise ValueError(f"Fairlight mode must be one of {MODES}, got {mode!r}")
    stored = np.asarray(stored, dtype=np.float64)
    if mode == 1 and (stored.ndim != 2 or stored.shape[1] != SEGMENT_LENGTH):
        raise ValueError(f"Mode 1 needs a (segments, {SEGMENT_LENGTH}) table, got shape {stored.shape!r}")
    if mode == 4 and stored.ndim != 1:
        raise ValueError(f"Mode 4 needs a 1-D sample, got shape {stored.shape!r}")
    if int(loops) < 1:
        raise ValueError(f"loops must be >= 1, got {loops!r}")
    clock = np.asarray(clock_hz, dtype=np.float64)
    if clock.ndim == 0:
        if n is None:
            raise ValueError("n is required when clock_hz is a scalar")
        clock = np.full(int(n), float(clock))
    if np.any(clock <= 0) or not np.all(np.isfinite(clock)):
        raise ValueError(f"clock_hz must be finite and > 0, got minimum {float(np.min(clock))!r}")
    pieces = []
    for lo in range(0, max(len(clock), 1), _PLAY_BLOCK):
        y, state = _play_block(stored, clock[lo:lo + _PLAY_BLOCK], sr, mode, int(loops),
                               bandlimited, state)
        pieces.append(y)
    return np.concatenate(pieces), state


def _play_block(stored, clock, sr, mode, loops, bandlimited, state):
    pos0 = 0.0 if state is None else state["pos"]
    pos, pos_out = phase_ramp(clock, sr=sr, phase=pos0)
    n = len(pos)
    naive = _lookup(stored, mode, loops, np.floor(pos).astype(np.int64))
    new_state = {"pos": pos_out, "prev_pos": float(pos[-1]) if n else
                 (pos0 if state is None else state["prev_pos"]), "blep": None}
    if not bandlimited:
        return naive, new_state
    if n == 0:
        new_state["blep"] = None if state is None else state["blep"]
        return naive, new_state
    prev_first = pos[0] if state is None else state["prev_pos"]
    ticks = np.arange(np.floor(prev_first) + 1, np.floor(pos[-1]) + 1).astype(np.int64)
    m = np.searchsorted(pos, ticks, side="left")
    before = np.concatenate([[prev_first], pos[:-1]])[m]
    offset = (pos[m] - ticks) / (pos[m] - before)
    heights = _lookup(stored, mode, loops, ticks) - _lookup(stored, mode, loops, ticks - 1)
    keep = heights != 0.0
    y, blep = bandlimit_steps(naive, m[keep], offset[keep], heights[keep],
                              None if state is None else state["blep"])
    new_state["blep"] = blep
    return y, new_state


def voice(waveform, freq, *, sr: float, n: int | None = None, mode: int = 1, series="II",
          loops: int = 1, root_freq: float = 261.6255653005986, rate_hz: float | None = None,
          envelope=None, gain: float = 1.0, brightness: float | None = 0.5, tune: int = _TUNE_CENTRE,
          state=None):
    """One CMI voice: quantise, clock by pitch, hold, VCA, output low-pass.

    Parameters
    ----------
    waveform : np.ndarray
        Mode 1: ``[shape=(segments, 128)]`` cycles in [-1, 1]; Mode 4:
        ``[shape=(N,)]`` sample in [-1, 1].  Quantised to 8 bits here (a no-op
        on data already on the 1/128 grid).
    freq : float or np.ndarray [shape=(n,)]
        Played pitch in Hz (per sample for vibrato or glide).
    sr : float
        Output sample rate in Hz.
    n : int, optional
        Samples to render (required for scalar ``freq``).
    mode : {1, 4}
        See :func:`play`.
    series : {"I", "II"} or FairlightSeries
        Clock law and the default Mode-4 recording rate.
    loops : int
        Mode 1: repetitions of each cycle (:func:`mode1_loops`).
    root_freq : float
        Mode 4: the pitch at which the sample plays at its recorded speed (Hz).
    rate_hz : float, optional
        Mode 4: the sample's recording rate (default: the series' maximum).
    envelope : np.ndarray [shape=(n,)], optional
        Amplitude envelope for these samples, applied *after* quantisation
        (e.g. :func:`synth.dsp.modulation.cmi_envelope`); ``None`` = 1.
    gain : float
        Linear voice gain.
    brightness : float or None
        Output-filter cutoff as a multiple of half the clock
        (:func:`output_cutoff`), fixed at note-on from the first sample's
        clock; ``None`` bypasses the filter (raw DAC output).
    tune : int
        Master tune for the ``"iix"`` clock law.
    state : dict, optional
        From the previous block (``None`` = note-on).

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    state : dict
    """
    spec = _series(series)
    f = np.asarray(freq, dtype=np.float64)
    if f.ndim == 0:
        if n is None:
            raise ValueError("n is required when freq is a scalar")
        f = np.full(int(n), float(f))
    stored = quantize_8bit(waveform) if state is None else state["stored"]
    if mode == 1:
        clock = mode1_clock(f)
    else:
        clock = mode4_clock(f, root_freq=root_freq, rate_hz=rate_hz or spec.max_rate_hz)
    if spec.clock_law == "iix":
        clock = quantize_clock(clock, tune=tune)
    held, play_state = play(stored, clock, sr=sr, mode=mode, loops=loops,
                            state=None if state is None else state["play"])
    y = held * float(gain)
    if envelope is not None:
        y = y * np.asarray(envelope, dtype=np.float64)
    if state is None:
        sos = None
        if brightness is not None and len(clock):
            sos = filters.design_fairlight_lowpass(float(output_cutoff(clock[0], sr=sr,
                                                                       brightness=brightness)), sr=sr)
        zi = None
    else:
        sos, zi = state["sos"], state["zi"]
    if sos is not None:
        y, zi = filters.apply(y, sos, zi)
    return y, {"stored": stored, "play": play_state, "sos": sos, "zi": zi}


def steal_voices(starts, ends, *, max_voices: int = 8) -> np.ndarray:
    """Cap polyphony the CMI way: a new note steals the oldest sounding voice.

    Parameters
    ----------
    starts, ends : array_like [shape=(notes,)], int
        Start and end sample of each note (its release tail included), in
        any order.
    max_voices : int
        Voices available (8 on Series I/II/IIx).

    Returns
    -------
    np.ndarray [shape=(notes,), dtype=int64]
        New end of each note: the original end, or the start of the note that
        stole its voice (the renderer should fade out over a few ms there).

    Notes
    -----
    Loops over notes (not samples): a score-level helper, cheap next to
    rendering.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64).copy()
    if int(max_voices) < 1:
        raise ValueError(f"max_voices must be >= 1, got {max_voices!r}")
    order = np.lexsort((np.arange(len(starts)), starts))
    sounding: list[int] = []                      # note indices, oldest first
    for i in order:
        sounding = [j for j in sounding if ends[j] > starts[i]]
        if len(sounding) >= max_voices:
            oldest = sounding.pop(0)
            ends[oldest] = starts[i]
        sounding.append(int(i))
    return ends
