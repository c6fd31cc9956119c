"""Filters: resonant low/high/band-pass biquads, key tracking, modulated cutoff.

Calling conventions (scipy.signal style, design separated from application):

- ``design_filter(kind, cutoff, *, sr, q, order) -> sos`` returns second-order
  sections ``[shape=(sections, 6)]``; :func:`design_fairlight_lowpass` gives
  the CMI's non-resonant 4-pole output filter.
- ``apply(x, sos, state=None) -> (y, state)`` filters along the last axis
  (``(n,)`` mono or ``(2, n)`` stereo); ``state=None`` starts from rest, and
  the returned state continues the next block exactly.
- ``modulated_filter(x, cutoff, *, sr, kind, q, order, state=None)`` follows a
  per-sample cutoff (an envelope or LFO over the note): coefficients are
  recomputed every :data:`SUB_BLOCK` samples on a grid anchored to the
  note's first sample (the state remembers where it is on the grid), so
  chunked processing equals one pass exactly, wherever the chunks are cut.

Design: RBJ "Audio EQ Cookbook" biquads (bilinear transform with the
frequency prewarped onto ``cutoff``), which are stable for every ``q > 0``
and ``0 < cutoff < sr/2``; cutoffs are held within
[:data:`MIN_CUTOFF_HZ`, :data:`MAX_CUTOFF_FRACTION` * sr] (documented range, so
an LFO may sweep past Nyquist without blowing up).

- ``lowpass`` / ``highpass``: order 2 = one biquad (12 dB/oct), gain ``q`` at
  the cutoff (``q = 1/sqrt(2)``: Butterworth, -3 dB at the cutoff); order 4 =
  a 4th-order Butterworth pair (Q 0.5412 and 1.3066) with the second section's
  Q scaled by ``q * sqrt(2)`` (24 dB/oct, gain ``q`` at the cutoff).
- ``bandpass``: order 2 = RBJ band-pass (0 dB peak at the cutoff, bandwidth
  ``cutoff / q``, 6 dB/oct skirts); order 4 = two of them in cascade (12
  dB/oct skirts).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .jit import kernel

if TYPE_CHECKING:
    from collections.abc import Sequence
    from numpy.typing import ArrayLike

__all__ = [
    "FILTER_KINDS",
    "SUB_BLOCK",
    "MIN_CUTOFF_HZ",
    "MAX_CUTOFF_FRACTION",
    "design_filter",
    "design_fairlight_lowpass",
    "apply",
    "modulated_filter",
    "SweptFilterState",
    "key_track",
    "sos_response",
]

FILTER_KINDS = ("lowpass", "highpass", "bandpass")
#: Samples per coefficient update in :func:`modulated_filter` (0.7 ms at 44.1 kHz).
SUB_BLOCK = 32
MIN_CUTOFF_HZ = 10.0
MAX_CUTOFF_FRACTION = 0.45
_BUTTER4_Q = (0.5411961001461970, 1.3065629648763766)


def _clamp_cutoff(cutoff, sr):
    return np.clip(cutoff, MIN_CUTOFF_HZ, MAX_CUTOFF_FRACTION * sr)


def _rbj(kind: str, cutoff, q, sr):
    """RBJ biquads for arrays of cutoffs; returns sos rows [shape=(m, 6)]."""
    w0 = 2.0 * np.pi * np.atleast_1d(np.asarray(cutoff, dtype=np.float64)) / sr
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), w0.shape)
    cos, alpha = np.cos(w0), np.sin(w0) / (2.0 * q)
    if kind == "lowpass":
        b = np.stack([(1 - cos) / 2, 1 - cos, (1 - cos) / 2], axis=-1)
    elif kind == "highpass":
        b = np.stack([(1 + cos) / 2, -(1 + cos), (1 + cos) / 2], axis=-1)
    else:  # band-pass, constant 0 dB peak gain
        b = np.stack([alpha, np.zeros_like(alpha), -alpha], axis=-1)
    a = np.stack([1 + alpha, -2 * cos, 1 - alpha], axis=-1)
    return np.concatenate([b, a], axis=-1) / a[:, :1]


def _validate(kind, q, order):
    if kind not in FILTER_KINDS:
        raise ValueError(f"unknown filter kind {kind!r}; expected one of {FILTER_KINDS}")
    if order not in (2, 4):
        raise ValueError(f"filter order must be 2 (12 dB/oct) or 4 (24 dB/oct), got {order!r}")
    if not np.all(np.asarray(q) > 0):
        raise ValueError(f"filter q must be > 0, got {q!r}")


def _design_many(kind, cutoff, q, order, sr):
    """sos for each cutoff: [shape=(m, sections, 6)]."""
    fc = _clamp_cutoff(np.atleast_1d(np.asarray(cutoff, dtype=np.float64)), sr)
    if order == 2:
        return _rbj(kind, fc, q, sr)[:, None, :]
    if kind == "bandpass":
        one = _rbj(kind, fc, q, sr)
        return np.stack([one, one], axis=1)
    q1, q2 = _BUTTER4_Q
    return np.stack([_rbj(kind, fc, q1, sr), _rbj(kind, fc, q2 * q * np.sqrt(2.0), sr)], axis=1)


def design_filter(kind: str, cutoff: float, *, sr: float, q: float = 1 / np.sqrt(2),
                  order: int = 2) -> np.ndarray:
    """Design a resonant low-pass, high-pass or band-pass filter.

    Parameters
    ----------
    kind : {"lowpass", "highpass", "bandpass"}
    cutoff : float
        Cutoff (centre for band-pass) in Hz; held within
        [MIN_CUTOFF_HZ, 0.45 * sr].
    sr : float
        Sample rate in Hz.
    q : float
        Resonance: the gain at the cutoff for low/high-pass (0.7071 = no
        peak, -3 dB; 4 = +12 dB peak); centre / bandwidth for band-pass.
    order : {2, 4}
        12 or 24 dB/oct (see the module notes for band-pass).

    Returns
    -------
    sos : np.ndarray [shape=(order // 2, 6)]
    """
    _validate(kind, q, order)
    return _design_many(kind, cutoff, q, order, sr)[0]


def design_fairlight_lowpass(cutoff: float, *, sr: float) -> np.ndarray:
    """The CMI's per-voice output filter: non-resonant 4-pole low-pass.

    Four equal real poles (a 4-pole OTA ladder such as the CEM3320 with its
    resonance at zero), placed so the response is -3 dB at ``cutoff``
    (each pole then sits at ``cutoff / sqrt(2**(1/4) - 1)``, 2.3 x higher),
    bilinear-transformed with prewarping at ``cutoff``.  No source gives the
    machine's cutoff law; see :func:`synth.dsp.fairlight.output_cutoff`.

    Returns
    -------
    sos : np.ndarray [shape=(2, 6)]
    """
    return _fairlight_lowpass(float(_clamp_cutoff(cutoff, sr)), float(sr)).copy()


@lru_cache(maxsize=512)
def _fairlight_lowpass(fc: float, sr: float) -> np.ndarray:
    """:func:`design_fairlight_lowpass`, cached (a note's cutoff follows its pitch).

    The bilinear transform of four equal real poles written out, in the
    order :func:`scipy.signal.bilinear_zpk` and :func:`~scipy.signal.zpk2sos`
    compute it (the same coefficients, tested): each pole maps to
    ``(2 sr + p) / (2 sr - p)``, the four zeros to -1, and the gain goes on
    the first section.  SciPy's functions cost 0.5 ms a note here, and
    importing ``scipy.signal`` 0.55 s.
    """
    omega_c = 2.0 * sr * np.tan(np.pi * fc / sr)        # prewarped analogue cutoff
    pole = -omega_c / np.sqrt(2.0 ** 0.25 - 1.0)
    fs2 = 2.0 * sr
    z_pole = (fs2 + pole) / (fs2 - pole)
    gain = pole ** 4 * (1.0 / np.prod(np.full(4, fs2 - pole)))
    section = [1.0, 2.0, 1.0, 1.0, -(z_pole + z_pole), z_pole * z_pole]
    sos = np.array([section, section])
    sos[0, :3] *= gain
    sos.setflags(write=False)
    return sos


def _zi(sos, x):
    return np.zeros((sos.shape[-2],) + x.shape[:-1] + (2,))


def apply(x: ArrayLike, sos: np.ndarray,
          state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Filter ``x`` along its last axis with second-order sections.

    Parameters
    ----------
    x : np.ndarray [shape=(..., n)]
    sos : np.ndarray [shape=(sections, 6)]
    state : np.ndarray [shape=(sections, ..., 2)], optional
        Final state of the previous block (``None`` = at rest).

    Returns
    -------
    y : np.ndarray [shape=(..., n)]
    state : np.ndarray [shape=(sections, ..., 2)]
    """
    x = np.asarray(x, dtype=np.float64)
    return filter_runs(x, [sos], [0, x.shape[-1]], state)


class SweptFilterState(NamedTuple):
    """Where a :func:`modulated_filter` stands between blocks."""

    zi: np.ndarray          #: [shape=(sections, ..., 2)] the sections' state, as :func:`apply` carries it
    offset: int             #: samples since the note's first, modulo :data:`SUB_BLOCK` (place on the grid)
    sos: np.ndarray | None  #: [shape=(sections, 6)] coefficients in force at the block's end; None before any sample


def modulated_filter(x: ArrayLike, cutoff: ArrayLike, *, sr: float, kind: str = "lowpass",
                     q: float = 1 / np.sqrt(2), order: int = 2,
                     state: SweptFilterState | None = None) -> tuple[np.ndarray, SweptFilterState]:
    """Filter with a cutoff that moves over time (envelope, LFO, key track).

    Parameters
    ----------
    x : np.ndarray [shape=(..., n)]
    cutoff : float or np.ndarray [shape=(n,)]
        Cutoff in Hz per sample.  Each run of :data:`SUB_BLOCK` samples uses
        the cutoff of its first sample (on a grid that starts at the first
        sample of the first block), so a smooth sweep changes the coefficients
        by small steps: no clicks.
    sr, kind, q, order
        As for :func:`design_filter` (``q`` is fixed for the note).
    state : SweptFilterState, optional
        From the previous block (``None`` = at rest, grid starts here).

    Returns
    -------
    y : np.ndarray [shape=(..., n)]
    state : SweptFilterState
    """
    _validate(kind, q, order)
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    fc = np.broadcast_to(np.asarray(cutoff, dtype=np.float64), (n,))
    if state is None:
        state = SweptFilterState(zi=_zi(np.zeros((order // 2, 6)), x), offset=0, sos=None)
    zi, offset, current = state
    # boundaries where a new sub-block (new coefficients) starts, relative to this block
    first = (-offset) % SUB_BLOCK
    starts = np.arange(first, n, SUB_BLOCK)
    designed = _design_many(kind, fc[starts], q, order, sr) if len(starts) else None
    # runs of samples sharing one set of coefficients (equal neighbours merged,
    # so a constant cutoff costs one sosfilt call)
    bounds, coeffs = [0], [current]
    for start, sos in zip(starts, designed if designed is not None else []):
        if coeffs[-1] is not None and np.array_equal(sos, coeffs[-1]):
            continue
        if start == bounds[-1]:
            coeffs[-1] = sos
        else:
            bounds.append(int(start))
            coeffs.append(sos)
    bounds.append(n)
    current = coeffs[-1]
    if current is None:             # a fresh filter given no samples
        return x[..., :0].copy(), SweptFilterState(zi, offset, None)
    y, zi = filter_runs(x, coeffs, bounds, zi)
    return y, SweptFilterState(zi, (offset + n) % SUB_BLOCK, current)


def key_track(base_cutoff: ArrayLike, note_freq: ArrayLike, *, amount: float = 1.0,
              ref_freq: float = 261.6255653005986) -> np.ndarray:
    """Cutoff that follows the keyboard.

    ``cutoff = base_cutoff * (note_freq / ref_freq) ** amount``: with
    ``amount = 1`` the cutoff moves one octave per octave played (a fixed
    harmonic number), with 0 it stays put.  ``ref_freq`` defaults to middle C.

    Returns
    -------
    float or np.ndarray (shape of the broadcast inputs), Hz
    """
    return np.asarray(base_cutoff, dtype=np.float64) * (
        np.asarray(note_freq, dtype=np.float64) / ref_freq) ** amount


def sos_response(sos: np.ndarray, freqs: ArrayLike, *, sr: float) -> np.ndarray:
    """Complex frequency response of ``sos`` at ``freqs`` (Hz); shape of ``freqs``."""
    z = np.exp(-2j * np.pi * np.asarray(freqs, dtype=np.float64) / sr)
    h = np.ones(np.shape(freqs), dtype=np.complex128)
    for b0, b1, b2, a0, a1, a2 in np.atleast_2d(sos):
        h *= (b0 + b1 * z + b2 * z * z) / (a0 + a1 * z + a2 * z * z)
    return h


@kernel
def two_section_coefficients(sos):
    """The ten coefficients :func:`two_sections` reads, from ``sos`` [shape=(2, 6)]."""
    return (sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5],
            sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5])


@kernel
def two_sections(x_cur, c, z):
    """One sample through two second-order sections: ``(output, state after)``.

    ``c`` from :func:`two_section_coefficients`, ``z = (z00, z01, z10, z11)``.
    The transposed direct form II step of :func:`sos_segment`; a kernel that
    makes each sample in a loop of its own calls it there (the filter's
    recursion, latency-bound, then overlaps that loop's other work).  The
    coefficients and state are scalars, so the compiler keeps them in
    registers (through arrays, each sample stored the state and loaded it
    back: a store-to-load delay on the recursion's critical path).
    """
    b00, b01, b02, a01, a02, b10, b11, b12, a11, a12 = c
    z00, z01, z10, z11 = z
    x_new = b00 * x_cur + z00
    z00 = b01 * x_cur - a01 * x_new + z01
    z01 = b02 * x_cur - a02 * x_new
    x_cur = x_new
    x_new = b10 * x_cur + z10
    z10 = b11 * x_cur - a11 * x_new + z11
    z11 = b12 * x_cur - a12 * x_new
    return x_new, (z00, z01, z10, z11)


@kernel
def sos_segment(sos, x, t0, t1, zi):
    """Samples ``t0:t1`` of ``x`` through second-order sections ``sos``, in place.

    The transposed direct form II recursion of :func:`scipy.signal.sosfilt`,
    the same operations in the same order (so the same samples, bit for
    bit), starting from and updating the state ``zi``.  The one place the
    recursion is written: :func:`_sosfilt_runs` and the voice's fused kernel
    (:mod:`synth.dsp.subtractive`) call it.

    Parameters
    ----------
    sos : np.ndarray [shape=(sections, 6), dtype=float64]
    x : np.ndarray [shape=(n,), dtype=float64]
        Overwritten with the output over ``t0:t1``.
    t0, t1 : int
    zi : np.ndarray [shape=(sections, 2), dtype=float64]
        Overwritten with the state after sample ``t1 - 1``.
    """
    if sos.shape[0] == 2:
        # the voices' 24 dB filters, sample by sample in registers: the same
        # operations in the same order
        c = two_section_coefficients(sos)
        z = (zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1])
        for t in range(t0, t1):
            x[t], z = two_sections(x[t], c, z)
        zi[0, 0], zi[0, 1], zi[1, 0], zi[1, 1] = z
        return
    if sos.shape[0] == 1:
        b0, b1, b2, a1, a2 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
        z0, z1 = zi[0, 0], zi[0, 1]
        for t in range(t0, t1):
            x_cur = x[t]
            x_new = b0 * x_cur + z0
            z0 = b1 * x_cur - a1 * x_new + z1
            z1 = b2 * x_cur - a2 * x_new
            x[t] = x_new
        zi[0, 0], zi[0, 1] = z0, z1
        return
    for t in range(t0, t1):
        x_cur = x[t]
        for s in range(sos.shape[0]):
            x_new = sos[s, 0] * x_cur + zi[s, 0]
            zi[s, 0] = sos[s, 1] * x_cur - sos[s, 4] * x_new + zi[s, 1]
            zi[s, 1] = sos[s, 2] * x_cur - sos[s, 5] * x_new
            x_cur = x_new
        x[t] = x_cur


@kernel
def _sosfilt_runs(designs, bounds, x, zi):
    """Second-order sections whose coefficients change at ``bounds``, in place.

    Run ``r`` (samples ``bounds[r]:bounds[r + 1]``) of each signal is
    filtered through ``designs[r]`` by :func:`sos_segment`, the state
    carried from run to run.

    Parameters
    ----------
    designs : np.ndarray [shape=(runs, sections, 6), dtype=float64]
    bounds : np.ndarray [shape=(runs + 1,), dtype=int64]
    x : np.ndarray [shape=(signals, n), dtype=float64]
        Overwritten with the output.
    zi : np.ndarray [shape=(signals, sections, 2), dtype=float64]
        Overwritten with the final state.
    """
    for i in range(x.shape[0]):
        for r in range(designs.shape[0]):
            sos_segment(designs[r], x[i], bounds[r], bounds[r + 1], zi[i])


def sosfilt(sos: np.ndarray, x: ArrayLike,
            zi: np.ndarray | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """:func:`scipy.signal.sosfilt` along the last axis, sample for sample.

    Parameters
    ----------
    sos : np.ndarray [shape=(sections, 6)]
    x : np.ndarray [shape=(..., n)]
    zi : np.ndarray [shape=(sections, ..., 2)], optional
        Initial state in SciPy's layout (``None``: at rest).

    Returns
    -------
    y : np.ndarray [shape=(..., n), dtype=float64]
        Only ``y`` when ``zi`` is ``None``, as in SciPy.
    zf : np.ndarray [shape=(sections, ..., 2)]
        Final state, when ``zi`` was given.
    """
    sos = np.asarray(sos, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    shape, sections = x.shape, sos.shape[0]
    y = np.array(x.reshape(-1, shape[-1]), dtype=np.float64, order="C")   # filtered in place
    if zi is None:
        state = np.zeros((y.shape[0], sections, 2))
    else:
        # SciPy's (sections, ..., 2) -> the kernel's (signals, sections, 2)
        state = np.array(np.moveaxis(np.asarray(zi, dtype=np.float64), 0, -2)
                         .reshape(-1, sections, 2), order="C")   # a copy: updated in place
    _sosfilt_runs(np.ascontiguousarray(sos)[None], np.array([0, shape[-1]], dtype=np.int64),
                  y, state)
    y = y.reshape(shape)
    if zi is None:
        return y
    return y, np.moveaxis(state.reshape(shape[:-1] + (sections, 2)), -2, 0)


def filter_runs(x: ArrayLike, designs: Sequence[np.ndarray], bounds: Sequence[int],
                state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Filter ``x`` through designs that change at ``bounds``, state carried across.

    Run ``i`` (samples ``bounds[i]:bounds[i + 1]``) goes through ``designs[i]``
    (second-order sections, all with the same number of sections), starting
    from the state the previous run left: a filter whose coefficients step
    over time, in one compiled pass.  Equal, sample for sample, to calling
    :func:`scipy.signal.sosfilt` run by run with ``zi`` carried.

    Parameters
    ----------
    x : np.ndarray [shape=(..., n)]
        One signal, or several (e.g. stereo) filtered alike.
    designs : sequence of np.ndarray [shape=(sections, 6)]
    bounds : sequence of int
        ``len(designs) + 1`` increasing sample indices from 0 to ``n``.
    state : np.ndarray [shape=(sections, ..., 2)], optional
        Filter memory left by the previous block of the same signal
        (``None``: at rest).

    Returns
    -------
    y : np.ndarray [shape=(..., n), dtype=float64]
    state : np.ndarray [shape=(sections, ..., 2)]
        The memory after the last sample, for the next block.
    """
    designs = np.ascontiguousarray(np.asarray(designs, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64)
    shape, sections = x.shape, designs.shape[1]
    buf = np.array(x.reshape(-1, shape[-1]), dtype=np.float64, order="C")
    if state is None:
        zi = np.zeros((buf.shape[0], sections, 2))
    else:
        zi = np.array(np.moveaxis(np.asarray(state, dtype=np.float64), 0, -2)
                      .reshape(-1, sections, 2), order="C")
    _sosfilt_runs(designs, np.asarray(bounds, dtype=np.int64), buf, zi)
    return buf.reshape(shape), np.moveaxis(zi.reshape(shape[:-1] + (sections, 2)), -2, 0)
