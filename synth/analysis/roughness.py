"""Sensory roughness (dissonance) of a score, after Plomp-Levelt and Sethares,
normalised so that it does not depend on loudness.

Why over 500 lines: one model in one place: the pair curve, the spectra it
sums over, the note timeline that weights them by sounding time, and the per-
bar, windowed and report views of that one timeline, which share its partial
cache and its normalisation.

The pair curve
--------------
Two pure partials of frequencies ``f1 <= f2`` and amplitudes ``a1, a2`` are
rough by (Plomp & Levelt 1965, "Tonal consonance and critical bandwidth",
JASA 38; in the parameterisation of Sethares 1993, "Local consonance and the
relationship between timbre and scale", JASA 94(3), and Sethares, *Tuning,
Timbre, Spectrum, Scale*, 2nd ed., Springer 2005, ch. 3 and app. E)::

    s = d* / (s1 * f1 + s2)
    d(f1, f2, a1, a2) = a1 * a2 * (c1 * exp(-b1 * s * (f2 - f1)) + c2 * exp(-b2 * s * (f2 - f1)))

with ``d* = 0.24``, ``s1 = 0.0207``, ``s2 = 18.96``, ``b1 = 3.51``,
``b2 = 5.75``, ``c1 = 5``, ``c2 = -5``.  The curve is zero at unison, peaks
where ``f2 - f1`` is about a quarter of the critical bandwidth and falls
towards zero beyond it.  The amplitude weight is the product ``a1 * a2`` of
Sethares 1993 (the 2005 book's ``dissmeasure`` code uses ``min(a1, a2)``
instead, and Vassilakis 2001 a further amplitude-fluctuation term; neither is
used here: the product keeps the pair sum homogeneous of degree 2 in the
amplitudes, which the normalisation below relies on).

The raw roughness of a set of partials is the sum over all pairs,
``R = sum_{i<j} d(f_i, f_j, a_i, a_j)``.

Normalisation (loudness independence)
-------------------------------------
``R`` grows with the square of the level and with the number of voices even
when the intervals stay the same.  The figure used everywhere (comparisons,
ratios, drivers, ``synth analyze``, plots) is therefore::

    roughness = R / E,      E = sum_k A_k**2

where ``A_k`` are the amplitudes of the *distinct* sounding partials:
partials of the same frequency (``|f_i - f_j| <= 1e-6 * f``) are one partial
whose amplitude is the sum of theirs (identical oscillators add coherently,
as they do in the renderer).  Then:

* scaling every amplitude by ``g`` scales ``R`` and ``E`` by ``g**2``: the
  ratio does not change;
* doubling every part in unison doubles every merged amplitude: ``R`` and
  ``E`` both grow by 4 (the new pairs at zero frequency difference add no
  roughness), so the ratio does not change either.

Since ``d`` is bilinear in the amplitudes and zero at unison, merging
coincident partials does not change ``R``; it only changes the energy,
``E = sum_i a_i**2 + 2 * sum_{i<j, f_i = f_j} a_i * a_j``.  Both sums run over
pairs, so they are computed together.  ``R / E`` is dimensionless: one
pair of equal pure tones at the roughest spacing (500 Hz) gives 0.449.  A
moment with nothing sounding has roughness 0 and does not count in means.

For a score, every note contributes partials ``pitch -> (ratios * f0,
amps * velocity/127 * part gain)`` from ``partials_for(part.preset)``
(default :func:`default_partials`: the preset's real steady spectrum,
:func:`synth.patch.preset_partials`).  Pairs of notes are found once and their
roughness and coincident energy are added to the time span where both sound
(difference arrays over the timeline), so the analysis is vectorised and
fast on long scores.  Means are weighted by seconds over *sounding* time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from ..score import Score
from ..units import db_to_amp, midi_to_hz

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "SETHARES",
    "COINCIDENT_REL",
    "PartialsFor",
    "pair_roughness",
    "spectrum_roughness",
    "spectrum_energy",
    "harmonic_partials",
    "default_partials",
    "RoughnessTimeline",
    "roughness_timeline",
    "WindowedRoughness",
    "windowed_roughness",
    "bar_roughness",
    "interval_class_counts",
    "RoughnessReport",
    "analyze_roughness",
    "mean_roughness",
]

#: Sethares' constants of the Plomp-Levelt curve.
SETHARES = {"d_star": 0.24, "s1": 0.0207, "s2": 18.96, "b1": 3.51, "b2": 5.75, "c1": 5.0, "c2": -5.0}

#: Two partials closer than this fraction of their frequency are one partial
#: (their amplitudes add) in the energy of the normalisation: 1e-6 is 0.0017 cents.
COINCIDENT_REL = 1e-6

#: ``partials_for(preset_name) -> (ratios, amps)``, both shape ``(k,)``.
PartialsFor = Callable[[str], tuple[Sequence[float], Sequence[float]]]

#: Dissonant interval classes (semitones mod 12, folded to 0..6): m2/M7, M2/m7, tritone.
DISSONANT_CLASSES = (1, 2, 6)


def pair_roughness(f1: ArrayLike, f2: ArrayLike, a1: ArrayLike, a2: ArrayLike) -> np.ndarray:
    """Raw roughness of pairs of pure partials (broadcasting arrays).

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


def _coincident(f1, f2) -> np.ndarray:
    """True where two partials are the same frequency (see :data:`COINCIDENT_REL`)."""
    f1 = np.asarray(f1, dtype=np.float64)
    f2 = np.asarray(f2, dtype=np.float64)
    return np.abs(f2 - f1) <= COINCIDENT_REL * np.maximum(np.abs(f1), np.abs(f2))


def spectrum_energy(freqs: ArrayLike, amps: ArrayLike) -> float:
    """Energy of a spectrum with coincident partials merged: ``sum_k A_k**2``
    over distinct frequencies, ``A_k`` the summed amplitudes of partial ``k``."""
    f = np.asarray(freqs, dtype=np.float64)
    a = np.asarray(amps, dtype=np.float64)
    i, j = np.triu_indices(len(f), k=1)
    return float(np.sum(a * a) + 2.0 * np.sum(np.where(_coincident(f[i], f[j]), a[i] * a[j], 0.0)))


def spectrum_roughness(freqs: ArrayLike, amps: ArrayLike, *, raw: bool = False) -> float:
    """Roughness of one spectrum: the pair sum over its partials divided by its
    energy (:func:`spectrum_energy`); ``raw=True`` gives the pair sum alone.

    Parameters
    ----------
    freqs, amps : array_like, shape (k,)
        Partial frequencies (Hz) and linear amplitudes.
    raw : bool
        Return Sethares' un-normalised pair sum.
    """
    f = np.asarray(freqs, dtype=np.float64)
    a = np.asarray(amps, dtype=np.float64)
    i, j = np.triu_indices(len(f), k=1)
    r = float(np.sum(pair_roughness(f[i], f[j], a[i], a[j])))
    if raw:
        return r
    e = spectrum_energy(f, a)
    return r / e if e > 0 else 0.0


def harmonic_partials(n: int = 6, rolloff: float = 0.88) -> tuple[np.ndarray, np.ndarray]:
    """A harmonic spectrum: ratios ``1..n`` with amplitudes ``rolloff**(k-1)``
    (Sethares' usual test timbre)."""
    k = np.arange(1, n + 1, dtype=np.float64)
    return k, rolloff ** (k - 1)


def default_partials(preset: str) -> tuple[np.ndarray, np.ndarray]:
    """The partials every roughness figure uses unless told otherwise.

    The preset's real steady spectrum (:func:`synth.patch.preset_partials`:
    band-limited shapes' Fourier series, Fairlight pages, bell partials, FM
    sidebands, the preset's octave); six harmonics (:func:`harmonic_partials`)
    for a name that is not a preset; no partials at all for an unpitched
    preset (a drum kit, noise): it has no partial series to beat, and
    counting its hits as six-harmonic tones held for their whole gate made
    a pulse section dominate a piece's roughness curve.
    """
    from .. import presets as _presets  # noqa: F401  (registers the preset table)
    from ..errors import PatchError
    from ..patch import UNPITCHED_SOURCES, get_preset, preset_partials
    try:
        if get_preset(preset).source in UNPITCHED_SOURCES:
            return np.zeros(0), np.zeros(0)
        return preset_partials(preset)
    except PatchError:
        return harmonic_partials()


# ---------------------------------------------------------------- the score timeline

@dataclass(frozen=True)
class RoughnessTimeline:
    """Roughness as a step function of time.

    Attributes
    ----------
    beats : np.ndarray, shape (n + 1,)
        Segment boundaries in beats (from 0 to the last release; tempo
        changes are boundaries too, so the tempo is constant in a segment).
    seconds : np.ndarray, shape (n + 1,)
        The same boundaries in seconds.
    values : np.ndarray, shape (n,)
        Normalised roughness ``raw / energy`` of each segment (0 when silent).
    raw : np.ndarray, shape (n,)
        Sethares' pair sum of each segment (grows with level and voices).
    energy : np.ndarray, shape (n,)
        Energy of the distinct sounding partials (0 when nothing sounds).
    """

    beats: np.ndarray
    seconds: np.ndarray
    values: np.ndarray
    raw: np.ndarray
    energy: np.ndarray

    @property
    def sounding(self) -> np.ndarray:
        """Boolean ``(n,)``: something sounds in the segment."""
        return self.energy > 0

    def _sounding_mean(self, per_segment: np.ndarray) -> float:
        dur = np.diff(self.seconds) * self.sounding
        total = dur.sum()
        return float(np.dot(per_segment, dur) / total) if total > 0 else 0.0

    @property
    def mean(self) -> float:
        """Normalised roughness, time-weighted (seconds) over sounding time."""
        return self._sounding_mean(self.values)

    @property
    def raw_mean(self) -> float:
        """The raw pair sum, time-weighted over sounding time (for reference only)."""
        return self._sounding_mean(self.raw)

    @property
    def peak(self) -> float:
        """Largest normalised roughness at any moment."""
        return float(self.values.max()) if self.values.size else 0.0

    def window_means(self, edges_beats: ArrayLike) -> np.ndarray:
        """Normalised roughness between consecutive ``edges_beats``, weighted by
        seconds over sounding time (0 for a window where nothing sounds).

        Parameters
        ----------
        edges_beats : array_like, shape (m + 1,)
            Increasing window edges in beats.

        Returns
        -------
        np.ndarray, shape (m,)
        """
        edges = np.asarray(edges_beats, dtype=np.float64)
        if self.values.size == 0:
            return np.zeros(max(len(edges) - 1, 0))
        dsec = np.diff(self.seconds) * self.sounding
        # both integrals are piecewise linear in beats (value and tempo constant per segment)
        weight = np.concatenate([[0.0], np.cumsum(dsec)])
        area = np.concatenate([[0.0], np.cumsum(self.values * dsec)])
        w = np.diff(np.interp(edges, self.beats, weight))
        a = np.diff(np.interp(edges, self.beats, area))
        return np.where(w > 1e-12, a / np.where(w > 1e-12, w, 1.0), 0.0)


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
        if len(cache[part.preset][0]) == 0:     # no partial series (unpitched): not a tone
            continue
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


def _cross_terms(fa, aa, fb, ab, chunk: int = 8000) -> tuple[np.ndarray, np.ndarray]:
    """Raw roughness and coincident energy ``2 * sum a_i b_j [f_i = f_j]`` between
    the partials of note pairs: fa, aa, fb, ab shape (m, P) -> two arrays (m,)."""
    rough = np.empty(len(fa))
    energy = np.empty(len(fa))
    for s in range(0, len(fa), chunk):
        sl = slice(s, s + chunk)
        f1, f2 = fa[sl, :, None], fb[sl, None, :]
        prod = aa[sl, :, None] * ab[sl, None, :]
        rough[sl] = pair_roughness(f1, f2, prod, 1.0).sum(axis=(1, 2))
        energy[sl] = 2.0 * np.where(_coincident(f1, f2), prod, 0.0).sum(axis=(1, 2))
    return rough, energy


def roughness_timeline(score: Score, *,
                       partials_for: PartialsFor | None = None) -> RoughnessTimeline:
    """Normalised roughness over the score's timeline (see the module docstring).

    Parameters
    ----------
    score : Score
    partials_for : callable, optional
        ``preset_name -> (ratios, amps)``; default :func:`default_partials`
        (the presets' real spectra).

    Returns
    -------
    RoughnessTimeline
        ``values`` normalised, ``raw`` the pair sums, ``energy`` the merged
        partial energy of each segment.
    """
    partials_for = partials_for or default_partials
    starts, ends, pitches, freqs, pamps = _note_table(score, partials_for)
    if starts.size == 0:
        z = np.zeros(0)
        return RoughnessTimeline(np.zeros(1), np.zeros(1), z, z, z)
    # within each note: pairs of its own partials, and its energy
    p = freqs.shape[1]
    ii, jj = np.triu_indices(p, k=1)
    fi, fj, ai, aj = freqs[:, ii], freqs[:, jj], pamps[:, ii], pamps[:, jj]
    self_r = pair_roughness(fi, fj, ai, aj).sum(axis=1)
    self_e = (pamps ** 2).sum(axis=1) + 2.0 * np.where(_coincident(fi, fj), ai * aj, 0.0).sum(axis=1)
    i, j = _overlapping_pairs(starts, ends)
    cross_r, cross_e = _cross_terms(freqs[i], pamps[i], freqs[j], pamps[j])
    end = float(ends.max())
    tempo_beats = [c.beat for c in score.tempo.changes if 0.0 < c.beat < end]
    bounds = np.unique(np.concatenate([[0.0], starts, ends, tempo_beats]))
    ov_start = np.searchsorted(bounds, starts[j])
    ov_end = np.searchsorted(bounds, np.minimum(ends[i], ends[j]))
    on, off = np.searchsorted(bounds, starts), np.searchsorted(bounds, ends)

    def running(note_vals, pair_vals):
        delta = np.zeros(len(bounds) + 1)
        np.add.at(delta, on, note_vals)
        np.add.at(delta, off, -note_vals)
        np.add.at(delta, ov_start, pair_vals)
        np.add.at(delta, ov_end, -pair_vals)
        return np.cumsum(delta)[:len(bounds) - 1]

    raw = np.maximum(running(self_r, cross_r), 0.0)
    energy = np.maximum(running(self_e, cross_e), 0.0)
    # how many notes sound: exact (integers), so silence is recognised despite float residue
    count = np.cumsum(np.bincount(on, minlength=len(bounds) + 1)
                      - np.bincount(off, minlength=len(bounds) + 1))[:len(bounds) - 1]
    silent = count <= 0
    raw[silent] = 0.0
    energy[silent] = 0.0
    raw[raw < 1e-12 * raw.max()] = 0.0   # cancellation residue of the running sum
    values = np.where(energy > 0, raw / np.where(energy > 0, energy, 1.0), 0.0)
    seconds = np.asarray(score.tempo.seconds(bounds), dtype=np.float64)
    return RoughnessTimeline(bounds, seconds, values, raw, energy)


def mean_roughness(score: Score, *, partials_for: PartialsFor | None = None) -> float:
    """Normalised roughness of ``score``, time-weighted (seconds) over sounding time."""
    return roughness_timeline(score, partials_for=partials_for).mean


def bar_edges(score: Score) -> np.ndarray:
    """Beats of bar starts 1 .. bar_count + 1 (shape (bars + 1,); (0,) for no bars)."""
    bars = score.bar_count
    if not bars:
        return np.zeros(0)
    return np.array([score.meters.bar_start(b) for b in range(1, bars + 2)], dtype=np.float64)


def bar_roughness(score: Score, *, partials_for: PartialsFor | None = None) -> np.ndarray:
    """Normalised roughness of every bar (index 0 = bar 1), time-weighted over
    the bar's sounding time; 0 for a silent bar.

    Returns
    -------
    np.ndarray, shape (score.bar_count,)
    """
    edges = bar_edges(score)
    if edges.size == 0:
        return np.zeros(0)
    return roughness_timeline(score, partials_for=partials_for).window_means(edges)


@dataclass(frozen=True)
class WindowedRoughness:
    """Normalised roughness per window of bars.

    Attributes
    ----------
    first_bars : np.ndarray, shape (m,), int
        1-based bar number where each window starts (1, 1 + w, 1 + 2w, ...).
    last_bars : np.ndarray, shape (m,), int
        Last bar of each window (the last window may be shorter).
    values : np.ndarray, shape (m,)
        Normalised roughness of each window, time-weighted over its sounding
        time; 0 for a silent window.
    window_bars : int
        Bars per window.
    """

    first_bars: np.ndarray
    values: np.ndarray
    last_bars: np.ndarray
    window_bars: int


def windowed_roughness(score: Score, *, window_bars: int = 8,
                       partials_for: PartialsFor | None = None,
                       timeline: RoughnessTimeline | None = None) -> WindowedRoughness:
    """Normalised roughness over consecutive windows of ``window_bars`` bars.

    ``timeline``: the score's :func:`roughness_timeline` when the caller has
    it already (then ``partials_for`` is not used); computed otherwise.

    Raises
    ------
    ValueError
        ``window_bars`` is not a positive integer.
    """
    if isinstance(window_bars, bool) or not isinstance(window_bars, (int, np.integer)) or window_bars < 1:
        raise ValueError(f"window_bars must be an integer >= 1, got {window_bars!r}")
    bars = score.bar_count
    first = np.arange(1, bars + 1, int(window_bars), dtype=np.int64)
    last = np.minimum(first + int(window_bars) - 1, bars)
    if bars == 0:
        return WindowedRoughness(first, np.zeros(0), last, int(window_bars))
    edges = np.array([score.meters.bar_start(int(b)) for b in first]
                     + [score.meters.bar_start(bars + 1)], dtype=np.float64)
    if timeline is None:
        timeline = roughness_timeline(score, partials_for=partials_for)
    values = timeline.window_means(edges)
    return WindowedRoughness(first, values, last, int(window_bars))


def interval_class_counts(score: Score) -> np.ndarray:
    """How many pairs of simultaneously sounding notes fall in each interval class.

    Returns
    -------
    np.ndarray, shape (7,), int
        Index ``c`` counts pairs whose interval, rounded to semitones and
        folded into an octave, is ``c`` or ``12 - c`` semitones (0 = unison or
        octave, 1 = minor second / major seventh, ..., 6 = tritone).
    """
    starts, ends, pitches, _, _ = _note_table(score, lambda preset: ([1.0], [1.0]))
    i, j = _overlapping_pairs(starts, ends)
    ic = np.rint(np.abs(pitches[i] - pitches[j])).astype(int) % 12
    ic = np.minimum(ic, 12 - ic)
    return np.bincount(ic, minlength=7)


@dataclass(frozen=True)
class RoughnessReport:
    """Summary of a score's dissonance (all roughness figures normalised).

    Attributes
    ----------
    mean, peak : float
        Time-weighted mean over sounding time, and maximum, of the
        normalised roughness.
    bar_means : np.ndarray, shape (bars,)
        :func:`bar_roughness`.
    interval_classes : np.ndarray, shape (7,)
        See :func:`interval_class_counts`.
    dissonant_fraction : float
        Share of sounding pairs in classes 1, 2 and 6 (0 if no pairs).
    timeline : RoughnessTimeline
    raw_mean : float
        The raw pair sum's mean over sounding time (for reference only).
    """

    mean: float
    peak: float
    bar_means: np.ndarray
    interval_classes: np.ndarray
    dissonant_fraction: float
    timeline: RoughnessTimeline
    raw_mean: float = 0.0


def analyze_roughness(score: Score, *, partials_for: PartialsFor | None = None) -> RoughnessReport:
    """Roughness timeline, per-bar means and interval-class counts of ``score``."""
    tl = roughness_timeline(score, partials_for=partials_for)
    edges = bar_edges(score)
    bar_means = tl.window_means(edges) if edges.size else np.zeros(0)
    ic = interval_class_counts(score)
    total = ic.sum()
    diss = float(ic[list(DISSONANT_CLASSES)].sum() / total) if total else 0.0
    return RoughnessReport(tl.mean, tl.peak, bar_means, ic, diss, tl, tl.raw_mean)
