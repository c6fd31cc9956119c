"""Lanes rendered by forked worker processes, behind the same "iterator of lane blocks".

:func:`lane_source` is what :func:`synth.render.lanes.mix_chunks` consumes:
for ``jobs == 1`` (or where processes cannot be forked) it is
:func:`~synth.render.lanes.lane_chunks` over every lane; otherwise ``jobs -
1`` forked workers render their share of the lanes and copy their blocks
into shared memory (:class:`Ring`), while this process renders its own share
beside mixing, the parts' effects and writing.  The lanes are shared as the
render goes (:class:`Claims`): each process takes the lanes that start
where it has got to, this process a little ahead of its position, so a
process that falls behind takes fewer, whatever the lanes cost; lanes that
start in the same block are dealt in turns (:func:`claim_turns`).  Either way
the consumer gets the same dict of lane blocks for every block, so the mix
is the same sum, bit for bit.  A worker dies with its parent (:func:`die_with_parent`).
After the last block, :func:`read_ahead` lets the write pass use the core the
workers leave idle.
"""

from __future__ import annotations

import collections
import os
from typing import Callable, Iterable, Iterator

import numpy as np

from ..dsp import jit
from ..errors import RenderError
from .lanes import LaneBlock, MonoSpan, NoteSpans, lane_chunks
from .plan import DEFAULT_CHUNK, RenderPlan

__all__ = ["lane_source", "Claims", "claim_turns", "can_fork", "die_with_parent", "Ring",
           "PARENT_CLAIM_AHEAD", "PARENT_AHEAD_BLOCKS", "LOOKAHEAD_BLOCKS", "TAIL_BLOCKS",
           "read_ahead"]

#: Blocks ahead of the one it renders its own lanes for at which the parent
#: claims lanes.  The workers claim at the block they render, up to
#: :data:`LOOKAHEAD_BLOCKS` ahead of the parent: a worker that keeps its lead
#: takes the lanes, one that falls back to within this many blocks leaves
#: them to the parent.
PARENT_CLAIM_AHEAD = 1
#: Blocks the parent may render its own lanes ahead of the block it mixes
#: while a worker's block is not there yet: instead of waiting, it works
#: ahead, and so claims the next lanes before the worker that is behind.
PARENT_AHEAD_BLOCKS = 4
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


class Claims:
    """Which process renders each lane: the one that asks on its turn (shared with forked workers).

    One int32 per lane in shared memory says who took it (0: nobody yet),
    one counts the processes that have asked (not bytes: ``--jobs``
    defaults to the machine's cores, which may be more than 127), changed under a lock taken
    once per lane and process.  Lane ``k`` goes to the ``turns[k]``-th
    process to ask for it (default: the first), so that the lanes starting
    in one block are dealt in turns instead of all going to the process that
    got there first (see :func:`claim_turns`).  Which process renders a lane
    changes no sample (the mix sums lanes in lane order), so the order the
    processes come in does not matter.
    """

    def __init__(self, lanes: int, ctx, turns=None):
        import mmap

        n = max(int(lanes), 1)
        self.memory = mmap.mmap(-1, 2 * 4 * n)   # anonymous, MAP_SHARED: seen after fork
        self.owner = np.frombuffer(self.memory, dtype=np.int32, count=n)
        self.asked = np.frombuffer(self.memory, dtype=np.int32, count=n, offset=4 * n)
        self.turns = np.ones(n, np.int32) if turns is None else np.asarray(turns, np.int32)
        self.lock = ctx.Lock()

    def taker(self, who: int, gone: Callable[[], bool]) -> Callable[[int], bool]:
        """``claim(k) -> bool`` for process number ``who`` (>= 1): True if it takes lane ``k``.

        Each process asks for a lane at most once.  ``gone()`` is asked while
        the lock is busy for long (a process that died holding it); if it is
        true, :class:`RenderError`.
        """
        owner, asked, turns, lock = self.owner, self.asked, self.turns, self.lock

        def claim(k: int) -> bool:
            if owner[k]:
                return False
            while not lock.acquire(timeout=0.5):
                if gone():
                    raise RenderError("a render worker died unexpectedly")
            try:
                if owner[k]:
                    return False
                asked[k] += 1
                if asked[k] < turns[k]:
                    return False        # left for a process that asks later
                owner[k] = who
                return True
            finally:
                lock.release()
        return claim

    def close(self) -> None:
        self.owner = self.asked = None
        try:
            self.memory.close()
        except BufferError:
            pass


def claim_turns(plan: RenderPlan, chunk_samples: int, processes: int,
                askers: Callable[[int], int]) -> np.ndarray:
    """For each lane, on which request it is given (1: to the first process that asks).

    The lanes starting in the same block are dealt in turns: the first goes
    to the first process to ask, the next to the second, and so on
    (``processes`` of them), but never past the last of the ``askers(k)``
    processes that will ask for lane ``k``.  The parts' lanes without effects
    start together every :data:`~synth.render.plan.LANE_SAMPLES`; given all to
    whichever process got there first, they loaded it for the next stretch
    while the other ran out of work, and the two took turns waiting (Seven
    Bells: see bench/README.md).
    """
    turns = np.ones(len(plan.lanes), np.int32)
    block, j = None, 0
    for k, lane in enumerate(plan.lanes):           # in start order
        here = lane.start // chunk_samples
        j = j + 1 if here == block else 0
        block = here
        turns[k] = min(j % processes + 1, askers(k))
    return turns


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


def _worker(plan: RenderPlan, lane_ids, claim, chunk_samples, ring: Ring, conn, freed_conn,
            parent: int, inherited) -> None:
    """Render the lanes of ``lane_ids`` that ``claim`` gives it, and hand each block to
    the parent through ``ring``.

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
        for blocks in lane_chunks(plan, lane_ids, chunk_samples, claim=claim):
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


def read_ahead(blocks: Iterable[np.ndarray], depth: int = 2) -> Iterator[np.ndarray]:
    """``blocks``, computed by a thread up to ``depth`` blocks ahead of the consumer.

    After the last block of a ``--jobs`` render the workers are done and one
    core is idle: reading the spool back and scaling it (NumPy and file
    reads let go of the GIL) then runs beside the encoding and writing.  An
    exception in the thread is raised here; closing the iterator stops it.
    """
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def offer(item) -> bool:
        """Queue ``item``; False once the consumer has gone (never blocks for good)."""
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for block in blocks:
                if not offer((block, None)):
                    return
            offer((end, None))
        except BaseException as e:      # handed to the consumer
            offer((end, e))

    thread = threading.Thread(target=produce, name="synth-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            block, error = items.get()
            if error is not None:
                raise error
            if block is end:
                return
            yield block
    finally:
        stop.set()
        thread.join()


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


def _kept(blocks: dict[int, LaneBlock]) -> dict[int, LaneBlock]:
    """Lane blocks copied, to be kept while their lanes render on (their spans may be views
    into the sounding notes' pieces)."""
    def copy(span: MonoSpan) -> MonoSpan:
        return MonoSpan(span.offset, span.samples.copy())
    return {k: NoteSpans(tuple(copy(s) for s in b.spans)) if isinstance(b, NoteSpans) else copy(b)
            for k, b in blocks.items()}


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

    ``jobs`` processes share the lanes as they come (:class:`Claims`): ``jobs - 1``
    forked workers copy their blocks into shared rings (:class:`Ring`, room
    for about :data:`LOOKAHEAD_BLOCKS` blocks, so they can run that far
    ahead), while this process renders its own share (arrays that do not fit
    go through the pipe).  While a worker's block is not there yet, this
    process renders its own lanes up to :data:`PARENT_AHEAD_BLOCKS` ahead
    instead of waiting.  Memory stays bounded by the rings and that look-ahead.
    """
    import multiprocessing as mp

    jit.preload()                   # numba set up once, inherited by every worker (~1 s CPU each)
    ctx = mp.get_context("fork")
    tail_start = max(lane.start for lane in plan.lanes) - TAIL_BLOCKS * chunk_samples
    note_lanes = {k for k, lane in enumerate(plan.lanes) if plan.parts[lane.part].chain}
    workers: list = []
    # the lanes at the very end are the workers': they run up to the
    # look-ahead in front of this process, which would else still be
    # rendering them while they sit idle
    own = [k for k, lane in enumerate(plan.lanes) if lane.start < tail_start]
    processes = min(jobs, len(plan.lanes))
    # this process (number ``processes``) never asks for the tail's lanes
    claims = Claims(len(plan.lanes), ctx, claim_turns(
        plan, chunk_samples, processes, lambda k: processes - (plan.lanes[k].start >= tail_start)))
    local = lane_chunks(plan, own, chunk_samples,
                        claim=claims.taker(processes,
                                           lambda: any(not w[3].is_alive() for w in workers)),
                        claim_ahead=PARENT_CLAIM_AHEAD)
    parent = os.getpid()
    try:
        for who in range(1, processes):
            # room for the look-ahead at about eight sounding lanes per block
            # (32 MiB at the default block size, never more): with less, on
            # the Sonnerie pieces the worker waited for room while the parent
            # took the lanes it could not (parent/worker CPU 17.5/12.1 s with
            # 16 MiB, 13.0/13.3 s with 64 MiB on Bells Backwards)
            ring = Ring(min(max(LOOKAHEAD_BLOCKS * 8 * chunk_samples, 1 << 16), 1 << 22))
            claim = claims.taker(who, lambda: os.getppid() != parent)
            recv, send = ctx.Pipe(duplex=False)
            freed_recv, freed_send = ctx.Pipe(duplex=False)
            _widen_pipe(send)
            inherited = [recv, freed_send] + [c for w in workers for c in w[1:3]]
            proc = ctx.Process(target=_worker,
                               args=(plan, range(len(plan.lanes)), claim, chunk_samples, ring,
                                     send, freed_recv, parent, inherited), daemon=True)
            workers.append((ring, recv, freed_send, proc))
            proc.start()
            send.close()
            freed_recv.close()
        ahead: collections.deque = collections.deque()     # own blocks rendered ahead
        count = -(-plan.frames // chunk_samples)
        for i in range(count):
            blocks = ahead.popleft() if ahead else dict(next(local))
            while (len(ahead) < PARENT_AHEAD_BLOCKS and i + 1 + len(ahead) < count
                   and not all(recv.poll() for _, recv, _, _ in workers)):
                ahead.append(_kept(next(local)))
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
        claims.close()
