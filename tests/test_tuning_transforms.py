"""Transforms that move by an interval, counted in 100-cent semitones or in
steps of a tuning (`tuning = "19-edo"`, a just scale, a .scl file)."""

import math

import pytest

from synth.errors import TransformError
from synth.score import Note, Part, Score
from synth.transforms import make

STEP_19 = 12 / 19          # one step of 19-EDO in semitones (63.16 cents)


def _score(*pitches):
    return Score(parts=(Part("a", tuple(Note(i, 1.0, p) for i, p in enumerate(pitches))),))


def test_transpose_by_semitones_ignores_the_tuning_of_the_notes():
    out = make("transpose", semitones=1)(_score(60.0, 60 + STEP_19), seed=0)
    assert [n.pitch for n in out.part("a").notes] == pytest.approx([61.0, 61 + STEP_19])


def test_transpose_by_steps_of_19_edo():
    out = make("transpose", semitones=3, tuning="19-edo")(_score(60.0, 60 + STEP_19), seed=0)
    got = [n.pitch for n in out.part("a").notes]
    assert got == pytest.approx([60 + 3 * STEP_19, 60 + 4 * STEP_19], abs=1e-9)


def test_a_detuned_note_keeps_its_remainder():
    out = make("transpose", semitones=-1, tuning="19-edo")(_score(60.1), seed=0)
    assert out.part("a").notes[0].pitch == pytest.approx(60.1 - STEP_19, abs=1e-9)


def test_shadow_by_just_steps_uses_the_scales_own_intervals():
    # 5-limit just C major: two steps below C4 is B-flat 9/5 (1017.6 cents), a
    # third above is E 5/4 (386.3 cents); the values are written from the ratios
    out = make("shadow", interval=-2, tuning="just", part="sh")(_score(60.0), seed=0)
    assert out.part("sh").notes[0].pitch == pytest.approx(48 + 12 * math.log2(9 / 5), abs=1e-6)
    out = make("double", interval=4, tuning="just", part="d")(_score(60.0), seed=0)
    assert out.part("d").notes[0].pitch == pytest.approx(60 + 12 * math.log2(5 / 4), abs=1e-6)


def test_steps_must_be_whole_and_the_tuning_known():
    with pytest.raises(TransformError, match="semitones: with tuning '19-edo' the interval counts steps"):
        make("transpose", semitones=1.5, tuning="19-edo")(_score(60.0), seed=0)
    with pytest.raises(TransformError, match="tuning: unknown tuning 'pythagorean'"):
        make("shadow", interval=1, tuning="pythagorean")(_score(60.0), seed=0)
