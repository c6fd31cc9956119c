"""Pictures of a score: piano roll, roughness over time, spectrogram of the render.

:func:`plot_score` draws, one above the other on a shared time axis in
seconds:

1. a piano roll of the score, one colour per part with a legend, bar numbers
   along the top and note names up the side;
2. the normalised roughness curve (:func:`synth.analysis.roughness_timeline`:
   pair sum / partial energy, independent of loudness) with its mean;
3. a spectrogram of the render (optional: ``audio=False`` skips rendering).

matplotlib is an optional dependency (``pip install 'synth-liquidsky[plot]'``); it is
imported only inside :func:`plot_score`, which raises :class:`PlotUnavailable`
when it is missing.  The figure is drawn with the Agg backend (no display
needed) and written atomically at exactly ``width`` x ``height`` pixels.

The spectrogram is computed while the render streams (one STFT frame every
``hop`` samples, ``hop`` grown with the length of the piece so the picture
has at most :data:`MAX_SPECTRO_FRAMES` columns), so memory stays bounded for
long pieces.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import numpy as np

from .analysis import PartialsFor, default_partials, roughness_timeline
from .audio import atomic_output
from .errors import SynthError
from .render import RenderPlan, raw_chunks
from .resources import install_hint
from .score import Score
from .units import note_name

if TYPE_CHECKING:
    from typing import Any

__all__ = ["PlotUnavailable", "Spectrogram", "plot_score", "stream_spectrogram",
           "PLOT_SR", "MAX_SPECTRO_FRAMES", "INSTALL_HINT", "require_matplotlib"]

#: sample rate of the render behind the spectrogram (Hz): enough for a picture
PLOT_SR = 22_050
#: the spectrogram never has more columns than this, however long the piece
MAX_SPECTRO_FRAMES = 1600
#: how to get matplotlib
INSTALL_HINT = install_hint("plot")

# distinct, colour-blind-friendly part colours (Okabe-Ito, then tab10)
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
            "#000000", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf")


class PlotUnavailable(SynthError, ImportError):
    """matplotlib is not installed (the optional ``plot`` extra)."""


@dataclass(frozen=True)
class Spectrogram:
    """A magnitude spectrogram.

    Attributes
    ----------
    seconds : np.ndarray [shape=(m,)]
        Centre of each frame in seconds.
    freqs : np.ndarray [shape=(k,)]
        Bin frequencies in Hz.
    power_db : np.ndarray [shape=(k, m)]
        Power in dB relative to the loudest bin (0 dB at the maximum).
    """

    seconds: np.ndarray
    freqs: np.ndarray
    power_db: np.ndarray


def stream_spectrogram(blocks: Iterable[np.ndarray], *, total_samples: int, sr: int,
                       n_fft: int = 1024, max_frames: int = MAX_SPECTRO_FRAMES,
                       floor_db: float = -90.0) -> Spectrogram:
    """Spectrogram of a stream of stereo blocks, with bounded memory.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(channels, n)]
        Consecutive audio blocks (summed to mono).
    total_samples : int
        Length of the whole stream (sets the hop so that at most
        ``max_frames`` frames are taken).
    sr : int
        Sample rate in Hz.
    n_fft : int
        Frame length in samples (Hann window).
    max_frames : int
        Upper bound on the number of frames.
    floor_db : float
        Lowest level kept, relative to the maximum.

    Returns
    -------
    Spectrogram
    """
    from scipy.signal import get_window

    hop = max(n_fft // 4, math.ceil(total_samples / max_frames))
    window = get_window("hann", n_fft)
    half = n_fft // 2
    # frame k covers samples [k*hop - half, k*hop + half): centred frames, zero-padded ends
    n_frames = max(1, math.ceil(total_samples / hop))
    power = np.zeros((half + 1, n_frames), dtype=np.float32)
    buf = np.zeros(half)          # samples from buf_start on (starts with the zero padding)
    buf_start = -half
    k = 0
    for block in blocks:
        mono = np.asarray(block, dtype=np.float64).sum(axis=0)
        buf = np.concatenate([buf, mono])
        while k < n_frames and k * hop + half <= buf_start + len(buf):
            a = k * hop - half - buf_start
            frame = buf[a:a + n_fft]
            power[:, k] = np.abs(np.fft.rfft(frame * window)) ** 2
            k += 1
        # keep only what the next frame needs
        drop = min(max(0, k * hop - half - buf_start), len(buf))
        buf = buf[drop:]
        buf_start += drop
    while k < n_frames:            # last frames run into the zero padding
        a = k * hop - half - buf_start
        frame = np.zeros(n_fft)
        have = buf[max(a, 0):a + n_fft]
        frame[max(-a, 0):max(-a, 0) + len(have)] = have
        power[:, k] = np.abs(np.fft.rfft(frame * window)) ** 2
        k += 1
    ref = float(power.max()) or 1.0
    power_db = np.maximum(10.0 * np.log10(np.maximum(power / ref, 1e-30)), floor_db)
    return Spectrogram(np.arange(n_frames) * hop / sr, np.fft.rfftfreq(n_fft, 1.0 / sr),
                       power_db.astype(np.float32))


def require_matplotlib() -> Any:
    """``matplotlib.pyplot`` on the Agg backend; PlotUnavailable if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable(f"synth plot needs matplotlib, which is not installed; "
                              f"install the plot extra: {INSTALL_HINT}") from None
    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt
    return plt


def _pitch_ticks(lo: float, hi: float) -> list[int]:
    """MIDI numbers to label: every C, or every natural note for a narrow range."""
    lo_i, hi_i = int(math.floor(lo)), int(math.ceil(hi))
    if hi_i - lo_i <= 14:
        return [p for p in range(lo_i, hi_i + 1) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    step = 12 if hi_i - lo_i > 30 else 6
    return [p for p in range(lo_i, hi_i + 1) if p % step == 0]


def _bar_ticks(score: Score, max_labels: int = 24) -> tuple[list[float], list[int]]:
    """Seconds of bar lines to label and their bar numbers (thinned to ``max_labels``)."""
    bars = max(1, score.bar_count)
    every = max(1, math.ceil(bars / max_labels))
    numbers = [b for b in range(1, bars + 1) if (b - 1) % every == 0]
    beats = [score.meters.bar_start(b) for b in numbers]
    return [float(s) for s in score.tempo.seconds(np.asarray(beats, dtype=np.float64))], numbers


def plot_score(score: Score, path: str | os.PathLike[str], *, width: int = 1600, height: int = 1000,
               force: bool = False,
               audio: bool = True, seed: int | None = None,
               partials_for: PartialsFor | None = None,
               max_seconds: float = 3600.0, tension: np.ndarray | None = None) -> dict:
    """Draw ``score`` into a PNG file of exactly ``width`` x ``height`` pixels.

    Parameters
    ----------
    score : Score
        The score as it will sound (an arrangement already applied).
    path : str or os.PathLike
        Output PNG, written atomically.
    width, height : int
        Picture size in pixels (200..10000).
    force : bool
        Replace an existing file.
    audio : bool
        Render the score (at :data:`PLOT_SR`) and draw its spectrogram.
    seed : int, optional
        Render seed (default: ``score.metadata.seed``).
    partials_for : callable, optional
        ``preset -> (ratios, amps)`` for the roughness model (default: the
        presets' real spectra, :func:`synth.analysis.default_partials`).
    max_seconds : float
        Longest render accepted.
    tension : np.ndarray, optional
        Requested tension per bar (index 0 = bar 1, values 0..1; an
        arrangement's ``[tension]``, :func:`synth.arrangement.requested_tension`):
        drawn over the roughness panel with the 8-bar windowed roughness.

    Returns
    -------
    dict
        ``{"panels": [...], "seconds": float, "mean_roughness": float | None}``.

    Raises
    ------
    PlotUnavailable
        matplotlib is missing.
    AudioFileError
        The file exists (without ``force``) or its folder is missing.
    SynthError
        Bad size, empty score, render errors.
    """
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 10000:
            raise SynthError(f"{name} must be an integer 200..10000 pixels, got {value!r}")
    if score.note_count == 0:
        raise SynthError("nothing to plot: the score has no notes")
    plt = require_matplotlib()
    from .audio import check_writable
    check_writable(path, force=force)                 # fail before the work

    timeline = roughness_timeline(score, partials_for=partials_for or default_partials)
    has_roughness = timeline.values.size > 0 and timeline.peak > 0
    spectro = None
    end_s = float(score.duration_seconds)
    if audio:
        plan = RenderPlan(score, sr=PLOT_SR, seed=seed, max_seconds=max_seconds)
        spectro = stream_spectrogram((block.audio for block in raw_chunks(plan)),
                                     total_samples=plan.frames, sr=PLOT_SR, n_fft=2048)
        end_s = max(end_s, plan.frames / PLOT_SR)

    panels = ["piano roll"] + (["roughness"] if has_roughness else []) \
        + (["spectrogram"] if spectro is not None else [])
    ratios = {"piano roll": 3.0, "roughness": 1.0, "spectrogram": 1.6}
    dpi = 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    try:
        grid = fig.add_gridspec(len(panels), 1, height_ratios=[ratios[p] for p in panels],
                                hspace=0.12, left=0.07, right=0.985, top=0.92, bottom=0.06)
        axes = {}
        for i, name in enumerate(panels):
            axes[name] = fig.add_subplot(grid[i, 0], sharex=axes.get("piano roll"))
        _draw_roll(axes["piano roll"], score)
        if "roughness" in axes:
            ax = axes["roughness"]
            ax.stairs(timeline.values, timeline.seconds, fill=True, color="#D55E00", alpha=0.55)
            ax.axhline(timeline.mean, color="#7f1d00", lw=1, ls="--",
                       label=f"mean {timeline.mean:.3g}")
            ax.set_ylabel("roughness\n(normalised)")
            ax.legend(loc="upper right", fontsize="small", frameon=False)
            ax.set_ylim(0, timeline.peak * 1.1)
            if tension is not None:
                _draw_tension(ax, score, np.asarray(tension, dtype=np.float64), timeline)
        if spectro is not None:
            ax = axes["spectrogram"]
            keep = (spectro.freqs >= 40.0) & (spectro.freqs <= 10000.0)
            ax.pcolormesh(spectro.seconds, spectro.freqs[keep], spectro.power_db[keep],
                          shading="nearest", cmap="magma", vmin=-80, vmax=0, rasterized=True)
            ax.set_yscale("log")          # octaves equally spaced, like the piano roll
            ax.set_ylim(40.0, 10000.0)
            from matplotlib.ticker import NullLocator
            ax.yaxis.set_minor_locator(NullLocator())
            ticks = [63, 125, 250, 500, 1000, 2000, 4000, 8000]
            ax.set_yticks(ticks, [f"{t // 1000}k" if t >= 1000 else str(t) for t in ticks])
            ax.set_ylabel("Hz")
        for name, ax in axes.items():
            if name != panels[-1]:
                ax.tick_params(labelbottom=False)
        axes[panels[-1]].set_xlabel("seconds")
        axes["piano roll"].set_xlim(0, end_s)
        # bar numbers along the top of the piano roll
        top = axes["piano roll"].secondary_xaxis("top")
        where, numbers = _bar_ticks(score)
        top.set_xticks(where, [str(n) for n in numbers])
        top.set_xlabel("bar", fontsize="small", loc="left")
        meta = score.metadata
        subtitle = f"seed {meta.seed}" + (f" - {meta.arranger}" if meta.arranger else "")
        fig.suptitle(f"{score.title}  ({subtitle})", fontsize="large")
        with atomic_output(path, force=force, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return {"panels": panels, "seconds": end_s,
            "mean_roughness": timeline.mean if has_roughness else None}


def _draw_tension(ax, score: Score, tension: np.ndarray, timeline, window_bars: int = 8) -> None:
    """Over the roughness panel: the normalised roughness per ``window_bars`` bars
    (steps) and the requested tension per bar (a line on a 0..1 axis at the right)."""
    from .analysis import windowed_roughness
    from .tension import bar_window_means, pearson

    win = windowed_roughness(score, window_bars=window_bars, timeline=timeline)
    if not len(win.values):
        return
    edges = [score.meters.bar_start(int(b)) for b in win.first_bars]
    edges.append(score.meters.bar_start(int(win.last_bars[-1]) + 1))   # a short last window ends with the piece
    edge_s = np.asarray(score.tempo.seconds(np.asarray(edges, dtype=np.float64)), dtype=np.float64)
    wanted = bar_window_means(tension, win.first_bars, win.first_bars + window_bars - 1)
    ax.stairs(win.values, edge_s, color="#7f1d00", lw=1.6,
              label=f"per {window_bars} bars (r = {pearson(win.values, wanted):.2f} with the plan)")
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    mids = [score.meters.bar_start(b) + 0.5 * (score.meters.bar_start(b + 1) - score.meters.bar_start(b))
            for b in range(1, len(tension) + 1)]
    mid_s = np.asarray(score.tempo.seconds(np.asarray(mids, dtype=np.float64)), dtype=np.float64)
    twin = ax.twinx()
    twin.plot(mid_s, tension, color="#0072B2", lw=1.4, label="requested tension")
    twin.set_ylim(0, 1.05)
    twin.set_yticks([0, 0.5, 1], ["0", "tension 0.5", "1"])
    twin.tick_params(axis="y", direction="in", pad=-4, labelsize="x-small", labelcolor="#0072B2")
    for label in twin.get_yticklabels():
        label.set_horizontalalignment("right")
    twin.legend(loc="upper left", fontsize="small", frameon=False)


def _draw_roll(ax, score: Score) -> None:
    """Piano roll: one rectangle per note (seconds x pitch), a colour per part."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch as LegendPatch

    lo, hi = math.inf, -math.inf
    handles = []
    for i, part in enumerate(score.parts):
        if not part.notes:
            continue
        colour = _COLOURS[i % len(_COLOURS)]
        starts = score.tempo.seconds(np.array([n.start for n in part.notes]))
        ends = score.tempo.seconds(np.array([n.end for n in part.notes]))
        pitches = np.array([n.pitch for n in part.notes])
        vel = np.array([n.velocity for n in part.notes]) / 127.0
        boxes = [((s, p - 0.4), (e, p - 0.4), (e, p + 0.4), (s, p + 0.4))
                 for s, e, p in zip(starts, ends, pitches)]
        rgba = np.tile(np.array(_rgba(colour)), (len(boxes), 1))
        rgba[:, 3] = 0.45 + 0.55 * vel          # louder notes are more opaque
        ax.add_collection(PolyCollection(boxes, facecolors=rgba, edgecolors="none"))
        lo, hi = min(lo, pitches.min()), max(hi, pitches.max())
        label = part.name + (" (generated)" if part.generated else "")
        handles.append(LegendPatch(color=colour, label=f"{label}: {part.preset}"))
    lo, hi = lo - 1.5, hi + 1.5
    ax.set_ylim(lo, hi)
    ticks = _pitch_ticks(lo, hi)
    ax.set_yticks(ticks, [note_name(t) for t in ticks])
    ax.set_ylabel("pitch")
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    for b in range(1, score.bar_count + 2):     # bar lines
        ax.axvline(float(score.tempo.seconds(score.meters.bar_start(b))), color="#cccccc",
                   lw=0.5, zorder=0)
    ax.legend(handles=handles, loc="upper left", fontsize="small", ncol=min(len(handles), 4),
              framealpha=0.85)


def _rgba(colour: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba
    return to_rgba(colour)
