"""The master stage: normaliser, soft limiter, loudness target, streaming limiter.

:class:`MasterSettings` says what the stage does.  Three of its modes need
the peak (or loudness) of the whole raw mix first (:func:`master_gain`, then
:func:`apply_master` block by block); the streaming master (``limit``) needs
no pass over the mix: a fixed gain from a pre-scan of the planned notes
(:func:`limit_gain`, :func:`prescan_peak`) and a true-peak look-ahead
limiter, block by block.  The stage works on raw blocks; it does not make
them: :mod:`synth.render.output` takes the raw mix from the lanes (or the
processes sharing them) and puts it through this stage
(:func:`~synth.render.output.raw_chunks`,
:func:`~synth.render.output.limited_chunks`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import seeds
from ..dsp.mix import soft_limit
from ..errors import RenderError, SynthWarning
from ..units import db_to_amp
from .plan import DEFAULT_SR, RenderPlan

__all__ = ["MasterSettings", "MasteredBlock", "PRESCAN_RING_SECONDS", "PRESCAN_CREST",
           "prescan_peak", "limit_gain", "master_gain", "apply_master", "check_finite"]

#: How long after its key is released a note still counts in the pre-scan
#: of ``--master limit`` (:func:`prescan_peak`), in seconds.
PRESCAN_RING_SECONDS = 0.25
#: The pre-scan's power sum times this is its peak estimate (measured on the
#: shipped pieces, see :func:`prescan_peak`).
PRESCAN_CREST = 1.3


@dataclass(frozen=True)
class MasterSettings:
    """The master stage.

    Parameters
    ----------
    ceiling_db : float
        Highest allowed sample peak in dBFS (default -1).
    normalize : bool
        True: scale the whole mix so its peak is exactly at the ceiling.
        False: apply ``gain_db`` and a soft limiter that keeps every sample
        below the ceiling (see :func:`synth.dsp.mix.soft_limit`).
    gain_db : float
        Master gain before the limiter, used when ``normalize`` is False.
    loudness : float, optional
        Integrated loudness target in LUFS (ITU-R BS.1770, e.g. -16).  The
        whole mix is scaled to it, unless that would put the true peak (4x
        oversampled) above the ceiling: then the gain stops at the ceiling and
        a :class:`~synth.errors.SynthWarning` says what loudness was reached.
        Takes precedence over ``normalize``.
    limit : bool
        The streaming master (``--master limit``): a fixed gain that puts
        the peak estimated from the planned notes (:func:`prescan_peak`) at
        the ceiling, then a true-peak look-ahead limiter
        (:mod:`synth.dsp.limiter`, 5 ms look-ahead, 50 ms hold) that keeps
        the true peak at or below the ceiling.  Needs no pass over the whole
        mix, so the first block is out as soon as it is rendered (``synth
        play``, ``-o -``).  Takes precedence over ``normalize``; cannot be
        combined with ``loudness``.
    """

    ceiling_db: float = -1.0
    normalize: bool = True
    gain_db: float = 0.0
    loudness: float | None = None
    limit: bool = False

    def __post_init__(self):
        if not (math.isfinite(self.ceiling_db) and -60.0 <= self.ceiling_db <= 0.0):
            raise RenderError(f"ceiling must be -60..0 dBFS, got {self.ceiling_db!r}")
        if self.loudness is not None and not (math.isfinite(self.loudness)
                                              and -70.0 <= self.loudness <= 0.0):
            raise RenderError(f"loudness target must be -70..0 LUFS, got {self.loudness!r}")
        if self.limit and self.loudness is not None:
            raise RenderError("a loudness target needs the whole mix: use it with the "
                              "normalize master, not the streaming limit master")

    @property
    def ceiling(self) -> float:
        return float(db_to_amp(self.ceiling_db))


class MasteredBlock(NamedTuple):
    """One block out of the streaming master (:func:`synth.render.output.limited_chunks`)."""

    stems: list | None          # per part (2, m) raw (before the gain), or None
    audio: np.ndarray           # [shape=(2, m')] the limited mix
    raw_peak: float             # peak of the raw mix so far
    gain: float                 # the fixed gain before the limiter


def limit_gain(plan: RenderPlan, master: MasterSettings) -> float:
    """The fixed gain of the streaming master: the pre-scan's peak at the ceiling."""
    return master.ceiling / prescan_peak(plan)


def prescan_peak(plan: RenderPlan) -> float:
    """The raw mix's peak estimated from the planned notes, without rendering the piece.

    Each part plays one probe note (its median pitch, full velocity, a gate
    of at most half a second) through its pan, gain and effects (fresh
    state); a note's level is the probe's peak in each channel times its
    velocity law.  The notes sounding at each onset (from the onset to the
    end of the key-held gate plus :data:`PRESCAN_RING_SECONDS`, or the end of
    the release if sooner) add by power, as unrelated partials do, and the
    largest such sum in either channel, times :data:`PRESCAN_CREST`, is the
    estimate.  It costs a few milliseconds per part (the effects' share
    mostly); the look-ahead limiter of ``--master limit`` takes care of the
    peaks the estimate misses.

    Returns
    -------
    float
        Linear peak estimate (> 0).
    """
    from ..voice import render_note

    sr = plan.sr
    ring = int(PRESCAN_RING_SECONDS * sr)
    onsets, ends, energy = [], [], []
    for pp in plan.parts:
        if not len(pp.starts):
            continue
        notes = pp.part.notes
        pitches = np.array([n.pitch for n in notes], dtype=np.float64)
        i = int(np.argsort(pitches, kind="stable")[len(pitches) // 2])
        gate = int(max(1, min(pp.gates[i], sr // 4)))
        probe = render_note(pp.patch, pitch=float(pitches[i]), velocity=127,
                            gate_samples=gate, sr=sr,
                            rng=seeds.LazyRng(plan.seed, "prescan", pp.part.name))
        stereo = np.stack([probe * pp.left, probe * pp.right])
        if pp.chain:
            tail = min(pp.chain.tail_samples, sr // 4)
            wet, state = pp.chain.process(stereo, pp.chain.start())
            ring_out, _ = pp.chain.process(np.zeros((2, tail)), state)
            stereo = np.concatenate([wet, ring_out], axis=1)
        level = np.max(np.abs(stereo), axis=1) if stereo.size else np.zeros(2)
        vel = np.array([n.velocity for n in notes], dtype=np.float64) / 127.0
        amp = vel ** pp.patch.velocity_curve
        onsets.append(pp.starts)
        ends.append(pp.starts + np.minimum(pp.lengths, pp.gates + ring))
        energy.append((amp[:, None] * level[None, :]) ** 2)
    start = np.concatenate(onsets)
    end = np.concatenate(ends)
    e = np.concatenate(energy)
    by_start, by_end = np.argsort(start, kind="stable"), np.argsort(end, kind="stable")
    started = np.vstack([np.zeros((1, 2)), np.cumsum(e[by_start], axis=0)])
    ended = np.vstack([np.zeros((1, 2)), np.cumsum(e[by_end], axis=0)])
    # power sounding at each onset: notes started at or before it, minus those ended
    on = started[np.searchsorted(start[by_start], start, side="right")]
    off = ended[np.searchsorted(end[by_end], start, side="right")]
    power = np.maximum(on - off, 0.0)
    peak = float(np.sqrt(power.max())) * PRESCAN_CREST
    return peak if peak > 0 else 1.0


def master_gain(peak: float, master: MasterSettings, raw: np.ndarray | None = None,
                sr: int = DEFAULT_SR) -> float:
    """Linear gain of the master stage for a raw mix whose sample peak is ``peak``.

    ``raw`` (the whole raw mix, its blocks, or a callable returning either)
    is needed only for a loudness target.
    """
    if master.loudness is not None:
        from ..loudness import measure

        # one streaming pass (the spool's blocks, or the array): memory does not grow
        m = measure(raw() if callable(raw) else raw, sr)
        measured = m["lufs"]
        if not math.isfinite(measured):
            return 1.0
        gain = float(db_to_amp(master.loudness - measured))
        tp = m["true_peak"] * gain
        if tp > master.ceiling:
            limited = gain * master.ceiling / tp
            reached = master.loudness + 20 * math.log10(limited / gain)
            warnings.warn(SynthWarning(
                f"loudness target {master.loudness:g} LUFS would put the true peak at "
                f"{20 * math.log10(tp):+.1f} dBTP; held at the {master.ceiling_db:g} dBTP "
                f"ceiling instead, reaching {reached:.1f} LUFS"))
            gain = limited
        return gain
    if master.normalize:
        return master.ceiling / peak if peak > 0 else 1.0
    return float(db_to_amp(master.gain_db))


def apply_master(block: np.ndarray, gain: float, master: MasterSettings) -> np.ndarray:
    """One raw block ``(2, m)`` through the master stage at ``gain`` (from :func:`master_gain`)."""
    y = block * gain
    if not master.normalize and master.loudness is None:
        y = soft_limit(y, master.ceiling)
    check_finite(y)
    return y


def check_finite(y: np.ndarray) -> None:
    """RenderError if ``y`` holds a NaN or an infinity."""
    if y.size and not np.isfinite(np.max(np.abs(y))):     # NaN or inf anywhere
        raise RenderError("the render produced non-finite samples (NaN or infinity)")
