"""Pickup (anacrusis) bars: bar 0 in score files, MusicXML and MIDI."""

import io

import mido
import pytest

from synth.errors import ScoreError
from synth.midi import midi_bytes, read_midi_report
from synth.musicxml import read_musicxml_report
from synth.score import MeterChange, MeterMap
from synth.scorefile import dump_score_toml, parse_score_toml

SCORE = """
[score]
meter = "3/4"
pickup = 1            # one quarter before bar 1
tempo = 90

[[tempo]]
bar = 2
beat = 2
bpm = 100

[[meter]]
bar = 3
meter = "2/4"

[parts.tune]
notes = "G4:4 | C5:2. | E5:4 D5 C5 | D5:2 |"

[parts.bass]
bar = 1
notes = "<C3 G3>:2. | R | C3:2 |"
"""


def test_pickup_bar_is_bar_0_and_the_bar_checker_accepts_it():
    score = parse_score_toml(SCORE)
    m = score.meters
    assert m.pickup == 1.0 and m.first_bar == 0
    assert [m.bar_start(b) for b in (0, 1, 2, 3, 4)] == [0.0, 1.0, 4.0, 7.0, 9.0]
    assert [m.bar_at(b) for b in (0.0, 0.99, 1.0, 6.9, 7.0)] == [0, 0, 1, 2, 3]
    assert [n.start for n in score.part("tune").notes] == [0, 1, 4, 5, 6, 7]
    assert [n.start for n in score.part("bass").notes] == [1, 1, 7]
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0, 90), (5, 100)]
    assert parse_score_toml(dump_score_toml(score)).meters == m


def test_pickup_bar_errors():
    with pytest.raises(ScoreError, match=r"x.toml:\d+:\d+: tune, bar 0: 2/4 of a 3/4 pickup bar at bar line .|.: the bar runs past"):
        parse_score_toml(SCORE.replace('"G4:4 |', '"G4:2 |'), "x.toml")
    with pytest.raises(ScoreError, match=r"score.pickup: a pickup bar is shorter than a bar"):
        parse_score_toml(SCORE.replace("pickup = 1 ", "pickup = 3 "), "x.toml")
    with pytest.raises(ScoreError, match=r"parts.bass.bar: must be >= 1"):
        parse_score_toml(SCORE.replace("pickup = 1 ", "").replace('"G4:4 | C5', '"C5')
                         .replace("bar = 1\nnotes", "bar = 0\nnotes"), "x.toml")
    with pytest.raises(ScoreError, match="bar numbers start at 1"):
        MeterMap([MeterChange(0, 3, 4)]).bar_start(0)
    with pytest.raises(ScoreError, match="a pickup bar must last"):
        MeterMap([MeterChange(0, 3, 4)], pickup=3.0)


def test_tempo_in_the_pickup_counts_the_last_beats_of_a_bar():
    text = SCORE.replace("bar = 2\nbeat = 2\nbpm = 100", "bar = 0\nbeat = 3.5\nbpm = 100")
    assert parse_score_toml(text).tempo.changes[1].beat == 0.5
    with pytest.raises(ScoreError, match=r"beat 2 is not in the pickup bar \(bar 0 holds beats 3..3"):
        parse_score_toml(text.replace("beat = 3.5", "beat = 2"), "x.toml")


def test_midi_export_and_import_keep_the_pickup():
    score = parse_score_toml(SCORE)
    data = midi_bytes(score)
    sigs = [(m.numerator, m.denominator) for m in mido.MidiFile(file=io.BytesIO(data)).tracks[0]
            if m.type == "time_signature"]
    assert sigs == [(1, 4), (3, 4), (2, 4)]
    back, _ = read_midi_report(data)
    assert back.meters == score.meters


def _xml(measures: str, beats=3) -> bytes:
    return f"""<?xml version="1.0"?>
<score-partwise version="4.0"><part-list><score-part id="P1"><part-name>T</part-name></score-part></part-list>
<part id="P1">{measures}</part></score-partwise>""".replace("BEATS", str(beats)).encode()


def _note(step, octave, dur, typ="quarter"):
    return (f"<note><pitch><step>{step}</step><octave>{octave}</octave></pitch>"
            f"<duration>{dur}</duration><type>{typ}</type></note>")


def test_musicxml_pickup_measure_becomes_bar_0():
    data = _xml(
        '<measure number="0" implicit="yes"><attributes><divisions>1</divisions>'
        '<time><beats>BEATS</beats><beat-type>4</beat-type></time></attributes>'
        + _note("G", 4, 1) + "</measure>"
        '<measure number="1">' + _note("C", 5, 3, "half") + "</measure>"
        '<measure number="2"><attributes><time><beats>2</beats><beat-type>4</beat-type></time>'
        "</attributes>" + _note("D", 5, 2, "half") + "</measure>")
    score, warn = read_musicxml_report(data)
    assert score.meters.pickup == 1.0
    assert [str(c) for c in score.meters.changes] == ["3/4", "2/4"]
    assert score.meters.bar_at(score.parts[0].notes[-1].start) == 2
    assert not any("dropped" in w for w in warn)
