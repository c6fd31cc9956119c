"""Tempo ramps: exact integration, sample-accurate onsets, score files, MIDI staircases."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from synth.errors import ScoreError
from synth.midi import midi_bytes, read_midi_report
from synth.render import RenderPlan, render
from synth.score import Note, Part, Score, TempoChange, TempoMap
from synth.scorefile import dump_score_toml, parse_score_toml

# 60 -> 180 bpm, linear in beats, lasting two minutes: the ramp's seconds are
# 60 * L / (180 - 60) * ln(180 / 60), so L = 240 / ln 3 beats
RAMP_BEATS = 240.0 / math.log(3.0)


def analytic_seconds(beat, b0=60.0, b1=180.0, length=RAMP_BEATS):
    """Closed form of 60 * integral_0^beat dx / bpm(x), bpm linear from b0 to b1."""
    k = (b1 - b0) / length
    return 60.0 / k * math.log((b0 + k * beat) / b0)


def ramp_score(step=1.0, sr_beats=None):
    tempo = TempoMap([TempoChange(0.0, 60.0, "linear"), TempoChange(RAMP_BEATS, 180.0)])
    starts = np.arange(0.0, RAMP_BEATS - 0.5, step)
    notes = [Note(float(b), 0.25, 81.0, 100) for b in starts]
    return Score(parts=(Part("click", notes, preset="sine"),), tempo=tempo), starts


def test_two_minute_ramp_lasts_two_minutes_and_matches_the_integral():
    tempo = ramp_score()[0].tempo
    assert tempo.seconds(RAMP_BEATS) == pytest.approx(120.0, abs=1e-9)
    for beat in np.linspace(0, RAMP_BEATS, 37):
        numeric = 60.0 * quad(lambda x: 1.0 / (60.0 + 120.0 * x / RAMP_BEATS), 0, beat)[0]
        assert tempo.seconds(beat) == pytest.approx(numeric, abs=1e-9)
        assert tempo.beats(tempo.seconds(beat)) == pytest.approx(beat, abs=1e-9)
    assert tempo.bpm_at(RAMP_BEATS / 2) == pytest.approx(120.0)
    assert tempo.bpm_at(RAMP_BEATS) == 180.0


def test_every_onset_of_the_ramp_within_1_ms_of_the_analytic_integral():
    sr = 22050
    score, starts = ramp_score()
    plan = RenderPlan(score, sr=sr)
    expected = np.array([analytic_seconds(b) for b in starts])
    planned = plan.parts[0].starts / sr
    # sample-accurate: the planned sample is the analytic time rounded
    assert np.array_equal(plan.parts[0].starts, np.rint(expected * sr).astype(np.int64))
    assert np.abs(planned - expected).max() <= 0.5 / sr
    # measured on the rendered audio: first sample of each note above a threshold
    audio = render(score, sr=sr, seed=0).audio
    mono = np.abs(audio).sum(axis=0)
    env = mono > 1e-3 * mono.max()
    rising = np.flatnonzero(env[1:] & ~env[:-1]) + 1
    onsets = [rising[np.argmin(np.abs(rising - e * sr))] / sr for e in expected]
    err = np.abs(np.array(onsets) - expected)
    assert len(expected) == 218
    assert err.max() < 1e-3, err.max()


def test_exponential_ramp_is_geometric_and_exact():
    tempo = TempoMap([(0.0, 60.0, "exponential"), (100.0, 240.0), (110.0, 90.0)])
    assert tempo.bpm_at(50.0) == pytest.approx(120.0)     # geometric mean half-way
    for beat in (10.0, 50.0, 99.0, 100.0, 105.0):
        numeric = 60.0 * quad(lambda x: 1.0 / (60.0 * 4.0 ** (x / 100.0)), 0, min(beat, 100.0))[0]
        numeric += max(0.0, beat - 100.0) * 60.0 / 240.0
        assert tempo.seconds(beat) == pytest.approx(numeric, abs=1e-9)
        assert tempo.beats(tempo.seconds(beat)) == pytest.approx(beat, abs=1e-9)


def test_step_maps_are_unchanged():
    tempo = TempoMap([(0.0, 96.0), (12.0, 72.0)])
    beats = np.array([0.0, 3.3, 12.0, 20.5])
    assert np.array_equal(tempo.seconds(beats),
                          np.where(beats < 12, beats * 60 / 96, 12 * 60 / 96 + (beats - 12) * 60 / 72))
    assert not tempo.has_ramps


def test_a_ramp_needs_a_tempo_to_ramp_to():
    with pytest.raises(ScoreError, match="ramps .linear. but no later tempo follows"):
        TempoMap([(0.0, 60.0, "linear")])
    with pytest.raises(ScoreError, match="tempo ramp must be one of step, linear, exponential"):
        TempoChange(0.0, 60.0, "sudden")


SCORE = """
[score]
tempo = 60
tempo_ramp = "linear"

[[tempo]]
bar = 3
bpm = 120

[[tempo]]
bar = 5
bpm = 120
ramp = "exponential"

[[tempo]]
bar = 7
bpm = 60

[parts.a]
notes = "C4:1*24"
"""


def test_score_file_ramps_and_dump_round_trip():
    score = parse_score_toml(SCORE, source="ramp.toml")
    assert [c.ramp for c in score.tempo.changes] == ["linear", "step", "exponential", "step"]
    assert score.tempo.bpm_at(4.0) == pytest.approx(90.0)
    again = parse_score_toml(dump_score_toml(score))
    assert again.tempo == score.tempo


def test_score_file_ramp_errors():
    bad = SCORE.replace('ramp = "exponential"', 'ramp = "fast"')
    with pytest.raises(ScoreError, match=r"ramp.toml:\d+: tempo\[2\]\.ramp: must be one of"):
        parse_score_toml(bad, source="ramp.toml")
    last = "[score]\ntempo = 60\n\n[[tempo]]\nbar = 2\nbpm = 90\nramp = 'linear'\n"
    with pytest.raises(ScoreError, match="ramps .linear. but no later"):
        parse_score_toml(last + "[parts.a]\nnotes = 'C4:1*8'\n", source="ramp.toml")


def test_excerpt_inside_a_ramp_keeps_the_ramp():
    score = parse_score_toml(SCORE)
    part = score.excerpt(2, 2)
    assert part.tempo.changes[0].ramp == "linear"
    assert part.tempo.seconds(4.0) == pytest.approx(score.tempo.seconds(8.0) - score.tempo.seconds(4.0))


def test_midi_export_writes_a_staircase_that_keeps_the_seconds():
    score, starts = ramp_score()
    warn = []
    data = midi_bytes(score, warn=warn)
    assert any("staircase of" in w and "one every 0.125 beat" in w for w in warn)
    back, _ = read_midi_report(data)
    assert len(back.tempo.changes) == math.ceil(RAMP_BEATS * 8) + 1     # + the held 180 after it
    beats = np.linspace(0, RAMP_BEATS, 1001)
    assert np.abs(back.tempo.seconds(beats) - score.tempo.seconds(beats)).max() < 1e-4
    # import keeps the staircase as it is: held tempos
    assert all(c.ramp == "step" for c in back.tempo.changes)
