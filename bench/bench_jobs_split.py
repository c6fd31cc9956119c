"""Where a ``--jobs N`` render spends its time, process by process (issue 19, Sonnerie).

Loads a score (an arrangement or a MIDI file), then runs
``synth.render.render_to_file(score, out, jobs=N)`` with timers wrapped
around the render's stages from outside (nothing is timed in the package
itself).  Prints, for the parent and each forked worker, wall and CPU time
of each stage (CPU from ``time.thread_time``, wall from ``perf_counter``;
a stage whose wall is well above its CPU was waiting), page faults, and
the render's wall and CPU from ``getrusage`` as a whole.

Stages:

* parent ``own lanes``: rendering the lanes it claimed (``lane_chunks``);
* parent ``receive``: waiting for and reading a worker's block (``_receive_block``);
* parent ``mix``: part sums, the parts' effects, the mix and master effects;
* parent ``spool``: writing the raw mix to the spool;
* parent ``master+write``: after the last block, the peak / loudness pass and encoding;
* worker ``render``: rendering its claimed lanes; ``put``: copying spans into the
  ring (and waiting for room); ``send``: the block header through the pipe.

Usage::

    cd /tmp && PYTHONPATH=TREE python -P TREE/bench/bench_jobs_split.py FILE [--jobs 2]
        [--profile DIR]   # also a cProfile of each process into DIR
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import sys
import tempfile
import time


class Timers:
    """Wall and CPU time per stage name, for one process."""

    def __init__(self):
        self.wall = collections.Counter()
        self.cpu = collections.Counter()
        self.calls = collections.Counter()
        self.events = collections.defaultdict(list)   # stage -> [(start, end)] (perf_counter)

    def add(self, name: str, wall: float, cpu: float) -> None:
        """Count one call of ``name`` that began at ``wall`` (perf_counter) and CPU ``cpu``."""
        self.wall[name] += time.perf_counter() - wall
        self.cpu[name] += time.thread_time() - cpu
        self.calls[name] += 1
        self.events[name].append((wall, time.perf_counter()))

    def timed(self, name, func):
        def wrapper(*args, **kwargs):
            w, c = time.perf_counter(), time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(name, w, c)
        return wrapper

    def timed_iter(self, name, iterable):
        it = iter(iterable)
        while True:
            w, c = time.perf_counter(), time.thread_time()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                self.add(name, w, c)
            yield item

    def report(self) -> dict:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {"stages": {k: [self.wall[k], self.cpu[k], self.calls[k]] for k in self.wall},
                "cpu": ru.ru_utime + ru.ru_stime, "sys": ru.ru_stime, "minflt": ru.ru_minflt,
                "majflt": ru.ru_majflt, "pid": os.getpid(), "events": self.events}


def show(title: str, rep: dict, base: dict | None = None) -> None:
    cpu = rep["cpu"] - (base["cpu"] if base else 0)
    flt = rep["minflt"] - (base["minflt"] if base else 0)
    system = rep["sys"] - (base["sys"] if base else 0)
    print(f"{title}: CPU {cpu:.2f} s ({system:.2f} s system), minor faults {flt}")
    for name, (wall, c, n) in sorted(rep["stages"].items(), key=lambda kv: -kv[1][0]):
        print(f"  {name:14s} wall {wall:7.2f} s  CPU {c:7.2f} s  waited {wall - c:6.2f} s  ({n} calls)")


def timeline(parent: dict, worker: dict, t0: float, every: int) -> None:
    """Per block: when the parent had its own lanes, when it got the worker's, when the worker
    sent it; the worker's lead in blocks; the waits since the previous line."""
    own, recv = parent.get("own lanes", []), parent.get("receive", [])
    render, put, send = worker.get("render", []), worker.get("put", []), worker.get("send", [])
    sent = [e for _, e in send]
    print(f"first block: parent's own lanes asked at {own[0][0] - t0:.2f} s, done at "
          f"{own[0][1] - t0:.2f} s; worker's first lanes asked at {render[0][0] - t0:.2f} s, "
          f"sent at {sent[0] - t0:.2f} s; last block received at {recv[-1][1] - t0:.2f} s")
    print(" block   own done  received  w. sent  lead | parent: own  recv-wait | worker: render  put")
    prev = 0
    for i in range(0, len(recv), every):
        hi = min(i + every, len(recv))
        t = recv[hi - 1][1]
        lead = sum(1 for e in sent if e <= t) - hi
        span = lambda ev, lo, hi: sum(e - s for s, e in ev[lo:hi])
        w_put = sum(e - s for s, e in put if recv[prev][0] <= s < t)
        print(f"{hi - 1:6d} {own[hi - 1][1] - t0:9.2f} {t - t0:9.2f} "
              f"{(sent[hi - 1] - t0) if hi - 1 < len(sent) else float('nan'):8.2f} {lead:5d} |"
              f" {span(own, i, hi):10.2f} {span(recv, i, hi):10.2f} |"
              f" {span(render, i, hi):14.2f} {w_put:5.2f}")
        prev = hi - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--profile", metavar="DIR")
    ap.add_argument("--record", metavar="JSON",
                    help="with --jobs 1: write each lane's CPU per block and each block's mix CPU "
                         "(input of bench_jobs_sim.py)")
    ap.add_argument("--timeline", type=int, default=0, metavar="K",
                    help="print every K-th block: when each process finished it and what each waited")
    args = ap.parse_args()

    from synth.loader import load
    from synth.render import lanes, output, parallel

    t0 = time.perf_counter()
    score = load(args.file)
    t_load = time.perf_counter() - t0
    timers = Timers()
    results = tempfile.mkdtemp(prefix="split-")
    profile = args.profile
    if profile:
        os.makedirs(profile, exist_ok=True)

    original_worker = parallel._worker
    original_lane_chunks = parallel.lane_chunks

    def worker(*a, **kw):
        global_timers = Timers()
        parallel.lane_chunks = lambda *x, **y: global_timers.timed_iter(
            "render", original_lane_chunks(*x, **y))
        parallel._RingCursor.put = global_timers.timed("put", put)
        a = list(a)
        conn = a[5]
        conn.send_bytes = global_timers.timed("send", conn.send_bytes)
        base = Timers().report()
        prof = None
        if profile:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        w0 = time.perf_counter()
        try:
            original_worker(*a, **kw)
        finally:
            if prof:
                prof.disable()
                prof.dump_stats(os.path.join(profile, f"worker-{os.getpid()}.prof"))
            rep = global_timers.report()
            rep["wall"] = time.perf_counter() - w0
            rep["base"] = base
            with open(os.path.join(results, f"w{os.getpid()}.json"), "w") as f:
                json.dump(rep, f)

    put = parallel._RingCursor.put
    parallel._worker = worker
    parallel.lane_chunks = lambda *x, **y: timers.timed_iter(
        "own lanes", original_lane_chunks(*x, **y))
    parallel._receive_block = timers.timed("receive", parallel._receive_block)
    lanes.part_blocks = timers.timed("mix", lanes.part_blocks)
    lanes.wet_blocks = timers.timed("mix", lanes.wet_blocks)
    lanes.mix_blocks = timers.timed("mix", lanes.mix_blocks)
    output.Spool.write = timers.timed("spool", output.Spool.write)
    output._write_out = timers.timed("master+write", output._write_out)
    output.master_gain = timers.timed("master+write", output.master_gain)
    output.RenderPlan = timers.timed("plan", output.RenderPlan)

    record = None
    if args.record:
        record = {"lane": [], "mix": []}
        spans = lanes.LaneCursor.spans

        def timed_spans(self, a, b):
            c = time.thread_time()
            out = spans(self, a, b)
            ids = record.setdefault("ids", {id(ln): k for k, ln in enumerate(self.plan.lanes)})
            if not out:
                n = 0       # what crosses the ring: one summed span, or each note's span
            elif self.part.chain and a < self.lane.first_from:
                n = sum(len(x.samples) for x in out)
            else:
                n = max(x.end for x in out) - min(x.offset for x in out)
            record["lane"].append((ids[id(self.lane)], a, time.thread_time() - c, n))
            return out
        lanes.LaneCursor.spans = timed_spans
        for name in ("part_blocks", "wet_blocks", "mix_blocks"):
            func = getattr(lanes, name)

            def timed(*x, func=func):
                c = time.thread_time()
                try:
                    return func(*x)
                finally:
                    record["mix"].append(time.thread_time() - c)
            setattr(lanes, name, timed)
        make_plan = output.RenderPlan

        def keep_plan(*x, **y):
            record["plan"] = make_plan(*x, **y)
            return record["plan"]
        output.RenderPlan = keep_plan

    base = timers.report()
    prof = None
    if profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    w0 = time.perf_counter()
    out = os.path.join(results, "out.wav")
    output.render_to_file(score, out, jobs=args.jobs, force=True)
    wall = time.perf_counter() - w0
    if prof:
        prof.disable()
        prof.dump_stats(os.path.join(profile, "parent.prof"))
    rep = timers.report()
    if record:
        plan = record["plan"]
        mix = record["mix"]
        with open(args.record, "w") as f:
            json.dump({"lane": record["lane"], "chunk": 65536, "frames": plan.frames,
                       "lanes": [(ln.part, ln.start, bool(plan.parts[ln.part].chain))
                                 for ln in plan.lanes],
                       "mix": [sum(mix[i:i + 3]) for i in range(0, len(mix), 3)],
                       "stages": {k: v for k, v in rep["stages"].items()}}, f)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{args.file}: load {t_load:.2f} s; render wall {wall:.2f} s, parent CPU "
          f"{rep['cpu'] - base['cpu']:.2f} s, children CPU "
          f"{children.ru_utime + children.ru_stime:.2f} s, load average {os.getloadavg()[0]:.1f}")
    show("parent", rep, base)
    workers = []
    for name in sorted(os.listdir(results)):
        if name.endswith(".json"):
            with open(os.path.join(results, name)) as f:
                w = json.load(f)
            workers.append(w)
            print(f"worker {w['pid']}: wall {w['wall']:.2f} s (from its start)")
            show("worker", w, w["base"])
            os.remove(os.path.join(results, name))
    if args.timeline and workers:
        timeline(rep["events"], workers[0]["events"], w0, args.timeline)
    os.remove(out)
    os.rmdir(results)


if __name__ == "__main__":
    main()
