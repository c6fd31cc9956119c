"""Score + patches -> stereo audio, rendered in chunks with bounded memory.

Rendering happens in two stages:

1. :class:`RenderPlan` turns the score into sample positions (rounded from
   absolute times through the tempo map, so nothing drifts), resolves each
   part's patch and effects, and yields the *raw mix* in chunks.  Every note
   is rendered by :func:`synth.voice.render_note_pieces` when it starts (whole,
   or a long note in pieces of about six seconds with its state carried) and
   dropped when it has rung out.  Notes are summed in *lanes* (a part's
   notes starting in the same ~12 s stretch, see :data:`LANE_SAMPLES`),
   lanes into parts and parts into the mix, always in the same order, and
   effects carry their state: neither the chunk size nor ``--jobs`` (lanes
   shared between forked processes) changes a sample.  Memory is bounded by
   the chunk size and the number of sounding notes, not by the length of the
   piece or of a note.
2. The master stage scales the raw mix so its peak sits at the ceiling
   (default -1 dBFS).  Because that needs the peak of the whole piece,
   :func:`render_to_file` spools the raw mix to a temporary file on disk,
   then scales and encodes it (see :mod:`synth.audio`).

The render lasts until the last release and the last effect tail have died
away, not until the last note-off.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np

from . import seeds
from .dsp.mix import pan_gains, soft_limit
from .errors import PatchError, RenderError, SynthWarning
from .fx import Chain, build_chain
from .patch import Patch, resolve_patch
from .score import Part, Score
from .units import db_to_amp
from .voice import bakes_filter, note_length, render_note_pieces

__all__ = [
    "SR_MIN",
    "SR_MAX",
    "DEFAULT_SR",
    "DEFAULT_CHUNK",
    "DEFAULT_MAX_SECONDS",
    "MasterSettings",
    "RenderPlan",
    "RenderResult",
    "render",
    "render_to_file",
    "stem_filename",
]

SR_MIN, SR_MAX = 22_050, 96_000
DEFAULT_SR = 44_100
DEFAULT_CHUNK = 1 << 16
DEFAULT_MAX_SECONDS = 3600.0
#: How long after its key is released a note still counts in the pre-scan
#: of ``--master limit`` (:meth:`RenderPlan.prescan_peak`), in seconds.
PRESCAN_RING_SECONDS = 0.25
#: The pre-scan's power sum times this is its peak estimate (measured on the
#: shipped pieces, see :meth:`RenderPlan.prescan_peak`).
PRESCAN_CREST = 1.3
#: A part without effects is summed in *lanes*: the notes that start in each
#: stretch of this many samples (about 12 s at 44.1 kHz).  Lanes are the unit
#: of work shared between ``--jobs`` processes; the part is the sum of its
#: lanes in order, for any number of jobs, so the output never depends on it.
LANE_SAMPLES = 1 << 19


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
        the peak estimated from the planned notes
        (:meth:`RenderPlan.prescan_peak`) at the ceiling, then a true-peak
        look-ahead limiter (:mod:`synth.dsp.limiter`, 5 ms look-ahead, 50 ms
        hold) that keeps the true peak at or below the ceiling.  Needs no
        pass over the whole mix, so the first block is out as soon as it is
        rendered (``synth play``, ``-o -``).  Takes precedence over
        ``normalize``; cannot be combined with ``loudness``.
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


@dataclass
class _PartPlan:
    part: Part
    patch: Patch
    starts: np.ndarray          # sample of each note's onset, sorted
    gates: np.ndarray           # samples each key is held
    lengths: np.ndarray         # samples each note sounds (release included)
    stolen: np.ndarray          # bool per note: cut short by the voice limit
    bends: list                 # per note: None or (offsets_samples, semitones)
    left: float
    right: float
    chain: Chain
    index: int                  # position of the part in the score (for seeds)


@dataclass(frozen=True)
class _Lane:
    part: int                   # index into RenderPlan.parts
    first: int                  # its notes are part.notes[first:stop]
    stop: int
    start: int                  # sample where its first note starts
    cost: float                 # estimated work, for sharing lanes between processes
    whole: bool = False         # a part with effects: works on every block of the render


@dataclass
class RenderResult:
    """What a render did: enough to reproduce it and to report on it."""

    sr: int
    seed: int
    frames: int
    peak_raw: float = 0.0       # peak of the raw mix before the master stage
    master_gain: float = 1.0    # linear gain the master stage applied
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.frames / self.sr


def _check_sr(sr) -> int:
    if not isinstance(sr, (int, np.integer)) or not SR_MIN <= sr <= SR_MAX:
        raise RenderError(f"sample rate must be an integer {SR_MIN}..{SR_MAX} Hz, got {sr!r}")
    return int(sr)


class RenderPlan:
    """A score laid out in samples, ready to be rendered chunk by chunk.

    Parameters
    ----------
    score : Score
    sr : int
        Sample rate in Hz (22 050..96 000).
    seed : int, optional
        Render seed (defaults to ``score.metadata.seed``).
    max_seconds : float
        Refuse (RenderError) renders longer than this, before allocating audio.
    patches : mapping of part name to Patch, optional
        Patches to use instead of resolving each part's preset.
    """

    def __init__(self, score: Score, *, sr: int = DEFAULT_SR, seed: int | None = None,
                 max_seconds: float = DEFAULT_MAX_SECONDS,
                 patches: Mapping[str, Patch] | None = None):
        self.score = score
        self.sr = _check_sr(sr)
        self.seed = int(score.metadata.seed if seed is None else seed)
        if score.note_count == 0:
            raise RenderError("nothing to render: the score has no notes")
        if not (isinstance(max_seconds, (int, float)) and math.isfinite(max_seconds)
                and max_seconds > 0):
            raise RenderError(f"the render length limit must be a finite number of seconds > 0, "
                              f"got {max_seconds!r} (--max-seconds)")
        end_s = score.duration_seconds
        if not math.isfinite(end_s) or end_s > max_seconds:
            raise RenderError(f"the score lasts {end_s:.1f} s, more than the limit of "
                              f"{max_seconds:g} s (raise it with --max-seconds)")
        bpm0 = score.tempo.changes[0].bpm
        self.parts: list[_PartPlan] = []
        for index, part in enumerate(score.parts):
            try:
                patch = (patches or {}).get(part.name) or resolve_patch(part.preset, part.patch)
                chain = build_chain(part.effects, sr=self.sr, bpm=bpm0,
                                    where=f"parts.{part.name}.effects")
            except PatchError as e:
                raise PatchError(f"part {part.name!r}: {e.message}") from None
            self.parts.append(self._plan_part(part, patch, chain, index))
        try:
            self.master_chain = build_chain(score.master_effects, sr=self.sr, bpm=bpm0,
                                            where="master.effects")
        except PatchError as e:
            raise PatchError(e.message) from None
        ends = [int((p.starts + p.lengths).max()) + p.chain.tail_samples
                for p in self.parts if len(p.starts)]
        self.frames = max(ends) + self.master_chain.tail_samples
        if self.frames / self.sr > max_seconds:
            raise RenderError(f"the render lasts {self.frames / self.sr:.1f} s with its release "
                              f"tails, more than the limit of {max_seconds:g} s")
        self.lanes = self._plan_lanes()
        self._prescan: float | None = None
        self.raw_peak = 0.0     # of the raw mix, once limited_chunks has run

    def _plan_part(self, part: Part, patch: Patch, chain: Chain, index: int) -> _PartPlan:
        sr, tempo = self.sr, self.score.tempo
        if part.notes:
            onsets = np.array([n.start for n in part.notes])
            offs = np.array([n.end for n in part.notes])
            starts = np.rint(tempo.seconds(onsets) * sr).astype(np.int64)
            ends = np.rint(tempo.seconds(offs) * sr).astype(np.int64)
        else:
            starts = ends = np.zeros(0, np.int64)
        gates = np.maximum(ends - starts, 1)
        lengths = np.array([note_length(patch, int(g), sr=sr, pitch=n.pitch)
                            for g, n in zip(gates, part.notes)], dtype=np.int64)
        stolen = np.zeros(len(starts), dtype=bool)
        if patch.max_voices and len(starts):
            from .dsp.fairlight import steal_voices
            # a voice limit (the CMI's 8): a note beyond it steals the oldest
            # sounding one, which stops (fading out) where the thief starts
            cut = steal_voices(starts, starts + lengths, max_voices=patch.max_voices)
            kept = np.maximum(np.minimum(lengths, cut - starts), 1)
            stolen = kept < lengths
            lengths = kept
        bends = []
        for note, s in zip(part.notes, starts):
            if note.bend:
                points = sorted(note.bend, key=lambda p: p[0])   # held in time order
                offs_s = np.rint(tempo.seconds([note.start + b for b, _ in points]) * sr) - s
                bends.append((np.maximum(offs_s.astype(np.int64), 0),
                              np.array([v for _, v in points], dtype=np.float64)))
            else:
                bends.append(None)
        left, right = pan_gains(part.pan)
        gain = float(db_to_amp(part.gain_db))
        return _PartPlan(part, patch, starts, gates, lengths, stolen, bends, left * gain,
                         right * gain, chain, index)

    def _plan_lanes(self) -> list[_Lane]:
        """Each part's notes as lanes (see :data:`LANE_SAMPLES`), by start sample."""
        lanes = []
        for index, pp in enumerate(self.parts):
            if not len(pp.starts):
                continue
            weight = _cost_weight(pp.patch)
            note_cost = pp.lengths * weight + _NOTE_COST
            if pp.chain:    # effects carry state through the whole part: one lane
                cuts = [0, len(pp.starts)]
            else:
                stretch = pp.starts // LANE_SAMPLES
                cuts = [0, *np.flatnonzero(np.diff(stretch)) + 1, len(pp.starts)]
            # the effects run on every frame of the render
            effects_cost = float(self.frames) * pp.chain.cost if pp.chain else 0.0
            for lo, hi in zip(cuts[:-1], cuts[1:]):
                # a lane with effects runs from the first block on, as the
                # effects' own clocks (an LFO's phase) must not depend on it
                lanes.append(_Lane(index, int(lo), int(hi), 0 if pp.chain else int(pp.starts[lo]),
                                   float(note_cost[lo:hi].sum()) + effects_cost, bool(pp.chain)))
        lanes.sort(key=lambda lane: (lane.start, lane.part))
        return lanes

    @property
    def seconds(self) -> float:
        return self.frames / self.sr

    def prescan_peak(self) -> float:
        """The raw mix's peak estimated from the planned notes, without rendering the piece.

        Each part plays one probe note (its median pitch, full velocity, a
        gate of at most half a second) through a fresh copy of its pan, gain
        and effects; a note's level is the probe's peak in each channel times
        its velocity law.  The notes sounding at each onset (from the onset to
        the end of the key-held gate plus :data:`PRESCAN_RING_SECONDS`, or
        the end of the release if sooner) add by power, as unrelated partials
        do, and the largest such sum in either channel, times
        :data:`PRESCAN_CREST`, is the estimate.  It costs a few milliseconds
        per part (the effects' share mostly); the look-ahead limiter of ``--master limit`` takes care of
        the peaks the estimate misses.

        Returns
        -------
        float
            Linear peak estimate (> 0).
        """
        from .voice import render_note

        sr, bpm0 = self.sr, self.score.tempo.changes[0].bpm
        ring = int(PRESCAN_RING_SECONDS * sr)
        onsets, ends, energy = [], [], []
        for pp in self.parts:
            if not len(pp.starts):
                continue
            notes = pp.part.notes
            pitches = np.array([n.pitch for n in notes], dtype=np.float64)
            i = int(np.argsort(pitches, kind="stable")[len(pitches) // 2])
            gate = int(max(1, min(pp.gates[i], sr // 4)))
            probe = render_note(pp.patch, pitch=float(pitches[i]), velocity=127,
                                gate_samples=gate, sr=sr,
                                rng=seeds.LazyRng(self.seed, "prescan", pp.part.name))
            stereo = np.stack([probe * pp.left, probe * pp.right])
            if pp.part.effects:
                chain = build_chain(pp.part.effects, sr=sr, bpm=bpm0)
                tail = min(chain.tail_samples, sr // 4)
                stereo = np.concatenate([chain.process(stereo), chain.process(np.zeros((2, tail)))],
                                        axis=1)
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

    def limited_chunks(self, master: MasterSettings, chunk_samples: int = DEFAULT_CHUNK,
                       jobs: int = 1, stems: bool = False):
        """The mix through the streaming master (``master.limit``), block by block.

        Yields
        ------
        stems : list of np.ndarray [shape=(2, m)] or None
            Each part's block times the fixed gain (before the limiter), as
            :meth:`chunks_with_stems`; None unless ``stems``.
        mix : np.ndarray [shape=(2, m')]
            The limited mix.  It lags the raw mix by a few milliseconds (the
            look-ahead), so its blocks are not aligned with the stems' and
            the first may be shorter; together they cover exactly
            :attr:`frames` samples.
        """
        from .dsp.limiter import limit_block, limiter_flush, limiter_state

        gain = self.limit_gain(master)
        state = limiter_state(master.ceiling, sr=self.sr)
        self.raw_peak = 0.0
        for part_blocks, raw in self.chunks_with_stems(chunk_samples, jobs, stems=stems):
            if raw.size:
                self.raw_peak = max(self.raw_peak, float(np.max(np.abs(raw))))
            y, state = limit_block(raw * gain, state)
            _check_finite(y)
            yield ([b * gain for b in part_blocks] if stems else None), y
        yield ([] if stems else None), limiter_flush(state)

    def limit_gain(self, master: MasterSettings) -> float:
        """The fixed gain of the streaming master: the pre-scan's peak at the ceiling."""
        if self._prescan is None:
            self._prescan = self.prescan_peak()
        return master.ceiling / self._prescan

    def _voice(self, pp: _PartPlan, i: int) -> Iterator[np.ndarray]:
        """Note ``i`` of a part as consecutive pieces (one piece unless it is long)."""
        note = pp.part.notes[i]
        rng = seeds.LazyRng(self.seed, "part", pp.part.name, "note", i)
        gate = int(pp.gates[i])
        stolen_at = int(pp.lengths[i]) if pp.stolen[i] else None
        prev_pitch = pp.part.notes[i - 1].pitch if pp.patch.glide > 0 and i > 0 else None
        return render_note_pieces(pp.patch, pitch=note.pitch, velocity=note.velocity,
                                  gate_samples=gate, sr=self.sr, rng=rng,
                                  bend_semitones=pp.bends[i], prev_pitch=prev_pitch,
                                  stolen_at=stolen_at)

    def chunks(self, chunk_samples: int = DEFAULT_CHUNK) -> Iterator[np.ndarray]:
        """Yield the raw (pre-master) stereo mix in blocks of ``chunk_samples``.

        Yields
        ------
        np.ndarray [shape=(2, m), dtype=float64]
            Consecutive blocks covering ``frames`` samples.
        """
        for _, mix in self.chunks_with_stems(chunk_samples, stems=False):
            yield mix

    def lane_chunks(self, lane_ids, chunk_samples: int = DEFAULT_CHUNK):
        """Yield, block by block, what the lanes ``lane_ids`` contribute.

        Parameters
        ----------
        lane_ids : iterable of int
            Indices into :attr:`lanes`.
        chunk_samples : int
            Block size.

        Yields
        ------
        dict of int to LaneBlock
            For consecutive blocks of ``chunk_samples`` covering ``frames``,
            the lanes that add something to the block: a lane without
            effects as ``(offset, np.ndarray [shape=(m,)])``, the mono sum of
            its notes (in note order) over the span of the block they cover
            (gain and pan are applied by the mixer); a lane with effects as
            ``np.ndarray [shape=(2, n)]`` after them (every block, for their
            tails).  A lane missing from the dict is silent in the block.
        """
        if chunk_samples < 1:
            raise RenderError(f"chunk_samples must be >= 1, got {chunk_samples!r}")
        waiting = sorted(lane_ids, key=lambda k: self.lanes[k].start, reverse=True)
        sounding = {}       # lane id -> {"next": note index, "active": [[start, piece, rest]]}
        for a in range(0, self.frames, chunk_samples):
            b = min(a + chunk_samples, self.frames)
            n = b - a
            while waiting and self.lanes[waiting[-1]].start < b:
                k = waiting.pop()
                sounding[k] = {"next": self.lanes[k].first, "active": []}
            blocks = {}
            for k in sorted(sounding):
                lane, st = self.lanes[k], sounding[k]
                pp = self.parts[lane.part]
                while st["next"] < lane.stop and pp.starts[st["next"]] < b:
                    i = st["next"]
                    pieces = self._voice(pp, i)
                    # [start of the current piece, the piece, the rest of the note]
                    st["active"].append([int(pp.starts[i]), next(pieces), pieces])
                    st["next"] += 1
                pieces_here = []        # (lo, hi, samples, note start of the piece), in note order
                keep = []
                for note in st["active"]:
                    while True:
                        s, samples, rest = note
                        lo, hi = max(a, s), min(b, s + len(samples))
                        if hi > lo:
                            pieces_here.append((lo, hi, samples, s))
                        if s + len(samples) > b:       # this piece sounds on: keep the note
                            keep.append(note)
                            break
                        following = next(rest, None)    # this piece is done: the next one
                        if following is None:
                            break
                        note[0], note[1] = s + len(samples), following
                st["active"] = keep
                # the mono sum over just the span the notes cover (a short
                # note in a long block costs its own length, not the block's)
                span = _sum_spans([(lo - a, samples[lo - s:hi - s])
                                   for lo, hi, samples, s in pieces_here]) if pieces_here else None
                if pp.chain:
                    blocks[k] = pp.chain.process(self.stereo(lane.part, span, n))
                elif span is not None:
                    blocks[k] = span
                if not pp.chain and not keep and st["next"] >= lane.stop:
                    del sounding[k]             # every note of the lane has rung out
            yield blocks

    def part_blocks(self, lane_blocks: Mapping[int, object]) -> list:
        """Lanes' blocks from :meth:`lane_chunks` summed into each part's block.

        Returns
        -------
        list of PartBlock
            One per part: ``None`` when silent, ``(offset, mono span)`` for a
            part without effects (the sum of its lanes, in lane order), or its
            stereo block after effects.
        """
        by_part: list[list] = [[] for _ in self.parts]
        for k in sorted(lane_blocks):
            by_part[self.lanes[k].part].append(lane_blocks[k])
        # several lanes of a part sound together only where a tail crosses
        # into the next lane; a part with effects is a single lane
        return [_sum_spans(blocks) if blocks else None for blocks in by_part]

    def stereo(self, index: int, block, n: int) -> np.ndarray:
        """Part ``index``'s block from :meth:`part_blocks` as stereo ``(2, n)``."""
        pp = self.parts[index]
        if block is None:
            return np.zeros((2, n))
        if not isinstance(block, tuple):
            return block
        off, mono = block
        out = np.zeros((2, n))
        np.multiply(mono, pp.left, out=out[0, off:off + len(mono)])
        np.multiply(mono, pp.right, out=out[1, off:off + len(mono)])
        return out

    def mix_blocks(self, blocks, n: int) -> np.ndarray:
        """Sum part blocks from :meth:`part_blocks` (all parts) into a stereo block.

        Parts with effects (stereo blocks) are added in score order.  Parts
        without effects that share their pan gains are summed as mono first,
        in score order, and scaled into the two channels once: a file with
        many parts on the same gains (300 MIDI tracks, say) costs one add a
        sample per part instead of three passes.  Silent parts are skipped
        (the sum starts at +0.0, so adding zeros would change nothing).  The
        order never depends on ``--jobs`` or the block size.
        """
        mix = np.zeros((2, n))
        same_gains: dict[tuple[float, float], list] = {}
        for pp, block in zip(self.parts, blocks):
            if block is None:
                continue
            if not isinstance(block, tuple):
                mix += block
            else:
                same_gains.setdefault((pp.left, pp.right), []).append(block)
        scratch = np.empty(n)
        for (left, right), spans in same_gains.items():
            off, mono = _sum_spans(spans)
            span, scaled = slice(off, off + len(mono)), scratch[:len(mono)]
            np.multiply(mono, left, out=scaled)
            mix[0, span] += scaled
            if right != left:               # a centred part: the same product twice
                np.multiply(mono, right, out=scaled)
            mix[1, span] += scaled
        return mix

    def chunks_with_stems(self, chunk_samples: int = DEFAULT_CHUNK, jobs: int = 1,
                          stems: bool = True):
        """Like :meth:`chunks`, also yielding each part's stereo block.

        Parameters
        ----------
        chunk_samples : int
            Block size; does not change any sample.
        jobs : int
            Processes rendering lanes in parallel; does not change any sample
            either (lanes and parts are always summed in the same order).
        stems : bool
            False: yield ``None`` instead of the stems (saves building them).

        Yields
        ------
        stems : list of np.ndarray [shape=(2, m)] or None
            One per part, after the part's gain, pan and effects.
        mix : np.ndarray [shape=(2, m)]
            Their sum, in part order, through the score's master effects
            (so the stems sum to the mix when there are none).
        """
        all_lanes = range(len(self.lanes))
        parallel = jobs > 1 and len(self.lanes) > 1 and _can_fork()
        source = (_parallel_lane_chunks(self, chunk_samples, jobs) if parallel
                  else self.lane_chunks(all_lanes, chunk_samples))
        a = 0
        for lane_blocks in source:
            n = min(chunk_samples, self.frames - a)
            a += n
            blocks = self.part_blocks(lane_blocks)
            mix = self.mix_blocks(blocks, n)
            if self.master_chain:
                mix = self.master_chain.process(mix)
            yield ([self.stereo(i, blk, n) for i, blk in enumerate(blocks)] if stems
                   else None), mix


def _sum_spans(spans: list):
    """Sum ``(offset, samples)`` spans, in order, over the range they cover.

    Returns one ``(offset, samples)``: a single span as it is (a view: 0 + x
    is x), several added into a zeroed array from the first offset to the
    last end.  Any other single item (a stereo block) is returned unchanged.
    """
    if len(spans) == 1:
        return spans[0]
    first = min(off for off, _ in spans)
    mono = np.zeros(max(off + len(m) for off, m in spans) - first)
    for off, m in spans:
        mono[off - first:off - first + len(m)] += m
    return first, mono


def _cost_weight(patch: Patch) -> float:
    """Rendering cost of one sample of ``patch`` relative to a plain saw.

    Fitted to the parts of the 180 s benchmark file (time = notes x
    :data:`_NOTE_COST` + samples x weight; a saw sample is about 7.6 ns):
    two-voice pad 2.3, filtered pulse lead 2.9, reed 2.0, pluck 2.3, bell
    1.4; the other sources from ``bench/bench_presets.py`` (every preset's
    time per sample against a saw): a Fairlight Mode-1 voice about 10, Mode
    4 about 21, FM 11-17.
    """
    if patch.source == "unison":
        weight = 1.15 * float(patch.param("voices"))
    elif patch.source == "fairlight":
        weight = 10.0 if patch.param("mode") == 1 else 21.0
    else:
        weight = {"pulse": 1.9, "partials": 1.35, "additive": 3.3, "sine": 1.2, "noise": 0.6,
                  "pink": 1.5, "fm2": 11.0, "fm3": 16.0, "sync": 6.0, "ring": 3.8,
                  "drums": 7.0}.get(patch.source, 1.0)
    if patch.filter.active and not (bakes_filter(patch) and not patch.glide):
        weight += 1.0                       # filtered sample by sample
        if patch.filter.env_amount:
            weight += 0.3                   # and swept
    lfo = patch.lfo
    if lfo.active and (lfo.to_amp or lfo.to_width or lfo.to_cutoff_octaves):
        weight += 1.5                       # an LFO computed for every sample
    return weight


#: Fixed work per note (planning, pitch curve, envelope set-up), in saw samples:
#: about 50 us.
_NOTE_COST = 6500.0


#: Extra share of the work the parent process has beside its lanes (mixing,
#: spooling), measured on the 180 s benchmark: with 0.04 the renders were
#: fastest (median of 5: 2.43 s against 2.47 s with 0 and 2.43 s with 0.08).
_PARENT_LOAD = 0.04
#: Blocks a worker may run ahead of the mix (absorbs uneven blocks: a chord
#: renders all its notes in the block where it starts).
_LOOKAHEAD_BLOCKS = 8
#: Lanes starting this many blocks before the last lane starts go to workers
#: (measured on the 180 s benchmark: 4 saves ~0.06 s of the parent finishing alone).
_TAIL_BLOCKS = 4


def _assign_lanes(lanes: list[_Lane], jobs: int, parent_load: float = 0.0,
                  tail_start: float = math.inf, length: float | None = None) -> list[list[int]]:
    """Share lane indices between ``jobs`` processes, the last being the parent.

    Lanes are dealt in time order, each to the process with the least work so
    far, so every process has work all through the piece (blocks stream in
    time order: one that finished its share early would just wait).  The
    parent's work counts ``1 / (1 - parent_load)`` times: it also mixes.
    Lanes starting at or after ``tail_start`` go to the workers only.

    Lanes of parts with effects (``whole``) work on every block up to
    ``length`` (samples): they are dealt first, largest first, and while
    the others are dealt their cost counts in proportion to the time
    elapsed, so the other lanes fill in around them evenly.
    """
    scale = [1.0] * (jobs - 1) + [1.0 / max(1.0 - parent_load, 0.05)]
    groups: list[list[int]] = [[] for _ in range(jobs)]
    spread = [0.0] * jobs           # cost of the whole-render lanes of each process
    for k in sorted((k for k in range(len(lanes)) if lanes[k].whole), key=lambda k: -lanes[k].cost):
        j = min(range(jobs), key=lambda j: (spread[j] + lanes[k].cost * scale[j], -j))
        groups[j].append(k)
        spread[j] += lanes[k].cost * scale[j]
    length = float(length or max((lane.start for lane in lanes), default=0) or 1)
    loads = [0.0] * jobs
    order = sorted((k for k in range(len(lanes)) if not lanes[k].whole),
                   key=lambda k: (lanes[k].start, -lanes[k].cost))
    # the workers run up to the look-ahead in front of the parent, so lanes at
    # the very end go to them: else the parent would still be rendering them
    # while the workers sit idle
    workers_only = jobs > 1
    for k in order:
        if workers_only and lanes[k].start >= tail_start:
            j = min(range(jobs - 1), key=lambda j: loads[j] + spread[j])
            groups[j].append(k)
            loads[j] += lanes[k].cost
    for k in order:
        if workers_only and lanes[k].start >= tail_start:
            continue
        elapsed = min(lanes[k].start / length, 1.0)
        j = min(range(jobs), key=lambda j: (loads[j] + spread[j] * elapsed
                                            + lanes[k].cost * scale[j], -j))
        groups[j].append(k)
        loads[j] += lanes[k].cost * scale[j]
    return [sorted(g) for g in groups]


class _Ring:
    """Float64 ring buffer in memory shared with forked workers (one producer, one consumer).

    A worker copies its blocks' arrays in once; the parent reads them in
    place.  Through a pipe the same bytes were copied twice and cost the
    worker 0.15 s and the parent's reader as much again on the 180 s file.
    """

    def __init__(self, floats: int):
        import mmap

        self.size = int(floats)
        self.memory = mmap.mmap(-1, self.size * 8)     # anonymous, MAP_SHARED: seen after fork
        self.data = np.frombuffer(self.memory, dtype=np.float64)

    def close(self) -> None:
        self.data = None
        try:
            self.memory.close()
        except BufferError:     # a view is still alive somewhere: the GC will unmap it
            pass


def _worker(plan: "RenderPlan", lane_ids, chunk_samples, ring: _Ring, conn, freed_conn) -> None:
    """Render ``lane_ids`` and hand each block to the parent through ``ring``.

    Per block, one message on ``conn``: ``b"B"``, the ring position after the
    block (int64), then ``(lane, offset or -1 for stereo, samples, ring
    position or -1)`` per lane; an array that does not fit in the ring
    beside the rest of its block follows as its own message.  The parent
    sends back, on ``freed_conn``, the ring position up to which it has
    finished reading.
    """
    _die_with_parent()
    parent = os.getppid()
    head = freed = 0
    try:
        for blocks in plan.lane_chunks(lane_ids, chunk_samples):
            entries, large = [], []
            block_start = head      # the parent can free at most up to here before this block
            for k, b in blocks.items():
                flat = b[1] if isinstance(b, tuple) else b.reshape(-1)
                entry = [k, b[0] if isinstance(b, tuple) else -1,
                         len(b[1]) if isinstance(b, tuple) else b.shape[1], -1]
                m = flat.size
                pos = head % ring.size
                skip = ring.size - pos if pos + m > ring.size else 0   # no room before the end
                if head + skip + m - ring.size > block_start:
                    # only this block's own data could make room: it goes by pipe
                    large.append(np.ascontiguousarray(flat))
                else:
                    head += skip
                    pos = head % ring.size
                    while freed_conn.poll():
                        freed = int.from_bytes(freed_conn.recv_bytes(), "little")
                    while head + m - freed > ring.size:      # the parent is behind: wait
                        if not freed_conn.poll(0.5):
                            if os.getppid() != parent:       # the parent is gone: stop
                                return
                            continue
                        freed = int.from_bytes(freed_conn.recv_bytes(), "little")
                    ring.data[pos:pos + m] = flat
                    head += m
                    entry[3] = pos
                entries.append(entry)
            conn.send_bytes(b"B" + head.to_bytes(8, "little")
                            + np.array(entries, dtype=np.int64).reshape(-1, 4).tobytes())
            for flat in large:
                conn.send_bytes(flat)
    except BaseException as e:  # report, never hang the parent
        try:
            conn.send_bytes(b"E" + f"{type(e).__name__}: {e}".encode()[:2000])
        except OSError:
            pass
    finally:
        conn.close()


def _die_with_parent() -> None:
    """Have Linux end this (forked worker) process when its parent dies.

    A worker killed with its parent (SIGKILL, SIGTERM: no clean-up runs)
    would otherwise wait forever on a pipe whose other end it inherited
    itself.  Elsewhere the worker notices the parent is gone while waiting.
    """
    try:
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))
    except (OSError, AttributeError):
        pass


def _receive_block(ring: _Ring, conn) -> tuple[dict, int]:
    """The parent's side of :func:`_worker`: one block's lane arrays, and its ring end.

    Arrays of lanes without effects are views into the ring, valid until
    the end position is sent back; stereo blocks are copied out.
    """
    try:
        message = conn.recv_bytes()
    except EOFError:
        raise RenderError("a render worker died unexpectedly") from None
    if message[:1] == b"E":
        raise RenderError("a render worker failed: " + message[1:].decode(errors="replace"))
    end = int.from_bytes(message[1:9], "little")
    blocks = {}
    for k, off, m, pos in np.frombuffer(message[9:], dtype=np.int64).reshape(-1, 4).tolist():
        size = m if off >= 0 else 2 * m
        if pos < 0:
            data = np.frombuffer(conn.recv_bytes(), dtype=np.float64)
        else:
            data = ring.data[pos:pos + size]
        blocks[k] = (off, data) if off >= 0 else data.reshape(2, m).copy()
    return blocks, end


def _can_fork() -> bool:
    """Whether worker processes can be forked here (not on Windows): else one process renders."""
    import multiprocessing as mp

    return "fork" in mp.get_all_start_methods()


def _widen_pipe(conn, size: int = 1 << 20) -> None:
    """Ask Linux for a 1 MiB pipe buffer (default 64 KiB): fewer, larger copies."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError):   # another OS, or a lower limit: the default will do
        pass


def _parallel_lane_chunks(plan: "RenderPlan", chunk_samples: int, jobs: int):
    """:meth:`RenderPlan.lane_chunks` for every lane, computed by forked workers.

    ``jobs`` processes share the lanes (:func:`_assign_lanes`): ``jobs - 1``
    forked workers copy their blocks into shared rings (:class:`_Ring`, room
    for about :data:`_LOOKAHEAD_BLOCKS` blocks, so they can run that far
    ahead), while this process renders its own share beside mixing and
    writing (arrays that do not fit go through the pipe).  The result is the
    same dict of lane blocks
    :meth:`RenderPlan.lane_chunks` yields, so the mix is the same sum, bit
    for bit, as with one process.  Memory stays bounded by the rings.
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    last_start = max(lane.start for lane in plan.lanes)
    groups = _assign_lanes(plan.lanes, min(jobs, len(plan.lanes)), parent_load=_PARENT_LOAD,
                           tail_start=last_start - _TAIL_BLOCKS * chunk_samples,
                           length=plan.frames)
    own = groups.pop()
    local = plan.lane_chunks(own, chunk_samples)
    workers = []
    try:
        for g in groups:
            # room for the look-ahead at about four sounding lanes per block
            # (16 MiB at the default block size; never more than 32 MiB)
            ring = _Ring(min(max(_LOOKAHEAD_BLOCKS * 4 * chunk_samples, 1 << 16), 1 << 22))
            recv, send = ctx.Pipe(duplex=False)
            freed_recv, freed_send = ctx.Pipe(duplex=False)
            _widen_pipe(send)
            proc = ctx.Process(target=_worker,
                               args=(plan, g, chunk_samples, ring, send, freed_recv), daemon=True)
            workers.append((ring, recv, freed_send, proc))
            proc.start()
            send.close()
            freed_recv.close()
        for _ in range(0, plan.frames, chunk_samples):
            blocks = dict(next(local))
            ends = []
            for ring, recv, _, _ in workers:
                got, end = _receive_block(ring, recv)
                blocks.update(got)
                ends.append(end)
            yield blocks
            # the consumer is done with the block: its ring space is free again
            for (_, _, freed_send, _), end in zip(workers, ends):
                try:
                    freed_send.send_bytes(end.to_bytes(8, "little"))
                except OSError:     # that worker has finished (or died: its recv says so)
                    pass
    finally:
        for ring, recv, freed_send, proc in workers:
            recv.close()
            freed_send.close()
            proc.join(timeout=0.1)
            if proc.is_alive():
                proc.terminate()
                proc.join()
            ring.close()


class _Spool:
    """Stereo float64 frames spooled to an anonymous temporary file."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="synth-spool-")
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        self.file.write(memoryview(np.ascontiguousarray(block.T, dtype="<f8")).cast("B"))
        self.frames += block.shape[1]

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        self.file.seek(0)
        done = 0
        while done < self.frames:
            m = min(size, self.frames - done)
            yield np.frombuffer(self.file.read(m * 16), dtype="<f8").reshape(m, 2).T
            done += m

    def read_all(self) -> np.ndarray:
        self.file.seek(0)
        return np.frombuffer(self.file.read(), dtype="<f8").reshape(-1, 2).T

    def close(self) -> None:
        self.file.close()


def _master_gain(peak: float, master: MasterSettings, raw=None, sr: int = DEFAULT_SR) -> float:
    """Linear gain of the master stage for a raw mix whose sample peak is ``peak``.

    ``raw`` (the whole raw mix, or a callable returning it) is needed only for
    a loudness target.
    """
    if master.loudness is not None:
        from .loudness import integrated_loudness, true_peak

        audio = raw() if callable(raw) else raw
        measured = integrated_loudness(audio, sr)
        if not math.isfinite(measured):
            return 1.0
        gain = float(db_to_amp(master.loudness - measured))
        tp = true_peak(audio, sr) * gain
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


def _apply_master(block: np.ndarray, gain: float, master: MasterSettings) -> np.ndarray:
    y = block * gain
    if not master.normalize and master.loudness is None:
        y = soft_limit(y, master.ceiling)
    _check_finite(y)
    return y


def _check_finite(y: np.ndarray) -> None:
    if y.size and not np.isfinite(np.max(np.abs(y))):     # NaN or inf anywhere
        raise RenderError("the render produced non-finite samples (NaN or infinity)")


def _wav_header(*, sr: int, frames: int, subtype: str, metadata: Mapping[str, str] | None) -> bytes:
    """A complete WAV header for ``frames`` stereo frames that will follow it.

    ``fmt`` (PCM 16/24 bit, or IEEE float with its ``fact`` chunk), a
    ``LIST/INFO`` chunk with the metadata (as libsndfile writes it) and the
    ``data`` chunk's header with its exact size: the length is known from
    the plan, so the header is right for sox, ffmpeg and any reader, with
    no seeking back.
    """
    import struct

    bits = {"PCM_16": 16, "PCM_24": 24, "FLOAT": 32}[subtype]
    tag = 3 if subtype == "FLOAT" else 1
    align = 2 * bits // 8
    data_bytes = frames * align
    chunks = [b"fmt " + struct.pack("<IHHIIHH", 16, tag, 2, sr, sr * align, align, bits)]
    if subtype == "FLOAT":
        chunks.append(b"fact" + struct.pack("<II", 4, frames))
    ids = {"title": b"INAM", "artist": b"IART", "software": b"ISFT", "comment": b"ICMT",
           "copyright": b"ICOP", "date": b"ICRD", "album": b"IPRD", "genre": b"IGNR",
           "tracknumber": b"ITRK", "license": b"ILIC"}
    info = b""
    for key, value in (metadata or {}).items():
        if value and key in ids:
            text = str(value).encode("ascii", "replace") + b"\0"
            info += ids[key] + struct.pack("<I", len(text)) + text + (b"\0" if len(text) % 2 else b"")
    if info:
        chunks.append(b"LIST" + struct.pack("<I", 4 + len(info)) + b"INFO" + info)
    body = b"".join(chunks)
    riff_size = 4 + len(body) + 8 + data_bytes
    if riff_size >= 1 << 32:
        raise RenderError(f"{frames} frames of {subtype} are more than a WAV file can hold (4 GiB)")
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + body
            + b"data" + struct.pack("<I", data_bytes))


def _stream_wav(out, blocks, *, sr: int, frames: int, subtype: str,
                metadata: Mapping[str, str] | None) -> None:
    """Write a WAV of exactly ``frames`` frames to the binary stream ``out`` as blocks arrive."""
    from .audio import _encode

    out.write(_wav_header(sr=sr, frames=frames, subtype=subtype, metadata=metadata))
    written = 0
    for block in blocks:
        written += block.shape[1]
        if written > frames:
            raise RenderError(f"internal: the stream ran past its planned {frames} frames")
        pcm = _encode(block, subtype)
        if subtype == "PCM_24":     # the top three bytes of each little-endian int32
            pcm = np.ascontiguousarray(pcm, dtype="<i4").view(np.uint8).reshape(-1, 4)[:, 1:]
        else:
            pcm = pcm.astype(pcm.dtype.newbyteorder("<"))
        out.write(np.ascontiguousarray(pcm).tobytes())
        out.flush()
    if written != frames:
        raise RenderError(f"internal: the stream had {written} frames, {frames} planned")


def render(score: Score, *, sr: int = DEFAULT_SR, seed: int | None = None,
           master: MasterSettings = MasterSettings(), max_seconds: float = DEFAULT_MAX_SECONDS,
           chunk_samples: int = DEFAULT_CHUNK, patches: Mapping[str, Patch] | None = None,
           return_result: bool = False, stems: bool = False, jobs: int = 1):
    """Render ``score`` to a stereo array in memory.

    Parameters
    ----------
    score : Score
    sr : int
        Sample rate in Hz.
    seed : int, optional
        Render seed; default ``score.metadata.seed``.
    master : MasterSettings
        Ceiling, normalisation or loudness target.
    max_seconds : float
        Longest render accepted.
    chunk_samples : int
        Block size (does not change the result).
    patches : mapping, optional
        Per-part patch overrides.
    return_result : bool
        Also return a :class:`RenderResult`.
    stems : bool
        Also return each part's stereo stem, scaled by the master gain, so
        that the stems sum to the mix (before the limiter, when there is one).
    jobs : int
        Processes sharing the work (lanes of notes rendered in parallel); the
        output is bit-identical for any value.

    Returns
    -------
    audio : np.ndarray [shape=(2, n), dtype=float64]
        Peak at or below the master ceiling.
    stems : dict of str to np.ndarray [shape=(2, n)]
        Only with ``stems=True``.
    result : RenderResult
        Only with ``return_result=True``.
    """
    plan = RenderPlan(score, sr=sr, seed=seed, max_seconds=max_seconds, patches=patches)
    mixes, stem_blocks = [], [[] for _ in plan.parts]
    source = (plan.limited_chunks(master, chunk_samples, jobs, stems=stems) if master.limit
              else plan.chunks_with_stems(chunk_samples, jobs, stems=stems))
    for part_blocks, mix in source:
        mixes.append(mix)
        if stems:
            for acc, block in zip(stem_blocks, part_blocks or ()):
                acc.append(block)
    raw = np.concatenate(mixes, axis=1)
    if master.limit:        # already mastered (the stems already carry the gain)
        gain, peak = plan.limit_gain(master), plan.raw_peak
        out, stem_gain = [raw], 1.0
    else:
        peak = float(np.max(np.abs(raw))) if raw.size else 0.0
        gain = _master_gain(peak, master, raw, plan.sr)
        out, stem_gain = [_apply_master(raw, gain, master)], gain
    if stems:
        out.append({pp.part.name: np.concatenate(b, axis=1) * stem_gain
                    for pp, b in zip(plan.parts, stem_blocks)})
    if return_result:
        out.append(RenderResult(plan.sr, plan.seed, plan.frames, peak, gain))
    return out[0] if len(out) == 1 else tuple(out)


def stem_filename(index: int, name: str) -> str:
    """File name of part ``index`` (0-based) called ``name`` in a stems folder."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "part"
    return f"{index + 1:02d}-{safe}.wav"


def render_to_file(score: Score, path, *, sr: int = DEFAULT_SR, seed: int | None = None,
                   subtype: str = "PCM_24", force: bool = False,
                   master: MasterSettings = MasterSettings(),
                   max_seconds: float = DEFAULT_MAX_SECONDS, chunk_samples: int = DEFAULT_CHUNK,
                   patches: Mapping[str, Patch] | None = None,
                   metadata: Mapping[str, str] | None = None,
                   stems_dir=None, jobs: int = 1,
                   progress: Callable[[str, int, int], None] | None = None) -> RenderResult:
    """Render ``score`` into a WAV file, streaming, atomically.

    The raw mix is spooled to a temporary file (so memory stays bounded),
    then scaled by the master stage and encoded into a temporary file beside
    ``path`` that is renamed into place only when complete.  On any error or
    interrupt nothing is left behind.

    Parameters
    ----------
    path : str or os.PathLike or "-"
        Output WAV; ``"-"`` writes to standard output.
    subtype : {"PCM_16", "PCM_24", "FLOAT"}
    force : bool
        Overwrite existing files.
    metadata : mapping, optional
        WAV INFO strings (title, artist, comment, software, ...).
    stems_dir : str or os.PathLike, optional
        Also write one WAV per part into this folder (created if missing),
        named by :func:`stem_filename`, scaled by the master gain so that the
        stems sum to the mix.
    jobs : int
        Processes sharing the work (bit-identical output for any value).
    progress : callable, optional
        ``progress(stage, done_frames, total_frames)``, stage ``"render"``
        or ``"write"``.

    Returns
    -------
    RenderResult
    """
    from . import audio as audio_io   # the only soundfile user

    audio_io.check_writable(path, force=force)
    plan = RenderPlan(score, sr=sr, seed=seed, max_seconds=max_seconds, patches=patches)
    stem_paths = []
    if stems_dir is not None:
        os.makedirs(stems_dir, exist_ok=True)
        stem_paths = [os.path.join(stems_dir, stem_filename(i, pp.part.name))
                      for i, pp in enumerate(plan.parts)]
        for sp in stem_paths:
            audio_io.check_writable(sp, force=force)
    if master.limit:
        return _limited_to_file(plan, path, score=score, subtype=subtype, force=force,
                                master=master, chunk_samples=chunk_samples, metadata=metadata,
                                stem_paths=stem_paths, jobs=jobs, progress=progress)
    spool = _Spool()
    stem_spools = [_Spool() for _ in stem_paths]
    try:
        peak = 0.0
        for part_blocks, block in plan.chunks_with_stems(chunk_samples, jobs,
                                                         stems=bool(stem_spools)):
            if block.size:
                peak = max(peak, float(np.max(np.abs(block))))
            spool.write(block)
            for sp, b in zip(stem_spools, part_blocks or ()):
                sp.write(b)
            if progress:
                progress("render", spool.frames, plan.frames)
        gain = _master_gain(peak, master, spool.read_all, plan.sr)

        def scaled(blocks, limit=True):
            done = 0
            for raw in blocks:
                done += raw.shape[1]
                if progress and limit:
                    progress("write", done, plan.frames)
                yield _apply_master(raw, gain, master) if limit else raw * gain

        _write_out(path, scaled(spool.blocks(chunk_samples)), plan=plan, subtype=subtype,
                   force=force, metadata=metadata)
        _write_stems(stem_paths, stem_spools, plan, score, subtype=subtype, force=force,
                     metadata=metadata, chunk_samples=chunk_samples,
                     scale=lambda blocks: scaled(blocks, limit=False))
    finally:
        spool.close()
        for sp in stem_spools:
            sp.close()
    return RenderResult(plan.sr, plan.seed, plan.frames, peak, gain)


def _write_out(path, blocks, *, plan: RenderPlan, subtype: str, force: bool, metadata) -> None:
    """The mix to a WAV file (atomically), or to standard output as it comes for ``"-"``."""
    from . import audio as audio_io

    if str(path) == "-":
        import sys

        _stream_wav(sys.stdout.buffer, blocks, sr=plan.sr, frames=plan.frames, subtype=subtype,
                    metadata=metadata)
    else:
        audio_io.write_wav(path, blocks, sr=plan.sr, subtype=subtype, force=force,
                           metadata=metadata)


def _write_stems(stem_paths, stem_spools, plan: RenderPlan, score: Score, *, subtype, force,
                 metadata, chunk_samples, scale) -> None:
    from . import audio as audio_io

    for sp_path, sp, pp in zip(stem_paths, stem_spools, plan.parts):
        stem_meta = dict(metadata or {})
        stem_meta["title"] = f"{stem_meta.get('title', score.title)} [{pp.part.name}]"
        audio_io.write_wav(sp_path, scale(sp.blocks(chunk_samples)), sr=plan.sr,
                           subtype=subtype, force=force, metadata=stem_meta)


def _limited_to_file(plan: RenderPlan, path, *, score, subtype, force, master, chunk_samples,
                     metadata, stem_paths, jobs, progress) -> RenderResult:
    """:func:`render_to_file` with the streaming master: no spool, blocks go out as rendered."""
    stem_spools = [_Spool() for _ in stem_paths]
    try:
        def blocks():
            done = 0
            for part_blocks, y in plan.limited_chunks(master, chunk_samples, jobs,
                                                      stems=bool(stem_spools)):
                for sp, b in zip(stem_spools, part_blocks or ()):
                    sp.write(b)
                done += y.shape[1]
                if progress:
                    progress("render", done, plan.frames)
                yield y

        _write_out(path, blocks(), plan=plan, subtype=subtype, force=force, metadata=metadata)
        _write_stems(stem_paths, stem_spools, plan, score, subtype=subtype, force=force,
                     metadata=metadata, chunk_samples=chunk_samples, scale=lambda b: b)
    finally:
        for sp in stem_spools:
            sp.close()
    return RenderResult(plan.sr, plan.seed, plan.frames, plan.raw_peak, plan.limit_gain(master))
