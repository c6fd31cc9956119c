"""The Fairlight voice on the calls of a real render, replayed in any tree (issue 19).

Two steps, so that two trees can be compared on the same calls:

1. ``--capture FILE`` renders an arrangement (default: Seven Bells) in this
   process with ``jobs=1`` and keeps the arguments of every ``--every``-th
   note's calls of :func:`synth.dsp.fairlight.voice` (all the pieces of a
   kept note, their states chained) in ``FILE`` (a pickle; read it only
   from a trusted place).
2. ``python bench/bench_fairlight.py FILE`` replays them: CPU nanoseconds
   per sample of each kind (Mode 1, Mode 4, Mode 4 with a sustain loop;
   best of ``--rounds``, the Mode-1 table cache warm as in a render) and a
   digest of the samples, which must be equal between trees that compute
   the same samples.  Calls captured with a control-rate pitch curve
   (``step``) are replayed with the curve repeated per sample in a tree
   whose ``voice`` takes no ``step`` (as its Fairlight source passed it).

Usage::

    python bench/bench_fairlight.py --capture /tmp/fairlight.pkl
    for t in /tmp/base .; do PYTHONPATH=$t python -P bench/bench_fairlight.py /tmp/fairlight.pkl; done

Run the trees alternately a few times: the load moves between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import pickle
import sys
import time
import zlib

import numpy as np

from synth.dsp import fairlight  # noqa: E402

try:                                    # the CLI's allocator settings
    from synth.commands._common import keep_freed_memory  # noqa: E402
except ImportError:                     # pragma: no cover - older trees
    def keep_freed_memory():
        return None

__all__ = ["capture", "replay", "main"]

DEFAULT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "arrangements", "sonnerie-seven-bells.toml")


def _pack(x):
    """An array as (dtype, shape, zlib bytes): envelopes and stepped pitch curves
    are runs of equal values and shrink a thousandfold."""
    if x is None or np.ndim(x) == 0:
        return x
    x = np.ascontiguousarray(x)
    return (x.dtype.str, x.shape, zlib.compress(x.tobytes(), 1))


def _unpack(x):
    if not isinstance(x, tuple):
        return x
    dtype, shape, data = x
    return np.frombuffer(zlib.decompress(data), dtype=dtype).reshape(shape).copy()


def _kind(kw) -> str:
    if kw.get("mode") == 1:
        return "mode 1"
    return "mode 4, loop" if kw.get("loop") is not None else "mode 4"


def capture(arrangement: str, path: str, every: int) -> dict[str, int]:
    """Render ``arrangement`` and pickle the voice calls of every ``every``-th note into ``path``."""
    from synth.loader import load
    from synth.render import render_to_file

    score = load(arrangement)
    original = fairlight.voice
    waveforms: dict[bytes, int] = {}
    stored: list[np.ndarray] = []
    calls: list[tuple] = []
    # id(state) -> the index of the kept call that returned it (None: a note not kept);
    # every state handed in was returned by an earlier call, registered then, so a
    # reused id was overwritten before it is looked up
    producer: dict[int, int | None] = {}
    notes = [0]

    def recording(waveform, freq, **kw):
        state = kw.pop("state", None)
        kw.pop("tables", None)
        y, new = original(waveform, freq, state=state, tables=fairlight_tables(), **kw)
        if state is None:
            notes[0] += 1
            keep = notes[0] % every == 0
            link = -1
        else:
            link = producer.pop(id(state))
            keep = link is not None
        if keep:
            w = np.ascontiguousarray(waveform, dtype=np.float64)
            key = w.tobytes() + repr(w.shape).encode()
            if key not in waveforms:
                waveforms[key] = len(stored)
                stored.append(w)
            calls.append((waveforms[key], _pack(freq), link,
                          {k: _pack(v) for k, v in kw.items()}))
        producer[id(new)] = len(calls) - 1 if keep else None
        return y, new

    tables = fairlight.WavetableCache(48 << 20)

    def fairlight_tables():
        return tables

    fairlight.voice = recording
    try:
        out = path + ".wav"
        render_to_file(score, out, jobs=1, force=True)
        os.remove(out)
    finally:
        fairlight.voice = original
    with open(path, "wb") as f:
        pickle.dump({"stored": stored, "calls": calls}, f)
    counts: dict[str, int] = {}
    for _, _, _, kw in calls:
        counts[_kind(kw)] = counts.get(_kind(kw), 0) + 1
    return counts


def replay(path: str, rounds: int) -> list[tuple[str, int, float, str]]:
    """``(kind, samples, CPU ns per sample, digest)`` of the calls pickled in ``path``."""
    with open(path, "rb") as f:
        data = pickle.load(f)
    stored = data["stored"]
    by_kind: dict[str, list] = {}
    for index, (w, freq, link, kw) in enumerate(data["calls"]):
        by_kind.setdefault(_kind(kw), []).append(
            (index, stored[w], _unpack(freq), link, {k: _unpack(v) for k, v in kw.items()}))
    tables = fairlight.WavetableCache(48 << 20)
    takes_step = "step" in inspect.signature(fairlight.voice).parameters
    if not takes_step:                  # an older tree: the pitch curve per sample
        for kind_calls in by_kind.values():
            for j, (index, waveform, freq, link, kw) in enumerate(kind_calls):
                step = kw.pop("step", 1)
                if step > 1:
                    kind_calls[j] = (index, waveform, np.repeat(freq, step)[:kw["n"]], link, kw)
    results = []
    for kind in sorted(by_kind):
        calls = by_kind[kind]

        def run(digest=None):
            states = {}
            samples = 0
            for index, waveform, freq, link, kw in calls:
                y, states[index] = fairlight.voice(waveform, freq, state=states.pop(link, None),
                                                   tables=tables, **kw)
                samples += len(y)
                if digest is not None:
                    digest.update(y.tobytes())
            return samples

        digest = hashlib.sha256()
        samples = run(digest)               # also loads (or compiles) the kernels
        best = float("inf")
        for _ in range(rounds):
            t = time.process_time()
            run()
            best = min(best, time.process_time() - t)
        results.append((kind, samples, best / samples * 1e9, digest.hexdigest()[:12]))
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("calls", help="pickle of captured calls (written with --capture)")
    ap.add_argument("--capture", action="store_true", help="render and write the calls")
    ap.add_argument("--arrangement", default=DEFAULT, help="arrangement to capture from "
                    "(default: Seven Bells)")
    ap.add_argument("--every", type=int, default=4, help="keep every N-th note (4)")
    ap.add_argument("--rounds", type=int, default=3, help="replays timed; the best is shown")
    args = ap.parse_args(argv)
    keep_freed_memory()
    if args.capture:
        for kind, count in sorted(capture(args.arrangement, args.calls, args.every).items()):
            print(f"{kind}: {count} calls")
        return
    import synth

    print(f"synth from {os.path.dirname(synth.__file__)}")
    print("| kind | samples | CPU ns / sample | samples digest |\n|---|---:|---:|---|")
    total_samples = total = 0.0
    for kind, samples, ns, digest in replay(args.calls, args.rounds):
        print(f"| {kind} | {samples} | {ns:.2f} | `{digest}` |")
        total_samples += samples
        total += ns * samples
    print(f"| all | {int(total_samples)} | {total / total_samples:.2f} | |")


if __name__ == "__main__":
    main()
