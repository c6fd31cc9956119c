"""``synth watch``: a real watcher process on a real file, edited as an editor would."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

import pytest
import soundfile as sf

from synth.cli import main
from synth.commands.watch import dependencies, first_changed_bar
from synth.loader import load

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))

SCORE = """\
[score]
title = "Watched"
tempo = 160
meter = "4/4"
seed = 4

[parts.tune]
preset = "triangle"
notes = "mf C5:4 D5 E5 F5 | G5:4 A5 B5 C6 | C6:1 |"
"""


def _lines(stream, into: queue.Queue):
    for line in iter(stream.readline, ""):
        into.put(line)


def _wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _save(path, text):
    """As editors do: write a temporary file, then rename it over the original."""
    tmp = path.with_name("." + path.name + ".swp-new")
    tmp.write_text(text)
    os.replace(tmp, path)


class _Watcher:
    """A ``synth watch`` process with its standard error read line by line in a thread."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "synth", "watch", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=ENV)
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=_lines, args=(self.proc.stderr, self._queue), daemon=True).start()
        self.seen: list[str] = []

    def saw(self, text: str) -> bool:
        """Whether a line containing ``text`` came since the last ``seen.clear()``."""
        while not self._queue.empty():
            self.seen.append(self._queue.get())
        return any(text in line for line in self.seen)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_watch_rewrites_the_output_and_survives_a_broken_edit(tmp_path):
    pytest.importorskip("watchfiles")
    src = tmp_path / "piece.toml"
    src.write_text(SCORE)
    out = tmp_path / "piece.wav"
    watcher = _Watcher(str(src), "-o", str(out), "--jobs", "1", "--sample-rate", "22050")
    proc, saw, seen = watcher.proc, watcher.saw, watcher.seen
    try:
        _wait_for(lambda: saw("wrote"), 60, "the first render")
        first = out.read_bytes()
        time.sleep(0.3)
        seen.clear()
        # change one bar: the output is rewritten within a few seconds
        t0 = time.monotonic()
        _save(src, SCORE.replace("G5:4 A5 B5 C6", "G5:4 Ab5 B5 C6"))
        _wait_for(lambda: saw("wrote") and out.read_bytes() != first, 10, "the re-render")
        took = time.monotonic() - t0
        assert took < 10
        second = out.read_bytes()
        assert sf.info(out).frames > 0
        # a broken edit: one error line, the file is left as it was, watching goes on
        seen.clear()
        _save(src, SCORE.replace("G5:4 A5 B5 C6", "G5:4 A5 B5 Q6"))
        _wait_for(lambda: saw("synth: error:"), 10, "the error line")
        time.sleep(0.5)
        saw("")
        errors = [line for line in seen if line.startswith("synth: error:")]
        assert len(errors) == 1 and "piece.toml" in errors[0] and "Q6" in errors[0]
        assert proc.poll() is None, "watch exited on a broken edit"
        assert out.read_bytes() == second
        # fixed again: rendered again
        seen.clear()
        _save(src, SCORE)
        _wait_for(lambda: saw("wrote") and out.read_bytes() == first, 10, "the fixed render")
    finally:
        watcher.stop()
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".piece.wav")]
        assert not leftovers, f"temporary files left behind: {leftovers}"


def test_watch_plays_each_saved_version_from_the_changed_bar(tmp_path):
    """Playing on a real device: a save cuts the version playing (its stream is
    stopped while the new one loads) and the new one plays on the same stream."""
    pytest.importorskip("watchfiles")
    probe = subprocess.run([sys.executable, "-c", "import sounddevice as sd; "
                            "print(sd.query_devices(kind='output')['name'])"],
                           capture_output=True, text=True, env=ENV, timeout=60)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide an audio output (see .ci/run): {probe.stderr}")
        pytest.skip("no audio output here")
    src = tmp_path / "piece.toml"
    src.write_text(SCORE)          # 3 bars at 160 bpm: 4.5 s, still playing at each save
    watcher = _Watcher(str(src), "--sample-rate", "44100")
    proc, saw, seen = watcher.proc, watcher.saw, watcher.seen
    try:
        _wait_for(lambda: saw("playing from bar 1"), 60, "the first version playing")
        seen.clear()
        _save(src, SCORE.replace("G5:4 A5 B5 C6", "G5:4 Ab5 B5 C6"))    # bar 2
        _wait_for(lambda: saw("playing from bar 2"), 20, "the edited version playing")
        # a broken edit while it plays: one error line, watching goes on
        seen.clear()
        _save(src, SCORE.replace("G5:4 A5 B5 C6", "G5:4 A5 B5 Q6"))
        _wait_for(lambda: saw("synth: error:"), 20, "the error line")
        assert proc.poll() is None, "watch exited on a broken edit"
        # fixed: bar 2 differs from the last version that loaded, so it plays from there
        seen.clear()
        _save(src, SCORE)
        _wait_for(lambda: saw("playing from bar 2"), 20, "the fixed version playing")
        assert not [line for line in seen if line.startswith("synth: error:")], seen
    finally:
        watcher.stop()


def test_first_changed_bar(tmp_path):
    src = tmp_path / "piece.toml"
    src.write_text(SCORE)
    old = load(src)
    src.write_text(SCORE.replace("G5:4 A5 B5 C6", "G5:4 Ab5 B5 C6"))
    assert first_changed_bar(old, load(src)) == 2
    src.write_text(SCORE.replace("C6:1", "C6:2 G5:2"))
    assert first_changed_bar(old, load(src)) == 3
    src.write_text(SCORE.replace('preset = "triangle"', 'preset = "saw"'))
    assert first_changed_bar(old, load(src)) == 1
    assert first_changed_bar(old, old) == 1
    assert first_changed_bar(None, old) == 1


def test_dependencies_of_an_arrangement_include_its_source():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    arr = os.path.join(root, "arrangements", "laurel-waltz-nightmare-march.toml")
    deps = dependencies(arr)
    assert os.path.abspath(arr) in deps
    assert os.path.join(root, "arrangements", "sources", "laurel-waltz.toml") in deps


def test_without_watchfiles_exits_2_saying_what_to_install(tmp_path, monkeypatch, capsys):
    src = tmp_path / "piece.toml"
    src.write_text(SCORE)
    monkeypatch.setitem(sys.modules, "watchfiles", None)
    assert main(["watch", str(src), "-o", str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[watch]" in err and "pip install" in err
