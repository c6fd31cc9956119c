"""Arrangement files: source + transforms + orchestration, seeds, errors, `synth analyze`."""

import json

import pytest

from synth.analysis import mean_roughness
from synth.arrangement import load_arrangement, read_arrangement
from synth.cli import main
from synth.errors import ArrangementError, TransformError
from synth.seeds import derive_seed

SOURCE = """\
[score]
title = "Little ground"
composer = "Anon."
tempo = 100
meter = "3/4"
key = "D minor"

[provenance]
source = "test material"

[parts.ground]
preset = "triangle"
events = [[0,1,"D3",70],[1,1,"F3",70],[2,1,"E3",70],[3,1,"D3",70],[4,1,"F3",70],[5,1,"E3",70],
          [6,1,"D3",70],[7,1,"F3",70],[8,1,"E3",70],[9,1,"D3",70],[10,1,"F3",70],[11,1,"E3",70]]

[parts.tune]
preset = "sine"
events = [[0,2,"A4",80],[2,1,"G4",80],[3,1.5,"F4",80],[4.5,0.5,"E4",80],[5,1,"D4",80],
          [6,3,"A4",80],[9,3,"D5",80]]
"""

ARRANGEMENT = """\
[arrangement]
title = "Ground in the Ice"
arranger = "synth"
seed = 7
description = "Divisions over the ground, a semitone shadow, a 7/8 lurch."
source = "sources/ground.toml"
tempo_scale = 0.5

[[transform]]
name = "divisions"
ground = "ground"

[[transform]]
name = "shadow"
parts = ["tune"]
interval = 1
part = "tune_shadow"

[[transform]]
name = "detune"
parts = ["divisions"]
bars = [2, 3]
drift_cents = 15

[[transform]]
name = "remeter"
meter = "7/8"

[parts.tune_shadow]
preset = "square"
gain_db = -6
pan = 0.4
"""


def write(tmp_path, arrangement=ARRANGEMENT, source=SOURCE, name="arr.toml"):
    (tmp_path / "sources").mkdir(exist_ok=True)
    (tmp_path / "sources" / "ground.toml").write_text(source)
    path = tmp_path / name
    path.write_text(arrangement)
    return path


def test_load_arrangement_applies_pipeline_and_orchestration(tmp_path):
    score = load_arrangement(write(tmp_path))
    md = score.metadata
    assert md.title == "Ground in the Ice" and md.seed == 7
    assert md.description.startswith("Divisions over the ground")
    assert md.provenance["source"] == "test material"            # the source's own provenance kept
    assert "divisions" in md.provenance["generated"] and "tune_shadow" in md.provenance["generated"]
    assert "remeter(meter='7/8'" in md.provenance["transforms"]
    assert [p.name for p in score.parts] == ["ground", "tune", "divisions", "tune_shadow"]
    shadow = score.part("tune_shadow")
    assert shadow.preset == "square" and shadow.gain_db == -6 and shadow.pan == 0.4 and shadow.generated
    assert [str(m) for m in score.meters.changes] == ["7/8"]
    assert score.tempo.changes[0].bpm == 50                       # tempo_scale 0.5
    # 7/8 = 2+2+3 eighths, one source beat per group: 4 bars of 3.5 beats
    assert score.part("ground").notes[-1].end == pytest.approx(14.0)
    tune = [n.pitch for n in score.part("tune").notes]
    assert [n.pitch - 1 for n in shadow.notes] == tune


def test_same_seed_identical_other_seed_and_variation_differ(tmp_path):
    path = write(tmp_path)
    a, b = load_arrangement(path), load_arrangement(path)
    assert [p.notes for p in a.parts] == [p.notes for p in b.parts]
    c = load_arrangement(path, seed=8)
    assert c.metadata.seed == 8
    assert a.part("divisions").notes != c.part("divisions").notes
    v = load_arrangement(path, variation=2)
    assert v.metadata.seed == derive_seed(7, 2) != 7
    assert v.part("divisions").notes != a.part("divisions").notes
    assert load_arrangement(path, variation=2).part("divisions").notes == v.part("divisions").notes


def test_arrangement_is_rougher_than_source(tmp_path):
    path = write(tmp_path)
    from synth.loader import load
    src = load(tmp_path / "sources" / "ground.toml")
    assert mean_roughness(load_arrangement(path)) > 1.5 * mean_roughness(src)


def test_target_ratio_drives_a_parameter(tmp_path):
    arr = ARRANGEMENT.replace('interval = 1\n', 'interval = 1\ntarget_ratio = 2.0\n'
                              'drive = "interval"\ndrive_range = [0.0, 1.5]\n')
    score = load_arrangement(write(tmp_path, arr))
    assert "roughness_drive" in score.metadata.provenance
    assert "target" in score.metadata.provenance["roughness_drive"]
    assert "not reachable" not in score.metadata.provenance["roughness_drive"]


@pytest.mark.parametrize("edit, error, pattern", [
    (('name = "detune"', 'name = "detunne"'), TransformError,
     r"arr\.toml: transform\[2\]\.name: unknown transform 'detunne' \(did you mean 'detune'\?\)"),
    (("drift_cents = 15", "drift_cents = -3"), TransformError,
     r"arr\.toml: transform\[2\]\.drift_cents: -3 is below the minimum 0"),
    (("drift_cents = 15", "drift_cent = 15"), TransformError,
     r"transform\[2\]\.drift_cent: unknown parameter .*did you mean 'drift_cents'"),
    (('preset = "square"', 'preset = "sqaure"'), ArrangementError,
     r"arr\.toml.*parts\.tune_shadow.*preset.*'sqaure'"),
    (("[parts.tune_shadow]", "[parts.tune_shadw]"), ArrangementError,
     r"parts\.tune_shadw: no part named 'tune_shadw'.*did you mean 'tune_shadow'"),
    (("tempo_scale = 0.5", "tempo_scal = 0.5"), ArrangementError,
     r"arrangement\.tempo_scal: unknown key \(did you mean 'tempo_scale'\?\)"),
    (("tempo_scale = 0.5", "tempo_scale = 0.5\ntempo = 90"), ArrangementError,
     r"either tempo or tempo_scale"),
    # issue 15: bounded, with the file and line
    (("tempo_scale = 0.5", "tempo_scale = 1e9"), ArrangementError,
     r"arr\.toml:7: arrangement\.tempo_scale: 1000000000\.0 is above the maximum 20"),
    (("tempo_scale = 0.5", "tempo = 1e9"), ArrangementError,
     r"arr\.toml:7: arrangement\.tempo: 1000000000\.0 is above the maximum 1000 bpm"),
    (("[parts.tune_shadow]", "[parts.tune_shadow]\neffects = [{type = \"delay\", beats = 1e9}]"),
     ArrangementError,
     r"arr\.toml:\d+: parts\.tune_shadow\.effects\[0\]\.beats: 1000000000\.0 is above the "
     r"maximum 16 beats"),
    (("[parts.tune_shadow]", "[parts.tune_shadow]\neffects = [{type = \"chorus\", spred = 0.2}]"),
     ArrangementError,
     r"arr\.toml:\d+: parts\.tune_shadow\.effects\[0\]\.spred: unknown parameter of effect "
     r"'chorus' \(did you mean 'spread'\?\)"),
    (("bars = [2, 3]", "bars = [2, 1000000000]"), TransformError,
     r"transform\[2\]\.bars: bar 1000000000 is above the maximum 100000"),
    (('source = "sources/ground.toml"', 'source = "sources/missing.toml"'), ArrangementError,
     r"arrangement\.source: no such file"),
    (('parts = ["tune"]', 'parts = ["tuna"]'), TransformError,
     r"transform\[1\]\.parts: no part named 'tuna'"),
    (("seed = 7", "seed = -1"), ArrangementError, r"arrangement\.seed: expected an integer >= 0"),
    (("[[transform]]\nname = \"shadow\"", "[[transform]]\nnme = \"shadow\""), ArrangementError,
     r"transform\[1\]\.name: required key is missing"),
    (("interval = 1\n", "interval = 1\ndrive = \"interval\"\n"), ArrangementError,
     r"transform\[1\]\.drive: needs target_roughness or target_ratio"),
])
def test_errors_name_file_and_key(tmp_path, edit, error, pattern):
    old, new = edit
    assert old in ARRANGEMENT
    path = write(tmp_path, ARRANGEMENT.replace(old, new, 1))
    with pytest.raises(error, match=pattern):
        load_arrangement(path)


def test_toml_syntax_error_names_file(tmp_path):
    path = write(tmp_path, ARRANGEMENT + "\n[[transform\n")
    with pytest.raises(ArrangementError, match=r"arr\.toml: TOML syntax error"):
        read_arrangement(path)


def test_cli_analyze_compares_with_source(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["analyze", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seed"] == 7 and out["bars"] == 4
    assert out["compare"]["source"].endswith("ground.toml")
    assert out["compare"]["mean_ratio"] > 1.5
    assert set(out["interval_classes"]) == {"P1/P8", "m2/M7", "M2/m7", "m3/M6", "M3/m6", "P4/P5", "TT"}
    assert main(["analyze", str(path), "--seed", "3", "--window-bars", "2"]) == 0
    text = capsys.readouterr().out
    assert "(seed 3)" in text and "mean roughness" in text and "per 2 bars" in text
    assert "compared with ground.toml" in text


def test_cli_analyze_bad_input_exit_2(tmp_path, capsys):
    path = write(tmp_path, ARRANGEMENT.replace('name = "detune"', 'name = "detunne"'))
    assert main(["analyze", str(path)]) == 2
    assert "did you mean 'detune'" in capsys.readouterr().err


def test_an_arrangement_runs_its_steps_through_the_one_pipeline(tmp_path, monkeypatch):
    """arrange() has no step loop of its own: plain, driven and tension steps all go
    through transforms.Pipeline.run, whose report is the provenance."""
    from synth.transforms import Pipeline

    arr = ARRANGEMENT.replace('interval = 1\n', 'interval = 1\ntarget_ratio = 2.0\n'
                              'drive = "interval"\ndrive_range = [0.0, 1.5]\n')
    runs = []
    original = Pipeline.run

    def counted(self, score, **kw):
        result = original(self, score, **kw)
        runs.append((self, result))
        return result

    monkeypatch.setattr(Pipeline, "run", counted)
    score = load_arrangement(write(tmp_path, arr))
    assert len(runs) == 1
    pipeline, result = runs[0]
    assert len(pipeline.steps) == len(read_arrangement(write(tmp_path, arr)).steps)
    assert score.metadata.provenance["transforms"] == result.describe()
    assert score.metadata.provenance["roughness_drive"] == "; ".join(result.notes)
    assert result.notes and result.notes[0].startswith("transform[")
