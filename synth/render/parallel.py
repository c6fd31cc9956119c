"""Lanes rendered by forked worker processes, behind the same "iterator of lane blocks".

:func:`lane_source` is what :func:`synth.render.lanes.mix_chunks` consumes:
for ``jobs == 1`` (or where processes cannot be forked) it is
:func:`~synth.render.lanes.lane_chunks` over every lane; otherwise ``jobs -
1`` forked workers render their share of the lanes (:func:`assign_lanes`)
and copy their blocks into shared memory (:class:`Ring`), while this process
renders its own share beside mixing and writing.  Either way the consumer
gets the same dict of lane blocks for every block, so the mix is the same
sum, bit for bit.  A worker dies with its parent (:func:`die_with_parent`).
"""

from __future__ import annotations

import math
import os
from typing import Iterator

import numpy as np

from ..dsp import jit
from ..errors import RenderError
from .lanes import LaneBlock, MonoSpan, NoteSpans, lane_chunks
from .plan import DEFAULT_CHUNK, Lane, RenderPlan

__all__ = ["lane_source", "assign_lanes", "can_fork", "die_with_parent", "Ring",
           "PARENT_LOAD", "LOOKAHEAD_BLOCKS", "TAIL_BLOCKS"]

#: Extra share of the work the parent process has beside its lanes (mixing,
#: spooling), measured on the 180 s benchmark: with 0.04 the renders were
#: fastest (median of 5: 2.43 s against 2.47 s with 0 and 2.43 s with 0.08).
PARENT_LOAD = 0.04
#: Blocks a worker may run ahead of the mix (absorbs uneven blocks: a chord
#: renders all its notes in the block where it starts).
LOOKAHEAD_BLOCKS = 8
#: Lanes starting this many blocks before the last lane starts go to workers
#: (measured on the 180 s benchmark: 4 saves ~0.06 s of the parent finishing alone).
TAIL_BLOCKS = 4


def lane_source(plan: RenderPlan, chunk_samples: int = DEFAULT_CHUNK,
                jobs: int = 1) -> Iterator[dict[int, LaneBlock]]:
    """Every lane's blocks of ``plan``, as :func:`~synth.render.lanes.lane_chunks` yields them.

    ``jobs`` processes share the work when there is more than one lane and
    processes can be forked; the blocks are the same for any ``jobs``.
    Close the iterator (or exhaust it) to end the workers.
    """
    if jobs > 1 and len(plan.lanes) > 1 and can_fork():
        return _parallel_lane_chunks(plan, chunk_samples, jobs)
    return lane_chunks(plan, range(len(plan.lanes)), chunk_samples)


def assign_lanes(lanes: list[Lane], jobs: int, parent_load: float = 0.0,
                 tail_start: float = math.inf, length: float | None = None,
                 parent_fixed: float = 0.0) -> list[list[int]]:
    """Share lane indices between ``jobs`` processes, the last being the parent.

    Lanes are dealt in time order, each to the process with the least work so
    far, so every process has work all through the piece (blocks stream in
    time order: one that finished its share early would just wait).  The
    parent's work counts ``1 / (1 - parent_load)`` times: it also mixes.
    Lanes starting at or after ``tail_start`` go to the workers only.

    ``parent_fixed`` is work the parent does on every block up to ``length``
    (samples) besides its lanes: the parts' effects.  While the lanes are
    dealt it counts in proportion to the time elapsed, so the lanes fill in
    around it evenly.
    """
    scale = [1.0] * (jobs - 1) + [1.0 / max(1.0 - parent_load, 0.05)]
    groups: list[list[int]] = [[] for _ in range(jobs)]
    spread = [0.0] * (jobs - 1) + [parent_fixed * scale[-1]]
    length = float(length or max((lane.start for lane in lanes), default=0) or 1)
    loads = [0.0] * jobs
    order = sorted(range(len(lanes)), key=lambda k: (lanes[k].start, -lanes[k].cost))
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


class Ring:
    """Float64 ring buffer in memory shared with forked workers (one producer, one consumer).

    A worker copies its blocks' arrays in once; the parent reads them in
    place.  Through a pipe the same bytes were copied twice and cost the
    worker 0.15 s and the parent's reader as much again on the 180 s file;
    measured again against a pipe read by a thread into a bounded queue
    (``bench_render.py --baseline``, same rounds, --jobs 2), that simpler
    version used 18 % more CPU and 13 % more peak memory.
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


class _ParentGone(Exception):
    """The parent process has ended: the worker stops."""


class _RingCursor:
    """A worker's write position in its :class:`Ring`, and how far the parent has read."""

    def __init__(self, ring: Ring, freed_conn, parent: int):
        self.ring, self.freed_conn, self.parent = ring, freed_conn, parent
        self.head = self.freed = 0

    def put(self, samples: np.ndarray, block_start: int) -> int | None:
        """Copy ``samples`` into the ring; returns their position there.

        None when they cannot fit beside the rest of the current block
        (which began at ``block_start``): waiting would never make room.
        Waits while the parent is behind (:class:`_ParentGone` if it ends).
        """
        ring, m = self.ring, len(samples)
        pos = self.head % ring.size
        skip = ring.size - pos if pos + m > ring.size else 0   # no room before the end
        if self.head + skip + m - ring.size > block_start:
            return None
        self.head += skip
        pos = self.head % ring.size
        while self.freed_conn.poll():
            self.freed = int.from_bytes(self.freed_conn.recv_bytes(), "little")
        while self.head + m - self.freed > ring.size:      # the parent is behind: wait
            if not self.freed_conn.poll(0.5):
                if os.getppid() != self.parent:
                    raise _ParentGone
                continue
            self.freed = int.from_bytes(self.freed_conn.recv_bytes(), "little")
        ring.data[pos:pos + m] = samples
        self.head += m
        return pos


def _worker(plan: RenderPlan, lane_ids, chunk_samples, ring: Ring, conn, freed_conn,
            parent: int, inherited) -> None:
    """Render ``lane_ids`` and hand each block to the parent through ``ring``.

    Per block, one message on ``conn``: ``b"B"``, the ring position after the
    block (int64), then ``(lane, offset, samples, ring position or -1)`` per
    span (one per lane, or one per sounding note for a lane of a part with
    effects, in note order); an array that does not fit in the ring beside
    the rest of its block follows as its own message.  The parent
    sends back, on ``freed_conn``, the ring position up to which it has
    finished reading.

    The worker first closes the parent's ends of the pipes it inherited
    (``inherited``: its own and the earlier workers'), so that when the
    parent dies, however it dies, a send fails and a wait for room in the
    ring ends: nothing but the parent holds the other ends.
    """
    for end in inherited:
        end.close()
    die_with_parent(parent)
    ring_at = _RingCursor(ring, freed_conn, parent)
    try:
        for blocks in lane_chunks(plan, lane_ids, chunk_samples):
            entries, large = [], []
            block_start = ring_at.head  # the parent can free at most up to here before this block
            for k, b in blocks.items():
                # a lane of a part with effects: each note's span (the parent sums them)
                for span in (b.spans if isinstance(b, NoteSpans) else (b,)):
                    m = len(span.samples)
                    pos = ring_at.put(span.samples, block_start)
                    if pos is None:
                        # only this block's own data could make room: it goes by pipe
                        large.append(np.ascontiguousarray(span.samples))
                        pos = -1
                    entries.append([k, span.offset, m, pos])
            conn.send_bytes(b"B" + ring_at.head.to_bytes(8, "little")
                            + np.array(entries, dtype=np.int64).reshape(-1, 4).tobytes())
            for flat in large:
                conn.send_bytes(flat)
    except _ParentGone:
        return
    except BaseException as e:  # report, never hang the parent
        try:
            conn.send_bytes(b"E" + f"{type(e).__name__}: {e}".encode()[:2000])
        except OSError:
            pass
    finally:
        conn.close()


def die_with_parent(parent: int | None = None) -> None:
    """Have Linux end this (forked worker) process when its parent dies.

    A parent killed with SIGKILL or SIGTERM runs no clean-up, so its workers
    must end on their own: on Linux the kernel sends them SIGKILL
    (``PR_SET_PDEATHSIG``); elsewhere a worker notices a closed pipe or, while
    waiting, that its parent is gone.  ``parent`` (the pid that forked this
    process) closes the race of a parent that died before the call.
    """
    try:
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))
    except (OSError, AttributeError):
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _receive_block(ring: Ring, conn, note_lanes) -> tuple[dict[int, LaneBlock], int]:
    """The parent's side of :func:`_worker`: one block's lane blocks, and its ring end.

    ``note_lanes`` holds the lanes of parts with effects (their blocks are
    :class:`NoteSpans`).  Spans are views into the ring, valid until the end
    position is sent back.
    """
    try:
        message = conn.recv_bytes()
    except EOFError:
        raise RenderError("a render worker died unexpectedly") from None
    if message[:1] == b"E":
        raise RenderError("a render worker failed: " + message[1:].decode(errors="replace"))
    end = int.from_bytes(message[1:9], "little")
    spans: dict[int, list[MonoSpan]] = {}
    for k, off, m, pos in np.frombuffer(message[9:], dtype=np.int64).reshape(-1, 4).tolist():
        if pos < 0:
            data = np.frombuffer(conn.recv_bytes(), dtype=np.float64)
        else:
            data = ring.data[pos:pos + m]
        spans.setdefault(k, []).append(MonoSpan(off, data))
    return {k: NoteSpans(tuple(s)) if k in note_lanes else s[0]
            for k, s in spans.items()}, end


def can_fork() -> bool:
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


def _parallel_lane_chunks(plan: RenderPlan, chunk_samples: int, jobs: int):
    """:func:`~synth.render.lanes.lane_chunks` for every lane, computed by forked workers.

    ``jobs`` processes share the lanes (:func:`assign_lanes`): ``jobs - 1``
    forked workers copy their blocks into shared rings (:class:`Ring`, room
    for about :data:`LOOKAHEAD_BLOCKS` blocks, so they can run that far
    ahead), while this process renders its own share (arrays that do not fit
    go through the pipe).  Memory stays bounded by the rings.
    """
    import multiprocessing as mp

    jit.preload()                   # numba set up once, inherited by every worker (~1 s CPU each)
    ctx = mp.get_context("fork")
    last_start = max(lane.start for lane in plan.lanes)
    groups = assign_lanes(plan.lanes, min(jobs, len(plan.lanes)), parent_load=PARENT_LOAD,
                          tail_start=last_start - TAIL_BLOCKS * chunk_samples,
                          length=plan.frames, parent_fixed=plan.effects_cost)
    note_lanes = {k for k, lane in enumerate(plan.lanes) if plan.parts[lane.part].chain}
    own = groups.pop()
    local = lane_chunks(plan, own, chunk_samples)
    parent = os.getpid()
    workers = []
    try:
        for g in groups:
            # room for the look-ahead at about four sounding lanes per block
            # (16 MiB at the default block size; never more than 32 MiB)
            ring = Ring(min(max(LOOKAHEAD_BLOCKS * 4 * chunk_samples, 1 << 16), 1 << 22))
            recv, send = ctx.Pipe(duplex=False)
            freed_recv, freed_send = ctx.Pipe(duplex=False)
            _widen_pipe(send)
            inherited = [recv, freed_send] + [c for w in workers for c in w[1:3]]
            proc = ctx.Process(target=_worker,
                               args=(plan, g, chunk_samples, ring, send, freed_recv, parent,
                                     inherited), daemon=True)
            workers.append((ring, recv, freed_send, proc))
            proc.start()
            send.close()
            freed_recv.close()
        for _ in range(0, plan.frames, chunk_samples):
            blocks = dict(next(local))
            ends = []
            for ring, recv, _, _ in workers:
                got, end = _receive_block(ring, recv, note_lanes)
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
