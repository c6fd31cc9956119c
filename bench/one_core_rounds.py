"""Whole ``synth render --jobs 1`` commands of several trees and FluidSynth, pinned to CPU 0,
in alternating rounds: wall and CPU (user + system, from :func:`os.wait4`) of each.

On a machine shared with other work the CPU time moves less than the wall time, and
alternating the trees within each round spreads the load over all of them::

    python bench/one_core_rounds.py /tmp/base,. --rounds 5 --fluidsynth
    cmp /tmp/one-core-base.wav /tmp/one-core-wt.wav     # each tree's WAV, named by its folder

Each tree runs as ``python -P -m synth render MIDI -o /tmp/one-core-NAME.wav --jobs 1
--force --quiet`` from ``/tmp`` with ``PYTHONPATH`` set to it (``-P``: the working
folder is not on the path).  FluidSynth renders with FluidR3 GM at 44.1 kHz.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def run(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of ``cmd`` (pinned by the caller's ``taskset``)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd="/tmp", stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trees", help="comma-separated source trees (folders holding synth/)")
    ap.add_argument("--midi", default="/tmp/sb/reference-180s.mid")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--fluidsynth", action="store_true", help="also FluidSynth, each round")
    args = ap.parse_args(argv)
    trees = [os.path.abspath(t) for t in args.trees.split(",")]
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    results: dict[str, list[tuple[float, float]]] = {t: [] for t in trees}
    if args.fluidsynth:
        results["fluidsynth"] = []
    for r in range(args.rounds):
        for tree in trees if r % 2 == 0 else trees[::-1]:
            out = f"/tmp/one-core-{os.path.basename(tree)}.wav"
            results[tree].append(run(["taskset", "-c", "0", sys.executable, "-P", "-m", "synth",
                                      "render", args.midi, "-o", out, "--jobs", "1", "--force",
                                      "--quiet"], dict(env, PYTHONPATH=tree)))
        if args.fluidsynth:
            results["fluidsynth"].append(run(["taskset", "-c", "0", "fluidsynth", "-ni", "-F",
                                              "/tmp/one-core-fluidsynth.wav", "-r", "44100",
                                              SOUNDFONT, args.midi], env))
        print(f"round {r + 1}: " + "  ".join(f"{os.path.basename(k)} {v[-1][0]:.2f}/{v[-1][1]:.2f}"
                                          for k, v in results.items()), flush=True)
    print("| command | wall median (min) | CPU median (min) |\n|---|---:|---:|")
    for name, runs in results.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"| {name} | {statistics.median(walls):.2f} ({min(walls):.2f}) | "
              f"{statistics.median(cpus):.2f} ({min(cpus):.2f}) |")


if __name__ == "__main__":
    main()
