"""Registry, parameter validation, selection, pipelines and seed streams."""

import pytest

from synth.errors import TransformError
from synth.score import MeterChange, MeterMap, Note, Part, Score
from synth.transforms import Pipeline, make, names, spec


def small():
    return Score(parts=(Part("a", tuple(Note(i, 1, 60 + i) for i in range(12))),
                        Part("b", tuple(Note(i, 1, 48 + i % 3) for i in range(12)))),
                 meters=MeterMap([MeterChange(0.0, 3, 4)]))


def test_every_issue_transform_is_registered():
    want = {"transpose", "invert", "retrograde", "octave", "remap", "detune", "shadow", "cluster",
            "drone", "augment", "diminish", "canon", "displace", "humanise", "remeter", "thin",
            "double", "arpeggiate", "ostinato", "dynamics", "divisions", "markov"}
    assert want <= set(names())
    for n in names():
        assert spec(n).doc, n


def test_unknown_transform_suggests_nearest():
    with pytest.raises(TransformError, match=r"transform\[2\].name: unknown transform 'detunne' "
                                             r"\(did you mean 'detune'\?\)"):
        make("detunne", where="transform[2]")


def test_unknown_parameter_names_key_and_suggests():
    with pytest.raises(TransformError, match=r"transform\[0\].cent: unknown parameter .*'cents'"):
        make("detune", cent=12, where="transform[0]")


@pytest.mark.parametrize("kw, pattern", [
    ({"cents": "12"}, r"cents: expected a number, got '12'"),
    ({"cents": 5000}, r"cents: 5000 is above the maximum 1200"),
    ({"cents": True}, r"cents: expected a number"),
])
def test_bad_parameter_values(kw, pattern):
    with pytest.raises(TransformError, match=pattern):
        make("detune", **kw)


def test_bad_choice_and_missing_required():
    with pytest.raises(TransformError, match=r"to_scale: 'locrain' is not one of .*did you mean 'locrian'"):
        make("remap", to_scale="locrain")
    with pytest.raises(TransformError, match=r"meter: transform 'remeter' needs this parameter"):
        make("remeter")


def test_bad_bars_and_parts():
    with pytest.raises(TransformError, match=r"bars: expected \[first, last\]"):
        make("transpose", semitones=1, bars=[5, 2])
    with pytest.raises(TransformError, match=r"parts: no part named 'c' \(did you mean 'a'\?\)|parts: no part named 'c'"):
        make("transpose", semitones=1, parts=["c"])(small(), seed=0)


def test_pipeline_applies_in_order_and_names_failing_step():
    p = Pipeline((make("transpose", semitones=12), make("invert", axis=72)))
    out = p(small(), seed=0)
    assert [n.pitch for n in out.part("a").notes][:3] == [72, 71, 70]
    bad = Pipeline((make("transpose", semitones=1), make("transpose", semitones=1, parts=["zz"])))
    with pytest.raises(TransformError, match=r"transform\[1\]\.parts: no part named 'zz'"):
        bad(small(), seed=0)


def test_same_seed_same_score_different_seed_different_score():
    p = Pipeline((make("humanise", jitter_beats=0.05), make("octave", probability=0.5),
                  make("detune", drift_cents=15)))
    s = small()
    assert p(s, seed=1) == p(s, seed=1)
    assert [pt.notes for pt in p(s, seed=1).parts] == [pt.notes for pt in p(s, seed=1).parts]
    assert [pt.notes for pt in p(s, seed=1).parts] != [pt.notes for pt in p(s, seed=2).parts]


def test_adding_a_part_or_a_step_keeps_other_streams():
    s = small()
    t = make("octave", probability=0.5)
    alone = t(s, seed=3)
    more = t(s.with_parts(s.parts + (Part("c", (Note(0, 1, 70),)),)), seed=3)
    assert alone.part("a").notes == more.part("a").notes
    p1 = Pipeline((make("octave", probability=0.5),))(s, seed=3)
    p2 = Pipeline((make("octave", probability=0.5), make("thin", probability=0.3)))(s, seed=3)
    # appending a step leaves the first step's random choices as they were:
    # every note that survives thinning has the pitch the octave step gave it alone
    kept = {(n.start, n.pitch) for n in p2.part("a").notes}
    assert kept < {(n.start, n.pitch) for n in p1.part("a").notes}
    assert kept != {(n.start, n.pitch) for n in s.part("a").notes}


def test_docs_describe_every_transform_and_parameter():
    from pathlib import Path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "transforms.md").read_text()
    for n in names():
        section = doc.split(f"### `{n}`", 1)
        assert len(section) == 2, f"docs/transforms.md lacks a section for {n!r}"
        body = section[1].split("\n### ", 1)[0]
        for param in spec(n).params:
            assert f"| `{param}` |" in body, f"{n}.{param} undocumented"


def test_pipeline_run_reports_each_step_as_applied_and_checks_the_budget(monkeypatch):
    from synth.errors import ScoreError
    from synth.transforms import Applied, PipelineRun

    steps = (make("transpose", semitones=12), make("canon", delay_beats=1.0), make("canon", delay_beats=2.0))
    run = Pipeline(steps).run(small(), seed=0)
    assert isinstance(run, PipelineRun) and run.applied == steps and run.notes == ()
    assert run.score == Pipeline(steps)(small(), seed=0)
    assert run.describe() == "; ".join(s.describe() for s in steps)
    assert steps[0].apply(small(), seed=0, key="transpose") == Applied(steps[0](small(), seed=0), steps[0])
    # every pipeline (not only an arrangement's) refuses a score grown over a budget, naming the step
    monkeypatch.setenv("SYNTH_MAX_PARTS", "3")
    with pytest.raises(ScoreError, match=r"after transform\[1\] \(canon\): 4 parts, more than the limit of 3"):
        Pipeline(steps)(small(), seed=0)


def test_a_pipeline_step_is_anything_with_name_describe_and_apply():
    """The arrangement's tension-following and roughness-driven steps plug in this way."""
    from synth.transforms import Applied

    class Twice:
        name = "twice"

        def describe(self):
            return "twice(transpose)"

        def apply(self, score, *, seed, key):
            once = make("transpose", semitones=1)
            return Applied(once(once(score, seed=seed, key=key), seed=seed, key=key), self, f"key {key}")

    run = Pipeline((make("transpose", semitones=12), Twice()), ids=(None, "x")).run(small(), seed=0,
                                                                                      source="a.toml")
    assert [n.pitch for n in run.score.part("a").notes][:2] == [74, 75]
    assert run.notes == ("transform[1]: key x",)
    assert run.describe().endswith("; twice(transpose)")
