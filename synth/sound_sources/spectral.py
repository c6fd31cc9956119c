"""Spectral sources: harmonic pages (additive), a drawn cycle, decaying partials (bells)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ..dsp import additive, oscillators
from ..dsp.jit import kernel
from ..errors import PatchError
from ..params import Param
from .registry import NoteContext, Source, register_source

if TYPE_CHECKING:
    from ..patch import Patch

__all__ = ["check_pages", "page_tables", "damped_partials", "harmonic_spectrum"]


def check_pages(key: str, v: Any) -> tuple[tuple[float, ...], ...]:
    """Harmonic pages: 1..32 rows (time segments) of 1..32 harmonic amplitudes 0..1000."""
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or not 1 <= len(v) <= 32:
        raise PatchError(f"{key}: expected a list of 1..32 rows of harmonic amplitudes, got {v!r}")
    rows = v if all(hasattr(r, "__len__") and not isinstance(r, str) for r in v) else [v]
    row = Param("floats", lo=0, hi=1000, min_len=1, max_len=32)
    out = tuple(row.check(list(r), key) for r in rows)
    if len({len(r) for r in out}) != 1:
        raise PatchError(f"{key}: every row needs the same number of harmonics, "
                         f"got {[len(r) for r in out]}")
    if not any(any(r) for r in out):
        raise PatchError(f"{key}: all harmonic amplitudes are 0 (silent)")
    return out


def harmonic_spectrum(amps: Any) -> tuple[np.ndarray, np.ndarray]:
    """Ratios 1, 2, ... and absolute amplitudes of harmonic amplitudes ``amps``."""
    a = np.abs(np.asarray(amps, dtype=np.float64))
    return np.arange(1, len(a) + 1, dtype=np.float64), a


@lru_cache(maxsize=256)
def page_tables(pages: tuple, n_harmonics: int, size: int = 4096) -> np.ndarray:
    """One band-limited single-cycle table per page row, ``(segments, size + 1)``.

    Harmonic ``h`` is ``a_h sin(2 pi h phi)`` (as
    :func:`synth.dsp.additive.harmonic_pages`); every row is scaled by one
    factor so the loudest row peaks at 1.
    """
    amp = np.asarray(pages, dtype=np.float64)[:, :max(1, n_harmonics)]
    spec = np.zeros((amp.shape[0], size // 2 + 1), dtype=np.complex128)
    spec[:, 1:amp.shape[1] + 1] = -0.5j * amp * size        # sin = Im: coefficient -j/2
    tables = np.fft.irfft(spec, n=size, axis=1)
    peak = np.max(np.abs(tables))
    tables = tables / peak if peak > 0 else tables
    out = np.concatenate([tables, tables[:, :1]], axis=1)
    out.setflags(write=False)
    return out


def damped_partials(ratios: Any, amps: Any, decays: Any, freq: float, sr: float, n: int,
                    block: int = 1024, start: int = 0, scale: float = 1.0) -> np.ndarray:
    """Sum of decaying sines at a fixed frequency, as one complex matrix product.

    ``sum_p a_p e^{(-d_p + i w_p) k}`` with ``k = B j + m`` factors into
    ``(a_p e^{(-d_p + i w_p) B j})`` (blocks x partials) times
    ``e^{(-d_p + i w_p) m}`` (partials x B): each factor is computed directly
    from its exponent (no recursion, so no error builds up).  The second
    factor depends only on the note's pitch and partials, so it is computed
    once per pitch (cached); the product runs in a compiled kernel.

    Returns
    -------
    np.ndarray [shape=(n,)]
        Samples ``start .. start + n - 1``, times ``scale`` (the same
        numbers as multiplying them after: one rounding either way).
    """
    a, s = _partial_exponents(tuple(np.asarray(ratios, dtype=np.float64).tolist()),
                              tuple(np.asarray(amps, dtype=np.float64).tolist()),
                              tuple(np.asarray(decays, dtype=np.float64).tolist()),
                              float(freq), float(sr))
    if not len(a):
        return np.zeros(n)
    nb = -(-n // block)
    left = a[None, :] * np.exp(np.outer(np.arange(nb) * block + start, s))   # (nb, P)
    right_real, right_imag = _right_factor(s.tobytes(), int(block))          # (P, B)
    out = np.empty(nb * block)
    # Im(L R) = Re L Im R + Im L Re R, each sum over the partials in order
    _partial_products(np.ascontiguousarray(left.real), np.ascontiguousarray(left.imag),
                      right_real, right_imag, float(scale), out)
    return out[:n]


@lru_cache(maxsize=256)
def _partial_exponents(ratios: tuple, amps: tuple, decays: tuple, freq: float,
                       sr: float) -> tuple[np.ndarray, np.ndarray]:
    """The audible partials of a note: amplitudes and exponents ``s_p = -d_p + i w_p``.

    Partials at or above 98 % of Nyquist are dropped, those within 10 % of
    it faded; ``d_p`` makes partial ``p`` fall 60 dB in ``decays[p]``
    seconds (0: no decay).  Cached per note pitch (read-only arrays).
    """
    r = np.asarray(ratios, dtype=np.float64)
    a = np.asarray(amps, dtype=np.float64)
    T = np.asarray(decays, dtype=np.float64)
    w = 2 * np.pi * r * freq / sr
    limit = oscillators.NYQUIST_FRACTION * 0.5 * sr
    fade = np.clip((limit - r * freq) / (0.1 * limit), 0.0, 1.0)
    keep = (fade > 0) & (a > 0)
    w, a, T = w[keep], (a * fade)[keep], T[keep]
    d = np.where(T > 0, 3.0 * np.log(10.0) / (np.where(T > 0, T, 1.0) * sr), 0.0)
    s = -d + 1j * w
    a.setflags(write=False)
    s.setflags(write=False)
    return a, s


@lru_cache(maxsize=64)
def _right_factor(s_bytes: bytes, block: int) -> tuple[np.ndarray, np.ndarray]:
    """``e^{s_p m}`` for ``m = 0 .. block - 1``: real and imaginary parts, (P, block) each."""
    s = np.frombuffer(s_bytes, dtype=np.complex128)
    right = np.exp(np.outer(s, np.arange(block)))
    real, imag = np.ascontiguousarray(right.real), np.ascontiguousarray(right.imag)
    real.setflags(write=False)
    imag.setflags(write=False)
    return real, imag


@kernel
def _partial_products(left_real, left_imag, right_real, right_imag, scale, out):
    """``out[b B + k] = scale * (sum_p Lr[b, p] Ri[p, k] + sum_p Li[b, p] Rr[p, k])``.

    Each sum runs over the partials in order from 0.0, as NumPy's ``einsum``
    of the two real products adds them (the same samples, bit for bit).

    Parameters
    ----------
    left_real, left_imag : np.ndarray [shape=(blocks, P)]
    right_real, right_imag : np.ndarray [shape=(P, B)]
    scale : float
        Applied to each sum (a note's level: no pass of its own).
    out : np.ndarray [shape=(blocks * B,)]
        Written.
    """
    blocks, partials = left_real.shape
    width = right_real.shape[1]
    first = np.empty(width)
    second = np.empty(width)
    for b in range(blocks):
        first[:] = 0.0
        second[:] = 0.0
        # two partials a pass over the row (the loop over k vectorises): each sum still
        # adds its terms in partial order, with half the loads and stores of the sums
        for p in range(0, partials - 1, 2):
            lr0, li0 = left_real[b, p], left_imag[b, p]
            lr1, li1 = left_real[b, p + 1], left_imag[b, p + 1]
            imag0, real0 = right_imag[p], right_real[p]
            imag1, real1 = right_imag[p + 1], right_real[p + 1]
            for k in range(width):
                first[k] = (first[k] + lr0 * imag0[k]) + lr1 * imag1[k]
                second[k] = (second[k] + li0 * real0[k]) + li1 * real1[k]
        if partials % 2:
            p = partials - 1
            lr, li = left_real[b, p], left_imag[b, p]
            imag, real = right_imag[p], right_real[p]
            for k in range(width):
                first[k] += lr * imag[k]
                second[k] += li * real[k]
        dest = out[b * width:(b + 1) * width]
        for k in range(width):
            dest[k] = scale * (first[k] + second[k])


def _always(_patch: "Patch") -> bool:
    return True


# ---------------------------------------------------------------- additive

def _additive(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    pages, seconds = note.patch.param("pages"), note.patch.param("segment_seconds")
    nh = min(len(pages[0]), oscillators.max_harmonics(note.max_freq, sr=note.sr))
    tables = page_tables(pages, nh)
    ph = note.phases(freq, m)
    segs = tables.shape[0]
    if segs == 1:
        return oscillators.table_lookup(tables[0], ph)
    marks = np.round(np.arange(segs) * seconds * note.sr).astype(np.int64)
    out = np.empty(m)
    for s in range(segs - 1):
        lo, hi = max(int(marks[s]), a), min(int(marks[s + 1]), a + m)
        if hi > lo:
            x = (np.arange(lo, hi) - marks[s]) / max(marks[s + 1] - marks[s], 1)
            p = ph[lo - a:hi - a]
            first = oscillators.table_lookup(tables[s], p)
            out[lo - a:hi - a] = first + x * (oscillators.table_lookup(tables[s + 1], p) - first)
    last = max(int(marks[-1]), a)
    if last < a + m:
        out[last - a:] = oscillators.table_lookup(tables[-1], ph[last - a:])
    return out


register_source(Source(
    "additive", "harmonic pages: rows of harmonic amplitudes crossfaded over time",
    params={
        "pages": Param("custom", ((1.0, 0.5, 0.33, 0.25),), check_fn=check_pages,
                       doc="harmonic pages: rows = time segments, columns = harmonics 1..32"),
        "segment_seconds": Param("float", 0.05, 0.001, 10, unit="seconds",
                                 doc="time from one row to the next"),
    },
    render=_additive, segmentable=_always,
    spectrum=lambda p: harmonic_spectrum(np.mean(np.asarray(p.param("pages")), axis=0))))


# ---------------------------------------------------------------- drawn cycle

def _drawn(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    cycle = note.patch.param("cycle")
    y = additive.drawn_wave(cycle, freq, sr=note.sr, n=m, max_freq=note.max_freq)[0]
    return y / max(np.max(np.abs(cycle)), 1e-9)


def cycle_spectrum(cycle: Any) -> tuple[np.ndarray, np.ndarray]:
    """Harmonics (up to 32) of one drawn period."""
    cyc = np.asarray(cycle, dtype=np.float64)
    spec = np.abs(np.fft.rfft(cyc))[1:min(33, len(cyc) // 2)]
    return harmonic_spectrum(spec)


register_source(Source(
    "drawn", "one drawn waveform period, played as a wavetable",
    params={"cycle": Param("floats", tuple(np.sin(2 * np.pi * np.arange(128) / 128).round(6)),
                           -10, 10, min_len=4, max_len=4096,
                           doc="one drawn period (e.g. 128 numbers)")},
    render=_drawn, spectrum=lambda p: cycle_spectrum(p.param("cycle"))))


# ---------------------------------------------------------------- decaying partials

_BELL_RATIOS = (0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011, 4.166, 5.433)


def _partials(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch, sr = note.patch, note.sr
    amps = np.asarray(patch.param("amps"))
    norm = 1.0 / max(amps.sum(), 1e-9) * 2.0
    if np.ndim(freq) == 0:
        return damped_partials(patch.param("ratios"), amps, patch.param("decays"),
                               float(freq), sr, m, start=a, scale=norm)
    decays = np.where(np.asarray(patch.param("decays")) > 0, patch.param("decays"), np.inf)
    y, note.phase = additive.partials(patch.param("ratios"), amps, decays, freq, sr=sr,
                                      n=m, phase=note.phase, start=a)
    return norm * y


def _partials_check(patch: "Patch") -> None:
    lens = {len(patch.param(k)) for k in ("ratios", "amps", "decays")}
    if len(lens) != 1:
        raise PatchError("'params.ratios', 'params.amps' and 'params.decays' need "
                         f"the same length, got {sorted(lens)}")


register_source(Source(
    "partials", "inharmonic partials with their own decays (bells)",
    params={
        "ratios": Param("floats", _BELL_RATIOS, 0.01, 64, min_len=1, max_len=64,
                        doc="frequency / note frequency"),
        "amps": Param("floats", (0.3, 1.0, 0.5, 0.35, 0.6, 0.2, 0.25, 0.15, 0.1, 0.06), 0, 10,
                      min_len=1, max_len=64, doc="initial amplitude of each partial"),
        "decays": Param("floats", (6.0, 4.0, 3.0, 2.5, 2.0, 1.5, 1.4, 1.0, 0.7, 0.5), 0, 600,
                        unit="seconds", min_len=1, max_len=64,
                        doc="seconds to fall 60 dB (0 = no decay)"),
    },
    render=_partials, segmentable=_always, check=_partials_check,
    spectrum=lambda p: (np.asarray(p.param("ratios")), np.asarray(p.param("amps")))))
