"""The Fairlight CMI voice: 8-bit waveforms stepped out at a pitch-proportional clock.

Why over 500 lines: the voice, its channel card and its two players (Mode 1,
Mode 4) share the clock, address and band-limited-step conventions
documented here; split, each part would have to restate them.  The
per-sample loops are compiled kernels (``synth.dsp.jit.kernel``); their
NumPy formulations are the oracles in tests/fairlight_oracle.py and
tests/test_dsp_jit.py.

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
2. Mode 4: :func:`play` steps through the sample at ``clock_hz`` as a
   zero-order hold.  Each step of the held signal is placed on the output
   grid as a band-limited step (:func:`synth.dsp.oscillators.bandlimit_steps`,
   stop band -100 dB from Nyquist up), so the engine adds no aliasing of its
   own and the machine's own images stay where the machine puts them.
   Mode 1: :func:`play_fourier`, the same sound at a fraction of the cost:
   each segment's held staircase is periodic, so its band-limited version
   is a Fourier series (:func:`mode1_wavetables`, images and 8-bit noise
   included) read as a wavetable at the accumulated phase, with the exact
   band-limited steps summed next to segment switches; it matches one
   band-limited step per tick (the test oracle) to -90 dB or better and
   costs the same at any clock.  Its tables are kept in a bounded
   :class:`WavetableCache` the caller owns (or the note's state).
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
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import filters
from .filters import two_section_coefficients, two_sections
from .jit import kernel
from .oscillators import (BLEP_LATENCY, BLEP_OVERSAMPLING, BLEP_TAPS, BlepState, bandlimit_steps,
                          blep_step_table, phase_ramp)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

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
    "octave_register",
    "ssm2045_cutoff",
    "design_ssm2045",
    "channel_card_envelope",
    "ZERO_CROSSING_TICKS",
    "sample_to_memory",
    "memory_end_fade",
    "play",
    "PlayState",
    "mode1_wavetables",
    "WavetableCache",
    "play_fourier",
    "FourierState",
    "voice",
    "VoiceState",
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


def quantize_8bit(x: ArrayLike) -> np.ndarray:
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


def mode1_table_from_harmonics(amplitudes: ArrayLike, phases: ArrayLike | None = None, *,
                               headroom: float = 127.0 / 128.0) -> np.ndarray:
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


def sample_to_memory(x: ArrayLike, *, source_rate_hz: float,
                     series: str | FairlightSeries | None = "II", rate_hz: float | None = None,
                     max_words: int | None = None, normalize: bool = False) -> tuple[np.ndarray, float]:
    """"Record" a sample into CMI memory for Mode 4: resample, cut to memory, quantise to 8 bits.

    The one recording path (the Fairlight source reads WAV files through
    it).  The sample is brought to the machine's recording rate with a
    polyphase resampler (:func:`scipy.signal.resample_poly`, whose low-pass
    stands in for the CMI's input anti-alias filter), cut to the voice's
    memory, optionally normalised, and quantised, as the ADC did.  The file
    reading itself belongs to the patch layer.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
        Mono sample in [-1, 1] (peaks above clip, as the ADC would).
    source_rate_hz : float
        Its sample rate (e.g. 44100 from a WAV file).
    series : {"I", "II"}, FairlightSeries or None
        Sets the default recording rate (the series' maximum) and bounds
        ``rate_hz``; ``None``: no bound (``rate_hz`` required).
    rate_hz : float, optional
        Recording rate; at most the series' maximum.
    max_words : int, optional
        Memory size in words: a longer recording is cut there and ends on a
        raised-cosine fade (:func:`memory_end_fade`).
    normalize : bool
        Scale the (cut) recording so its peak is 127/128 before quantising;
        a silent recording raises ``ValueError``.

    Returns
    -------
    stored : np.ndarray [shape=(m,)]
        On the 1/128 grid.
    rate_hz : float
        The recording rate actually used (pass it to :func:`voice`): whole
        rates resample by their exact ratio; otherwise the ratio is a
        fraction with denominator <= 1000, which can differ from the request
        by a few parts per million.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    if series is None:
        if rate_hz is None:
            raise ValueError("rate_hz is required when no series bounds it")
        target = float(rate_hz)
        if not target > 0:
            raise ValueError(f"recording rate must be > 0 Hz, got {rate_hz!r}")
    else:
        spec = _series(series)
        target = spec.max_rate_hz if rate_hz is None else float(rate_hz)
        if not 0 < target <= spec.max_rate_hz:
            raise ValueError(f"recording rate must lie within (0, {spec.max_rate_hz!r}] Hz for the "
                             f"{spec.name}, got {rate_hz!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"a Mode-4 sample must be mono (1-D), got shape {x.shape!r}")
    source = float(source_rate_hz)
    if target == round(target) and source == round(source):
        ratio = Fraction(int(round(target)), int(round(source)))
    else:
        ratio = Fraction(target / source).limit_denominator(1000)
    rate = source * ratio.numerator / ratio.denominator
    y = x if ratio == 1 else resample_poly(x, ratio.numerator, ratio.denominator)
    if max_words is not None and len(y) > int(max_words):
        y = memory_end_fade(y[:int(max_words)], rate)
    if normalize:
        peak = np.max(np.abs(y)) if len(y) else 0.0
        if peak == 0:
            raise ValueError("the recording is silent")
        y = y / peak * 127 / 128
    return quantize_8bit(y), rate


def memory_end_fade(y: ArrayLike, rate_hz: float, seconds: float = 0.08) -> np.ndarray:
    """A sample cut by the end of voice memory ends on a raised-cosine fade to 0.

    A release, not a cliff (a sample cut mid-sound would otherwise fall to
    silence in one word).  Returns a new float64 array of ``y``'s shape
    [shape=(n,)]; the fade covers ``seconds`` (at least 16 words, at most
    the whole sample).
    """
    k = min(len(y), max(16, int(round(seconds * rate_hz))))
    out = np.array(y, dtype=np.float64)
    if k:
        out[-k:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, k + 1) / k)
    return out


def mode1_loops(freq: float, segment_seconds: float) -> int:
    """Times each Mode-1 cycle repeats so a segment lasts ``segment_seconds`` at ``freq``.

    The machine loops each segment several times before moving on, so a note
    scans its table in about the same time at any pitch.
    """
    return max(1, int(round(float(segment_seconds) * float(freq))))


def mode1_clock(freq: ArrayLike) -> np.ndarray:
    """DAC clock (Hz) that plays a 128-sample cycle at ``freq`` Hz: ``128 * freq``."""
    return SEGMENT_LENGTH * np.asarray(freq, dtype=np.float64)


def mode4_clock(freq: ArrayLike, *, root_freq: float, rate_hz: float) -> np.ndarray:
    """DAC clock (Hz) for a sample recorded at ``rate_hz`` with pitch ``root_freq``.

    Played at ``root_freq`` it runs at its recording rate, like tape speed.
    """
    return float(rate_hz) * np.asarray(freq, dtype=np.float64) / float(root_freq)


def quantize_clock(clock_hz: ArrayLike, *, tune: int = _TUNE_CENTRE) -> np.ndarray | float:
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
    out = np.empty(clock.shape)
    _divider_clocks(np.ascontiguousarray(clock).reshape(-1), base, out.reshape(-1))
    return out[()] if out.ndim == 0 else out


@kernel
def _divider_clocks(clock, base, out):
    """:func:`quantize_clock` per sample, in place: the octave (how many of the eight
    octave bases ``base`` are at or below the clock, at most 7), then ``pitch10``
    rounded half to even and held in 0..1023 (a note with vibrato needs it at every
    sample; NumPy took ten passes)."""
    for k in range(clock.shape[0]):
        c = clock[k]
        octave = 0
        while octave < 8 and base[octave] <= c:       # searchsorted(base, c, "right")
            octave += 1
        b = base[min(octave, 7)]
        pitch10 = min(max(np.rint((c / b * 4096.0 - 2048.0) / 2.0), 0.0), 1023.0)
        out[k] = (2048.0 + 2.0 * pitch10) / 4096.0 * b


def output_cutoff(clock_hz: ArrayLike, *, sr: float, brightness: float = 0.5) -> np.ndarray:
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


# ---------------------------------------------------------------- the channel card (CMI-01A)
#
# The formulas below follow MAME's model of the CMI-01A channel card,
# src/mame/fairlight/cmi01a.cpp (the version with update_filters(), by Phil
# Bennett and contributors; read, not copied): the SSM2045 output filter and
# its cutoff law "calibrated using the graph on page 133 of the CMI Mainframe
# Service Manual", the 8-bit envelope counter with its level-dependent clock
# divider, and the zero-crossing pulses that gate envelope loads and segment
# changes.

#: Cutoff law of the SSM2045: ``fc = 6410 Hz x 1.02162 ** (octave * 32 + latch - 256)``.
SSM2045_REF_HZ = 6410.0
SSM2045_STEP = 1.02162
#: The law is capped here (a second filter takes over above it on the card).
SSM2045_MAX_HZ = 14000.0
#: The two unequal 2-pole stages: (cutoff ratio, damping = 1/Q).
SSM2045_STAGES = ((1.0, 1.81659021245849), (1.22474487139159, 1.48323969741913))
#: The cascade is -6 dB at this fraction of ``fc`` (the bilinear transform is
#: prewarped there, so the digital filter's -6 dB point is the analogue one).
SSM2045_MINUS_6DB = 0.916
#: Filter tracking modes of :func:`ssm2045_cutoff`.
TRACKING = ("octave", "note")
#: DAC clock ticks between two zero-crossing pulses (bit 6 of the word address).
#: Mode-1 segment changes (the upper address, after ``loops`` cycles of 128
#: words) always fall on one of these pulses, as on the card; envelope
#: direction changes wait for the next one (:func:`channel_card_envelope`).
ZERO_CROSSING_TICKS = 64


def octave_register(clock_hz: ArrayLike, *, tune: int = _TUNE_CENTRE) -> tuple[np.ndarray, np.ndarray]:
    """Octave register (0..7) and position within it (0..1) of a voice clock.

    The divider of :func:`quantize_clock`: octave ``o`` spans clocks
    ``[b_o / 2, b_o)``, ``b_o = f_master / 16 / 2 ** (8 - o)`` (2.03-4.05 kHz
    for octave 0 at the centre tune, doubling per octave).  Clocks outside
    the eight octaves are held at the ends (fraction clipped to 0..1).

    Returns
    -------
    octave : np.ndarray of int (shape of ``clock_hz``)
    fraction : np.ndarray of float
        ``log2(clock / (b_o / 2))``: how far up its octave the clock is.
    """
    f_master = (3840 + int(tune)) * (_MASTER_CLOCK_HZ / 2.0) / 4096.0
    clock = np.asarray(clock_hz, dtype=np.float64)
    base = f_master / 16.0 / 2.0 ** (8 - np.arange(8))
    octave = np.clip(np.searchsorted(base, clock, side="right"), 0, 7)
    fraction = np.clip(np.log2(clock / (base[octave] / 2.0)), 0.0, 1.0)
    return octave, fraction


def ssm2045_cutoff(clock_hz: ArrayLike, latch: float, *, tracking: str = "octave",
                   tune: int = _TUNE_CENTRE) -> np.ndarray:
    """Cutoff (Hz) of the SSM2045 output filter for a voice clock and filter latch.

    ``fc = 6410 Hz x 1.02162 ** (octave * 32 + latch - 256)``, at most 14 kHz
    (MAME's cmi01a.cpp, ``update_filters()``).  ``1.02162 ** 32 = 1.98``, so
    one octave-register step moves the cutoff by about an octave.

    Parameters
    ----------
    clock_hz : float or np.ndarray
        Voice clock(s), Hz; the octave register comes from it
        (:func:`octave_register`).
    latch : float
        The 8-bit filter latch, 0..255 (the card's brightness control).
    tracking : {"octave", "note"}
        ``"octave"`` (the hardware): the cutoff steps once per octave
        register and stays put within an octave, so notes in the upper part
        of an octave sound darker than those just above the step.
        ``"note"``: the software rewrites the latch per note, adding
        ``32 x`` the clock's position within its octave, so the cutoff
        follows the pitch smoothly (about ``clock x constant``).
    tune : int
        Master tune (moves the octave boundaries).

    Returns
    -------
    np.ndarray (shape of ``clock_hz``)
    """
    if tracking not in TRACKING:
        raise ValueError(f"filter tracking must be one of {TRACKING}, got {tracking!r}")
    if not 0 <= float(latch) <= 255:
        raise ValueError(f"filter latch must lie in 0..255, got {latch!r}")
    octave, fraction = octave_register(clock_hz, tune=tune)
    fval = 32.0 * octave + float(latch)
    if tracking == "note":
        fval = fval + 32.0 * fraction
    return np.minimum(SSM2045_REF_HZ * SSM2045_STEP ** (fval - 256.0), SSM2045_MAX_HZ)


def design_ssm2045(cutoff: float, *, sr: float) -> np.ndarray:
    """The SSM2045 as the CMI-01A wires it: two unequal non-resonant 2-pole low-passes.

    Stage 1 at ``fc`` with damping 1.81659 (Q 0.55), stage 2 at
    ``1.22474 fc`` with damping 1.48324 (Q 0.67), each
    ``H(s) = 1 / (s**2 / w**2 + d s / w + 1)``; bilinear transform
    prewarped at the cascade's -6 dB point (``0.916 fc``).  The cutoff is
    held below 0.45 ``sr`` so the design stays inside the band.

    Parameters
    ----------
    cutoff : float
        ``fc`` in Hz (:func:`ssm2045_cutoff`).
    sr : float
        Sample rate in Hz.

    Returns
    -------
    sos : np.ndarray [shape=(2, 6)]
        Second-order sections for :func:`synth.dsp.filters.apply`.
    """
    return _ssm2045_sos(float(min(cutoff, filters.MAX_CUTOFF_FRACTION * sr / 1.22474487139159)),
                        float(sr)).copy()


@lru_cache(maxsize=512)
def _ssm2045_sos(fc: float, sr: float) -> np.ndarray:
    if not 0 < fc < sr / 2:
        raise ValueError(f"SSM2045 cutoff must lie in (0, sr/2), got {fc!r} at sr={sr!r}")
    f_warp = SSM2045_MINUS_6DB * fc
    k = 2.0 * np.pi * f_warp / np.tan(np.pi * f_warp / sr)     # s = k (1 - 1/z) / (1 + 1/z)
    rows = []
    for ratio, damping in SSM2045_STAGES:
        w = 2.0 * np.pi * fc * ratio
        a2, a1 = (k / w) ** 2, damping * k / w
        a0 = a2 + a1 + 1.0
        rows.append([1.0 / a0, 2.0 / a0, 1.0 / a0, 1.0, (2.0 - 2.0 * a2) / a0, (a2 - a1 + 1.0) / a0])
    sos = np.array(rows)
    sos.setflags(write=False)
    return sos


def _envelope_divider(level: np.ndarray, up: bool) -> np.ndarray:
    """The counter's rate-multiplier setting at each level (3..63 of 64).

    Going up it is set from the complement of the level, going down from
    the level itself (bits 4-7 of the count, then the two low bits forced
    on), so the counter runs fast far from its target and slows as it gets
    near: a roughly exponential attack and decay in 8-bit steps.
    """
    source = (255 - level) if up else level
    return ((source >> 2) & 0x3C) | 0x03


def _sweep_ticks(up: bool) -> np.ndarray:
    """Relative duration of each count of a full sweep (``64 / divider``), in order."""
    levels = np.arange(0, 255) if up else np.arange(255, 0, -1)
    return 64.0 / _envelope_divider(levels, up)


_FULL_UP = float(np.sum(_sweep_ticks(True)))
_FULL_DOWN = float(np.sum(_sweep_ticks(False)))


@kernel
def _counter_run(level, up, t0, full_samples, until, full_sweep, times, counts, at):
    """The counter's events moving from ``level`` (up to 255 or down to 0), appended in place.

    A full 0<->255 sweep lasts ``full_samples`` (``full_sweep``: its length in
    base periods, :data:`_FULL_UP` or :data:`_FULL_DOWN`); each count takes
    ``64 / divider`` base periods (:func:`_envelope_divider`).  The event
    times are ``t0`` plus the running sum of the counts' durations; those at
    or after ``until`` are dropped.  Writes ``times[at:]`` and ``counts[at:]``
    (the level after each count) and returns the index after the last
    (the NumPy formulation, ``cumsum`` of the durations, is the oracle in
    tests/fairlight_oracle.py).
    """
    unit = full_samples / full_sweep
    elapsed = 0.0                       # 0.0 + the first duration is it, as in cumsum
    count = level
    while (count < 255) if up else (count > 0):
        source = (255 - count) if up else count
        duration = 64.0 / (((source >> 2) & 0x3C) | 0x03)
        elapsed += duration * unit
        time = t0 + elapsed
        if not time < until:                          # the times rise: the rest are later
            break
        count = count + 1 if up else count - 1
        times[at] = time
        counts[at] = count
        at += 1
    return at


def channel_card_envelope(n: int, *, sr: float, gate_samples: int, attack: float, damping: float,
                          zero_crossing_samples: float, held_damping: float | None = None,
                          release_samples: int | None = None, start: int = 0) -> np.ndarray:
    """The CMI-01A envelope: an 8-bit up/down counter whose speed depends on its level.

    The counter multiplies the voice (the VCA); it counts up from 0 at
    note-on (the attack), and down while the key is held (``held_damping``)
    or after it is released (``damping``).  Its clock passes a 6-bit rate
    multiplier set from the current count (:func:`_envelope_divider`), so
    each count takes ``64 / divider`` base periods: fast far from the
    target, slow near it.  A change of direction (the software loading a new
    target) is taken only at a zero-crossing pulse, every
    :data:`ZERO_CROSSING_TICKS` clock ticks of the voice (every
    ``zero_crossing_samples`` output samples): the key-up starts the
    release at the first pulse after the gate, the held decay starts at the
    first pulse after the attack has reached the top.

    Parameters
    ----------
    n : int
        Samples to compute.
    sr : float
        Sample rate in Hz.
    gate_samples : int
        Key-up, in samples from note-on.
    attack : float
        Seconds for the full 0 -> 255 count.
    damping : float
        Release: seconds to fall 60 dB in :func:`synth.dsp.modulation.cmi_envelope`'s
        terms; the full 255 -> 0 count here takes ``damping x 80 / 60``
        seconds less one zero-crossing period, so a note ends no later than
        :func:`~synth.dsp.modulation.cmi_envelope_length` says.
    zero_crossing_samples : float
        Output samples between zero-crossing pulses: ``64 x sr / clock``.
    held_damping : float, optional
        Seconds (60 dB, as ``damping``) of the decay while the key is held.
    release_samples : int, optional
        Override of the release length (samples) the sweep must fit in.
    start : int
        First sample to compute (blocks join exactly).

    Returns
    -------
    np.ndarray [shape=(n,)]
        Counter / 255, piecewise constant (0 .. 1).
    """
    if damping < 0 or attack < 0 or (held_damping is not None and held_damping <= 0):
        raise ValueError(f"CMI envelope times must be >= 0 (held_damping > 0), got attack={attack!r}, "
                         f"damping={damping!r}, held_damping={held_damping!r}")
    if not zero_crossing_samples > 0:
        raise ValueError(f"zero_crossing_samples must be > 0, got {zero_crossing_samples!r}")
    zc = float(zero_crossing_samples)
    g = int(gate_samples)
    r = (int(round(damping * 80.0 / 60.0 * sr)) if release_samples is None
         else int(release_samples))
    key_up = np.ceil(g / zc) * zc                       # the first pulse at or after the gate
    times, counts = np.empty(3 * 255 + 2), np.empty(3 * 255 + 2)   # at most three sweeps
    times[0], counts[0] = 0.0, (0.0 if attack > 0 else 255.0)
    at, level, t = 1, int(counts[0]), 0.0
    if level < 255:
        end = _counter_run(level, True, 0.0, attack * sr, key_up, _FULL_UP, times, counts, at)
        if end > at:
            level, t = int(counts[end - 1]), float(times[end - 1])
        at = end
    if held_damping is not None and level == 255:
        turn = np.ceil(t / zc) * zc
        if turn < key_up:
            end = _counter_run(255, False, turn, held_damping * 80.0 / 60.0 * sr, key_up,
                               _FULL_DOWN, times, counts, at)
            if end > at:
                level = int(counts[end - 1])
            at = end
    full_release = max(float(g + r - key_up) - 1.0, 0.0)
    if level > 0:
        # the release: a full sweep lasts what is left of the announced tail
        if full_release <= 0:
            times[at], counts[at] = key_up, 0.0
            at += 1
        else:
            at = _counter_run(level, False, key_up, full_release, np.inf, _FULL_DOWN, times, counts,
                              at)
    out = np.empty(int(n))
    _hold_counts(times[:at], counts[:at], int(start), out)
    return out


@kernel
def _hold_counts(times, counts, start, out):
    """``out[k] =`` the count of the last event at or before sample ``start + k``, / 255, in place.

    ``times`` (samples, non-decreasing) and ``counts`` are the counter's
    events; samples before the first event hold the first count.  Filled run
    by run: the count changes at most 255 times a sweep.
    """
    j = 0
    k = 0
    m = out.shape[0]
    while k < m:                                      # a run of samples between two events
        at = float(start + k)
        while j < times.shape[0] and times[j] <= at:
            j += 1
        value = counts[max(j - 1, 0)] / 255.0
        end = m
        if j < times.shape[0]:                        # the first sample at or after the next event
            end = min(max(int(np.ceil(times[j])) - start, k + 1), m)
        out[k:end] = value
        k = end


# ---------------------------------------------------------------- Mode 4: band-limited steps

def _lookup(stored: np.ndarray, ticks: np.ndarray, loop=None) -> np.ndarray:
    """Stored Mode-4 value at each clock tick (tick 0 = first sample of the note); see :func:`_lookup_ticks`."""
    flat = np.ascontiguousarray(stored, dtype=np.float64).reshape(-1)
    ticks = np.ascontiguousarray(ticks, dtype=np.int64)
    start, end = (0, 0) if loop is None else (int(loop[0]), int(loop[1]))
    out = np.empty(ticks.shape)
    _lookup_ticks(flat, start, end, ticks.reshape(-1), out.reshape(-1))
    return out


@kernel
def _lookup_ticks(flat, loop_start, loop_end, ticks, out):
    """``out[k] =`` the stored Mode-4 value at clock tick ``ticks[k]``, in place.

    One sample, silent after its end, with the sustain loop
    ``loop_start..loop_end`` (words, ``loop_end == 0``: no loop).  Integer
    arithmetic with Python's floor semantics, so a negative tick reads from
    the end as NumPy indexing does.
    """
    size = flat.shape[0]
    for k in range(ticks.shape[0]):
        t = ticks[k]
        if loop_end > 0 and t >= loop_end:    # sustain loop: end -> start
            t = loop_start + (t - loop_start) % (loop_end - loop_start)
        out[k] = flat[t] if t < size else 0.0


#: Output samples processed at once inside :func:`play` (bounds memory at high clocks:
#: a block's arrays stay in the L2 cache; 4096 cost 8 % more Python round trips, 65536
#: 40 % more time in cache misses, measured at a 60 kHz clock).  Blocks join bit for bit.
_PLAY_BLOCK = 16384


class PlayState(NamedTuple):
    """Where a Mode-4 :func:`play` stands between blocks."""

    pos: float              #: clock position (ticks) at the next block's first sample
    prev_pos: float         #: clock position at the previous block's last sample
    blep: BlepState | None  #: the band-limited steps' spill-over and delay line (None: none yet)


def play(stored: ArrayLike, clock_hz: ArrayLike, *, sr: float, n: int | None = None,
         bandlimited: bool = True, loop: tuple[int, int] | None = None,
         state: PlayState | None = None) -> tuple[np.ndarray, PlayState]:
    """Step through a stored Mode-4 sample at a clock: the held DAC output.

    Mode 1 plays through :func:`play_fourier` (the same sound; the tests
    check it against this function on the Mode-1 memory unrolled into a
    Mode-4 sample with its last cycle as the sustain loop).

    Parameters
    ----------
    stored : np.ndarray [shape=(N,)]
        The sample, quantised already (:func:`quantize_8bit`); one-shot,
        silent after its last word.
    clock_hz : float or np.ndarray [shape=(n,)]
        DAC clock in Hz (> 0): stored samples per second.
    sr : float
        Output sample rate in Hz.
    n : int, optional
        Samples to render (required for a scalar clock).
    bandlimited : bool
        True: each step of the hold is a band-limited step (the output
        lags by ``BLEP_LATENCY`` samples).  False: the naive hold sampled on
        the output grid (aliases; its values are exactly the stored ones,
        which tests use to check the 8-bit grid).
    loop : (int, int), optional
        ``(start, end)`` words; after word ``end - 1`` the address jumps
        back to ``start`` for as long as the note sounds.
    state : PlayState, optional
        From the previous block (``None`` = note-on).

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    state : PlayState
    """
    stored = np.asarray(stored, dtype=np.float64)
    if stored.ndim != 1:
        raise ValueError(f"Mode 4 needs a 1-D sample, got shape {stored.shape!r}")
    if loop is not None:
        loop = (int(loop[0]), int(loop[1]))
        if not 0 <= loop[0] < loop[1] <= len(stored):
            raise ValueError(f"loop must be (start, end) with 0 <= start < end <= {len(stored)} "
                             f"words; got {loop!r}")
    if bandlimited:
        clock, step, count = _clock_steps(clock_hz, n)
        y, state, _ = _mode4(stored, clock, step, count, sr, loop, state)
        return y, state
    clock = _clock_samples(clock_hz, n)
    pieces = []
    for lo in range(0, max(len(clock), 1), _PLAY_BLOCK):
        y, state = _play_block(stored, clock[lo:lo + _PLAY_BLOCK], sr, state, loop)
        pieces.append(y)
    return np.concatenate(pieces), state


def _clock_samples(clock_hz, n) -> np.ndarray:
    """The clock per output sample, checked finite and positive (:func:`_clock_steps`)."""
    clock, _, n = _clock_steps(clock_hz, n)
    return clock if len(clock) == n else np.full(n, clock[0])     # a scalar: held


def _clock_steps(clock_hz, n, step: int = 1) -> tuple[np.ndarray, int, int]:
    """``(clock, step, n)``: the clock as held values, each ``step`` samples long, checked.

    A scalar clock is one value held for all ``n`` samples; an array is one value a
    sample (``step == 1``) or a control-rate curve (``n`` required).  The kernels
    read sample ``k``'s clock at ``clock[k // step]``, the same value a per-sample
    array would hold there.
    """
    clock = np.asarray(clock_hz, dtype=np.float64)
    if clock.ndim == 0:
        if n is None:
            raise ValueError("n is required when clock_hz is a scalar")
        n = int(n)
        clock, step = clock.reshape(1), max(n, 1)
    elif step == 1:
        n = len(clock)
    else:
        if n is None or len(clock) != -(-int(n) // step):
            raise ValueError(f"a clock held {step} samples a value needs n and ceil(n / {step}) "
                             f"values, got {len(clock)} for n={n!r}")
        n = int(n)
    if len(clock) == 1:
        bad = not 0.0 < float(clock[0]) < np.inf      # the usual steady clock: no NumPy pass
    else:
        bad = bool(np.any(clock <= 0)) or not np.all(np.isfinite(clock))
    if bad:
        raise ValueError(f"clock_hz must be finite and > 0, got minimum {float(np.min(clock))!r}")
    return np.ascontiguousarray(clock), int(step), n


@kernel
def _clock_ramp(clock, step, first, sr, at, pos):
    """``pos[k]`` = the clock position (ticks) at sample ``first + k``, from ``at`` at
    sample ``first``: the running sum of ``clock[j // step] / sr`` (the sequential
    sum of :func:`~synth.dsp.oscillators.phase_ramp`, the same additions).
    Returns the position after the last sample."""
    if pos.shape[0] == 0:
        return at
    i = first // step
    left = step - first % step
    inc = clock[i] / sr
    for k in range(pos.shape[0]):
        if left == 0:
            i += 1
            inc = clock[i] / sr
            left = step
        pos[k] = at
        at += inc
        left -= 1
    return at


def _play_block(stored, clock, sr, state, loop=None):
    """The naive hold (``play(bandlimited=False)``) of one block."""
    pos0 = 0.0 if state is None else state.pos
    n = len(clock)
    pos, pos_out = phase_ramp(clock, sr=sr, phase=pos0)
    new_state = PlayState(pos_out, float(pos[-1]) if n else (pos0 if state is None else state.prev_pos),
                          None if state is None else state.blep)
    return _lookup(stored, np.floor(pos).astype(np.int64), loop), new_state


_NO_ENVELOPE = np.zeros(0)
_NO_FILTER = np.zeros((0, 6))


def _mode4(stored, clock, step, n, sr, loop, state, gain=1.0, envelope=None, sos=None, zi=None):
    """Band-limited Mode-4 playback of ``n`` samples at the clock ``clock`` held ``step``
    samples a value (:func:`_clock_steps`), times ``gain`` and ``envelope``, through ``sos``
    (the voice's two sections, or None) from ``zi``: ``(samples, PlayState, zi after)``
    (:func:`_play_steps`; zi None without a filter)."""
    if n == 0:                                        # nothing played: the note-on still to come
        return np.zeros(0), PlayState(0.0, 0.0, None) if state is None else state, zi
    blep = None if state is None else state.blep
    taps, lat = BLEP_TAPS, BLEP_LATENCY
    carry, history = (np.zeros(taps), np.zeros(lat)) if blep is None else (blep.carry.copy(),
                                                                           blep.history.copy())
    y = np.empty(n)
    start, end = (0, 0) if loop is None else (int(loop[0]), int(loop[1]))
    env, sections, z = _vca_arguments(envelope, sos, zi)
    pos_out, last_pos = _play_steps(
        np.ascontiguousarray(stored, dtype=np.float64), start, end, clock, int(step), float(sr),
        0.0 if state is None else float(state.pos),
        0.0 if state is None else float(state.prev_pos), blep is None, history, carry,
        *_step_residual_rows(), float(gain), env, sections, z, y)
    return y, PlayState(pos_out, last_pos, BlepState(carry, history)), None if sos is None else z


def _vca_and_filter(y, gain, envelope, sos, zi):
    """``y`` times ``gain`` and ``envelope`` (None: 1), through ``sos`` (the voice's two
    sections, or None: no filter) from ``zi`` (None: at rest), in place: ``(y, zi after)``
    (zi None without a filter)."""
    env, sections, z = _vca_arguments(envelope, sos, zi)
    _vca(y, float(gain), env, sections, z)
    return y, None if sos is None else z


def _vca_arguments(envelope, sos, zi):
    """The VCA and filter arguments of :func:`_vca` and :func:`_play_steps`: ``(envelope``
    (None: empty), ``sos`` (None: no sections), ``zi`` (None: at rest; a copy, which the
    kernel updates)``)``."""
    env = _NO_ENVELOPE if envelope is None else np.ascontiguousarray(envelope, dtype=np.float64)
    if sos is None:
        return env, _NO_FILTER, np.zeros((0, 2))
    return env, sos, np.zeros((sos.shape[0], 2)) if zi is None else np.array(zi, dtype=np.float64)


@kernel
def _vca(y, gain, envelope, sos, zi):
    """``y`` times ``gain``, then ``envelope`` (empty: none), then through ``sos`` (two
    sections, or none) from the state ``zi``, in place (the VCA and output filter after
    the DAC: :func:`voice`'s order of operations)."""
    every = envelope.shape[0] > 0
    two = sos.shape[0] == 2                           # the voices' filters (else none)
    c = two_section_coefficients(sos if two else np.zeros((2, 6)))
    z = (zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1]) if two else (0.0, 0.0, 0.0, 0.0)
    for k in range(y.shape[0]):
        v = y[k] * gain
        if every:
            v = v * envelope[k]
        if two:
            v, z = two_sections(v, c, z)
        y[k] = v
    if two:
        zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1] = z


@kernel
def _play_steps(flat, loop_start, loop_end, clock, step, sr, pos0, prev_pos, note_on, history, carry,
                rows, slopes, gain, envelope, sos, zi, y):
    """Mode-4 playback: the held DAC output with each clock tick a band-limited step, then
    the VCA and the output filter, in blocks of :data:`_PLAY_BLOCK` samples.

    Parameters
    ----------
    flat : np.ndarray [shape=(N,)]
        The stored sample; ``loop_start..loop_end`` its sustain loop
        (``loop_end == 0``: none), as :func:`_lookup_ticks` reads it.
    clock : np.ndarray [shape=(ceil(n / step),)]
        DAC clock (Hz), each value held ``step`` output samples; ``sr`` the output rate.
    pos0 : float
        Clock position (ticks) at the first sample: the previous call's
        position after its last sample (0 at a note-on).
    prev_pos : float
        Position at the previous call's last sample (ignored at a note-on).
    note_on : bool
        The first value enters as a step from silence at sample 0.
    history : np.ndarray [shape=(BLEP_LATENCY,)]
        The last held values before the first sample (the naive hold is
        delayed by ``BLEP_LATENCY``); overwritten with those after the last.
    carry : np.ndarray [shape=(BLEP_TAPS,)]
        The previous steps' residuals spilling over the first samples;
        overwritten with those spilling past the last.
    rows, slopes : np.ndarray [shape=(oversampling + 1, BLEP_TAPS)], [shape=(oversampling, BLEP_TAPS)]
        :func:`_step_residual_rows` and the differences of successive rows.
    gain : float
        Times every sample, then ``envelope`` (``[shape=(n,)]``, or empty: none):
        the VCA after the DAC.
    sos, zi : np.ndarray [shape=(2, 6) or (0, 6)], [shape=(2, 2) or (0, 2)]
        The output filter (the voices' two sections, or none) and its state,
        updated in place: :func:`synth.dsp.filters.two_sections` in the output
        loop, where its latency-bound recursion overlaps the rest (another
        filter runs after the kernel: :func:`_mode4`).
    y : np.ndarray [shape=(n,)]
        Output.

    Returns
    -------
    (float, float)
        The position after the last sample (the next ``pos0``) and at it
        (the next ``prev_pos``).

    The position is the running sum of ``clock / sr`` from ``pos0``
    (:func:`~synth.dsp.oscillators.phase_ramp`'s sequential sum).  Every
    tick ``t`` with ``prev_pos < t <= pos[-1]`` is a step at the first sample
    ``m`` with ``pos[m] >= t`` (``searchsorted``), at sub-sample offset
    ``(pos[m] - t) / (pos[m] - pos[m - 1])``, of height ``value(t) -
    value(t - 1)``; steps of height 0 are skipped.  The operations and their
    order are those of :func:`~synth.dsp.oscillators.bandlimit_steps`'
    ``bincount`` (each tap ``((row[i0 + 1] - row[i0]) * frac + row[i0]) *
    height``, added event by event), so the samples equal it bit for bit
    (the NumPy formulation is the oracle in tests/test_dsp_jit.py), and
    the blocks join as one pass would (a residual sum starts at +0.0, so
    it is never -0.0 and its copy into the next block is exact).  The taps
    of one step are added through row views, a loop LLVM vectorises (3x
    faster than indexing the 2-D arrays, same sums).
    """
    n = y.shape[0]
    size = flat.shape[0]
    taps = rows.shape[1]
    over = rows.shape[0] - 1
    lat = history.shape[0]
    block = max(min(n, _PLAY_BLOCK), 1)
    pos = np.empty(block)
    naive = np.empty(block)
    full = np.zeros(block + taps)
    full[:taps] = carry
    # the voices' filters (two sections) run sample by sample in the output loop,
    # where their latency-bound recursion overlaps the rest
    two = sos.shape[0] == 2
    c = two_section_coefficients(sos if two else np.zeros((2, 6)))
    z = (zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1]) if two else (0.0, 0.0, 0.0, 0.0)
    at = pos0
    before_block = prev_pos
    for lo in range(0, n, block):
        b = min(block, n - lo)
        at = _clock_ramp(clock, step, lo, sr, at, pos[:b])
        first_block = note_on and lo == 0
        prev_first = pos[0] if first_block else before_block
        first_tick = int(np.floor(prev_first))
        values = np.empty(int(np.floor(pos[b - 1])) - first_tick + 1)
        t = first_tick                                # every tick the block reads
        if loop_end > 0 and t >= loop_end:
            t = loop_start + (t - loop_start) % (loop_end - loop_start)
        for q in range(values.shape[0]):              # the address, wrapped as it moves
            values[q] = flat[t] if 0 <= t < size else (flat[t + size] if t < 0 else 0.0)
            t += 1
            if loop_end > 0 and t == loop_end:
                t = loop_start
        if first_block:                               # from silence, exactly at sample 0
            h = values[int(np.floor(pos[0])) - first_tick]
            for j in range(taps):
                full[j] += ((rows[1, j] - rows[0, j]) * 0.0 + rows[0, j]) * h
        m = 0
        for t in range(first_tick + 1, first_tick + values.shape[0]):
            while pos[m] < t:                         # searchsorted(pos, t, "left")
                m += 1
            h = values[t - first_tick] - values[t - 1 - first_tick]
            if h == 0.0:
                continue
            before = prev_first if m == 0 else pos[m - 1]
            p = ((pos[m] - t) / (pos[m] - before)) * over
            i = min(int(p), over - 1)
            f = p - i
            row, slope, into = rows[i], slopes[i], full[m:m + BLEP_TAPS]
            for j in range(BLEP_TAPS):                # a constant count: unrolled, no remainder
                into[j] += (slope[j] * f + row[j]) * h
        for k in range(b):
            naive[k] = values[int(np.floor(pos[k])) - first_tick]   # the word held at sample k
            v = (history[k] if k < lat else naive[k - lat]) + full[k]
            v = v * gain
            if envelope.shape[0] > 0:
                v = v * envelope[lo + k]
            if two:
                v, z = two_sections(v, c, z)
            y[lo + k] = v
        for j in range(lat):
            k = b + j
            history[j] = history[k] if k < lat else naive[k - lat]
        for j in range(taps):                         # the spill-over starts the next block
            carry[j] = full[b + j]
        full[:] = 0.0
        full[:taps] = carry
        before_block = pos[b - 1]
    if two:
        zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1] = z
    last = before_block if n > 0 else (pos0 if note_on else prev_pos)
    return at, last


@lru_cache(maxsize=1)
def _step_residual_rows() -> tuple[np.ndarray, np.ndarray]:
    """The band-limited step minus the naive one delayed by ``BLEP_LATENCY``, one row of
    ``BLEP_TAPS`` taps per sub-sample offset (``rows[i, j] = H(j + i / over) - (j >= lat)``),
    as :func:`~synth.dsp.oscillators.bandlimit_steps` tabulates it, and
    ``slopes = rows[1:] - rows[:-1]`` (read-only)."""
    taps, over, lat = BLEP_TAPS, BLEP_OVERSAMPLING, BLEP_LATENCY
    table = blep_step_table()
    i = np.arange(over + 1)[:, None]
    j = np.arange(taps)[None, :]
    rows = np.ascontiguousarray(table[i + over * j] - (j >= lat))
    slopes = np.ascontiguousarray(rows[1:] - rows[:-1])
    rows.setflags(write=False)
    slopes.setflags(write=False)
    return rows, slopes


# ---------------------------------------------------------------- Mode 1 as a Fourier series

#: Smallest wavetable (points per cycle) of :func:`mode1_wavetables`.
_MIN_TABLE_SIZE = 1024
#: Table points per harmonic at least.  With cubic Hermite interpolation on
#: exact derivatives, the interpolation images (which fold back off the
#: harmonic grid) stay below -125 dB at 8 points per harmonic (measured in
#: tests/test_fairlight_fast.py); linear interpolation would need 128.
_TABLE_POINTS_PER_HARMONIC = 16


class WavetableCache:
    """Band-limited Mode-1 tables (:func:`mode1_wavetables`' cubic coefficients), bounded in bytes.

    A note's tables cost two FFTs per segment to build (a low note's set is
    about 8 MB); the notes of one patch at nearby pitches share them (the
    harmonic count moves in 24 steps per octave).  Entries are keyed on the
    stored table's bytes and the harmonic count; when the total passes
    ``max_bytes`` the least recently used go (the newest always stays).

    Whoever plays many notes keeps one (the Fairlight source keeps one per
    process); :func:`play_fourier` without one builds the note's own and
    carries it in the note's state.

    Parameters
    ----------
    max_bytes : int
        Bound on the tables kept (default 48 MB).
    """

    def __init__(self, max_bytes: int = 48 << 20):
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[tuple, tuple[np.ndarray, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes of the tables held now."""
        return self._bytes

    def get(self, stored_bytes: bytes, segments: int, n_harmonics: int) -> tuple[np.ndarray, int]:
        """Coefficients ``[shape=(segments * size, 4)]`` (read-only) and ``size`` of one table set."""
        key = (stored_bytes, int(segments), int(n_harmonics))
        hit = self._entries.get(key)
        if hit is not None:
            self._entries.move_to_end(key)
            return hit
        value = _hermite_tables(stored_bytes, int(segments), int(n_harmonics))
        self._entries[key] = value
        self._bytes += value[0].nbytes
        while self._bytes > self.max_bytes and len(self._entries) > 1:
            _, old = self._entries.popitem(last=False)
            self._bytes -= old[0].nbytes
        return value

    def clear(self) -> None:
        """Forget every table."""
        self._entries.clear()
        self._bytes = 0


def mode1_wavetables(stored: np.ndarray, n_harmonics: int) -> np.ndarray:
    """Exact band-limited Mode-1 cycles: the Fourier series of the held staircase.

    A Mode-1 segment clocked at ``128 * f0`` is a 128-step staircase with
    period ``1 / f0``.  Its harmonic ``h`` (``h >= 0``, images above 64
    included) has the complex amplitude
    ``X[h mod 128] / 128 * sinc(h / 128) * exp(-i pi h / 128)``, with ``X`` the
    128-point DFT of the stored cycle: the zero-order hold's response in
    units of the clock, the same at every pitch.  The tables hold harmonics
    0 (the mean) to ``n_harmonics`` on a grid of ``size`` points per cycle;
    phase 0 is the start of the first stored sample's step.

    Parameters
    ----------
    stored : np.ndarray [shape=(segments, 128)]
        Stored 8-bit cycles (:func:`quantize_8bit`).
    n_harmonics : int
        Highest harmonic kept (e.g. :func:`synth.dsp.oscillators.max_harmonics`).

    Returns
    -------
    np.ndarray [shape=(segments, size)]
        ``size`` is a power of two, at least 16 points per harmonic and 1024.
    """
    stored = np.ascontiguousarray(stored, dtype=np.float64)
    if stored.ndim != 2 or stored.shape[1] != SEGMENT_LENGTH:
        raise ValueError(f"Mode 1 needs a (segments, {SEGMENT_LENGTH}) table, got shape {stored.shape!r}")
    coefficients, size = _hermite_tables(stored.tobytes(), stored.shape[0], int(n_harmonics))
    return coefficients[:, 0].reshape(stored.shape[0], size).copy()


def _table_size(n_harmonics: int) -> int:
    size = _MIN_TABLE_SIZE
    while size < _TABLE_POINTS_PER_HARMONIC * n_harmonics:
        size *= 2
    return size


def _hermite_tables(stored_bytes: bytes, segments: int, n_harmonics: int) -> tuple[np.ndarray, int]:
    """Cubic coefficients ``[shape=(segments * size, 4)]`` of every table interval, and ``size``.

    On interval ``i`` the wave is ``a + x (b + x (c + x d))`` for ``x`` in
    [0, 1): the cubic Hermite polynomial through the exact values and
    derivatives at points ``i`` and ``i + 1`` (wrapping per cycle).  The four
    coefficients of an interval are adjacent in memory (one cache line read
    per output sample).
    """
    stored = np.frombuffer(stored_bytes, dtype=np.float64).reshape(segments, SEGMENT_LENGTH)
    size = _table_size(n_harmonics)
    h = np.arange(n_harmonics + 1)
    dft = np.fft.fft(stored, axis=1)[:, h % SEGMENT_LENGTH]              # X[h mod 128], images too
    hold = np.sinc(h / SEGMENT_LENGTH) * np.exp(-1j * np.pi * h / SEGMENT_LENGTH)
    spec = np.zeros((segments, size // 2 + 1), dtype=np.complex128)
    spec[:, :n_harmonics + 1] = dft * hold * (size / SEGMENT_LENGTH)   # irfft divides by size
    value = np.fft.irfft(spec, n=size, axis=1)
    spec[:, :n_harmonics + 1] *= 2j * np.pi * h / size                 # d/d(table point)
    slope = np.fft.irfft(spec, n=size, axis=1)
    value1, slope1 = np.roll(value, -1, axis=1), np.roll(slope, -1, axis=1)
    jump = value1 - value
    coefficients = np.stack([value, slope, 3 * jump - 2 * slope - slope1,
                             -2 * jump + slope + slope1], axis=-1).reshape(-1, 4)
    coefficients.setflags(write=False)
    return coefficients, size


@lru_cache(maxsize=1)
def _blep_fir() -> tuple[np.ndarray, np.ndarray]:
    """The band-limited step's kernel as an FIR, and its discrete step response.

    ``fir[j]`` is the derivative of the tabulated band-limited step
    (:func:`synth.dsp.oscillators.blep_step_table`) at ``tau = j``,
    ``j = 0..BLEP_TAPS``, normalised to unit DC gain.  On a signal that is
    already band-limited it does what the continuous kernel does: the same
    roll-off (-0.5 dB at 0.35 sr, -6 dB at 0.4 sr, -41 dB at 0.47 sr) and
    the same ``BLEP_LATENCY`` delay as :func:`play`'s band-limited steps.
    """
    step = blep_step_table()
    fir = (np.gradient(step) * BLEP_OVERSAMPLING)[::BLEP_OVERSAMPLING].copy()
    fir /= fir.sum()
    cumulative = np.cumsum(fir)
    fir.setflags(write=False)
    cumulative.setflags(write=False)
    return fir, cumulative


#: Output samples after a jump over which the table read differs from the
#: band-limited steps (the FIR's length), and the look-back of the exact sum.
_WINDOW = BLEP_TAPS + 2


def _harmonic_counts(cycle_freq: np.ndarray, sr: float) -> np.ndarray:
    """Harmonic count of every sample's table: all harmonics below Nyquist,
    on :func:`~synth.dsp.oscillators.max_harmonics`' ladder (24 steps per
    octave, rounded down) so nearby pitches share tables.

    Up to Nyquist itself (no 0.98 margin): the FIR that follows
    (:func:`_blep_fir`) is already -41 dB at 0.47 ``sr`` and -93 dB at
    Nyquist, so when vibrato moves a note across a ladder step, the
    harmonics that come and go are ones it has all but removed.
    """
    limit = 0.5 * sr
    h = np.floor(limit / np.maximum(cycle_freq, 1e-9))
    safe = np.maximum(h, 1.0)
    ladder = np.floor(2.0 ** (np.floor(24 * np.log2(safe)) / 24))
    return np.where(h <= 24, h, ladder).astype(np.int64)


@lru_cache(maxsize=1024)
def _count_range(top: float, bottom: float, sr: float) -> tuple[int, int]:
    """The harmonic counts (:func:`_harmonic_counts`) of the highest and lowest clock of a
    block: the notes of a part repeat a few pitches."""
    lowest, highest = _harmonic_counts(np.array([top, bottom]) / SEGMENT_LENGTH, sr)
    return int(lowest), int(highest)


@kernel
def _read_mode1(pos, coefficients, size, ticks_per_segment, segments, table_of, step, table, held):
    """The band-limited Mode-1 wave at each clock position, in place.

    ``held[k]`` for every sample with ``table_of[k // step] == table`` (every
    sample when ``table_of`` is empty): the segment sounding at ``pos[k]`` ticks
    (``min(floor(pos) // ticks_per_segment, segments - 1)``), read from
    ``coefficients`` (:func:`_hermite_tables`, ``size`` points a cycle) by
    Horner's rule at the phase ``pos * size / 128``.
    """
    scale = size / SEGMENT_LENGTH                     # a power of two: exact
    mask = size - 1
    every = table_of.shape[0] == 0
    segment = -1                                      # positions rise: the segment only moves on
    next_switch = 0                                   # the tick where the next segment starts
    for k in range(pos.shape[0]):
        if not every and table_of[k // step] != table:
            continue
        tick = int(np.floor(pos[k]))
        if tick >= next_switch:                       # floor(tick / ticks_per_segment), held
            segment = min(tick // ticks_per_segment, segments - 1)
            next_switch = (segment + 1) * ticks_per_segment if segment < segments - 1 else 1 << 62
        x = pos[k] * scale
        whole = np.floor(x)
        x -= whole
        i = (int(whole) & mask) + segment * size
        y = coefficients[i, 3] * x + coefficients[i, 2]
        y = y * x + coefficients[i, 1]
        held[k] = y * x + coefficients[i, 0]


@kernel
def _exact_sums(flat, loops, ext_pos, lead, start, span_lo, span_hi, step, out):
    """:func:`play`'s band-limited output at the block samples of the spans, summed directly, in place.

    ``out[r]`` for every ``r`` in ``span_lo[s] <= r < span_hi[s]``: the value
    held at sample ``r - _WINDOW`` (0 before the note) plus the tabulated
    band-limited step (``step``, :func:`~synth.dsp.oscillators.blep_step_table`)
    of each clock tick since then at its exact time, summed in time order.
    ``flat`` is the Mode-1 memory (``segments x 128`` words, each segment
    ``loops`` times, the last sustaining); ``ext_pos`` the clock position
    (ticks) of ``lead`` samples before the block, then of the block's
    samples; the note started ``start`` samples before the block, its first
    value entering as a step from silence.  A tick ``t`` falls at the first
    sample ``m`` with ``pos[m] >= t`` at sub-sample offset
    ``(pos[m] - t) / (pos[m] - pos[m - 1])`` (0 for ticks at or before the
    note's first sample).  Every sample is summed the same way wherever the
    block boundaries fall, so blocks equal one pass bit for bit.
    """
    per_segment = SEGMENT_LENGTH * loops
    last = flat.shape[0] // SEGMENT_LENGTH - 1
    span = step.shape[0] - 1
    over = float(BLEP_OVERSAMPLING)
    # the longest run of ticks of any row: shorter runs end with added zeros,
    # which turn a sum of -0.0 into 0.0 (the padded rows of the NumPy oracle)
    longest = 1
    for s in range(span_lo.shape[0]):
        for r in range(span_lo[s], span_hi[s]):
            back = max(r - _WINDOW, -start)
            first = 0 if back == -start else int(np.floor(ext_pos[lead + back])) + 1
            longest = max(longest, int(np.floor(ext_pos[lead + r])) - first + 1)
    for s in range(span_lo.shape[0]):
        for r in range(span_lo[s], span_hi[s]):
            back = max(r - _WINDOW, -start)
            note_on = back == -start
            first = 0 if note_on else int(np.floor(ext_pos[lead + back])) + 1
            last_tick = int(np.floor(ext_pos[lead + r]))
            base = 0.0
            if not note_on:
                t = first - 1
                base = flat[min(t // per_segment, last) * SEGMENT_LENGTH + t % SEGMENT_LENGTH]
            acc = 0.0 + base
            j = lead + back
            for t in range(first, last_tick + 1):
                while ext_pos[j] < t:
                    j += 1
                offset = 0.0
                if j > lead + back:
                    offset = (ext_pos[j] - t) / (ext_pos[j] - ext_pos[j - 1])
                value = flat[min(t // per_segment, last) * SEGMENT_LENGTH + t % SEGMENT_LENGTH]
                if t > 0:
                    u = t - 1
                    value -= flat[min(u // per_segment, last) * SEGMENT_LENGTH + u % SEGMENT_LENGTH]
                p = min(max((r - (j - lead)) + offset, 0.0), float(BLEP_TAPS)) * over
                i = min(int(p), span - 1)
                term = (step[i] + (p - i) * (step[i + 1] - step[i])) * value
                acc = term + base if t == first else acc + term
            if last_tick - first + 1 < longest:
                acc += 0.0
            out[r] = acc


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sample ranges ``[lo, hi)`` sorted, empty ones dropped, overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


class FourierState(NamedTuple):
    """Where a Mode-1 :func:`play_fourier` stands between blocks."""

    pos: float              #: clock position (ticks) at the next block's first sample
    prev_pos: float | None  #: clock position at the previous block's last sample (None: note-on, none yet)
    history: np.ndarray     #: [shape=(taps - 1,)] the step FIR's input history (the held wave)
    tail_pos: np.ndarray    #: [shape=(<= window + 1,)] clock positions of the last samples, for exact sums
    exact_left: int         #: samples at the next block's start still inside an exact-sum window
    start: int              #: samples rendered since the note-on
    tables: WavetableCache  #: where the note's band-limited tables are kept
    key: bytes              #: the stored table's bytes (the tables' key, hashed once a note)


def play_fourier(stored: ArrayLike, clock_hz: ArrayLike, *, sr: float, n: int | None = None, loops: int = 1,
                 state: FourierState | None = None, tables: WavetableCache | None = None,
                 step: int = 1) -> tuple[np.ndarray, FourierState]:
    """Mode-1 playback: the held DAC output, band-limited, as a wavetable read.

    Each segment is read from its exact Fourier series
    (:func:`mode1_wavetables`: images and 8-bit noise included, all on
    harmonics of the played pitch) at the accumulated phase by cubic
    interpolation, then passed through the band-limited step's own kernel
    as an FIR (:func:`_blep_fir`), so the roll-off near Nyquist and the
    :data:`~synth.dsp.oscillators.BLEP_LATENCY` delay are those of
    :func:`play`'s band-limited steps.  The cost is a few table reads per
    output sample, whatever the clock.

    Segment switches (after ``loops`` cycles, at phase 0) and the note-on:
    reading the next table from the first sample after the switch would
    leave a naive jump (the two band-limited waves differ at phase 0, by up
    to 0.2 of full scale on a bright table: -49 dB of difference from the
    band-limited steps at C7, measured), so the ``BLEP_TAPS + 2`` samples
    after each jump are summed directly from the clock ticks' band-limited
    steps (:func:`_exact_sums`).  At most 32 jumps per note: a few thousand
    tick steps, whatever the note length.

    Parameters
    ----------
    stored : np.ndarray [shape=(segments, 128)]
        Stored cycles, quantised already (:func:`quantize_8bit`).
    clock_hz : float or np.ndarray [shape=(n,) or (ceil(n / step),)]
        DAC clock in Hz (> 0): ``128 x`` the played pitch.
    sr : float
        Output sample rate in Hz.
    n : int, optional
        Samples to render (required for a scalar clock or ``step > 1``).
    loops : int
        Repetitions per segment (:func:`mode1_loops`); the last sustains.
    state : FourierState, optional
        From the previous block (``None`` = note-on).
    tables : WavetableCache, optional
        Where the tables are kept; default: the note's own (in ``state``).
    step : int
        Samples each value of an array ``clock_hz`` holds (a control-rate
        pitch curve); the result equals the curve repeated per sample.

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
        The band-limited steps of every clock tick to within the error
        measured in tests/test_fairlight_fast.py (-90 dB or less, A1 to C7).
    state : FourierState

    Notes
    -----
    The harmonic count is chosen per sample from the clock
    (:func:`~synth.dsp.oscillators.max_harmonics` of ``clock / 128``), so a
    note can be rendered in blocks (bit for bit) and a glide never aliases;
    a note at a steady pitch reads one table.
    """
    stored = np.ascontiguousarray(stored, dtype=np.float64)
    if stored.ndim != 2 or stored.shape[1] != SEGMENT_LENGTH:
        raise ValueError(f"Mode 1 needs a (segments, {SEGMENT_LENGTH}) table, got shape {stored.shape!r}")
    if int(loops) < 1:
        raise ValueError(f"loops must be >= 1, got {loops!r}")
    loops = int(loops)
    clock, step, count = _clock_steps(clock_hz, n, int(step))
    fir, _ = _blep_fir()
    taps = len(fir)
    if state is None:
        state = FourierState(pos=0.0, prev_pos=None, history=np.zeros(taps - 1), tail_pos=np.zeros(0),
                             exact_left=0, start=0,
                             tables=WavetableCache() if tables is None else tables,
                             key=stored.tobytes())    # hashed once a note (bytes keep their hash)
    tables = state.tables
    if count == 0:
        return np.zeros(0), state
    pos = np.empty(count)                             # in clock ticks, as play()
    pos_out = _clock_ramp(clock, step, 0, float(sr), float(state.pos), pos)
    stored_bytes, segments = state.key, stored.shape[0]
    ticks_per_segment = SEGMENT_LENGTH * loops
    # segment switches in this block (tick s * ticks_per_segment, phase 0)
    note_on = state.prev_pos is None
    prev_first = pos[0] if note_on else state.prev_pos
    first_segment = min(int(np.floor(prev_first) // ticks_per_segment), segments - 1)
    last_segment = min(int(pos[-1] // ticks_per_segment), segments - 1)
    switches = [int(np.searchsorted(pos, s * ticks_per_segment, side="left"))
                for s in range(first_segment + 1, last_segment + 1)]
    lowest, highest = _count_range(float(np.max(clock)), float(np.min(clock)), float(sr))
    if lowest == highest:                             # the usual case: one table for the block
        table_of, counts = np.zeros(0, dtype=np.int64), [lowest]
    else:                                             # one count per clock value
        table_of = _harmonic_counts(clock / SEGMENT_LENGTH, sr)
        counts = np.unique(table_of)
    extended = np.empty(taps - 1 + count)            # the FIR's history, then this block's wave
    extended[:taps - 1] = state.history
    held = extended[taps - 1:]
    for h in counts:
        coefficients, size = tables.get(stored_bytes, segments, int(h))
        _read_mode1(pos, coefficients, size, ticks_per_segment, segments, table_of, step, int(h),
                    held)
    # the band-limited step's kernel as an FIR (its roll-off and latency)
    out = np.convolve(extended, fir, mode="valid")
    # note-on and segment switches: exact band-limited steps near them
    jumps = [0, *switches] if note_on else switches
    spans = _merged([(0, min(state.exact_left, count))] + [(m, min(m + _WINDOW, count)) for m in jumps])
    exact_left = max([state.exact_left - count] + [m + _WINDOW - count for m in jumps] + [0])
    tail = state.tail_pos
    ext_pos = np.concatenate([tail, pos])
    if spans:
        _exact_sums(stored.reshape(-1), loops, ext_pos, len(tail), state.start,
                    np.array([lo for lo, _ in spans], dtype=np.int64),
                    np.array([hi for _, hi in spans], dtype=np.int64), blep_step_table(), out)
    return out, FourierState(pos=pos_out, prev_pos=float(pos[-1]), history=extended[-(taps - 1):].copy(),
                             tail_pos=ext_pos[-(_WINDOW + 1):].copy(), exact_left=exact_left,
                             start=state.start + count, tables=tables, key=stored_bytes)


class VoiceState(NamedTuple):
    """Where a CMI :func:`voice` stands between blocks."""

    stored: np.ndarray                  #: the waveform as quantised at note-on (8-bit grid)
    play: PlayState | FourierState      #: the Mode-4 or Mode-1 player's state
    sos: np.ndarray | None              #: [shape=(2, 6)] output filter fixed at note-on (None: none)
    zi: np.ndarray | None               #: [shape=(sections, 2)] its state (None before its first block)


def voice(waveform: ArrayLike, freq: ArrayLike, *, sr: float, n: int | None = None, mode: int = 1,
          series: str | FairlightSeries = "II", loops: int = 1, root_freq: float = 261.6255653005986,
          rate_hz: float | None = None, envelope: ArrayLike | None = None, gain: float = 1.0,
          brightness: float | None = 0.5, tune: int = _TUNE_CENTRE, loop: tuple[int, int] | None = None,
          latch: float | None = None, tracking: str = "octave", tables: WavetableCache | None = None,
          state: VoiceState | None = None, step: int = 1,
          quantized: bool = False) -> tuple[np.ndarray, VoiceState]:
    """One CMI voice: quantise, clock by pitch, hold, VCA, output low-pass.

    Parameters
    ----------
    waveform : np.ndarray
        Mode 1: ``[shape=(segments, 128)]`` cycles in [-1, 1]; Mode 4:
        ``[shape=(N,)]`` sample in [-1, 1].  Quantised to 8 bits here (a no-op
        on data already on the 1/128 grid).
    freq : float or np.ndarray [shape=(n,) or (ceil(n / step),)]
        Played pitch in Hz (per sample, or per control step, for vibrato or glide).
    sr : float
        Output sample rate in Hz.
    n : int, optional
        Samples to render (required for scalar ``freq`` or ``step > 1``).
    mode : {1, 4}
        1 = 32-segment wavetable, each segment looped ``loops`` times, the
        last sustaining (:func:`play_fourier`); 4 = one-shot sample
        (:func:`play`).
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
    loop : (int, int), optional
        Mode 4: sustain loop ``(start, end)`` in stored words (see :func:`play`).
    latch : float, optional
        The CMI-01A filter latch (0..255): the output filter is then the
        SSM2045 model (:func:`design_ssm2045` at :func:`ssm2045_cutoff` of
        the first sample's clock) instead of the clock-tracking 4-pole
        (``brightness`` is ignored).
    tracking : {"octave", "note"}
        With ``latch``: how the cutoff follows the pitch (:func:`ssm2045_cutoff`).
    tables : WavetableCache, optional
        Mode 1: where the band-limited tables are kept (:func:`play_fourier`).
    state : VoiceState, optional
        From the previous block (``None`` = note-on).
    step : int
        Samples each value of an array ``freq`` holds (a control-rate pitch
        curve): the clock law then runs once a value, and the samples equal
        those of the curve repeated per sample.
    quantized : bool
        ``waveform`` is on the 8-bit grid already (:func:`quantize_8bit` of
        it is itself): a table the caller keeps is not quantised again at
        every note-on.

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    state : VoiceState
    """
    if mode not in MODES:
        raise ValueError(f"Fairlight mode must be one of {MODES}, got {mode!r}")
    spec = _series(series)
    f = np.asarray(freq, dtype=np.float64)
    if f.ndim == 0 and n is None:
        raise ValueError("n is required when freq is a scalar")
    if state is not None:
        stored = state.stored
    elif quantized:                                   # the caller's table, on the grid already
        stored = np.array(waveform, dtype=np.float64)     # (writable, as the kernels are compiled)
    else:
        stored = quantize_8bit(waveform)
    if mode == 1:
        clock = mode1_clock(f)
    else:
        clock = mode4_clock(f, root_freq=root_freq, rate_hz=rate_hz or spec.max_rate_hz)
    if spec.clock_law == "iix":                     # per value of freq: once for a steady pitch
        clock = _steady_clock(float(clock), int(tune)) if clock.ndim == 0 else quantize_clock(clock, tune=tune)
    clock, step, count = _clock_steps(clock, n, int(step) if f.ndim else 1)
    if state is None:
        sos = None
        first = float(clock[0]) if count else None
        if latch is not None and first is not None:
            sos = design_ssm2045(_note_cutoff(first, float(latch), tracking, int(tune)), sr=sr)
        elif brightness is not None and first is not None:
            sos = filters.design_fairlight_lowpass(float(output_cutoff(first, sr=sr,
                                                                       brightness=brightness)), sr=sr)
        zi = None
    else:
        sos, zi = state.sos, state.zi
    if envelope is not None:
        envelope = np.asarray(envelope, dtype=np.float64)
        if envelope.shape != (count,):
            envelope = np.broadcast_to(envelope, (count,)).copy()
    if mode == 1:
        held, play_state = play_fourier(stored, clock, sr=sr, n=count, loops=loops, tables=tables,
                                        state=None if state is None else state.play, step=step)
        y, zi = _vca_and_filter(held, gain, envelope, sos, zi)
    else:                                             # the VCA and filter in the player's blocks
        y, play_state, zi = _mode4(stored, clock, step, count, sr, loop,
                                   None if state is None else state.play, gain=gain,
                                   envelope=envelope, sos=sos, zi=zi)
    return y, VoiceState(stored, play_state, sos, zi)


@lru_cache(maxsize=1024)
def _steady_clock(clock: float, tune: int) -> float:
    """:func:`quantize_clock` of a steady clock (the notes of a part repeat a few pitches)."""
    return float(quantize_clock(clock, tune=tune))


@lru_cache(maxsize=1024)
def _note_cutoff(clock: float, latch: float, tracking: str, tune: int) -> float:
    """:func:`ssm2045_cutoff` of a note's first clock, as a float (cached as above)."""
    return float(ssm2045_cutoff(clock, latch, tracking=tracking, tune=tune))


def steal_voices(starts: ArrayLike, ends: ArrayLike, *, max_voices: int = 8) -> np.ndarray:
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
