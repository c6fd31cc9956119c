"""Bundled pieces by name (synth.resources), synth pieces, and synth new --from a bundled source."""

from __future__ import annotations

import json
import pathlib

import pytest

import synth
from synth.cli import main
from synth.resources import DISTRIBUTION, data_dir, find_piece, install_hint, pieces, resolve_input

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_pieces_are_every_arrangement_and_source():
    names = [p.name for p in pieces()]
    expected = sorted(p.stem for p in (ROOT / "arrangements").glob("*.toml")) + sorted(
        f"sources/{p.stem}" for p in (ROOT / "arrangements" / "sources").glob("*.toml"))
    assert names == expected
    ice = find_piece("sonnerie-bells-in-the-ice")
    assert ice.kind == "arrangement" and ice.title.startswith("Sonnerie: Bells in the Ice")
    assert find_piece("sonnerie-bells-in-the-ice.toml") == ice
    assert find_piece("sonnerie").name == "sources/sonnerie"          # a source by its stem
    assert find_piece("nothing") is None
    for name in ("arrangements", "examples", "docs"):
        assert data_dir(name).is_dir()


def test_a_file_wins_over_a_bundled_piece(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_input("sonnerie-bells-in-the-ice") == str(find_piece(
        "sonnerie-bells-in-the-ice").path)
    (tmp_path / "sonnerie-bells-in-the-ice").write_text("mine")
    assert resolve_input("sonnerie-bells-in-the-ice") == "sonnerie-bells-in-the-ice"
    assert resolve_input("song.mid") == "song.mid"                    # left to the reader


def test_load_takes_a_piece_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    score = synth.load("sources/laurel-waltz")
    assert score.parts and score.metadata.title.startswith("The Laurel Waltz")
    with pytest.raises(synth.SynthError, match="did you mean 'sources/laurel-waltz'"):
        synth.load("sources/laurel-walz")


def test_synth_pieces(capsys, tmp_path):
    assert main(["pieces"]) == 0
    out = capsys.readouterr().out
    assert "sonnerie-bells-in-the-ice" in out and "sources/sonnerie" in out and "docs:" in out
    assert main(["pieces", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in data["pieces"]} == {p.name for p in pieces()}
    assert set(data["folders"]) == {"arrangements", "examples", "docs"}
    assert main(["pieces", "--copy", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "sonnerie-bells-in-the-ice.toml").is_file()
    assert (tmp_path / "mine" / "sources" / "sonnerie.toml").is_file()
    assert main(["pieces", "--copy", str(tmp_path / "mine")]) == 2      # never overwrites
    assert "already there" in capsys.readouterr().err


def test_render_by_piece_name_and_did_you_mean(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["render", "laurel-waltz-nightmare-march", "--bars", "1-2", "--sample-rate",
                 "22050", "--jobs", "1", "--quiet"]) == 0
    assert (tmp_path / "laurel-waltz-nightmare-march.wav").stat().st_size > 1000
    assert main(["info", "laurel-waltz-nightmare-mrch"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'laurel-waltz-nightmare-march'" in err and "synth pieces" in err


def test_new_from_a_bundled_source_copies_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "waltz", "--from", "sources/laurel-waltz"]) == 0
    assert (tmp_path / "laurel-waltz.toml").is_file()
    text = (tmp_path / "waltz.toml").read_text()
    assert 'source = "laurel-waltz.toml"' in text
    tutorial = text.split("Walk-through: ", 1)[1].split()[0]
    assert pathlib.Path(tutorial).is_file()
    assert main(["render", "waltz.toml", "--bars", "1-2", "--sample-rate", "22050",
                 "--quiet"]) == 0


def test_new_refuses_a_bundled_source_copied_onto_the_output(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "laurel-waltz", "--from", "sources/laurel-waltz"]) == 2
    assert "the file to write" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []             # refused before anything was copied


def test_install_hints_name_the_distribution():
    assert DISTRIBUTION == "synth-liquidsky"
    assert install_hint("plot") == "pip install 'synth-liquidsky[plot]'"
    text = (ROOT / "pyproject.toml").read_text()
    assert f'name = "{DISTRIBUTION}"' in text
    offenders = []
    for path in [*ROOT.glob("synth/**/*.py"), *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "pip install 'synth[" in line or "pip install synth " in line:
                offenders.append(f"{path.relative_to(ROOT)}:{i}")
    assert not offenders, f"install hints with the wrong distribution name: {offenders}"
