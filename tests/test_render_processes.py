"""A ``--jobs 2`` render killed mid-way leaves no worker process and no file behind."""

import os
import signal
import subprocess
import sys
import time

import mido
import pytest

from synth.render.parallel import can_fork

pytestmark = pytest.mark.skipif(not (can_fork() and os.path.isdir("/proc")),
                                reason="forked workers and /proc (Linux) only")


def long_midi(path, parts=4, seconds=900):
    """``parts`` tracks of overlapping two-second notes: several lanes, many seconds of work.

    Long enough that the render is surely still running when the test kills it, even with
    the compiled kernels on a quiet machine (90 s of music once finished first there, so the
    complete file was in place before the SIGKILL arrived).
    """
    mid = mido.MidiFile(ticks_per_beat=480)          # 120 bpm: a beat is half a second
    for k in range(parts):
        track = mido.MidiTrack()
        track.append(mido.Message("program_change", program=80 + k, channel=k))
        for i in range(seconds * 2):
            track.append(mido.Message("note_on", note=48 + (i * 7 + k * 5) % 24, velocity=90,
                                      channel=k, time=0))
            track.append(mido.Message("note_off", note=48 + (i * 7 + k * 5) % 24, channel=k,
                                      time=480))
        mid.tracks.append(track)
    mid.save(path)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name (field 2) may hold spaces: fields after its ')' are fixed
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"         # a zombie has exited (its parent just has not reaped it)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_a_parallel_render_ends_its_workers_and_leaves_no_file(tmp_path, sig):
    src = tmp_path / "in"
    src.mkdir()
    long_midi(src / "long.mid")
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "synth", "render", str(src / "long.mid"),
                             "-o", str(out / "long.wav"), "--jobs", "2", "--sample-rate", "22050",
                             "--preset", "saw", "--quiet"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        workers = []
        while not workers and proc.poll() is None and time.monotonic() < deadline:
            workers = children_of(proc.pid)
            time.sleep(0.02)
        assert workers, f"no worker started (exit {proc.poll()}): {proc.stderr.read()!r}"
        time.sleep(0.3)                                  # mid-render: the workers are busy
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if alive(w)], "a worker outlived its parent"
        assert sorted(os.listdir(out)) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
