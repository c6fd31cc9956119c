"""Time ``synth batch`` against a naive loop of ``synth render`` calls (issue 20).

Both render the same variations of one arrangement (default: 200 variations
of Nightmare March at 22 050 Hz, 24-bit) into WAV files:

* **naive**: one ``synth render INPUT --variation V`` process per variation,
  one after the other, each with its default ``--jobs`` (all cores sharing
  that one render), as a shell ``for`` loop would;
* **batch**: ``synth batch INPUT --variations A:B`` (items across a pool of
  one process per core, the input parsed once per process).

The machine is shared, so the work is cut into rounds of consecutive
variations and each round runs both commands back to back (alternating
which goes first): a slow minute slows both.  Wall time, CPU time (of the
command and its children, from :func:`os.wait4`) and the ratio are printed
as markdown; at the end every batch file is compared with the naive file of
the same variation, byte for byte.

Usage::

    python bench/bench_batch.py [--variations 200] [--rounds 4] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INPUT = os.path.join(ROOT, "arrangements", "laurel-waltz-nightmare-march.toml")


def timed(argv: list[str]) -> tuple[float, float]:
    """Run ``argv``; return (wall seconds, CPU seconds of it and its children)."""
    t0 = time.perf_counter()
    pid = os.spawnv(os.P_NOWAIT, argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variations", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--sample-rate", type=int, default=22_050)
    ap.add_argument("--input", default=INPUT)
    ap.add_argument("--workdir", help="where the WAVs go (default: a temporary folder)")
    args = ap.parse_args(argv)

    work = args.workdir or tempfile.mkdtemp(prefix="synth-bench-batch-")
    naive_dir, batch_dir = os.path.join(work, "naive"), os.path.join(work, "batch")
    for d in (naive_dir, batch_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    synth = [sys.executable, "-m", "synth"]
    sr = str(args.sample_rate)
    cuts = [round(k * args.variations / args.rounds) for k in range(args.rounds + 1)]
    totals = {"naive": [0.0, 0.0], "batch": [0.0, 0.0]}
    rows = []
    for r, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        def run_naive():
            wall = cpu = 0.0
            for v in range(a, b):
                w, c = timed(synth + ["render", args.input, "--variation", str(v),
                                      "--sample-rate", sr, "-o",
                                      os.path.join(naive_dir, f"{v}.wav"), "--quiet"])
                wall, cpu = wall + w, cpu + c
            return wall, cpu

        def run_batch():
            return timed(synth + ["batch", args.input, "--variations", f"{a}:{b}",
                                  "--sample-rate", sr, "-o", batch_dir, "--quiet"])

        order = [("naive", run_naive), ("batch", run_batch)]
        if r % 2:
            order.reverse()
        got = {}
        for name, fn in order:
            got[name] = fn()
            totals[name][0] += got[name][0]
            totals[name][1] += got[name][1]
        rows.append((r, b - a, got["naive"], got["batch"]))
        print(f"round {r}: {b - a} variations: naive {got['naive'][0]:.1f} s, "
              f"batch {got['batch'][0]:.1f} s", file=sys.stderr)

    # byte for byte: the batch's file of each variation is the naive render's
    records = [json.loads(line) for line in open(os.path.join(batch_dir, "manifest.jsonl"))]
    same = sum(filecmp.cmp(os.path.join(batch_dir, rec["outputs"][0]["path"]),
                           os.path.join(naive_dir, f"{rec['variation']}.wav"), shallow=False)
               for rec in records)
    audio_s = sum(rec["duration_seconds"] for rec in records)

    n = args.variations
    print(f"{n} variations of `{os.path.relpath(args.input, ROOT)}` at {args.sample_rate} Hz, "
          f"{os.cpu_count()} cores, {args.rounds} alternating rounds; "
          f"{audio_s / 60:.0f} minutes of audio\n")
    print("| round | variations | naive loop wall (CPU) | `synth batch` wall (CPU) | ratio |")
    print("|---|---|---|---|---|")
    for r, count, (nw, nc), (bw, bc) in rows:
        print(f"| {r} | {count} | {nw:.1f} s ({nc:.1f} s) | {bw:.1f} s ({bc:.1f} s) "
              f"| {nw / bw:.2f}x |")
    (nw, nc), (bw, bc) = totals["naive"], totals["batch"]
    print(f"| **all** | {n} | {nw:.1f} s ({nc:.1f} s) | {bw:.1f} s ({bc:.1f} s) "
          f"| **{nw / bw:.2f}x** |")
    print(f"\nrenders per minute: naive {60 * n / nw:.1f}, batch {60 * n / bw:.1f}; "
          f"batch files identical to the naive renders: {same}/{len(records)}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if same == len(records) == n else 1


if __name__ == "__main__":
    sys.exit(main())
