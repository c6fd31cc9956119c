"""Notes -> sample spans: a score laid out in samples, as plain data.

:class:`RenderPlan` rounds every note's absolute times through the tempo map
to samples (so nothing drifts), resolves each part's patch and effects,
works out how long each note sounds (release, voice stealing, bends) and
cuts each part into *lanes* (:data:`LANE_SAMPLES`), the unit of work the
streaming mix (:mod:`synth.render.lanes`) and the workers
(:mod:`synth.render.parallel`) share.  A plan holds no rendering state: it
can be rendered any number of times, in any block size, by any number of
processes, always to the same samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np

from .. import seeds
from ..defaults import DEFAULT_CHUNK, DEFAULT_MAX_SECONDS, DEFAULT_SR, SR_MAX, SR_MIN
from ..dsp.mix import pan_gains
from ..errors import PatchError, RenderError
from ..fx import Chain, build_chain
from .. import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
from ..patch import Patch, resolve_patch
from ..score import Part, Score
from ..units import db_to_amp
from ..voice import SEGMENT_SAMPLES, note_length, render_note_pieces

__all__ = [
    "SR_MIN", "SR_MAX", "DEFAULT_SR", "DEFAULT_CHUNK", "DEFAULT_MAX_SECONDS", "LANE_SAMPLES",
    "PartPlan", "Lane", "RenderPlan", "check_sr",
]

#: A part is rendered in *lanes*: the notes that start in each stretch of this
#: many samples (about 12 s at 44.1 kHz).  Lanes are the unit of work shared
#: between ``--jobs`` processes; the part is the sum of its lanes in order (a
#: part with effects: of their notes, in note order), for any number of jobs,
#: so the output never depends on it.
LANE_SAMPLES = 1 << 19


@dataclass(frozen=True)
class PartPlan:
    """One part of the score in samples (arrays indexed like ``part.notes``)."""

    part: Part
    patch: Patch
    starts: np.ndarray          # sample of each note's onset, sorted
    gates: np.ndarray           # samples each key is held
    lengths: np.ndarray         # samples each note sounds (release included)
    stolen: np.ndarray          # bool per note: cut short by the voice limit
    bends: tuple                # per note: None or (offsets_samples, semitones)
    left: float                 # channel gains: pan law times the part's gain
    right: float
    chain: Chain                # the part's effects (stateless: state is per pass)
    index: int                  # position of the part in the score (for seeds)


@dataclass(frozen=True)
class Lane:
    """A run of one part's notes, rendered and summed as one unit of work."""

    part: int                   # index into RenderPlan.parts
    first: int                  # its notes are part.notes[first:stop]
    stop: int
    start: int                  # sample where its first note starts
    first_from: int = 0         # from this sample on no earlier note of the part sounds


def check_sr(sr: float) -> int:
    """``sr`` as an int, or RenderError if it is not an integer in SR_MIN..SR_MAX Hz."""
    if not isinstance(sr, (int, np.integer)) or not SR_MIN <= sr <= SR_MAX:
        raise RenderError(f"sample rate must be an integer {SR_MIN}..{SR_MAX} Hz, got {sr!r}")
    return int(sr)


class RenderPlan:
    """A score laid out in samples, ready to be rendered (any number of times).

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

    Attributes
    ----------
    parts : list of PartPlan
    master_chain : Chain
        The score's master effects.
    frames : int
        Length of the render in samples, release and effect tails included.
    lanes : list of Lane
        In order of start sample, then part.
    """

    def __init__(self, score: Score, *, sr: int = DEFAULT_SR, seed: int | None = None,
                 max_seconds: float = DEFAULT_MAX_SECONDS,
                 patches: Mapping[str, Patch] | None = None):
        self.score = score
        self.sr = check_sr(sr)
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
        self.parts: list[PartPlan] = []
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
        self.piece_samples = piece_samples_for(self.parts)

    def _plan_part(self, part: Part, patch: Patch, chain: Chain, index: int) -> PartPlan:
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
            from ..dsp.fairlight import steal_voices
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
        return PartPlan(part, patch, starts, gates, lengths, stolen, tuple(bends), left * gain,
                        right * gain, chain, index)

    def _plan_lanes(self) -> list[Lane]:
        """Each part's notes as lanes (see :data:`LANE_SAMPLES`), by start sample."""
        lanes = []
        for index, pp in enumerate(self.parts):
            if not len(pp.starts):
                continue
            # a part with effects sums its notes in note order whatever its lanes
            # (see render.lanes.NoteSpans), so its stretches can be staggered:
            # the lanes of the parts then start in different blocks, and the
            # processes claim them one or two at a time instead of in bursts
            shift = (index * 3 * LANE_SAMPLES // 8) % LANE_SAMPLES if pp.chain else 0
            stretch = (pp.starts + shift) // LANE_SAMPLES
            cuts = [0, *np.flatnonzero(np.diff(stretch)) + 1, len(pp.starts)]
            ends = np.maximum.accumulate(pp.starts + pp.lengths)
            for lo, hi in zip(cuts[:-1], cuts[1:]):
                lanes.append(Lane(index, int(lo), int(hi), int(pp.starts[lo]),
                                  int(ends[lo - 1]) if lo else 0))
        lanes.sort(key=lambda lane: (lane.start, lane.part))
        return lanes

    @property
    def seconds(self) -> float:
        return self.frames / self.sr

    def note_pieces(self, pp: PartPlan, i: int) -> Iterator[np.ndarray]:
        """Note ``i`` of a part as consecutive mono pieces (one piece unless it is long).

        The note's random stream is named by the part and the note's index,
        so a note sounds the same in whatever lane, block or process it is
        rendered.
        """
        note = pp.part.notes[i]
        rng = seeds.LazyRng(self.seed, "part", pp.part.name, "note", i)
        gate = int(pp.gates[i])
        stolen_at = int(pp.lengths[i]) if pp.stolen[i] else None
        prev_pitch = pp.part.notes[i - 1].pitch if pp.patch.glide > 0 and i > 0 else None
        return render_note_pieces(pp.patch, pitch=note.pitch, velocity=note.velocity,
                                  gate_samples=gate, sr=self.sr, rng=rng,
                                  bend_semitones=pp.bends[i], prev_pitch=prev_pitch,
                                  stolen_at=stolen_at, piece_samples=self.piece_samples)


#: Bytes a render may hold in the pieces of its sounding notes (a piece, its
#: envelope and its filtered copy are alive at once for each note).
PIECE_MEMORY_BYTES = 96 << 20


def max_sounding(parts: list[PartPlan]) -> int:
    """The most notes of all ``parts`` sounding at any one sample (0 without notes)."""
    starts = np.concatenate([p.starts for p in parts] + [np.zeros(0, np.int64)])
    ends = np.concatenate([p.starts + p.lengths for p in parts] + [np.zeros(0, np.int64)])
    if not len(starts):
        return 0
    # an end sorts before a start at the same sample: a note that ends where another starts
    # does not overlap it
    times = np.concatenate([ends, starts])
    steps = np.concatenate([np.full(len(ends), -1), np.ones(len(starts), np.int64)])
    order = np.lexsort((steps, times))
    return int(np.cumsum(steps[order]).max())


def piece_samples_for(parts: list[PartPlan]) -> int:
    """The piece length of long notes, so that their sounding pieces fit the memory budget.

    The usual length (:data:`synth.voice.SEGMENT_SAMPLES`) until the notes sounding at
    once would need more than :data:`PIECE_MEMORY_BYTES`; then a smaller power of two,
    at least 4096 samples.  Pieces concatenate to exactly the whole note whatever their
    length (tests/test_voice.py), so this changes memory, not a sample: a MIDI file of
    1000 held notes no longer needs gigabytes.
    """
    sounding = max(max_sounding(parts), 1)
    piece = SEGMENT_SAMPLES
    while piece > 4096 and sounding * piece * 8 * 3 > PIECE_MEMORY_BYTES:
        piece //= 2
    return piece
