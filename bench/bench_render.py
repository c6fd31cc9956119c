"""Time ``synth render`` against FluidSynth on the reference workloads (issue 7).

Every measurement runs one whole command in a child process and times it
from start to exit (``time.perf_counter``); the child's own peak resident
memory comes from :func:`os.wait4` (``ru_maxrss`` of that one child, so a
later, bigger child never inflates an earlier figure).  The commands of a
comparison run alternately, round after round, in a rotating order, and the
median of the rounds is reported with the spread (max - min) / median, because
the machine is shared.

Both programs write the same thing: a 16-bit stereo 44.1 kHz WAV file.

Usage::

    python bench/bench_render.py --install-fluidsynth      # apt-get, once (root)
    python bench/bench_render.py --workdir /tmp/synth-bench [--runs 5]
    # this checkout against another (e.g. the commit before a refactoring), same run:
    python bench/bench_render.py --only speed --baseline "env PYTHONPATH=/tmp/old python -m synth"

The markdown printed on standard output is what ``bench/README.md`` shows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402  (bench/ is a folder of scripts, not a package)

__all__ = ["Run", "Series", "measure", "compare", "install_fluidsynth", "find_soundfont",
           "synth_command", "fluidsynth_command", "main"]

SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2")
SR = 44_100


@dataclass(frozen=True)
class Run:
    """One timed command: wall seconds, CPU seconds (user + system, the
    command and the children it waited for) and its peak RSS in MiB."""

    seconds: float
    peak_mib: float
    cpu_seconds: float = 0.0


@dataclass
class Series:
    """Repeated runs of one command on one file."""

    label: str
    command: list[str]
    audio_seconds: float             # length of the music (same numerator for every tool)
    runs: list[Run] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_mib(self) -> float:
        return max(r.peak_mib for r in self.runs)

    @property
    def median_cpu(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def realtime(self) -> float:
        return self.audio_seconds / self.median_seconds

    @property
    def spread(self) -> float:
        t = [r.seconds for r in self.runs]
        return (max(t) - min(t)) / statistics.median(t)


def _log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def measure(command: list[str], *, cwd: str | None = None) -> Run:
    """Run ``command`` once; wall time and its own peak RSS.

    Raises
    ------
    RuntimeError
        If the command exits with a non-zero status (its stderr is quoted).
    """
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{' '.join(command)!r} exited with {proc.returncode}: "
                               + " | ".join(tail))
    # Linux: ru_maxrss in KiB, the largest single process of the tree (not a sum)
    return Run(elapsed, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime)


def compare(series: list[Series], rounds: int, cwd: str | None = None) -> None:
    """Run every series ``rounds`` times, alternating, in an order rotated each round."""
    for r in range(rounds):
        order = series[r % len(series):] + series[:r % len(series)]
        for s in order:
            run = measure(s.command, cwd=cwd)
            s.runs.append(run)
            _log(f"  round {r + 1}/{rounds} {s.label:44s} {run.seconds:7.2f} s "
                 f"(cpu {run.cpu_seconds:6.2f} s) {run.peak_mib:6.0f} MiB  "
                 f"load {os.getloadavg()[0]:.1f}")


# --------------------------------------------------------------------------- tools

def install_fluidsynth() -> None:
    """``apt-get update`` then install Debian's fluidsynth and fluid-soundfont-gm."""
    if shutil.which("apt-get") is None:
        raise SystemExit("apt-get not found: install fluidsynth and a GM soundfont by hand")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "fluidsynth", "fluid-soundfont-gm"],
                   check=True, env=env)


def find_soundfont(explicit: str | None = None) -> str | None:
    for path in ([explicit] if explicit else SOUNDFONTS):
        if path and os.path.exists(path):
            return path
    return None


def fluidsynth_command(soundfont: str, midi: str, out: str) -> list[str]:
    return ["fluidsynth", "-ni", "-F", out, "-r", str(SR), soundfont, midi]


def synth_command(synth: list[str], midi: str, out: str, *, jobs: int,
                  preset: str | None) -> list[str]:
    cmd = synth + ["render", midi, "-o", out, "--force", "--quiet", "--jobs", str(jobs),
                   "--sample-rate", str(SR), "--bit-depth", "16"]
    return cmd + (["--preset", preset] if preset else [])


def _default_synth() -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "synth")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "synth"]


def _missing_presets(midi: str) -> list[str]:
    """Presets the default GM mapping asks for that synth does not have (yet)."""
    import warnings

    from synth.midi import read_midi
    from synth.patch import preset_names

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = read_midi(midi)
    known = set(preset_names())
    return sorted({p.preset for p in score.parts} - known)


def _guarded(fn, *args, report: list[str], what: str) -> bool:
    """Run a section; on a failing command, note it in the report and go on."""
    try:
        fn(*args)
        return True
    except RuntimeError as e:
        _log(f"{what} section failed: {e}")
        report += [f"**{what} section failed:** {e}", ""]
        return False


# --------------------------------------------------------------------------- report

def _fmt_series_row(s: Series, ref: Series | None) -> str:
    ratio = f"{ref.median_seconds / s.median_seconds:.2f}x" if ref else ""
    return (f"| {s.label} | {s.median_seconds:.2f} | {s.median_cpu:.2f} | {s.realtime:.1f}x | "
            f"{s.spread * 100:.0f} % | {s.peak_mib:.0f} | {ratio} |")


def _speed_table(series: list[Series], ref: Series | None, title: str) -> list[str]:
    lines = [f"#### {title}", "",
             "| command | median wall time (s) | median CPU time (s) | realtime factor "
             "| spread | peak RSS (MiB) | speed vs FluidSynth |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [_fmt_series_row(s, ref) for s in series]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--install-fluidsynth", action="store_true",
                    help="apt-get update && apt-get install fluidsynth fluid-soundfont-gm, "
                    "then continue")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "synth-bench"),
                    help="where the workloads and outputs go (default %(default)s)")
    ap.add_argument("--runs", type=int, default=5, help="rounds of the speed comparison")
    ap.add_argument("--scaling-runs", type=int, default=3, help="rounds of the scaling runs")
    ap.add_argument("--memory-runs", type=int, default=1, help="rounds of the memory check")
    ap.add_argument("--soundfont", help="GM soundfont (default: FluidR3_GM from Debian)")
    ap.add_argument("--synth", help="command that runs synth (default: the venv's 'synth')")
    ap.add_argument("--preset", help="play every part with this preset (default: the GM "
                    "mapping; falls back to 'saw', said in the table, while presets are missing)")
    ap.add_argument("--only", choices=("speed", "memory", "scaling"), action="append",
                    help="run only these sections (repeatable)")
    ap.add_argument("--one-core", action="store_true",
                    help="pin FluidSynth and every 'synth --jobs 1' run to CPU 0 with taskset "
                    "(library threads, e.g. BLAS, then cannot use the second core)")
    ap.add_argument("--baseline", metavar="CMD", action="append", default=[],
                    help="another synth command (e.g. an older checkout) timed in the same "
                    "rounds as --synth in the speed section; the table gets its ratios "
                    "(repeatable)")
    ap.add_argument("--json", metavar="PATH", help="also write every run as JSON")
    args = ap.parse_args(argv)

    if args.install_fluidsynth:
        install_fluidsynth()
    sections = set(args.only or ("speed", "memory", "scaling"))
    os.makedirs(args.workdir, exist_ok=True)
    _log(f"writing workloads into {args.workdir}")
    stats = workload.write_all(args.workdir)
    path = {name: os.path.join(args.workdir, name) for name in stats}
    out = lambda name: os.path.join(args.workdir, "out-" + name)     # noqa: E731
    synth = args.synth.split() if args.synth else _default_synth()
    preset = args.preset
    note = ""
    if preset is None:
        missing = _missing_presets(path["reference-180s.mid"])
        if missing:
            preset = "saw"
            note = (f"synth played every part with `--preset saw`: the default GM mapping "
                    f"needs presets that do not exist yet ({', '.join(missing)}).")
            _log("note: " + note)
    soundfont = find_soundfont(args.soundfont)
    have_fluid = shutil.which("fluidsynth") is not None and soundfont is not None
    if not have_fluid:
        _log("FluidSynth or its soundfont is missing: run with --install-fluidsynth; "
             "comparing synth alone")
    report: list[str] = []
    load_before = os.getloadavg()
    all_series: list[Series] = []
    ref180 = stats["reference-180s.mid"]
    cpu = os.cpu_count()
    report += [f"Machine: {cpu} cores ({os.uname().machine}), Python {sys.version.split()[0]}; "
               f"synth command: `{' '.join(synth)}`; "
               + (f"FluidSynth: `{soundfont}`." if have_fluid else "FluidSynth: not installed."),
               ""]
    if note:
        report += ["**Note:** " + note, ""]

    pin = ["taskset", "-c", "0"] if args.one_core else []
    if pin and shutil.which("taskset") is None:
        raise SystemExit("--one-core needs taskset (util-linux)")
    if pin:
        report += ["FluidSynth and `synth --jobs 1` pinned to one core (`taskset -c 0`).", ""]

    def synth_series(name, jobs, label=None):
        return Series(label or f"synth render --jobs {jobs}",
                      (pin if jobs == 1 else [])
                      + synth_command(synth, path[name], out(f"synth-j{jobs}-{name}.wav"),
                                      jobs=jobs, preset=preset),
                      stats[name].seconds)

    j1_180 = None
    if "speed" in sections:
        _log(f"speed: 180 s reference file, {args.runs} alternating rounds")
        series = []
        fluid = None
        if have_fluid:
            fluid = Series("fluidsynth -ni -F out.wav -r 44100",
                           pin + fluidsynth_command(soundfont, path["reference-180s.mid"],
                                              out("fluidsynth-reference-180s.wav")),
                           ref180.seconds)
            series.append(fluid)
        j1_180 = synth_series("reference-180s.mid", 1)
        j2 = synth_series("reference-180s.mid", 2)
        series += [j1_180, j2]
        bases = []
        for b, command in enumerate(args.baseline, 1):
            bases.append([Series(f"baseline {b} --jobs {jobs}",
                                 (pin if jobs == 1 else [])
                                 + synth_command(command.split(), path["reference-180s.mid"],
                                                 out(f"baseline{b}-j{jobs}-reference-180s.wav"),
                                                 jobs=jobs, preset=preset),
                                 ref180.seconds) for jobs in (1, 2)])
            series += bases[-1]
        if not _guarded(compare, series, args.runs, report=report, what="speed"):
            series = []
        all_series += series
    if "speed" in sections and series:
        report += _speed_table(series, fluid,
                               f"Speed: reference file, {ref180.seconds:.0f} s, "
                               f"{ref180.notes} notes, mean polyphony "
                               f"{ref180.mean_polyphony:.1f} (median of {args.runs})")
        report += ["", f"--jobs 2 vs --jobs 1: **{j1_180.median_seconds / j2.median_seconds:.2f}x**"
                   + (f"; synth --jobs 1 vs FluidSynth: **{fluid.median_seconds / j1_180.median_seconds:.2f}x**"
                      if fluid else ""), ""]
        for b, (command, base) in enumerate(zip(args.baseline, bases), 1):
            report.append(f"baseline {b}: `{command}`")
            for new, old in zip((j1_180, j2), base):
                report.append(f"- {new.label} vs {old.label}: time "
                              f"**{new.median_seconds / old.median_seconds:.3f}**, CPU "
                              f"{new.median_cpu / old.median_cpu:.3f}, peak RSS "
                              f"**{new.peak_mib / old.peak_mib:.3f}** (this / baseline)")
            report.append("")

    if "memory" in sections:
        series = []
        _log(f"memory: 20-minute vs 180 s file, synth --jobs 1, {args.memory_runs} round(s)")
        short = synth_series("reference-180s.mid", 1, "synth --jobs 1, 180 s file")
        long = synth_series("reference-20min.mid", 1, "synth --jobs 1, 20-minute file")
        series = [short, long]
        if have_fluid:
            series.append(Series("fluidsynth, 20-minute file",
                                 pin + fluidsynth_command(soundfont, path["reference-20min.mid"],
                                                    out("fluidsynth-reference-20min.wav")),
                                 stats["reference-20min.mid"].seconds))
        if not _guarded(compare, series, args.memory_runs, report=report, what="memory"):
            series = []
        all_series += series
    if "memory" in sections and series:
        ratio = long.peak_mib / short.peak_mib
        ok = ratio <= 1.25 and long.peak_mib < 250
        report += ["#### Memory: peak RSS, 20-minute file vs 180 s file", "",
                   "| command | median wall time (s) | CPU time (s) | realtime factor "
                   "| peak RSS (MiB) |",
                   "|---|---:|---:|---:|---:|"]
        report += [f"| {s.label} | {s.median_seconds:.2f} | {s.median_cpu:.2f} | "
                   f"{s.realtime:.1f}x | {s.peak_mib:.0f} |" for s in series]
        report += ["", f"20 min / 180 s peak: **{ratio:.2f}** (target <= 1.25 and < 250 MB: "
                   f"{'met' if ok else 'NOT met'})", ""]

    if "scaling" in sections:
        series = []
        _log(f"scaling: synth --jobs 1, {args.scaling_runs} alternating rounds")
        names = ["reference-180s.mid", "reference-180s-x2.mid", "dense-10000.mid",
                 "parts-300.mid"]
        series = [synth_series(n, 1, f"synth --jobs 1, {n}") for n in names]
        if not _guarded(compare, series, args.scaling_runs, report=report, what="scaling"):
            series = []
        all_series += series
    if "scaling" in sections and series:
        base = series[0].median_seconds / stats[names[0]].notes
        report += ["#### Scaling: synth --jobs 1 (median of "
                   f"{args.scaling_runs})", "",
                   "| file | notes | parts | note-seconds | mean poly | median wall (s) "
                   "| median CPU (s) | ms per note | per note vs reference | peak RSS (MiB) |",
                   "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n, s in zip(names, series):
            st = stats[n]
            per = s.median_seconds / st.notes
            report.append(f"| {n} | {st.notes} | {st.parts} | {st.note_seconds:.0f} | "
                          f"{st.mean_polyphony:.1f} | {s.median_seconds:.2f} | "
                          f"{s.median_cpu:.2f} | {per * 1e3:.3f} | {per / base:.2f} | "
                          f"{s.peak_mib:.0f} |")
        t1, t2 = series[0].median_seconds, series[1].median_seconds
        report += ["", f"2x notes / 1x notes time: **{t2 / t1:.2f}** (target <= 2)", ""]

    spreads = [s.spread for s in all_series if len(s.runs) > 1]
    if spreads:
        report.append(f"Noise: spread (max - min) / median of the repeated runs: "
                      f"median {statistics.median(spreads) * 100:.0f} %, "
                      f"worst {max(spreads) * 100:.0f} %; 1-minute load average "
                      f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after "
                      f"(2 cores; other engineers' test runs share them).")
    print("\n".join(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"stats": {k: asdict(v) for k, v in stats.items()},
                       "note": note,
                       "series": [{"label": s.label, "command": s.command,
                                   "audio_seconds": s.audio_seconds,
                                   "runs": [asdict(r) for r in s.runs]} for s in all_series]},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
