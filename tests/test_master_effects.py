"""Effects on the whole mix: from score files and arrangements to the render."""

import numpy as np
import pytest

import synth
from synth.errors import ArrangementError, ScoreError
from synth.render import render
from synth.scorefile import dump_score_toml, parse_score_toml

SCORE = """\
[score]
title = "dry click"
tempo = 120
meter = "4/4"

[parts.click]
preset = "saw"
notes = "C5:8 r:8 r:4 r:2 |"
"""

MASTER = """
[master]
effects = [{type = "reverb", rt60 = 1.5, mix = 0.5}]
"""


def db(x):
    return 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-300)


def test_master_reverb_rings_after_the_last_note_and_the_render_waits_for_it():
    sr = 22050
    dry = render(parse_score_toml(SCORE), sr=sr).audio
    wet = render(parse_score_toml(SCORE + MASTER), sr=sr).audio
    assert wet.shape[1] > dry.shape[1] + sr          # the tail (rt60 1.5 s) is rendered
    after = dry.shape[1]                             # the dry render ends with the note's release
    assert dry[:, -1].tolist() == [0.0, 0.0]
    tail = wet[:, after:after + sr // 2]
    assert db(tail) > db(wet) - 30                   # ... but the reverb is still ringing
    assert np.abs(wet[:, -50:]).max() < 1e-3 * np.abs(wet).max()   # and has decayed by the end


def test_master_effects_are_chunk_invariant_and_reproducible():
    score = parse_score_toml(SCORE + MASTER)
    a = render(score, sr=22050, chunk_samples=777).audio
    b = render(score, sr=22050).audio
    assert np.array_equal(a, b)


def test_master_effects_survive_a_round_trip_through_the_writer():
    score = parse_score_toml(SCORE + MASTER)
    again = parse_score_toml(dump_score_toml(score))
    assert again.master_effects == ({"type": "reverb", "rt60": 1.5, "mix": 0.5},)


def test_unknown_master_effect_names_the_key():
    bad = SCORE + '\n[master]\neffects = [{type = "reverbb"}]\n'
    with pytest.raises(ScoreError, match=r"master.*unknown effect type 'reverbb'.*did you mean 'reverb'"):
        parse_score_toml(bad, "bad.toml")
    with pytest.raises(ScoreError, match=r"unknown key 'efects' in \[master\]"):
        parse_score_toml(SCORE + '\n[master]\nefects = []\n', "bad.toml")


def test_arrangement_master_table_replaces_the_sources(tmp_path):
    (tmp_path / "src.toml").write_text(SCORE + MASTER)
    arr = tmp_path / "arr.toml"
    arr.write_text('[arrangement]\ntitle = "t"\nsource = "src.toml"\nseed = 1\n\n'
                   '[master]\neffects = [{type = "delay", time = 0.25, feedback = 0.3, mix = 0.3}]\n')
    score = synth.load(arr)
    assert [e["type"] for e in score.master_effects] == ["delay"]
    arr.write_text('[arrangement]\ntitle = "t"\nsource = "src.toml"\n\n'
                   '[master]\neffects = [{type = "chorus", depht_ms = 3}]\n')
    with pytest.raises(ArrangementError, match="master"):
        synth.load(arr)
