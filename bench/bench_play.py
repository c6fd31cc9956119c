"""Latency of the listening loop (issue 17): play, watch, and ``-o -`` streaming.

Three measurements, each from a fresh ``synth`` process as a user starts it:

* **play**: ``synth play INPUT --stats`` on the default audio output; the
  time from spawning the process to the first block handed to PortAudio
  (the process reports the wall-clock time of its first ``write``), and the
  underruns PortAudio reported over what was played.  ``--bars A-B`` plays
  a stretch instead of the whole piece (the whole 9-minute piece takes 9
  minutes: ``--bars all`` does it).
* **stream**: ``synth render INPUT -o - --master limit``; the time from
  spawning the process to the first byte on its standard output, and to the
  end.
* **engine**: ``synth play INPUT --stats`` handed to a running ``synth
  engine`` (started here, in a folder of its own, with the warm cache), and
  ``synth render INPUT -o - --master limit`` streamed by it: the
  same time from spawning the ``synth play`` client to the first block the
  engine hands to PortAudio, for the first piece after the engine started
  (read from the composed-score cache on disk) and for the next ones (from
  the engine's memory), the stream's first bytes; and the engine's own
  start-up (``synth engine start`` until it answers, and its CPU time).
* **watch**: ``synth watch MARCH --stats`` (playing), on a copy of
  ``arrangements/``; one note of bar 9 of the march's source is changed the
  way an editor saves (a temporary file renamed over the original) and the
  time from the save to the first block of the new version handed to
  PortAudio is reported, over a few edits.

The start-up figures include Python's start, importing synth, loading (and
for an arrangement composing) the piece, planning it, the pre-scan of the
streaming master and the first block; the load is printed separately
(measured in this process) because for the Sonnerie arrangements it is most
of the total.

Each start-up is measured **cold** (an empty composed-score cache: the piece
is composed, as on its first load or after an edit) and **warm** (the cache
holds the composition, as on every later start), each in a cache folder of
its own (``SYNTH_CACHE_DIR``), never the user's.  Besides the wall-clock
time, the CPU time the ``synth`` process had used by then (all its threads)
is given: on a loaded machine it is the steadier figure.  The stream's
first byte is the WAV header (flushed at once); its first *audio* byte
comes with the first rendered block.

Usage::

    python bench/bench_play.py [--input FILE] [--bars 1-16|all] [--edits 5]
                               [--skip play,engine,watch,stream]
                               [--cache cold,warm] [--rounds 1]

Needs an audio output (CI and the tests use a JACK dummy server, see
``.ci/run``) and the ``play`` and ``watch`` extras.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICE = os.path.join(ROOT, "arrangements", "sonnerie-bells-in-the-ice.toml")
MARCH = os.path.join(ROOT, "arrangements", "laurel-waltz-nightmare-march.toml")
SYNTH = [sys.executable, "-m", "synth"]
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
ENV.pop("PYTHONDONTWRITEBYTECODE", None)     # a user's Python keeps its .pyc files
ENV.pop("SYNTH_NO_CACHE", None)


def cache_env(kind: str, path: str) -> dict:
    """The environment of a ``kind`` ("cold" or "warm") start-up of ``path``: a fresh
    cache folder, for "warm" filled by loading the piece once (``synth info``)."""
    folder = tempfile.mkdtemp(prefix=f"bench-cache-{kind}-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    env = dict(ENV, SYNTH_CACHE_DIR=folder)
    if kind == "warm":
        subprocess.run(SYNTH + ["info", path], capture_output=True, env=env, check=True)
    return env


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux), else NaN."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def load_seconds(path: str) -> float:
    sys.path.insert(0, ROOT)
    from synth.loader import load

    t0 = time.perf_counter()
    load(path)
    return time.perf_counter() - t0


def bench_play(path: str, bars: str | None, env: dict, engine: bool = False) -> dict:
    argv = SYNTH + ["play", path, "--stats", "--quiet"] + (["--bars", bars] if bars else [])
    if not engine and "SYNTH_ENGINE_DIR" not in env:
        # rendering in the process: no engine of the user's may take the piece
        env = dict(env, SYNTH_ENGINE_DIR=tempfile.mkdtemp(prefix="bench-no-engine-"))
    t0 = time.time()
    run = subprocess.run(argv, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise SystemExit(f"synth play failed: {run.stderr.strip()}")
    stats = dict(re.findall(r"(\w+)=(\S+)", run.stdout.strip().splitlines()[-1]))
    return {"first_block_s": float(stats["first_block_wall"]) - t0,
            "first_block_cpu": float(stats.get("first_block_cpu", "nan")),
            "engine": stats.get("engine") == "1",
            "client_cpu": float(stats.get("client_cpu", "nan")),
            "engine_cpu": float(stats.get("engine_cpu", "nan")),
            "underruns": int(stats["underruns"]),
            "played_s": int(stats["frames"]) / int(stats["sr"]),
            "wall_s": time.time() - t0}


def bench_engine(path: str, bars: str | None, rounds: int) -> dict:
    """``synth play`` through a running engine (warm cache); the engine's start-up."""
    folder = tempfile.mkdtemp(prefix="bench-engine-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    env = dict(cache_env("warm", path), SYNTH_ENGINE_DIR=folder)
    t0 = time.perf_counter()
    start = subprocess.run(SYNTH + ["engine", "start"], capture_output=True, text=True, env=env)
    start_s = time.perf_counter() - t0
    if start.returncode != 0:
        raise SystemExit(f"synth engine start failed: {start.stderr.strip()}")
    try:
        cpu = float(re.search(r"\(([\d.]+) s CPU\)", start.stdout)[1])
        runs = [bench_play(path, bars, env, engine=True) for _ in range(rounds + 1)]
        streams = [bench_stream(path, env, whole=False) for _ in range(rounds)]
    finally:
        subprocess.run(SYNTH + ["engine", "stop", "--quiet"], env=env, capture_output=True)
    if not all(r["engine"] for r in runs):
        raise SystemExit("synth play did not go through the engine")
    return {"start_s": start_s, "start_cpu": cpu, "first": runs[0], "next": runs[1:],
            "streams": streams}


def _read(proc, n: int) -> bytes:
    data = proc.stdout.read(n)
    if len(data) != n:
        raise SystemExit(f"synth render -o - ended early: {proc.stderr.read().decode().strip()}")
    return data


def bench_stream(path: str, env: dict, whole: bool = True) -> dict:
    if "SYNTH_ENGINE_DIR" not in env:
        # rendering in the process: no engine of the user's may stream it
        env = dict(env, SYNTH_ENGINE_DIR=tempfile.mkdtemp(prefix="bench-no-engine-"))
    t0 = time.perf_counter()
    proc = subprocess.Popen(SYNTH + ["render", path, "-o", "-", "--master", "limit", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    head = _read(proc, 12)                      # RIFF....WAVE
    t_first = time.perf_counter() - t0
    total = len(head)
    while True:                                 # chunks up to the data chunk
        cid, size = struct.unpack("<4sI", _read(proc, 8))
        total += 8
        if cid == b"data":
            break
        total += len(_read(proc, size + (size & 1)))
    total += len(_read(proc, 1))
    t_audio = time.perf_counter() - t0
    cpu = cpu_of(proc.pid)
    if not whole:
        proc.kill()
        proc.wait()
        return {"first_byte_s": t_first, "first_audio_s": t_audio, "first_audio_cpu": cpu}
    while chunk := proc.stdout.read(1 << 20):
        total += len(chunk)
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"synth render -o - failed: {proc.stderr.read().decode().strip()}")
    return {"first_byte_s": t_first, "first_audio_s": t_audio, "first_audio_cpu": cpu,
            "total_s": time.perf_counter() - t0, "bytes": total}


def bench_watch(path: str, edits: int) -> dict:
    work = tempfile.mkdtemp(prefix="bench-watch-")
    try:
        # the arrangement and its source, side by side as in arrangements/
        shutil.copytree(os.path.dirname(path), os.path.join(work, "arr"),
                        ignore=shutil.ignore_patterns("*.wav"))
        target = os.path.join(work, "arr", os.path.basename(path))
        proc = subprocess.Popen(SYNTH + ["watch", target, "--stats", "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=cache_env("cold", target))
        lat, bars_from = [], []
        try:
            _wait_line(proc, 120)           # the first version playing
            source = os.path.join(work, "arr", "sources", "laurel-waltz.toml")
            original = open(source).read()
            bar = "A5:4 G5 F5 | Eb5:2"          # bar 9 of the waltz's tune
            assert bar in original
            for i in range(edits):
                time.sleep(1.5)
                # one note of one bar of the source, changed as an editor saves it
                text = original.replace(bar, f"A5:4 G5 {'EDCBA'[i % 5]}5 | Eb5:2", 1)
                tmp = source + ".tmp"
                with open(tmp, "w") as f:
                    f.write(text)
                t0 = time.time()
                os.replace(tmp, source)
                line = _wait_line(proc, 60)
                lat.append(float(re.search(r"first_block_wall=(\S+)", line)[1]) - t0)
                bars_from.append(int(re.search(r"playing_from_bar=(\d+)", line)[1]))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        return {"edit_to_first_block_s": lat, "from_bars": bars_from}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _wait_line(proc, timeout: float) -> str:
    end = time.time() + timeout
    while time.time() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if "first_block_wall" in line:
                return line
        if proc.poll() is not None:
            raise SystemExit(f"synth watch exited: {proc.stderr.read()}")
    raise SystemExit("synth watch: no new version played in time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default=ICE)
    ap.add_argument("--bars", default="1-16", help="bars to play ('all': the whole piece)")
    ap.add_argument("--watch-input", default=MARCH)
    ap.add_argument("--edits", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma-separated: play,engine,stream,watch")
    ap.add_argument("--cache", default="cold,warm",
                    help="start-ups to measure: cold (empty composed-score cache), warm")
    ap.add_argument("--rounds", type=int, default=1, help="start-ups of each kind (median shown)")
    ap.add_argument("--whole-stream", action="store_true",
                    help="read the whole stream (its total time) instead of stopping at the "
                    "first audio byte")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    kinds = [k for k in args.cache.split(",") if k]
    name = os.path.basename(args.input)
    print(f"load (and compose) {name} in this process: {load_seconds(args.input):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    med = statistics.median
    for kind in kinds:
        if "play" not in skip:
            rs = [bench_play(args.input, None if args.bars == "all" else args.bars,
                             cache_env(kind, args.input)) for _ in range(args.rounds)]
            print(f"play {name} bars {args.bars} ({kind}): first block "
                  f"{med(r['first_block_s'] for r in rs):.2f} s after spawning "
                  f"({med(r['first_block_cpu'] for r in rs):.2f} s CPU); "
                  f"{max(r['underruns'] for r in rs)} underruns over {rs[0]['played_s']:.1f} s "
                  f"played")
        if "stream" not in skip:
            rs = [bench_stream(args.input, cache_env(kind, args.input), args.whole_stream)
                  for _ in range(args.rounds)]
            line = (f"render {name} -o - --master limit ({kind}): first byte "
                    f"{med(r['first_byte_s'] for r in rs):.2f} s, first audio byte "
                    f"{med(r['first_audio_s'] for r in rs):.2f} s "
                    f"({med(r['first_audio_cpu'] for r in rs):.2f} s CPU)")
            if args.whole_stream:
                line += f"; all {rs[0]['bytes'] / 1e6:.1f} MB in {med(r['total_s'] for r in rs):.1f} s"
            print(line)
    if "engine" not in skip:
        bars = None if args.bars == "all" else args.bars
        r = bench_engine(args.input, bars, args.rounds)
        rs = r["next"]
        print(f"play {name} bars {args.bars} (engine, warm): first block "
              f"{med(x['first_block_s'] for x in rs):.2f} s after spawning the client "
              f"(min {min(x['first_block_s'] for x in rs):.2f}; CPU "
              f"{med(x['client_cpu'] for x in rs):.2f} s client + "
              f"{med(x['engine_cpu'] for x in rs):.2f} s engine); the first piece after the "
              f"engine started {r['first']['first_block_s']:.2f} s; "
              f"{max(x['underruns'] for x in r['next'] + [r['first']])} underruns; "
              f"engine start-up {r['start_s']:.1f} s ({r['start_cpu']:.1f} s CPU)")
        ss = r["streams"]
        print(f"render {name} -o - --master limit (engine, warm): first byte "
              f"{med(x['first_byte_s'] for x in ss):.2f} s, first audio byte "
              f"{med(x['first_audio_s'] for x in ss):.2f} s (client CPU "
              f"{med(x['first_audio_cpu'] for x in ss):.2f} s)")
    if "watch" not in skip:
        r = bench_watch(args.watch_input, args.edits)
        lat = r["edit_to_first_block_s"]
        print(f"watch {os.path.basename(args.watch_input)}: save -> first block of the new "
              f"version, median {statistics.median(lat):.2f} s (min {min(lat):.2f}, "
              f"max {max(lat):.2f}) over {len(lat)} edits of one note in bar 9 of its source; "
              f"played from bars {sorted(set(r['from_bars']))}")


if __name__ == "__main__":
    main()
