"""Compiled kernels (issue 19): this tree against a baseline commit, same run.

Renders the same files with two checkouts of synth, alternating in rounds
(the order rotates each round), and prints markdown tables of median wall
time, median CPU time (user + system of the command and its workers) and
peak RSS, plus whether the two outputs are byte-identical:

* fresh-process cost: ``synth --version`` and ``synth info FILE``;
* numba's own cost in a fresh process: ``import numba``, the first kernel
  loaded from the cache, and the first-ever render of the 180 s reference
  with an empty cache (compiling every kernel it uses);
* the 180 s reference (``bench/workload.py``) with ``--jobs 1``, pinned to
  CPU 0 with ``taskset`` when it exists;
* each Sonnerie arrangement with the default ``--jobs`` (the arrangement
  files of the baseline by default, ``--arrangements-of baseline``: both
  trees render the same music, and a baseline tree cannot load today's files
  when they name presets added since; ``here`` renders this tree's files);
* the 20-minute reference with ``--jobs 1`` (peak memory).

The baseline is a commit of this repository extracted with ``git archive``
(default: ``f3e4d4e``, the last commit before numba); the candidate is the
tree this script lives in.  Both run with the same interpreter.

Usage::

    python bench/bench_numba.py [--baseline REV] [--rounds 5] [--workdir DIR]
        [--only startup,numba,reference,arrangements,memory] [--arrangements-of baseline|here]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_render import Series, compare, measure  # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SONNERIE = ("sonnerie-bells-in-the-ice.toml", "sonnerie-seven-bells.toml",
            "sonnerie-bells-backwards.toml")
SECTIONS = ("startup", "numba", "reference", "arrangements", "memory")


def _log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def extract(rev: str, dest: str) -> str:
    """The tree of commit ``rev`` written to ``dest``; returns ``dest``."""
    os.makedirs(dest, exist_ok=True)
    archive = subprocess.run(["git", "-C", HERE, "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def synth(tree: str, *args: str, env_extra: str = "") -> list[str]:
    """A ``synth`` command that imports the package from ``tree``.

    ``-P``: ``python -m`` would otherwise put the working folder first on
    ``sys.path``, and run from a checkout both trees would import that
    checkout's package (the "baseline" then rendered this tree's code).
    """
    env = ["env", f"PYTHONPATH={tree}"] + ([env_extra] if env_extra else [])
    return env + [sys.executable, "-P", "-m", "synth", *args]


def _pin(command: list[str]) -> list[str]:
    return (["taskset", "-c", "0"] + command) if shutil.which("taskset") else command


def _table(title: str, series: list[Series], pairs: list[tuple[int, int]],
           same: dict[int, bool] | None = None) -> list[str]:
    lines = [f"#### {title}", "",
             "| command | median wall (s) | median CPU (s) | peak RSS (MiB) | speed-up (wall) "
             "| speed-up (CPU) | output |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for base, new in pairs:
        b, n = series[base], series[new]
        for s, ref in ((b, None), (n, b)):
            up = f"{ref.median_seconds / s.median_seconds:.2f}x" if ref else ""
            up_cpu = f"{ref.median_cpu / s.median_cpu:.2f}x" if ref else ""
            out = ("identical" if same.get(new) else "differs") if (same and ref) else ""
            lines.append(f"| {s.label} | {s.median_seconds:.2f} | {s.median_cpu:.2f} | "
                         f"{s.peak_mib:.0f} | {up} | {up_cpu} | {out} |")
    return lines + [""]


def startup(trees, rounds, folder) -> list[str]:
    """``synth --version`` and ``synth info`` of Seven Bells from ``folder`` (both trees read it)."""
    piece = os.path.join(folder, "sonnerie-seven-bells.toml")
    series = []
    for label, tree in trees:
        series.append(Series(f"{label}: synth --version", synth(tree, "--version"), 0.0))
    for label, tree in trees:
        series.append(Series(f"{label}: synth info sonnerie-seven-bells.toml",
                             synth(tree, "info", piece), 0.0))
    compare(series, rounds)
    return _table("Fresh-process cost", series, [(0, 1), (2, 3)])


def numba_costs(tree, workdir, rounds) -> list[str]:
    code_import = "import numba"
    code_kernel = ("import numpy as np\nfrom synth.dsp import filters\n"
                   "filters.sosfilt(np.array([[0.5, 0, 0, 1, -0.5, 0]]), np.ones(8))\n")
    env = ["env", f"PYTHONPATH={tree}"]
    rows = [("python -c 'import numpy'", env + [sys.executable, "-c", "import numpy"]),
            ("python -c 'import numba'", env + [sys.executable, "-c", code_import]),
            ("numba + first kernel from the cache", env + [sys.executable, "-c", code_kernel])]
    series = [Series(label, cmd, 0.0) for label, cmd in rows]
    compare(series, rounds)
    midi = os.path.join(workdir, "reference-180s.mid")
    warm = measure(synth(tree, "render", midi, "-o", os.path.join(workdir, "warm.wav"),
                         "--force", "--quiet", "--jobs", "1"))
    with tempfile.TemporaryDirectory() as empty:
        cold = measure(synth(tree, "render", midi, "-o", os.path.join(workdir, "cold.wav"),
                             "--force", "--quiet", "--jobs", "1",
                             env_extra=f"NUMBA_CACHE_DIR={empty}"))
        size = sum(os.path.getsize(os.path.join(d, f))
                   for d, _, fs in os.walk(empty) for f in fs)
    lines = ["#### numba's own cost (fresh processes)", "",
             "| what | median wall (s) | median CPU (s) | peak RSS (MiB) |", "|---|---:|---:|---:|"]
    lines += [f"| {s.label} | {s.median_seconds:.2f} | {s.median_cpu:.2f} | {s.peak_mib:.0f} |"
              for s in series]
    lines += [f"| 180 s reference, `--jobs 1`, kernels cached | {warm.seconds:.2f} | "
              f"{warm.cpu_seconds:.2f} | {warm.peak_mib:.0f} |",
              f"| 180 s reference, `--jobs 1`, empty cache (first-ever run: compiles) | "
              f"{cold.seconds:.2f} | {cold.cpu_seconds:.2f} | {cold.peak_mib:.0f} |", "",
              f"First-ever compile: {cold.seconds - warm.seconds:.1f} s more than a cached run; "
              f"the cache it wrote holds {size / 1e6:.1f} MB.", ""]
    return lines


def _render_series(trees, path, name, workdir, jobs, pin) -> tuple[list[Series], list[str]]:
    series, outs = [], []
    for label, tree in trees:
        out = os.path.join(workdir, f"out-{label}-{name}.wav")
        args = ["render", path, "-o", out, "--force", "--quiet"]
        if path.endswith(".mid"):           # as bench_render.py renders MIDI files
            args += ["--sample-rate", "44100", "--bit-depth", "16"]
        if jobs is not None:
            args += ["--jobs", str(jobs)]
        cmd = synth(tree, *args)
        series.append(Series(f"{label}: {name}" + (f" --jobs {jobs}" if jobs else ""),
                             _pin(cmd) if pin else cmd, 0.0))
        outs.append(out)
    return series, outs


def renders(trees, files, workdir, rounds, jobs, pin, title) -> list[str]:
    lines = []
    for path in files:
        name = os.path.basename(path)
        series, outs = _render_series(trees, path, name, workdir, jobs, pin)
        compare(series, rounds)
        same = {1: filecmp.cmp(outs[0], outs[1], shallow=False)}
        lines += _table(f"{title}: {name}", series, [(0, 1)], same)
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", default="f3e4d4e")
    ap.add_argument("--baseline-tree", default=None,
                    help="an extracted baseline tree to use instead of --baseline")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--arrangements-of", choices=("baseline", "here"), default="baseline",
                    help="whose arrangement files both trees render (default: the baseline's)")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    workdir = args.workdir or tempfile.mkdtemp(prefix="synth-numba-")
    os.makedirs(workdir, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, "bench", "workload.py"), workdir],
                   check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=HERE))
    base = args.baseline_tree or extract(args.baseline, os.path.join(workdir, "baseline"))
    trees = [(f"before ({args.baseline})", base), ("after", HERE)]
    # one untimed render per tree first: the candidate's kernels compiled and cached
    for _, tree in trees:
        subprocess.run(synth(tree, "render", os.path.join(workdir, "reference-180s.mid"), "-o",
                             os.path.join(workdir, "prime.wav"), "--force", "--quiet"), check=True)
    out = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
           f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start, "
           f"{args.rounds} alternating rounds.", ""]
    # whose arrangement files both trees read: a baseline cannot load today's files
    # when they name presets added since
    folder = os.path.join(base if args.arrangements_of == "baseline" else HERE, "arrangements")
    if "startup" in only:
        out += startup(trees, args.rounds, folder)
    if "numba" in only:
        out += numba_costs(HERE, workdir, args.rounds)
    if "reference" in only:
        out += renders(trees, [os.path.join(workdir, "reference-180s.mid")], workdir,
                       args.rounds, 1, True, "One core (CPU 0)")
    if "arrangements" in only:
        out += renders(trees, [os.path.join(folder, f) for f in SONNERIE], workdir,
                       max(1, args.rounds // 2), None, False, "Default --jobs")
    if "memory" in only:
        out += renders(trees, [os.path.join(workdir, "reference-20min.mid")], workdir, 1, 1,
                       False, "Memory")
    out.append(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
