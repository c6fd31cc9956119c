"""Additive voices: harmonic-envelope pages, inharmonic partial sets, drawn cycles.

Calling convention (as :mod:`.oscillators`):
``f(..., freq, *, sr, n=None, phase=0.0, start=0) -> (samples [shape=(n,)], phase_out)``.
``freq`` is the fundamental in Hz (scalar or per sample), ``phase`` the
fundamental's phase in cycles, ``start`` the index of the first sample within
the note (time-varying amplitudes are closed-form in it): pass the previous
block's ``phase_out`` and ``start + n`` and the blocks equal one pass exactly.

Alias-free by construction: every partial is a sine, and a partial at or
above :data:`~synth.dsp.oscillators.NYQUIST_FRACTION` of Nyquist is faded out
(over the 10 % below that limit, so a glide does not click when a partial
crosses it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .oscillators import NYQUIST_FRACTION, max_harmonics, phase_ramp, table_lookup

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "MAX_HARMONICS",
    "MAX_SEGMENTS",
    "harmonic_pages",
    "page_amplitudes",
    "partials",
    "drawn_cycle_table",
    "drawn_wave",
]

#: The CMI's harmonic pages: up to 32 harmonics over up to 32 time segments.
MAX_HARMONICS = 32
MAX_SEGMENTS = 32


def _nyquist_fade(partial_freq, sr):
    """Gain 1 below 0.9 * limit, falling linearly to 0 at the limit (0.98 * Nyquist)."""
    limit = NYQUIST_FRACTION * 0.5 * sr
    return np.clip((limit - np.abs(partial_freq)) / (0.1 * limit), 0.0, 1.0)


def page_amplitudes(amplitudes: ArrayLike, *, sr: float, n: int, segment_seconds: float,
                    start: int = 0) -> np.ndarray:
    """Amplitude of each harmonic at each sample, from a (segments, harmonics) page.

    Segment ``s``'s amplitudes are reached on sample ``round(s * segment_seconds * sr)``;
    between segments they move linearly; after the last they hold.

    Returns
    -------
    np.ndarray [shape=(harmonics, n)]
    """
    amp = np.asarray(amplitudes, dtype=np.float64)
    segs = amp.shape[0]
    k = np.arange(start, start + n, dtype=np.float64)
    marks = np.round(np.arange(segs) * float(segment_seconds) * sr)
    if segs == 1 or marks[-1] == 0:
        return np.repeat(amp[-1][:, None], n, axis=1)
    out = np.empty((amp.shape[1], n))
    out[:, k < marks[0]] = amp[0][:, None]
    for s in range(segs - 1):                        # one linear ramp per segment (no gathers)
        m0, m1 = marks[s], marks[s + 1]
        i0, i1 = np.searchsorted(k, [m0, m1])
        if i1 > i0:
            x = (k[i0:i1] - m0) / (m1 - m0) if m1 > m0 else np.zeros(i1 - i0)
            out[:, i0:i1] = amp[s][:, None] + (amp[s + 1] - amp[s])[:, None] * x[None, :]
    i_last = np.searchsorted(k, marks[-1])
    out[:, i_last:] = amp[-1][:, None]
    return out


def harmonic_pages(amplitudes: ArrayLike, freq: ArrayLike, *, sr: float, n: int | None = None,
                   segment_seconds: float = 0.05, phase: float = 0.0,
                   harmonic_phases: ArrayLike | None = None,
                   start: int = 0) -> tuple[np.ndarray, float]:
    """Additive voice whose harmonic amplitudes change over time segments (CMI Page 4/5).

    Parameters
    ----------
    amplitudes : array_like [shape=(segments, harmonics)]
        Linear amplitude of harmonic ``h + 1`` in segment ``s``; at most
        32 x 32 (the CMI's pages).
    freq : float or np.ndarray [shape=(n,)]
        Fundamental in Hz.
    sr : float
        Sample rate in Hz.
    n : int, optional
        Samples (required for scalar ``freq``).
    segment_seconds : float
        Time from one segment to the next (> 0).
    phase : float
        Fundamental phase (cycles) at the first sample.
    harmonic_phases : array_like [shape=(harmonics,)], optional
        Start phase of each harmonic in cycles (default 0: all sines).
    start : int
        Index of the first sample within the note.

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
        ``sum_h a_h(t) sin(2 pi (h * phase(t) + p_h))``, harmonics above the
        Nyquist limit dropped (faded).
    phase_out : float
    """
    amp = np.atleast_2d(np.asarray(amplitudes, dtype=np.float64))
    segs, harmonics = amp.shape
    if not (1 <= segs <= MAX_SEGMENTS and 1 <= harmonics <= MAX_HARMONICS):
        raise ValueError(f"harmonic pages must have shape (1..{MAX_SEGMENTS}, 1..{MAX_HARMONICS}), "
                         f"got {amp.shape!r}")
    if segment_seconds <= 0:
        raise ValueError(f"segment_seconds must be > 0, got {segment_seconds!r}")
    ph, phase_out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    n = len(ph)
    env = page_amplitudes(amp, sr=sr, n=n, segment_seconds=segment_seconds, start=start)
    f = np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,))
    hp = np.zeros(harmonics) if harmonic_phases is None else np.asarray(harmonic_phases, dtype=np.float64)
    frac = ph - np.floor(ph)
    out = np.zeros(n)
    fixed_freq = np.ndim(freq) == 0
    for h in range(1, harmonics + 1):
        fade = _nyquist_fade(h * float(freq), sr) if fixed_freq else _nyquist_fade(h * f, sr)
        if not np.any(fade) or not np.any(env[h - 1]):
            continue
        x = h * frac + hp[h - 1]
        out += (env[h - 1] * fade) * np.sin(2.0 * np.pi * (x - np.floor(x)))
    return out, phase_out


def partials(ratios: ArrayLike, amplitudes: ArrayLike, decays: ArrayLike, freq: ArrayLike, *,
             sr: float, n: int | None = None, phase: float = 0.0,
             partial_phases: ArrayLike | None = None, start: int = 0) -> tuple[np.ndarray, float]:
    """Inharmonic partial set (bells, bars, glass): sines at ``ratio * freq`` that die away.

    Parameters
    ----------
    ratios : array_like [shape=(p,)]
        Frequency of each partial relative to ``freq`` (e.g. a bell's 0.5, 1,
        1.183, 1.506, 2, 2.514, 2.662, 3.011, ...).
    amplitudes : array_like [shape=(p,)]
        Initial linear amplitude of each partial.
    decays : array_like [shape=(p,)]
        Seconds for each partial to fall 60 dB (``inf`` = no decay).
    freq : float or np.ndarray [shape=(n,)]
        Reference (nominal) frequency in Hz.
    sr, n, phase, start
        As for :func:`harmonic_pages`; the decay clock counts from ``start``.
    partial_phases : array_like [shape=(p,)], optional
        Start phase of each partial in cycles (default 0).

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
        ``sum_i a_i 10^(-3 t / T_i) sin(2 pi (r_i phase(t) + p_i))``; partials
        above the Nyquist limit dropped (faded).
    phase_out : float
    """
    r = np.atleast_1d(np.asarray(ratios, dtype=np.float64))
    a = np.broadcast_to(np.asarray(amplitudes, dtype=np.float64), r.shape)
    T = np.broadcast_to(np.asarray(decays, dtype=np.float64), r.shape)
    if np.any(r <= 0) or np.any(T <= 0):
        raise ValueError(f"partial ratios and decays must be > 0, got ratios={ratios!r}, decays={decays!r}")
    pp = np.zeros(r.shape) if partial_phases is None else np.asarray(partial_phases, dtype=np.float64)
    ph, phase_out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    n = len(ph)
    f = np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,))
    t = np.arange(start, start + n, dtype=np.float64) / sr
    out = np.zeros(n)
    for ratio, amp, decay, p0 in zip(r, a, T, pp):
        gain = amp * _nyquist_fade(ratio * f, sr)
        if not np.any(gain):
            continue
        if np.isfinite(decay):
            gain = gain * np.exp((-3.0 * np.log(10.0) / decay) * t)        # 10^(-3 t / T)
        # ratio * phase wrapped in two steps to keep the argument small and exact per sample
        x = ratio * (ph - np.floor(ph)) + (ratio * np.floor(ph)) % 1.0 + p0
        out += gain * np.sin(2.0 * np.pi * (x - np.floor(x)))
    return out, phase_out


@lru_cache(maxsize=64)
def _drawn_table(values: tuple, n_harmonics: int) -> np.ndarray:
    cycle = np.asarray(values, dtype=np.float64)
    coeffs = np.fft.rfft(cycle) / len(cycle)
    # A drawn cycle's top harmonics can be as loud as its fundamental, so the
    # table is longer than the saw's: linear interpolation error ~ (pi k / size)^2 / 8
    # stays below -110 dB with 512 samples per top harmonic.
    size = 2048
    while size < 512 * n_harmonics:
        size *= 2
    spec = np.zeros(size // 2 + 1, dtype=np.complex128)
    keep = min(n_harmonics, len(cycle) // 2 - 1 if len(cycle) % 2 == 0 else len(cycle) // 2)
    spec[1:keep + 1] = coeffs[1:keep + 1] * size              # no DC: a drawn offset is not sound
    table = np.fft.irfft(spec, n=size)
    out = np.append(table, table[0])
    out.setflags(write=False)
    return out


def drawn_cycle_table(values: ArrayLike, n_harmonics: int) -> np.ndarray:
    """Band-limited single-cycle table of a drawn cycle (CMI Page 6).

    The drawn samples are one period; their DFT gives the harmonics
    (amplitude and phase) up to ``min(n_harmonics, len(values)/2 - 1)``
    (the Nyquist bin of an even-length drawing is ambiguous and dropped, as
    is DC).  Returns a guarded table for
    :func:`synth.dsp.oscillators.table_lookup`, shape ``(size + 1,)``.
    """
    vals = np.asarray(values, dtype=np.float64).ravel()
    if len(vals) < 4 or not np.all(np.isfinite(vals)):
        raise ValueError(f"a drawn cycle needs at least 4 finite values, got {len(vals)} "
                         f"(first values {vals[:4].tolist()!r})")
    return _drawn_table(tuple(vals.tolist()), int(n_harmonics))


def drawn_wave(values: ArrayLike, freq: ArrayLike, *, sr: float, n: int | None = None,
               phase: float = 0.0, max_freq: float | None = None) -> tuple[np.ndarray, float]:
    """Play a drawn single cycle (e.g. 128 numbers) band-limited at ``freq``.

    Parameters
    ----------
    values : array_like [shape=(m,)]
        One period, any scale (played at that scale, DC removed).
    freq : float or np.ndarray [shape=(n,)]
        Frequency in Hz.
    sr, n, phase
        As for :func:`synth.dsp.oscillators.saw`.
    max_freq : float, optional
        Highest frequency of the note (fixes the harmonic count; pass it when
        rendering a modulated note in blocks).

    Returns
    -------
    samples : np.ndarray [shape=(n,)]
    phase_out : float
    """
    ph, out = phase_ramp(freq, sr=sr, n=n, phase=phase)
    if max_freq is None:
        max_freq = float(np.max(np.abs(freq))) if np.ndim(freq) else abs(float(freq))
    table = drawn_cycle_table(values, max_harmonics(max_freq, sr=sr))
    return table_lookup(table, ph), out
