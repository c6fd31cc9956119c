"""Each TOML file is read and parsed once per load (issue 16)."""

from __future__ import annotations

import collections
import os
import tomllib

import pytest

import synth
from synth import cli
from synth.errors import ArrangementError, ScoreError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ARRANGEMENT = os.path.join(ROOT, "arrangements", "laurel-waltz-nightmare-march.toml")
SOURCE = os.path.join(ROOT, "arrangements", "sources", "laurel-waltz.toml")


@pytest.fixture
def parses(monkeypatch):
    """Count tomllib.loads calls by the title line of the text parsed."""
    counts: collections.Counter[str] = collections.Counter()
    real = tomllib.loads

    def counting(text, *args, **kwargs):
        doc = real(text, *args, **kwargs)
        head = doc.get("arrangement") or doc.get("score") or {}
        counts[head.get("title", "?")] += 1
        return doc

    monkeypatch.setattr(tomllib, "loads", counting)
    return counts


def _title(path: str, table: str) -> str:
    with open(path, "rb") as f:
        return tomllib.load(f)[table]["title"]


def test_score_file_parsed_once(parses):
    synth.load(SOURCE)
    assert dict(parses) == {_title(SOURCE, "score"): 1}


def test_arrangement_and_its_source_parsed_once_each(parses):
    synth.load(ARRANGEMENT)
    assert dict(parses) == {_title(ARRANGEMENT, "arrangement"): 1, _title(SOURCE, "score"): 1}


def test_cli_render_parses_each_file_once(parses, tmp_path):
    code = cli.main(["render", ARRANGEMENT, "-o", str(tmp_path / "a.wav"), "--quiet",
                     "--bars", "1-1", "--sample-rate", "22050", "--jobs", "1", "--no-cache"])
    assert code == 0
    assert dict(parses) == {_title(ARRANGEMENT, "arrangement"): 1, _title(SOURCE, "score"): 1}


def test_the_composed_score_cache_reads_the_input_once(parses, tmp_path, monkeypatch):
    """With the cache on (as the commands load), a miss still parses each file once."""
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SYNTH_NO_CACHE", raising=False)
    synth.load(ARRANGEMENT, cache=True, seed=12345)
    assert dict(parses) == {_title(ARRANGEMENT, "arrangement"): 1, _title(SOURCE, "score"): 1}


def test_outside_a_load_each_read_sees_the_file_as_it_is_now(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[score]\ntitle = "one"\n[parts.a]\nnotes = "C4"\n')
    assert synth.load(path).metadata.title == "one"
    path.write_text('[score]\ntitle = "two, longer"\n[parts.a]\nnotes = "C4"\n')
    assert synth.load(path).metadata.title == "two, longer"


def test_errors_still_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[score]\ntitle = "x"\ntempo = \n')
    with pytest.raises(ScoreError, match=r"bad\.toml:3:9: TOML syntax error"):
        synth.load(bad)
    arr = tmp_path / "arr.toml"
    arr.write_text('[arrangement]\ntitle = "x"\nsource = \n')
    # not parseable, so not recognised as an arrangement: read as a score file
    with pytest.raises(ScoreError, match=r"arr\.toml.*TOML syntax error"):
        synth.load(arr)
    arr.write_bytes(b'[arrangement]\ntitle = "\xff"\nsource = "s.toml"\n')
    with pytest.raises(ScoreError, match=r"arr\.toml.*not UTF-8"):
        synth.load(arr)
    from synth.arrangement import read_arrangement
    with pytest.raises(ArrangementError, match=r"arr\.toml.*not UTF-8 text \(byte 23\)"):
        read_arrangement(arr)


def test_cli_render_validates_the_arrangement_once(tmp_path, monkeypatch):
    """The output check asks only for the source's path: the transforms, tension
    curves and patches of the arrangement are resolved by the load alone."""
    import synth.arrangement as arrangement

    calls = []
    real = arrangement.read_arrangement

    def counting(path):
        calls.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(arrangement, "read_arrangement", counting)
    code = cli.main(["render", ARRANGEMENT, "-o", str(tmp_path / "a.wav"), "--quiet",
                     "--bars", "1-1", "--sample-rate", "22050", "--jobs", "1", "--no-cache"])
    assert code == 0
    assert calls == [ARRANGEMENT]


def test_arrangement_source_is_the_path_the_load_uses():
    from synth.arrangement import read_arrangement
    from synth.sources import arrangement_source

    assert arrangement_source(ARRANGEMENT) == SOURCE
    assert read_arrangement(ARRANGEMENT).source_path == SOURCE
    assert arrangement_source(SOURCE) is None          # a score file names no source
