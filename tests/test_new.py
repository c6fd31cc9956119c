"""synth new: the starter arrangement renders as it is, from any folder, and
its commented-out examples are valid too."""

import os
import tomllib

import numpy as np
import pytest
import soundfile as sf

import synth
from synth.cli import main

SOURCE = """\
[score]
title = "Two parts"
seed = 5
tempo = 150
meter = "3/4"

[parts.lead]
preset = "square"
gain_db = -3
pan = 0.5
notes = "mf D5:4 E5 F5 | A5:2. | G5:4 F5 E5 | D5:2. |"

[parts."low pad"]
preset = "sine"
notes = "D3:2. | D3:2. | A2:2. | D3:2. |"
"""


def render(path, *extra):
    """Render ``path`` at 22050 Hz; returns (samples (n, 2), sr)."""
    out = str(path)[:-5] + "".join(extra).replace("-", "") + ".wav"
    assert main(["render", str(path), "-o", out, "--sample-rate", "22050", "-j", "1",
                 "--quiet", "--force", *extra]) == 0
    return sf.read(out)


def uncomment_examples(text: str) -> str:
    """Remove the '# ' of every commented [[transform]] / [parts.X] block and tempo_scale."""
    out, on = [], False
    for line in text.splitlines():
        if line.startswith(("# [[transform]]", "# [parts.", "# tempo_scale")):
            on = True
        if on and line.startswith("# "):
            out.append(line[2:])
            continue
        on = False
        out.append(line)
    return "\n".join(out) + "\n"


def test_new_then_render_gives_the_starter_tune(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "foo"]) == 0
    assert "synth render foo.toml" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["foo-source.toml", "foo.toml"]
    audio, sr = render(tmp_path / "foo.toml")
    # 9 bars of 4/4 at 120 bpm = 18 s, then the release tails (saw: 0.4 s)
    seconds = len(audio) / sr
    assert 18.0 < seconds < 18.0 + 1.0, seconds
    assert abs(20 * np.log10(np.abs(audio).max()) - (-1.0)) < 0.05   # master peak at -1 dBFS
    # sound in every second of the piece: no silent gaps
    per_second = audio[: 18 * sr].reshape(18, sr, 2)
    rms_db = 10 * np.log10(np.mean(per_second ** 2, axis=(1, 2)))
    assert rms_db.min() > -30, rms_db


def test_seed_changes_the_render(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "foo", "--quiet"]) == 0
    a, _ = render(tmp_path / "foo.toml")
    b, _ = render(tmp_path / "foo.toml", "--seed", "2")
    c, _ = render(tmp_path / "foo.toml", "--seed", "1")
    np.testing.assert_array_equal(a, c)                  # the file's seed is 1
    n = min(len(a), len(b))
    assert np.max(np.abs(a[:n] - b[:n])) > 0.01          # the detune drift moved


def test_written_and_rendered_from_other_folders(tmp_path, monkeypatch):
    for d in ("here", "there", "a/b"):
        (tmp_path / d).mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "here")
    assert main(["new", "My Piece", "-o", "../a/b/piece.toml", "--quiet"]) == 0
    assert sorted(os.listdir(tmp_path / "a/b")) == ["piece-source.toml", "piece.toml"]
    monkeypatch.chdir(tmp_path / "there")
    audio, sr = render(tmp_path / "a/b/piece.toml")
    assert 18.0 < len(audio) / sr < 19.0
    doc = tomllib.loads((tmp_path / "a/b/piece.toml").read_text())
    assert doc["arrangement"]["title"] == "My Piece"
    assert doc["arrangement"]["source"] == "piece-source.toml"


def test_from_source_orchestrates_its_parts(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "arr").mkdir()
    (tmp_path / "src/two.toml").write_text(SOURCE)
    monkeypatch.chdir(tmp_path)
    assert main(["new", "mine", "--from", "src/two.toml", "-o", "arr/mine.toml", "--quiet"]) == 0
    doc = tomllib.loads((tmp_path / "arr/mine.toml").read_text())
    assert doc["arrangement"]["source"] == "../src/two.toml"
    assert set(doc["parts"]) == {"lead", "low pad"}
    assert doc["parts"]["lead"] == {"preset": "square", "gain_db": -3, "pan": 0.5}
    monkeypatch.chdir(tmp_path / "src")
    audio, sr = render(tmp_path / "arr/mine.toml")
    # 4 bars of 3/4 at 150 bpm = 4.8 s, plus short release tails
    assert 4.8 < len(audio) / sr < 4.8 + 0.5


def test_every_commented_example_is_valid_when_uncommented(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.toml").write_text(SOURCE)
    assert main(["new", "a", "--quiet"]) == 0
    assert main(["new", "b", "--from", "two.toml", "--quiet"]) == 0
    for name, made in (("a", {"shadow", "divisions"}), ("b", {"shadow", "lead_canon"})):
        full = tmp_path / f"{name}-all.toml"
        full.write_text(uncomment_examples((tmp_path / f"{name}.toml").read_text()))
        score = synth.load(full)
        assert made <= {p.name for p in score.parts}
        doc = tomllib.loads(full.read_text())
        assert [t["name"] for t in doc["transform"]][-2:] == ["remeter", "humanise"]
        assert score.meters.meter_at(0.0).numerator == 7     # remeter to 7/8 took effect


def test_existing_files_need_force(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "foo-source.toml").write_text("keep")
    assert main(["new", "foo"]) == 2
    assert "foo-source.toml: file exists (use --force to overwrite)" in capsys.readouterr().err
    assert not (tmp_path / "foo.toml").exists()          # nothing written
    assert (tmp_path / "foo-source.toml").read_text() == "keep"
    assert main(["new", "foo", "--force", "--quiet"]) == 0
    assert "[parts.tune]" in (tmp_path / "foo-source.toml").read_text()


def test_bad_source_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "x", "--from", "missing.mid"]) == 2
    err = capsys.readouterr().err
    assert "missing.mid" in err and "no such file" in err and err.count("\n") == 1
    assert not (tmp_path / "x.toml").exists()


@pytest.mark.parametrize("name,stem", [("foo", "foo"), ("My Piece!", "my-piece"), ("../x", "x")])
def test_default_file_name_is_a_slug_in_the_current_folder(tmp_path, monkeypatch, name, stem):
    monkeypatch.chdir(tmp_path)
    assert main(["new", name, "--quiet"]) == 0
    assert (tmp_path / f"{stem}.toml").exists()
