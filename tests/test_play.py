"""``synth play``: a real PortAudio stream on whatever output the machine has.

CI (``.ci/run``) starts a JACK server with its dummy driver, a virtual output
that consumes audio in real time, so these tests play through PortAudio as a
user's machine would: no mock.  Elsewhere, without PortAudio or an output
device, the playing tests are skipped, except under ``CI=true``, where a
missing device is a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from synth.cli import main
from synth.loader import load
from synth.render import RenderPlan

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))

SCORE = """\
[score]
title = "Play"
tempo = 120
meter = "4/4"
seed = 2

[parts.tune]
preset = "cmi_bell"
notes = "mf C5:4 E5 G5 C6 | <C5 E5 G5>:1 |"

[parts.bass]
preset = "saw"
effects = [{ type = "reverb", rt60 = 0.8, mix = 0.2 }]
notes = "p C3:2 G2:2 | C3:1 |"
"""


@pytest.fixture
def score_file(tmp_path):
    path = tmp_path / "play.toml"
    path.write_text(SCORE)
    return path


def _output_device():
    """Why playing cannot be tested here (None: it can)."""
    probe = subprocess.run([sys.executable, "-c", "import sounddevice as sd; "
                            "print(sd.query_devices(kind='output')['name'])"],
                           capture_output=True, text=True, env=ENV, timeout=60)
    if probe.returncode != 0:
        return probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "no device"
    return None


def _need_device():
    why = _output_device()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide an audio output (see .ci/run): {why}")
        pytest.skip(f"no audio output here: {why}")


def test_play_streams_to_a_real_device_without_underruns(score_file):
    _need_device()
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "synth", "play", str(score_file), "--stats",
                          "--jobs", "1", "--sample-rate", "44100"], capture_output=True,
                         text=True, env=ENV, timeout=120)
    took = time.perf_counter() - t0
    assert run.returncode == 0, run.stderr
    stats = dict(re.findall(r"(\w+)=(\S+)", run.stdout.splitlines()[-1]))
    assert int(stats["underruns"]) == 0
    frames = int(stats["frames"])
    assert frames == RenderPlan(load(score_file), sr=44100).frames    # every sample played
    # a real stream takes real time: the device consumed the audio as it played
    assert took >= frames / 44100 * 0.9
    assert 0 < float(stats["first_block_after_start"]) < 30


def test_play_from_a_bar_plays_the_rest(score_file):
    _need_device()
    run = subprocess.run([sys.executable, "-m", "synth", "play", str(score_file), "--from", "2",
                          "--stats", "--jobs", "1", "--sample-rate", "44100"],
                         capture_output=True, text=True, env=ENV, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "from bar 2" in run.stderr
    frames = int(re.search(r"frames=(\d+)", run.stdout)[1])
    assert frames == RenderPlan(load(score_file).excerpt(2, 2), sr=44100).frames


def test_no_such_device_exits_2_with_one_line(score_file):
    run = subprocess.run([sys.executable, "-m", "synth", "play", str(score_file), "--device",
                          "no-such-device-xyz"], capture_output=True, text=True, env=ENV,
                         timeout=60)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("synth: error: ")
    # the device, or (without PortAudio or the extra) what to install
    assert "no-such-device-xyz" in run.stderr or "install" in run.stderr


def test_no_device_at_all_exits_2_naming_it(score_file, tmp_path):
    """No sound server and no card: JACK pointed at a server that is not there."""
    env = dict(ENV, JACK_DEFAULT_SERVER="synth-test-no-server", JACK_NO_START_SERVER="1",
               HOME=str(tmp_path))
    probe = subprocess.run([sys.executable, "-c", "import sounddevice as sd; "
                            "sd.query_devices(kind='output')"], env=env, capture_output=True,
                           timeout=60)
    if probe.returncode == 0:
        pytest.skip("this machine has an output device besides JACK (a sound card or an "
                    "ALSA default): no way to hide it here")
    run = subprocess.run([sys.executable, "-m", "synth", "play", str(score_file)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 2, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("synth:")]
    assert len(lines) == 1
    assert "no audio output device" in lines[0] or "install" in lines[0]


def test_without_the_play_extra_exits_2_saying_what_to_install(score_file, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sounddevice", None)       # import fails: not installed
    assert main(["play", str(score_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(r"pip install '[\w.-]+\[play\]'", err)


def test_without_portaudio_exits_2_saying_what_to_install(score_file, monkeypatch, capsys,
                                                          tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.syspath_prepend(str(fake))
    assert main(["play", str(score_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PortAudio" in err and "libportaudio2" in err


def test_bad_options_exit_2(score_file, capsys, monkeypatch):
    _need_device()
    assert main(["play", str(score_file), "--from", "2", "--bars", "1-2"]) == 2
    assert "--from or --bars" in capsys.readouterr().err
