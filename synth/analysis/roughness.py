"""Sensory roughness (dissonance) of a score, after Plomp-Levelt and Sethares.

Two partials of frequencies ``f1 <= f2`` and amplitudes ``a1, a2`` are rough
by (Sethares, *Tuning, Timbre, Spectrum, Scale*, the ``dissmeasure`` model)::

    s = d* / (s1 * f1 + s2)
    d = a1 * a2 * (c1 * exp(-b1 * s * (f2 - f1)) + c2 * exp(-b2 * s * (f2 - f1)))

with ``d* = 0.24``, ``s1 = 0.0207``, ``s2 = 18.96``, ``b1 = 3.51``,
``b2 = 5.75``, ``c1 = 5``, ``c2 = -5``.  The curve is zero at unison, peaks
where ``f2 - f1`` is about a quarter of the critical bandwidth and falls
towards zero beyond it.  The roughness of a sound is the sum over all pairs
of its partials.

For a score, every note contributes partials ``pitch -> (ratios * f0,
amps * velocity/127 * part gain)`` from ``partials_for(part.preset)``; the
roughness at a moment is the sum over all pairs of partials of the notes then
sounding.  Pairs of notes are found once and their roughness is added to the
time span where both sound (a difference array over the timeline), so the
analysis is vectorised and fast on long scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..score import Score
from ..units import db_to_amp, midi_to_hz

__all__ = [
    "SETHARES",
    "PartialsFor",
    "pair_roughness",
    "spectrum_roughness",
    "harmonic_partials",
    "default_partials",
    "RoughnessTimeline",
    "roughness_timeline",
    "interval_class_counts",
    "RoughnessReport",
    "analyze_roughness",
    "mean_roughness",
]

#: Sethares' constants of the Plomp-Levelt curve.
SETHARES = {"d_star": 0.24, "s1": 0.0207, "s2": 18.96, "b1": 3.51, "b2": 5.75, "c1": 5.0, "c2": -5.0}

#: ``partials_for(preset_name) -> (ratios, amps)``, both shape ``(k,)``.
PartialsFor = Callable[[str], tuple[Sequence[float], Sequence[float]]]

#: Dissonant interval classes (semitones mod 12, folded to 0..6): m2/M7, M2/m7, tritone.
DISSONANT_CLASSES = (1, 2, 6)


def pair_roughness(f1, f2, a1, a2):
    """Roughness of pairs of pure partials (broadcasting arrays).

    Parameters
    ----------
    f1, f2 : array_like
        Frequencies in Hz (any order).
    a1, a2 : array_like
        Linear amplitudes.

    Returns
    -------
    np.ndarray
        ``a1 * a2 * (5 e^{-3.51 s df} - 5 e^{-5.75 s df})``, >= 0.
    """
    f1 = np.asarray(f1, dtype=np.float64)
    f2 = np.asarray(f2, dtype=np.float64)
    fmin = np.minimum(f1, f2)
    df = np.abs(f2 - f1)
    k = SETHARES
    s = k["d_star"] / (k["s1"] * fmin + k["s2"])
    return (np.asarray(a1, dtype=np.float64) * np.asarray(a2, dtype=np.float64)
            * (k["c1"] * np.exp(-k["b1"] * s * df) + k["c2"] * np.exp(-k["b2"] * s * df)))


def spectrum_roughness(freqs, amps) -> float:
    """Total roughness of one spectrum: the sum over all pairs of its partials.

    Parameters
    ----------
    freqs, amps : array_like, shape (k,)
        Partial frequencies (Hz) and linear amplitudes.
    """
    f = np.asarray(freqs, dtype=np.float64)
    a = np.asarray(amps, dtype=np.float64)
    i, j = np.triu_indices(len(f), k=1)
    return float(np.sum(pair_roughness(f[i], f[j], a[i], a[j])))


def harmonic_partials(n: int = 6, rolloff: float = 0.88) -> tuple[np.ndarray, np.ndarray]:
    """A harmonic spectrum: ratios ``1..n`` with amplitudes ``rolloff**(k-1)``
    (Sethares' usual test timbre)."""
    k = np.arange(1, n + 1, dtype=np.float64)
    return k, rolloff ** (k - 1)


def default_partials(preset: str) -> tuple[np.ndarray, np.ndarray]:
    """The partials used when a preset's real spectrum is not known: 6 harmonics."""
    return harmonic_partials()


# ---------------------------------------------------------------- the score timeline

@dataclass(frozen=True)
class RoughnessTimeline:
    """Roughness as a step function of time.

    Attributes
    ----------
    beats : np.ndarray, shape (n + 1,)
        Segment boundaries in beats (from 0 to the last release).
    seconds : np.ndarray, shape (n + 1,)
        The same boundaries in seconds.
    values : np.ndarray, shape (n,)
        Roughness of each segment (constant within it).
    """

    beats: np.ndarray
    seconds: np.ndarray
    values: np.ndarray

    @property
    def mean(self) -> float:
        """Time-weighted mean (over seconds, silences count as 0)."""
        dur = np.diff(self.seconds)
        total = dur.sum()
        return float(np.dot(self.values, dur) / total) if total > 0 else 0.0

    @property
    def peak(self) -> float:
        """Largest roughness at any moment."""
        return float(self.values.max()) if self.values.size else 0.0

    def window_means(self, edges_beats) -> np.ndarray:
        """Mean roughness (weighted by beats) between consecutive ``edges_beats``.

        Parameters
        ----------
        edges_beats : array_like, shape (m + 1,)
        Returns shape (m,).
        """
        edges = np.asarray(edges_beats, dtype=np.float64)
        integral = np.concatenate([[0.0], np.cumsum(self.values * np.diff(self.beats))])
        at = np.interp(edges, self.beats, integral) if self.beats.size else np.zeros_like(edges)
        width = np.diff(edges)
        return np.where(width > 0, np.diff(at) / np.where(width > 0, width, 1.0), 0.0)


def _note_table(score: Score, partials_for: PartialsFor):
    """Arrays of all notes: start, end (beats), pitch, amp, freqs (N, P), pamps (N, P)."""
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rows = []
    for part in score.parts:
        if not part.notes:
            continue
        if part.preset not in cache:
            r, a = partials_for(part.preset)
            cache[part.preset] = (np.asarray(r, dtype=np.float64), np.asarray(a, dtype=np.float64))
        gain = float(db_to_amp(part.gain_db))
        st = np.array([n.start for n in part.notes])
        en = np.array([n.end for n in part.notes])
        pi = np.array([n.pitch for n in part.notes])
        amp = np.array([n.velocity for n in part.notes]) / 127.0 * gain
        rows.append((st, en, pi, amp, part.preset))
    n_max = max((len(cache[p][0]) for *_, p in rows), default=1)
    if not rows:
        z = np.zeros(0)
        return z, z, z, np.zeros((0, n_max)), np.zeros((0, n_max))
    starts, ends, pitches, freqs, pamps = [], [], [], [], []
    for st, en, pi, amp, preset in rows:
        r, a = cache[preset]
        rr = np.zeros(n_max); aa = np.zeros(n_max)
        rr[:len(r)] = r; aa[:len(a)] = a
        f0 = midi_to_hz(pi)
        starts.append(st); ends.append(en); pitches.append(pi)
        freqs.append(f0[:, None] * rr[None, :])
        pamps.append(amp[:, None] * aa[None, :])
    starts = np.concatenate(starts); ends = np.concatenate(ends); pitches = np.concatenate(pitches)
    freqs = np.concatenate(freqs); pamps = np.concatenate(pamps)
    order = np.lexsort((pitches, starts))
    return starts[order], ends[order], pitches[order], freqs[order], pamps[order]


def _overlapping_pairs(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of notes that sound together; ``starts`` sorted ascending."""
    n = len(starts)
    last = np.searchsorted(starts, ends - 1e-9, side="left")   # first j with start_j >= end_i
    counts = np.maximum(last - np.arange(n) - 1, 0)
    total = int(counts.sum())
    i = np.repeat(np.arange(n), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    j = i + 1 + offsets
    return i, j


def _cross_roughness(fa, aa, fb, ab, chunk: int = 20000) -> np.ndarray:
    """Roughness between the partials of note pairs: fa, aa, fb, ab shape (m, P) -> (m,)."""
    out = np.empty(len(fa))
    for s in range(0, len(fa), chunk):
        sl = slice(s, s + chunk)
        out[sl] = pair_roughness(fa[sl, :, None], fb[sl, None, :],
                                 aa[sl, :, None], ab[sl, None, :]).sum(axis=(1, 2))
    return out


def roughness_timeline(score: Score, *, partials_for: PartialsFor | None = None) -> RoughnessTimeline:
    """Roughness over the score's timeline (see the module docstring).

    Parameters
    ----------
    score : Score
    partials_for : callable, optional
        ``preset_name -> (ratios, amps)``; default :func:`default_partials`.
    """
    partials_for = partials_for or default_partials
    starts, ends, pitches, freqs, pamps = _note_table(score, partials_for)
    if starts.size == 0:
        return RoughnessTimeline(np.zeros(1), np.zeros(1), np.zeros(0))
    # within each note: pairs of its own partials
    p = freqs.shape[1]
    ii, jj = np.triu_indices(p, k=1)
    self_r = pair_roughness(freqs[:, ii], freqs[:, jj], pamps[:, ii], pamps[:, jj]).sum(axis=1)
    i, j = _overlapping_pairs(starts, ends)
    cross = _cross_roughness(freqs[i], pamps[i], freqs[j], pamps[j])
    bounds = np.unique(np.concatenate([[0.0], starts, ends]))
    delta = np.zeros(len(bounds) + 1)
    np.add.at(delta, np.searchsorted(bounds, starts), self_r)
    np.add.at(delta, np.searchsorted(bounds, ends), -self_r)
    ov_start = starts[j]
    ov_end = np.minimum(ends[i], ends[j])
    np.add.at(delta, np.searchsorted(bounds, ov_start), cross)
    np.add.at(delta, np.searchsorted(bounds, ov_end), -cross)
    values = np.maximum(np.cumsum(delta)[:len(bounds) - 1], 0.0)
    values[values < 1e-12] = 0.0   # cancellation residue of the running sum
    return RoughnessTimeline(bounds, np.asarray(score.tempo.seconds(bounds), dtype=np.float64), values)


def interval_class_counts(score: Score) -> np.ndarray:
    """How many pairs of simultaneously sounding notes fall in each interval class.

    Returns
    -------
    np.ndarray, shape (7,), int
        Index ``c`` counts pairs whose interval, rounded to semitones and
        folded into an octave, is ``c`` or ``12 - c`` semitones (0 = unison or
        octave, 1 = minor second / major seventh, ..., 6 = tritone).
    """
    starts, ends, pitches, _, _ = _note_table(score, default_partials)
    i, j = _overlapping_pairs(starts, ends)
    ic = np.rint(np.abs(pitches[i] - pitches[j])).astype(int) % 12
    ic = np.minimum(ic, 12 - ic)
    return np.bincount(ic, minlength=7)


@dataclass(frozen=True)
class RoughnessReport:
    """Summary of a score's dissonance.

    Attributes
    ----------
    mean, peak : float
        Time-weighted mean and maximum roughness.
    bar_means : np.ndarray, shape (bars,)
        Mean roughness of each bar.
    interval_classes : np.ndarray, shape (7,)
        See :func:`interval_class_counts`.
    dissonant_fraction : float
        Share of sounding pairs in classes 1, 2 and 6 (0 if no pairs).
    timeline : RoughnessTimeline
    """

    mean: float
    peak: float
    bar_means: np.ndarray
    interval_classes: np.ndarray
    dissonant_fraction: float
    timeline: RoughnessTimeline


def analyze_roughness(score: Score, *, partials_for: PartialsFor | None = None) -> RoughnessReport:
    """Roughness timeline, per-bar means and interval-class counts of ``score``."""
    tl = roughness_timeline(score, partials_for=partials_for)
    bars = score.bar_count
    edges = np.array([score.meters.bar_start(b) for b in range(1, bars + 2)]) if bars else np.zeros(1)
    ic = interval_class_counts(score)
    total = ic.sum()
    diss = float(ic[list(DISSONANT_CLASSES)].sum() / total) if total else 0.0
    return RoughnessReport(tl.mean, tl.peak, tl.window_means(edges), ic, diss, tl)


def mean_roughness(score: Score, *, partials_for: PartialsFor | None = None) -> float:
    """Time-weighted mean roughness of ``score``."""
    return roughness_timeline(score, partials_for=partials_for).mean
