"""The single-process streaming mix: lanes of notes -> part blocks -> the raw mix.

A *lane* (:class:`~synth.render.plan.Lane`) renders its notes when they
start and drops them when they have rung out; block by block it hands over
what it adds to the block as a small frozen value:

- :class:`MonoSpan` for a lane of a part without effects: the mono sum of
  its notes over the span of the block they cover (gain and pan are applied
  once, by the mixer);
- :class:`NoteSpans` for a lane of a part with effects: each sounding
  note's span, not yet summed.

A part's effects run where the lanes are mixed (:func:`mix_chunks`), on the
sum of the part's note spans in note order, every block (for their tails),
with the state carried from block to block.  So a part with effects is
shared between processes in lanes like any other, and its notes are summed
in the same order whichever lanes and processes rendered them: the sum
(and so every sample after the effects) is the one a single lane holding
all the notes would give.  Which kind a lane gives is known from the plan
(``part.chain``), never guessed from the value.  Lanes are summed into parts
and parts into the mix always in the same order, so neither the block size
nor the number of processes that rendered the lanes changes a sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, Union

import numpy as np

from ..errors import RenderError
from .plan import DEFAULT_CHUNK, RenderPlan

__all__ = ["MonoSpan", "NoteSpans", "StereoBlock", "LaneBlock", "PartBlock", "MixBlock",
           "LaneCursor", "lane_chunks", "part_blocks", "wet_blocks", "part_stereo", "mix_blocks",
           "mix_chunks", "sum_spans"]


@dataclass(frozen=True, slots=True)
class MonoSpan:
    """Mono samples covering ``offset .. offset + len(samples)`` of a block."""

    offset: int
    samples: np.ndarray         # [shape=(m,), dtype=float64]

    @property
    def end(self) -> int:
        return self.offset + len(self.samples)

    def to_stereo(self, left: float, right: float, n: int) -> np.ndarray:
        """The span in a zeroed ``(2, n)`` block, scaled by the channel gains."""
        out = np.zeros((2, n))
        np.multiply(self.samples, left, out=out[0, self.offset:self.end])
        np.multiply(self.samples, right, out=out[1, self.offset:self.end])
        return out


@dataclass(frozen=True, slots=True)
class NoteSpans:
    """The spans of a lane's sounding notes in a block, in note order, not summed.

    A part with effects is summed from all its lanes' note spans at once
    (:func:`part_blocks`), so its sum does not depend on how its notes were
    cut into lanes.  Where no earlier note of the part sounds in the block
    (``a >= lane.first_from``), the lane's spans are the first of that sum
    and are handed over already summed (:func:`sum_spans`), as one span:
    :func:`sum_spans` of ``[their sum, later spans...]`` equals that of
    ``[each span, later spans...]`` element by element (a sum from +0.0 is
    never -0.0, so adding it to a zeroed array again is exact), and only
    the other lanes' spans cross the process boundary one by one.
    """

    spans: tuple[MonoSpan, ...]


@dataclass(frozen=True, slots=True)
class StereoBlock:
    """A whole block in stereo, after a part's effects."""

    samples: np.ndarray         # [shape=(2, n), dtype=float64]

    def to_stereo(self, left: float, right: float, n: int) -> np.ndarray:
        """The block itself (gain and pan were applied before the effects)."""
        return self.samples


LaneBlock = Union[MonoSpan, NoteSpans]
#: A part's block in the mix: its dry mono sum, or its stereo block after its effects.
PartBlock = Union[MonoSpan, StereoBlock]


class MixBlock(NamedTuple):
    """One block of the raw mix, with the parts' stereo blocks when asked for."""

    stems: list | None          # per part np.ndarray [shape=(2, n)], or None
    audio: np.ndarray           # [shape=(2, n), dtype=float64]


class _Sounding:
    """A note that has started: the piece now playing and the rest of its pieces."""

    __slots__ = ("start", "piece", "rest")

    def __init__(self, start: int, piece: np.ndarray, rest: Iterator[np.ndarray]):
        self.start, self.piece, self.rest = start, piece, rest


class LaneCursor:
    """Where a lane is in one pass over the plan: its next note and its sounding notes.

    Created fresh for every pass, so a plan renders the same each time.
    """

    __slots__ = ("plan", "lane", "part", "next_note", "sounding")

    def __init__(self, plan: RenderPlan, lane_id: int):
        self.plan = plan
        self.lane = plan.lanes[lane_id]
        self.part = plan.parts[self.lane.part]
        self.next_note = self.lane.first
        self.sounding: list[_Sounding] = []

    @property
    def done(self) -> bool:
        """Every note of the lane has started and rung out."""
        return not self.sounding and self.next_note >= self.lane.stop

    def spans(self, a: int, b: int) -> list[MonoSpan]:
        """The spans of the lane's notes over samples ``a .. b``, in note order (empty if silent).

        Starts the notes that begin before ``b`` and drops those that end by
        it.  Each span covers just the part of the block its note sounds in
        (a short note in a long block costs its own length, not the block's).
        """
        pp = self.part
        while self.next_note < self.lane.stop and pp.starts[self.next_note] < b:
            i = self.next_note
            pieces = self.plan.note_pieces(pp, i)
            self.sounding.append(_Sounding(int(pp.starts[i]), next(pieces), pieces))
            self.next_note += 1
        spans = []
        keep = []
        for note in self.sounding:
            while True:
                s, samples = note.start, note.piece
                lo, hi = max(a, s), min(b, s + len(samples))
                if hi > lo:
                    spans.append(MonoSpan(lo - a, samples[lo - s:hi - s]))
                if s + len(samples) > b:        # this piece sounds on: keep the note
                    keep.append(note)
                    break
                following = next(note.rest, None)   # this piece is done: the next one
                if following is None:
                    break
                note.start, note.piece = s + len(samples), following
        self.sounding = keep
        return spans


def lane_chunks(plan: RenderPlan, lane_ids: Iterable[int],
                chunk_samples: int = DEFAULT_CHUNK, claim: Callable[[int], bool] | None = None,
                claim_ahead: int = 0) -> Iterator[dict[int, LaneBlock]]:
    """Yield, block by block, what the lanes ``lane_ids`` contribute.

    Parameters
    ----------
    plan : RenderPlan
    lane_ids : iterable of int
        Indices into ``plan.lanes``.
    chunk_samples : int
        Block size.
    claim : callable, optional
        ``claim(k) -> bool``: whether this pass renders lane ``k`` (another
        process may have taken it: :class:`synth.render.parallel.Claims`).
        Asked once per lane, in start order, when the pass reaches the block
        ``claim_ahead`` blocks before the one the lane starts in.  None:
        every lane of ``lane_ids``.

    Yields
    ------
    dict of int to LaneBlock
        For consecutive blocks of ``chunk_samples`` covering ``plan.frames``,
        the lanes that add something to the block: a :class:`MonoSpan` (their
        sum) for a lane of a part without effects, :class:`NoteSpans` for a
        lane of a part with effects (the effects run in :func:`mix_chunks`).
        A lane missing from the dict is silent in the block.
    """
    if chunk_samples < 1:
        raise RenderError(f"chunk_samples must be >= 1, got {chunk_samples!r}")
    waiting = sorted(lane_ids, key=lambda k: plan.lanes[k].start, reverse=True)
    if claim is None:
        claim, claim_ahead = (lambda k: True), 0
    taken: list[int] = []           # claimed, in start order, not started yet
    cursors: dict[int, LaneCursor] = {}
    for a in range(0, plan.frames, chunk_samples):
        b = min(a + chunk_samples, plan.frames)
        horizon = b + claim_ahead * chunk_samples
        while waiting and plan.lanes[waiting[-1]].start < horizon:
            k = waiting.pop()
            if claim(k):
                taken.append(k)
        while taken and plan.lanes[taken[0]].start < b:
            k = taken.pop(0)
            cursors[k] = LaneCursor(plan, k)
        blocks: dict[int, LaneBlock] = {}
        for k in sorted(cursors):
            cursor = cursors[k]
            spans = cursor.spans(a, b)
            if not spans:
                pass
            elif not cursor.part.chain:
                blocks[k] = sum_spans(spans)
            elif a >= cursor.lane.first_from:
                # no earlier note of the part sounds here: these spans come first
                # in the part's sum, which they can begin (see NoteSpans)
                blocks[k] = NoteSpans((sum_spans(spans),))
            else:
                blocks[k] = NoteSpans(tuple(spans))
            if cursor.done:
                del cursors[k]          # every note of the lane has rung out
        yield blocks


def sum_spans(spans: list[MonoSpan]) -> MonoSpan:
    """Sum spans, in order, over the range they cover.

    A single span is returned as it is (a view: 0 + x is x); several are
    added into a zeroed array from the first offset to the last end.
    """
    if len(spans) == 1:
        return spans[0]
    first = min(s.offset for s in spans)
    mono = np.zeros(max(s.end for s in spans) - first)
    for s in spans:
        mono[s.offset - first:s.end - first] += s.samples
    return MonoSpan(first, mono)


def part_blocks(plan: RenderPlan, lane_blocks: Mapping[int, LaneBlock]) -> list[MonoSpan | None]:
    """Lanes' blocks from :func:`lane_chunks` summed into each part's dry block.

    Returns
    -------
    list of MonoSpan or None
        One per part: None when silent, else its mono sum: for a part without
        effects the sum of its lanes' sums, in lane order; for a part with
        effects the sum of all its lanes' note spans in note order (lanes
        hold consecutive notes and are in order), before gain, pan and the
        effects (:func:`mix_chunks` applies them).
    """
    by_part: list[list] = [[] for _ in plan.parts]
    for k in sorted(lane_blocks):
        block = lane_blocks[k]
        if isinstance(block, NoteSpans):
            by_part[plan.lanes[k].part].extend(block.spans)
        else:
            by_part[plan.lanes[k].part].append(block)
    # several lanes of a part without effects sound together only where a
    # tail crosses into the next lane
    return [sum_spans(spans) if spans else None for spans in by_part]


def wet_blocks(plan: RenderPlan, blocks: list[MonoSpan | None], states: list, n: int
               ) -> list[PartBlock | None]:
    """Part blocks from :func:`part_blocks` with each part's effects applied.

    A part with effects gets a :class:`StereoBlock` every block, silent or
    not (its effects ring on): its dry sum through gain and pan, then its
    effects, whose state (``states[i]``, from ``chain.start()``) is updated
    in place for the next block.  The other parts' blocks pass unchanged.
    """
    out: list[PartBlock | None] = list(blocks)
    for i, pp in enumerate(plan.parts):
        if pp.chain:
            dry = blocks[i]
            stereo = dry.to_stereo(pp.left, pp.right, n) if dry is not None else np.zeros((2, n))
            wet, states[i] = pp.chain.process(stereo, states[i])
            out[i] = StereoBlock(wet)
    return out


def part_stereo(plan: RenderPlan, index: int, block: PartBlock | None, n: int) -> np.ndarray:
    """Part ``index``'s block from :func:`wet_blocks` as stereo ``(2, n)``."""
    if block is None:
        return np.zeros((2, n))
    pp = plan.parts[index]
    return block.to_stereo(pp.left, pp.right, n)


def mix_blocks(plan: RenderPlan, blocks: list[PartBlock | None], n: int) -> np.ndarray:
    """Sum part blocks from :func:`wet_blocks` (all parts) into a stereo block.

    Parts with effects (stereo blocks) are added in score order.  Parts
    without effects that share their pan gains are summed as mono first, in
    score order, and scaled into the two channels once: a file with many
    parts on the same gains (300 MIDI tracks, say) costs one add a sample per
    part instead of three passes.  Silent parts are skipped (the sum starts
    at +0.0, so adding zeros would change nothing).  The order never depends
    on ``--jobs`` or the block size.
    """
    mix = np.zeros((2, n))
    same_gains: dict[tuple[float, float], list[MonoSpan]] = {}
    for pp, block in zip(plan.parts, blocks):
        if block is None:
            continue
        if pp.chain:
            mix += block.samples
        else:
            same_gains.setdefault((pp.left, pp.right), []).append(block)
    scratch = np.empty(n)
    for (left, right), spans in same_gains.items():
        total = sum_spans(spans)
        span, scaled = slice(total.offset, total.end), scratch[:len(total.samples)]
        np.multiply(total.samples, left, out=scaled)
        mix[0, span] += scaled
        if right != left:               # a centred part: the same product twice
            np.multiply(total.samples, right, out=scaled)
        mix[1, span] += scaled
    return mix


def mix_chunks(plan: RenderPlan, lane_source: Iterable[Mapping[int, LaneBlock]],
               chunk_samples: int = DEFAULT_CHUNK, stems: bool = True) -> Iterator[MixBlock]:
    """The raw mix of ``plan`` block by block, from the lane blocks of every lane.

    Parameters
    ----------
    lane_source : iterable of dict of int to LaneBlock
        Every lane's blocks, as :func:`lane_chunks` over all lanes yields
        them (or :func:`synth.render.parallel.lane_source`, computed by
        several processes).
    chunk_samples : int
        Block size of ``lane_source``.
    stems : bool
        False: ``MixBlock.stems`` is None (saves building them).

    Yields
    ------
    MixBlock
        ``stems``: one ``(2, m)`` block per part, after the part's gain, pan
        and effects; ``audio``: their sum, in part order, through the score's
        master effects (so the stems sum to the mix when there are none).
    """
    a = 0
    master_state = plan.master_chain.start()
    effects = [pp.chain.start() for pp in plan.parts]
    for lane_blocks in lane_source:
        n = min(chunk_samples, plan.frames - a)
        a += n
        blocks = wet_blocks(plan, part_blocks(plan, lane_blocks), effects, n)
        mix = mix_blocks(plan, blocks, n)
        if plan.master_chain:
            mix, master_state = plan.master_chain.process(mix, master_state)
        yield MixBlock([part_stereo(plan, i, blk, n) for i, blk in enumerate(blocks)]
                       if stems else None, mix)
