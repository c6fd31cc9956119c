"""Seed streams are keyed by a stable name, not by the step's position.

A step's streams are ``rng(seed, "transform", key, *path)`` with ``key`` its
``id`` or its transform name and occurrence (``"octave"``, ``"octave#2"``), so
inserting a step of another kind before it leaves its random choices alone.
"""

import warnings

import numpy as np
import pytest

from synth.arrangement import load_arrangement, read_arrangement
from synth.errors import ArrangementError, TransformError
from synth.score import MeterChange, MeterMap, Note, Part, Score, TempoMap
from synth.transforms import Pipeline, make
from synth.seeds import rng
from synth.transforms import spec
from synth.transforms.base import step_keys


def two_parts():
    tune = tuple(Note(i * 0.5, 0.5, 60 + (0, 2, 4, 5, 7, 9, 11, 12)[i % 8], 90) for i in range(64))
    bass = tuple(Note(i * 2.0, 2.0, 43 + (0, 5, 7, 0)[i % 4], 70) for i in range(16))
    return Score(parts=(Part("tune", tune), Part("bass", bass)),
                 meters=MeterMap([MeterChange(0.0, 4, 4)]), tempo=TempoMap.constant(120.0))


def pitches(score, part):
    return np.array([n.pitch for n in score.part(part).notes])


def test_step_keys_name_and_occurrence_or_id():
    assert step_keys(["shadow", "detune", "shadow", "shadow"]) == ("shadow", "detune", "shadow#2",
                                                                   "shadow#3")
    # an id replaces the key of its own step only; the others keep counting every step of a name
    assert step_keys(["shadow", "shadow"], ["ghost", None]) == ("ghost", "shadow#2")
    with pytest.raises(TransformError, match=r"transform\[1\]\.id: the stream key 'x'"):
        step_keys(["shadow", "detune"], ["x", "x"])
    with pytest.raises(TransformError, match=r"transform\[0\]\.id: the stream key 'detune'"):
        step_keys(["shadow", "detune"], ["detune", None])


def test_inserting_a_step_before_does_not_change_a_later_steps_choices():
    s = two_parts()
    octave = make("octave", parts=["tune"], probability=0.5)
    alone = Pipeline((octave,))(s, seed=11)
    # a different, seeded step on the other part first: octave is still the first "octave"
    before = Pipeline((make("detune", parts=["bass"], spread_cents=30), octave))(s, seed=11)
    assert np.array_equal(pitches(alone, "tune"), pitches(before, "tune"))
    assert not np.array_equal(pitches(alone, "tune"), pitches(s, "tune"))      # it did choose
    # the old positional keying would have moved its choices (the test can fail)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        at0 = octave(s, seed=11, index=0)
        at1 = octave(s, seed=11, index=1)
    assert not np.array_equal(pitches(at0, "tune"), pitches(at1, "tune"))


def test_a_direct_call_equals_the_first_occurrence_in_a_pipeline():
    s = two_parts()
    octave = make("octave", parts=["tune"], probability=0.5)
    assert octave(s, seed=3) == Pipeline((octave,))(s, seed=3) == octave(s, seed=3, key="octave")
    second = Pipeline((make("octave", parts=["bass"]), octave))(s, seed=3)
    assert np.array_equal(pitches(second, "tune"), pitches(octave(s, seed=3, key="octave#2"), "tune"))


def test_index_is_a_deprecated_alias_that_keeps_its_old_streams():
    s = two_parts()
    octave = make("octave", parts=["tune"], probability=0.5)
    with pytest.warns(DeprecationWarning, match=r"index=\) is deprecated"):
        old = octave(s, seed=5, index=2)
    # the path index= always used: rng(seed, "transform", index, name, *path)
    by_hand = spec("octave").impl(s, octave.selection, lambda *path: rng(5, "transform", 2, "octave", *path),
                                  **octave.params)
    assert old == by_hand and old != octave(s, seed=5)
    with pytest.raises(TypeError, match="not both"):
        octave(s, seed=5, key="a", index=1)


def test_same_seed_is_bit_identical_and_another_seed_differs():
    s = two_parts()
    p = Pipeline((make("detune", spread_cents=20), make("octave", parts=["tune"], probability=0.5),
                  make("humanise", jitter_beats=0.05)))
    a, b, c = p(s, seed=9), p(s, seed=9), p(s, seed=10)
    assert a == b
    assert not np.array_equal(pitches(a, "tune"), pitches(c, "tune"))


SOURCE = """\
[score]
title = "Scale"
tempo = 120
meter = "4/4"

[parts.tune]
preset = "sine"
events = [[0,1,"C4",90],[1,1,"D4",90],[2,1,"E4",90],[3,1,"F4",90],[4,1,"G4",90],[5,1,"A4",90],
          [6,1,"B4",90],[7,1,"C5",90],[8,1,"D5",90],[9,1,"E5",90],[10,1,"F5",90],[11,1,"G5",90],
          [12,1,"A5",90],[13,1,"G5",90],[14,1,"F5",90],[15,1,"E5",90]]

[parts.bass]
preset = "triangle"
events = [[0,4,"C3",70],[4,4,"F2",70],[8,4,"G2",70],[12,4,"C3",70]]
"""

HEAD = """\
[arrangement]
title = "Keys"
seed = 4
source = "src.toml"
"""

OCTAVE = """
[[transform]]
name = "octave"
parts = ["tune"]
probability = 0.5
"""

DETUNE_BASS = """
[[transform]]
name = "detune"
parts = ["bass"]
spread_cents = 40
"""


def arrangement(tmp_path, body, name="arr.toml"):
    (tmp_path / "src.toml").write_text(SOURCE)
    path = tmp_path / name
    path.write_text(HEAD + body)
    return path


def test_arrangement_step_inserted_before_leaves_later_choices(tmp_path):
    alone = load_arrangement(arrangement(tmp_path, OCTAVE, "a.toml"))
    before = load_arrangement(arrangement(tmp_path, DETUNE_BASS + OCTAVE, "b.toml"))
    assert np.array_equal(pitches(alone, "tune"), pitches(before, "tune"))
    assert not np.array_equal(pitches(before, "bass"), pitches(alone, "bass"))
    assert [st.key for st in read_arrangement(tmp_path / "b.toml").steps] == ["detune", "octave"]
    # same seed bit-identical, another seed differs
    assert load_arrangement(tmp_path / "b.toml") == before
    assert not np.array_equal(pitches(load_arrangement(tmp_path / "b.toml", seed=5), "tune"),
                              pitches(before, "tune"))


def test_arrangement_id_keeps_streams_when_a_step_of_the_same_name_comes_first(tmp_path):
    with_id = OCTAVE.replace('name = "octave"\n', 'name = "octave"\nid = "leaps"\n')
    alone = load_arrangement(arrangement(tmp_path, with_id, "a.toml"))
    other = OCTAVE.replace('parts = ["tune"]', 'parts = ["bass"]')
    before = load_arrangement(arrangement(tmp_path, other + with_id, "b.toml"))
    assert np.array_equal(pitches(alone, "tune"), pitches(before, "tune"))
    assert [st.key for st in read_arrangement(tmp_path / "b.toml").steps] == ["octave", "leaps"]


@pytest.mark.parametrize("body, match", [
    (OCTAVE.replace('name = "octave"\n', 'name = "octave"\nid = 3\n'),
     r"transform\[0\]\.id: expected a non-empty string, got 3"),
    (OCTAVE.replace('name = "octave"\n', 'name = "octave"\nid = "x"\n') * 2,
     r"transform\[1\]\.id: the stream key 'x' names both transform\[0\] and transform\[1\]"),
])
def test_arrangement_bad_ids(tmp_path, body, match):
    with pytest.raises((ArrangementError, TransformError), match=match):
        read_arrangement(arrangement(tmp_path, body))


def test_steps_built_without_a_key_get_the_stable_default(tmp_path):
    from dataclasses import replace
    from synth.arrangement import arrange, load_source
    arr = read_arrangement(arrangement(tmp_path, DETUNE_BASS + OCTAVE + OCTAVE))
    assert [st.key for st in arr.steps] == ["detune", "octave", "octave#2"]
    bare = replace(arr, steps=tuple(replace(st, key="") for st in arr.steps))
    src = load_source(arr)
    assert arrange(bare, src, seed=4) == arrange(arr, src, seed=4)
