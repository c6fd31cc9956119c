"""``synth engine``: a resident engine that ``synth play`` hands its piece to.

Played on a real PortAudio stream (the JACK dummy server of ``.ci/run``, as
tests/test_play.py), never a mock.  One engine is started for the module, in
a folder of its own (``SYNTH_ENGINE_DIR``), and stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from synth.loader import load
from synth.render import RenderPlan

from test_play import SCORE, _need_device

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYNTH = [sys.executable, "-m", "synth"]

#: 24 bars of 4/4 at 120 bpm: 48 s, long enough to be stopped while it plays
LONG = SCORE.replace('notes = "mf C5:4 E5 G5 C6 | <C5 E5 G5>:1 |"',
                     'notes = "' + "mf C5:4 E5 G5 C6 | " * 24 + '"').replace(
                         'notes = "p C3:2 G2:2 | C3:1 |"', 'notes = "p C3:1 |"')


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    _need_device()
    folder = tmp_path_factory.mktemp("engine")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               SYNTH_ENGINE_DIR=str(folder))
    # a run killed before the teardown leaves no engine for ever
    start = subprocess.run(SYNTH + ["engine", "start", "--sample-rate", "44100",
                                    "--idle-exit", "10"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert start.returncode == 0, start.stderr
    assert re.match(r"engine started: pid \d+", start.stdout), start.stdout
    yield env
    subprocess.run(SYNTH + ["engine", "stop"], env=env, capture_output=True, timeout=60)


def play(env, path, *extra, timeout=120):
    return subprocess.run(SYNTH + ["play", str(path), "--stats", "--sample-rate", "44100",
                                   *extra], capture_output=True, text=True, env=env,
                          timeout=timeout)


def stats_of(run) -> dict:
    return dict(re.findall(r"(\w+)=(\S+)", run.stdout.strip().splitlines()[-1]))


class Client:
    """A ``synth play`` client running in the background, its stderr read as it comes."""

    def __init__(self, env, path, *extra):
        self.proc = subprocess.Popen(SYNTH + ["play", str(path), "--sample-rate", "44100",
                                              *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for ln in self.proc.stderr:
            self.err.append(ln)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if any(text in ln for ln in self.err):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} from synth play: {''.join(self.err)}")

    def finish(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


def test_play_through_the_engine_plays_every_sample_without_underruns(engine, tmp_path):
    path = tmp_path / "play.toml"
    path.write_text(SCORE)
    t0 = time.perf_counter()
    run = play(engine, path, "--verbose")
    took = time.perf_counter() - t0
    assert run.returncode == 0, run.stderr
    assert "synth: playing through the engine (pid" in run.stderr
    assert "playing Play on " in run.stderr
    stats = stats_of(run)
    assert stats["engine"] == "1"
    assert int(stats["underruns"]) == 0
    frames = int(stats["frames"])
    assert frames == RenderPlan(load(path), sr=44100).frames        # every sample played
    assert took >= frames / 44100 * 0.9                # the device consumed it in real time


def test_the_client_imports_neither_numpy_nor_the_renderer(engine, tmp_path):
    path = tmp_path / "play.toml"
    path.write_text(SCORE)
    code = ("import sys\n"
            "from synth.cli import main\n"
            f"status = main(['play', {str(path)!r}, '--quiet', '--bars', '1-1'])\n"
            "print(status, int('numpy' in sys.modules), int('synth.render' in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=engine, timeout=120)
    assert run.stdout.split() == ["0", "0", "0"], run.stdout + run.stderr


def test_without_an_engine_play_renders_in_process_and_verbose_says_so(engine, tmp_path):
    path = tmp_path / "play.toml"
    path.write_text(SCORE)
    env = dict(engine, SYNTH_ENGINE_DIR=str(tmp_path / "none"))
    run = play(env, path, "--verbose", "--bars", "1-1")
    assert run.returncode == 0, run.stderr
    assert "synth: no engine running" in run.stderr and "rendering in this process" in run.stderr
    assert "engine" not in stats_of(run)
    # and --no-engine with an engine running
    run = play(engine, path, "--verbose", "--bars", "1-1", "--no-engine")
    assert run.returncode == 0, run.stderr
    assert "--no-engine: rendering in this process" in run.stderr
    assert "engine" not in stats_of(run)


@pytest.mark.parametrize("text, match", [
    ('[score]\ntempo = 120\n[parts.a]\npreset = "saw"\nnotes = "C4:1 X9:1"\n', r"X9"),
    ('[score]\ntempo = 120\n[parts.a]\npreset = "no-such-preset"\nnotes = "C4:1"\n',
     r"no-such-preset"),
])
def test_an_error_in_the_piece_reaches_the_client_as_the_usual_line(engine, tmp_path, text,
                                                                      match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    run = play(engine, path, "--verbose")
    assert run.returncode == 2
    lines = [ln for ln in run.stderr.splitlines() if not ln.startswith("synth: playing through")]
    assert len(lines) == 1 and lines[0].startswith("synth: error: ")
    assert re.search(match, lines[0])
    here = play(engine, path, "--no-engine")          # the same line as in one process
    assert here.returncode == 2 and here.stderr.strip() == lines[0]


def test_the_engine_plays_the_file_as_it_is_now(engine, tmp_path):
    path = tmp_path / "edit.toml"
    path.write_text(SCORE)
    first = play(engine, path, "--bars", "1-1")
    assert first.returncode == 0, first.stderr
    edited = SCORE.replace('title = "Play"', 'title = "Edited"').replace(
        'notes = "mf C5:4 E5 G5 C6 | <C5 E5 G5>:1 |"', 'notes = "mf C5:2 E5 | G5:1 |"')
    path.write_text(edited)
    again = play(engine, path)
    assert again.returncode == 0, again.stderr
    assert "playing Edited on " in again.stderr
    assert int(stats_of(again)["frames"]) == RenderPlan(load(path), sr=44100).frames


def test_ctrl_c_on_the_client_stops_the_piece(engine, tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(LONG)
    client = Client(engine, path)
    client.wait_for("playing Play on ")
    time.sleep(1.0)
    client.proc.send_signal(signal.SIGINT)
    assert client.finish() == 130
    assert "synth: interrupted" in "".join(client.err)
    # the engine stopped playing it (well before its 48 s), and serves the next piece
    end = time.time() + 10
    while time.time() < end:
        status = subprocess.run(SYNTH + ["engine", "status"], capture_output=True, text=True,
                                env=engine, timeout=60)
        if "playing now" not in status.stdout:
            break
        time.sleep(0.2)
    assert status.returncode == 0 and "engine running" in status.stdout
    assert "playing now" not in status.stdout
    short = tmp_path / "short.toml"
    short.write_text(SCORE)
    assert play(engine, short, "--bars", "1-1").returncode == 0


def test_a_stop_from_the_client_ends_the_piece_at_once(engine, tmp_path):
    """What q on the client's terminal sends."""
    from synth.commands._engine_client import PROTOCOL, build_id

    path = tmp_path / "long.toml"
    path.write_text(LONG)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.path.join(engine["SYNTH_ENGINE_DIR"], "engine.sock"))
    args = {"input": str(path), "sample_rate": 44100, "seed": None, "variation": 0,
            "no_cache": False, "max_seconds": 3600.0, "preset": None, "bars": None,
            "ceiling": -1.0, "jobs": 1, "from_bar": None, "device": None, "latency": 0.2,
            "list_devices": False, "stats": True, "quiet": False, "verbose": False,
            "no_engine": False, "traceback": False, "command": "play"}
    sock.sendall((json.dumps({"op": "play", "protocol": PROTOCOL, "build": build_id(),
                              "args": args, "cwd": str(tmp_path), "env": {},
                              "show": False}) + "\n").encode())
    reader = sock.makefile("r")
    events = []
    while not events or events[-1]["event"] != "first_block":
        events.append(json.loads(reader.readline()))
    assert events[0]["event"] == "accepted"
    t0 = time.perf_counter()
    sock.sendall(b'{"op": "stop"}\n')
    while events[-1]["event"] != "done":
        events.append(json.loads(reader.readline()))
    assert time.perf_counter() - t0 < 5
    assert 0 < events[-1]["stats"]["frames"] < 44100 * 40       # cut short of its 48 s
    sock.close()


def test_a_new_play_takes_over_from_the_one_playing(engine, tmp_path):
    long = tmp_path / "long.toml"
    long.write_text(LONG)
    first = Client(engine, long)
    first.wait_for("playing Play on ")
    short = tmp_path / "short.toml"
    short.write_text(SCORE.replace('title = "Play"', 'title = "Second"'))
    second = play(engine, short, "--bars", "1-1")
    assert second.returncode == 0, second.stderr
    assert "playing Second bars 1-1 on " in second.stderr
    assert first.finish() == 0
    assert "synth: stopped: another synth play took over" in "".join(first.err)


def test_an_engine_of_another_build_is_not_used(engine, tmp_path):
    path = tmp_path / "play.toml"
    path.write_text(SCORE)
    # the client of another build (another version, or the checkout edited since the
    # engine started) is refused, and plays in its own process
    code = ("import sys\n"
            "import synth.commands._engine_client as e\n"
            "e.build_id = lambda **k: '0.0.0+another'\n"
            "from synth.cli import main\n"
            f"sys.exit(main(['play', {str(path)!r}, '--verbose', '--stats', '--bars', '1-1',"
            " '--sample-rate', '44100']))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=engine, timeout=120)
    assert run.returncode == 0, run.stderr
    assert re.search(r"the running engine is not used \(it runs synth [\w.+]+, this is "
                     r"0\.0\.0\+another; restart it", run.stderr), run.stderr
    assert "engine" not in stats_of(run)


def test_status_stop_and_start_again(engine, tmp_path):
    env = dict(engine, SYNTH_ENGINE_DIR=str(tmp_path / "own"))
    assert subprocess.run(SYNTH + ["engine", "status"], env=env, capture_output=True,
                          text=True, timeout=60).returncode == 3
    start = subprocess.run(SYNTH + ["engine", "start"], env=env, capture_output=True,
                           text=True, timeout=300)
    assert start.returncode == 0, start.stderr
    again = subprocess.run(SYNTH + ["engine", "start"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 2 and "already running" in again.stderr
    status = subprocess.run(SYNTH + ["engine", "status"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 0 and re.match(r"engine running: pid \d+", status.stdout)
    stop = subprocess.run(SYNTH + ["engine", "stop"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert stop.returncode == 0 and "engine stopped" in stop.stdout
    assert not os.path.exists(tmp_path / "own" / "engine.sock")
    assert subprocess.run(SYNTH + ["engine", "status"], env=env, capture_output=True,
                          text=True, timeout=60).returncode == 3


def test_render_to_standard_output_is_streamed_by_the_engine_byte_for_byte(engine, tmp_path):
    path = tmp_path / "play.toml"
    path.write_text(SCORE)
    argv = SYNTH + ["render", str(path), "-o", "-", "--master", "limit", "--quiet"]

    def streams():
        status = subprocess.run(SYNTH + ["engine", "status"], capture_output=True, text=True,
                                env=engine, timeout=60)
        return int(re.search(r"(\d+) streamed", status.stdout)[1])

    before = streams()
    streamed = subprocess.run(argv, capture_output=True, env=engine, timeout=120)
    assert streams() == before + 1                      # the engine rendered it
    here = subprocess.run(argv + ["--no-engine"], capture_output=True, env=engine, timeout=120)
    assert streams() == before + 1                      # this one rendered itself
    assert streamed.returncode == 0 and here.returncode == 0, streamed.stderr + here.stderr
    assert streamed.stdout == here.stdout and streamed.stdout[:4] == b"RIFF"
    # a bad piece: the usual line and exit status 2, as when rendering here
    bad = tmp_path / "bad.toml"
    bad.write_text('[score]\ntempo = 120\n[parts.a]\npreset = "saw"\nnotes = "C4:1 X9:1"\n')
    argv = SYNTH + ["render", str(bad), "-o", "-", "--master", "limit"]
    streamed = subprocess.run(argv, capture_output=True, text=True, env=engine, timeout=120)
    here = subprocess.run(argv + ["--no-engine"], capture_output=True, text=True, env=engine,
                          timeout=120)
    assert streamed.returncode == here.returncode == 2
    assert streamed.stderr == here.stderr and streamed.stderr.startswith("synth: error: ")
    assert streamed.stdout == here.stdout == ""


def test_fingerprint_ignores_editor_files_but_not_edits(tmp_path):
    """An editor's swap or backup file beside the package does not make a running
    engine look stale; a changed source file does."""
    import os

    from synth.version import tree_fingerprint

    (tmp_path / "voice.py").write_text("x = 1\n")
    (tmp_path / "__pycache__").mkdir()
    before = tree_fingerprint(str(tmp_path))
    for name in (".voice.py.swp", "voice.py~", "#voice.py#", "__pycache__/voice.cpython-311.pyc"):
        (tmp_path / name).write_text("scratch")
    assert tree_fingerprint(str(tmp_path)) == before
    (tmp_path / "voice.py").write_text("x = 2\n")
    os.utime(tmp_path / "voice.py", ns=(1, 1))
    assert tree_fingerprint(str(tmp_path)) != before


def test_an_idle_engine_stops_by_itself_and_lets_go_of_the_device(tmp_path):
    """--idle-exit: with nothing played, the engine stops, removes its socket and
    says why in its log (an engine orphaned by a killed run does not stay)."""
    _need_device()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               SYNTH_ENGINE_DIR=str(tmp_path))
    start = subprocess.run(SYNTH + ["engine", "start", "--sample-rate", "44100",
                                    "--idle-exit", "0.02"],           # 1.2 s
                           capture_output=True, text=True, env=env, timeout=300)
    assert start.returncode == 0, start.stderr
    pid = int(re.match(r"engine started: pid (\d+)", start.stdout).group(1))
    sock = tmp_path / "engine.sock"
    end = time.time() + 60
    while time.time() < end and sock.exists():
        time.sleep(0.2)
    assert not sock.exists(), "the idle engine is still serving"
    for _ in range(100):                       # its process ends once the stream is closed
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGTERM)
        raise AssertionError("the idle engine's process did not end")
    log = (tmp_path / "engine.log").read_text()
    assert "idle for 0.02 min: stopping" in log
    status = subprocess.run(SYNTH + ["engine", "status"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert status.returncode == 3 and "no engine running" in status.stdout
