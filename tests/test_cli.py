"""The command line: exit codes, messages, files written or not."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from synth.cli import main

SCORE = """\
[score]
title = "CLI test"
composer = "synth tests"
seed = 11
tempo = 120
meter = "4/4"
key = "D minor"

[provenance]
source = "written for the tests"

[parts.lead]
preset = "saw"
notes = "mf D4:4 F4 E4 A4 | D5:2 r:2 |"

[parts.bass]
preset = "triangle"
pan = -0.2
notes = "D2:1 | A2:1 |"
"""


@pytest.fixture
def score_file(tmp_path):
    p = tmp_path / "piece.toml"
    p.write_text(SCORE)
    return p


def run(*argv):
    return main([str(a) for a in argv])


def test_render_writes_a_wav_and_reports(score_file, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert run("render", score_file, "-o", out, "--sample-rate", 22050, "--jobs", 1) == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (22050, 2, "PCM_24")
    # two 4/4 bars at 120 bpm = 4 s, plus the release tails
    assert 4.0 < info.duration < 4.5
    err = capsys.readouterr().err
    assert "wrote" in err and "seed 11" in err


def test_render_metadata_traces_back_to_the_source(score_file, tmp_path):
    out = tmp_path / "out.wav"
    assert run("render", score_file, "-o", out, "--sample-rate", 22050, "--quiet") == 0
    with sf.SoundFile(out) as f:
        meta = f.copy_metadata()
    assert meta["title"] == "CLI test"
    assert "piece.toml" in meta["comment"] and "seed: 11" in meta["comment"]
    assert meta["software"].startswith("synth ")


def test_seed_option_is_recorded(score_file, tmp_path):
    out = tmp_path / "out.wav"
    assert run("render", score_file, "-o", out, "--sample-rate", 22050, "--seed", 99, "--quiet") == 0
    with sf.SoundFile(out) as f:
        assert "seed: 99" in f.copy_metadata()["comment"]


@pytest.mark.parametrize("depth, subtype", [("16", "PCM_16"), ("24", "PCM_24"), ("float", "FLOAT")])
def test_bit_depth_option(score_file, tmp_path, depth, subtype):
    out = tmp_path / "out.wav"
    assert run("render", score_file, "-o", out, "--bit-depth", depth, "--sample-rate", 22050,
               "--quiet") == 0
    assert sf.info(out).subtype == subtype


def test_existing_output_needs_force(score_file, tmp_path, capsys):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    assert run("render", score_file, "-o", out, "--quiet") == 2
    err = capsys.readouterr().err
    assert err.startswith("synth: error:") and "file exists" in err and "--force" in err
    assert out.read_bytes() == b"keep me"
    assert run("render", score_file, "-o", out, "--force", "--quiet", "--sample-rate", 22050) == 0
    assert sf.info(out).frames > 0


def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SCORE.replace("E4 A4 |", "E4 A4 G4 |"))     # 5 beats in a 4/4 bar
    out = tmp_path / "out.wav"
    assert run("render", bad, "-o", out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "bad.toml" in err[0] and "bar 1" in err[0] and "lead" in err[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_missing_file(tmp_path, capsys):
    assert run("render", tmp_path / "nope.toml", "-o", tmp_path / "x.wav") == 2
    assert "nope.toml: no such file" in capsys.readouterr().err


def test_unknown_file_type(tmp_path, capsys):
    p = tmp_path / "x.txt"
    p.write_text("hello")
    assert run("info", p) == 2
    assert "unknown file type '.txt'" in capsys.readouterr().err


def test_non_utf8_score(tmp_path, capsys):
    p = tmp_path / "latin1.toml"
    p.write_bytes(SCORE.replace("synth tests", "Jos\xe9").encode("latin-1"))
    assert run("info", p) == 2
    err = capsys.readouterr().err
    assert "latin1.toml" in err and "UTF-8" in err


def test_max_seconds_refuses_before_rendering(score_file, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert run("render", score_file, "-o", out, "--max-seconds", 2) == 2
    assert "more than the limit of 2 s" in capsys.readouterr().err
    assert not out.exists()


def test_preset_option_replaces_every_part(score_file, tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    assert run("render", score_file, "-o", a, "--sample-rate", 22050, "--quiet") == 0
    assert run("render", score_file, "-o", b, "--sample-rate", 22050, "--quiet",
               "--preset", "sine") == 0
    ya, _ = sf.read(a)
    yb, _ = sf.read(b)
    # a sine has almost no energy above 2 kHz; the saw and triangle parts do
    def hf_ratio(y):
        spec = np.abs(np.fft.rfft(y[:, 0]))
        f = np.fft.rfftfreq(len(y), 1 / 22050)
        return spec[f > 2000].sum() / spec.sum()
    assert hf_ratio(yb) < 0.1 * hf_ratio(ya)


def test_unknown_preset_option(score_file, tmp_path, capsys):
    assert run("render", score_file, "-o", tmp_path / "a.wav", "--preset", "sawz") == 2
    assert "unknown preset 'sawz'" in capsys.readouterr().err


def test_info_text_and_json(score_file, capsys):
    assert run("info", score_file) == 0
    text = capsys.readouterr().out
    assert "CLI test" in text and "lead" in text and "D minor" in text and "120 bpm" in text
    assert run("info", score_file, "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["title"] == "CLI test"
    assert [p["name"] for p in info["parts"]] == ["lead", "bass"]
    assert [p["notes"] for p in info["parts"]] == [5, 2]
    assert info["duration_seconds"] == pytest.approx(4.0)
    assert info["provenance"]["source"] == "written for the tests"


def test_stems_option(score_file, tmp_path):
    out = tmp_path / "mix.wav"
    assert run("render", score_file, "-o", out, "--stems", tmp_path / "stems",
               "--bit-depth", "float", "--sample-rate", 22050, "--quiet") == 0
    mix, _ = sf.read(out)
    stems = [sf.read(tmp_path / "stems" / f)[0] for f in sorted(os.listdir(tmp_path / "stems"))]
    assert len(stems) == 2
    assert np.abs(sum(stems) - mix).max() < 1e-6


def test_misspelled_subcommand_and_option_suggest(capsys):
    with pytest.raises(SystemExit) as e:
        main(["rendr", "x.toml"])
    assert e.value.code == 2
    assert "did you mean 'render'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["render", "x.toml", "--forse"])
    assert e.value.code == 2
    assert "did you mean '--force'" in capsys.readouterr().err


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("synth ")
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    assert "synth render" in capsys.readouterr().out


def test_console_script_pipe_and_no_traceback(score_file, tmp_path):
    """Through a real process: `-o -` gives a valid WAV on stdout; errors have no traceback."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-m", "synth", "render", str(score_file), "-o", "-",
                           "--sample-rate", "22050", "--quiet"], capture_output=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    piped = tmp_path / "piped.wav"
    piped.write_bytes(proc.stdout)
    assert sf.info(piped).frames > 0
    bad = subprocess.run([sys.executable, "-m", "synth", "info", str(tmp_path / "missing.toml")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_internal_error_exits_1_without_traceback(score_file, tmp_path, monkeypatch, capsys):
    import importlib
    render_module = importlib.import_module("synth.render.plan")

    def broken(*a, **k):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(render_module, "render_note_pieces", broken)
    assert run("render", score_file, "-o", tmp_path / "a.wav", "--jobs", 1, "--quiet") == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "--traceback" in err and "Traceback" not in err
    assert not (tmp_path / "a.wav").exists()


def test_bars_option_renders_an_excerpt(score_file, tmp_path):
    out = tmp_path / "bar2.wav"
    assert run("render", score_file, "-o", out, "--bars", "2-2", "--sample-rate", 22050,
               "--quiet") == 0
    # one 4/4 bar at 120 bpm = 2 s, plus the release tail
    assert 2.0 < sf.info(out).duration < 2.5
    with pytest.raises(SystemExit):
        main(["render", str(score_file), "--bars", "3-1"])


def test_every_help_example_names_files_that_exist(capsys):
    """The examples in --help are meant to be copied: the shipped files they name must exist."""
    import re
    import pathlib
    from synth.cli import COMMANDS

    root = pathlib.Path(__file__).resolve().parents[1]
    texts = []
    for argv in [["--help"]] + [[c, "--help"] for c in COMMANDS]:
        with pytest.raises(SystemExit):
            main(argv)
        texts.append(capsys.readouterr().out)
        assert "example" in texts[-1], argv
    named = set(re.findall(r"\b((?:arrangements|examples)/[\w./-]+\.(?:toml|py))", "\n".join(texts)))
    assert named, "the help should show shipped files"
    missing = sorted(p for p in named if not (root / p).exists())
    assert missing == []


def test_renders_are_identical_across_processes_and_hash_seeds(tmp_path):
    """Reproducible on any run: two fresh processes with different PYTHONHASHSEEDs
    render an arrangement (seeded transforms and voices) to the same bytes."""
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    arrangement = root / "arrangements" / "laurel-waltz-carousel-5-8.toml"
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}.wav"
        env = dict(os.environ, PYTHONHASHSEED=hash_seed,
                   PYTHONPATH=os.pathsep.join(sys.path))
        proc = subprocess.run([sys.executable, "-m", "synth", "render", str(arrangement),
                               "--bars", "1-6", "--sample-rate", "22050", "--variation", "2",
                               "-o", str(out), "--quiet"], capture_output=True, env=env,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_each_command_module_registers_the_help_line_synth_help_shows(capsys):
    """``synth --help`` lists the commands from cli.COMMAND_HELP without importing their
    modules; each module, once imported, must register that same line and a full parser."""
    import argparse
    import importlib

    from synth import cli

    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    sub = cli.build_parser()._subparsers._group_actions[0]
    for name, line in cli.COMMAND_HELP.items():
        assert line in " ".join(top.split()), name
        registrar = cli._Registrar(sub, name)
        importlib.import_module(f"synth.commands.{name}").register(registrar)
        assert registrar.help == line, name
        parser = sub._name_parser_map[name]
        assert parser.prog == f"synth {name}"
        assert isinstance(parser, argparse.ArgumentParser) and parser.get_default("func")


def test_help_and_version_import_no_subcommand_module_but_the_one_asked():
    """Start-up: ``synth --version`` and ``synth render --help`` leave the other commands'
    modules (analysis, batch, MIDI writer, plotting, playback) unimported."""
    code = ("import sys\nfrom synth.cli import main\n"
            "for argv in (['--version'], ['render', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('synth.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()[-1].split()
    assert "synth.commands.render" in out
    for heavy in ("synth.commands.analyze", "synth.commands.play", "synth.commands.batch",
                  "synth.analysis", "synth.batch", "synth.midi.writer", "synth.plot"):
        assert heavy not in out, heavy
