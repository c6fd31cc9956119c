import math

import numpy as np
import pytest

from synth.errors import ScoreError
from synth.score import (KeyChange, MeterChange, MeterMap, Note, Part, Score, TempoMap,
                         parse_key, parse_meter)
from synth.units import cents_between, midi_to_hz, note_name, parse_note_name


@pytest.mark.parametrize("name, pitch", [
    ("C4", 60), ("C#4", 61), ("Db4", 61), ("Eb3", 51), ("B#3", 60), ("Cb4", 59),
    ("A4", 69), ("G9", 127), ("C-1", 0), ("F##2", 43), ("A4+50c", 69.5), ("A4-25c", 68.75),
])
def test_note_names(name, pitch):
    assert parse_note_name(name) == pytest.approx(pitch)


@pytest.mark.parametrize("bad", ["H4", "C", "C#", "4", "Cx#4", "G#9", "C-2", "A4+c"])
def test_bad_note_names(bad):
    with pytest.raises(ScoreError, match="note"):
        parse_note_name(bad)


def test_note_name_round_trip():
    assert note_name(61) == "C#4"
    assert note_name(60.5) == "C4+50c"
    assert parse_note_name(note_name(67.25)) == pytest.approx(67.25)


def test_midi_to_hz_reference_points():
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert midi_to_hz(57) == pytest.approx(220.0)
    assert midi_to_hz(60) == pytest.approx(261.6255653, rel=1e-9)
    assert cents_between(midi_to_hz(60), midi_to_hz(60.5)) == pytest.approx(50.0)


def test_tempo_map_piecewise_seconds():
    tm = TempoMap([(0, 120), (4, 60), (6, 240)])
    # 4 beats at 120 = 2 s; 2 beats at 60 = 2 s; then 0.25 s per beat
    assert tm.seconds(4) == pytest.approx(2.0)
    assert tm.seconds(5) == pytest.approx(3.0)
    assert tm.seconds(6) == pytest.approx(4.0)
    assert tm.seconds(10) == pytest.approx(5.0)
    assert tm.beats(4.5) == pytest.approx(8.0)
    beats = np.linspace(0, 20, 101)
    assert np.allclose(tm.beats(tm.seconds(beats)), beats)


def test_tempo_map_no_drift_over_long_piece():
    # 10 000 beats at 97 bpm: beat 9999 is 9999 * 60/97 s exactly, however many changes precede
    tm = TempoMap([(b, 97.0) for b in range(0, 10000, 3)])
    assert tm.seconds(9999) == pytest.approx(9999 * 60 / 97, abs=1e-9)


@pytest.mark.parametrize("bpm", [0, -10, math.inf, math.nan])
def test_tempo_must_be_positive(bpm):
    with pytest.raises(ScoreError, match="tempo must be > 0"):
        TempoMap([(0, bpm)])


def test_tempo_map_needs_beat_zero():
    with pytest.raises(ScoreError, match="first tempo must be at beat 0"):
        TempoMap([(1, 100)])


def test_meter_map_bars():
    mm = MeterMap([MeterChange(0, 3, 4), MeterChange(12, 7, 8)])   # 4 bars of 3/4
    assert mm.bar_start(1) == 0
    assert mm.bar_start(5) == 12
    assert mm.bar_start(6) == 15.5
    assert mm.bar_at(11.9) == 4
    assert mm.bar_at(12) == 5
    assert mm.bar_at(15.5) == 6


def test_meter_change_off_bar_line_is_an_error():
    with pytest.raises(ScoreError, match="not on a bar line"):
        MeterMap([MeterChange(0, 3, 4), MeterChange(4, 4, 4)])


@pytest.mark.parametrize("bad", ["3/5", "0/4", "x/4", "3", "3/0"])
def test_bad_meter(bad):
    with pytest.raises(ScoreError, match="not a meter"):
        parse_meter(bad)


def test_keys():
    assert parse_key("D minor") == ("D", "minor")
    assert parse_key("F#m") == ("F#", "minor")
    assert parse_key("Bb") == ("Bb", "major")
    with pytest.raises(ScoreError, match="not a key"):
        parse_key("H dorian")
    assert str(KeyChange(0, "A", "minor")) == "A minor"


@pytest.mark.parametrize("kwargs, message", [
    (dict(start=0, duration=0, pitch=60), "duration must be > 0"),
    (dict(start=0, duration=-1, pitch=60), "duration must be > 0"),
    (dict(start=-1, duration=1, pitch=60), "start must be"),
    (dict(start=0, duration=1, pitch=128), "pitch must be within"),
    (dict(start=0, duration=1, pitch=60, velocity=0), "velocity"),
    (dict(start=0, duration=math.inf, pitch=60), "duration"),
])
def test_note_validation(kwargs, message):
    with pytest.raises(ScoreError, match=message):
        Note(**kwargs)


def test_part_sorts_notes_and_score_rejects_duplicate_names():
    p = Part("a", [Note(2, 1, 60), Note(0, 1, 62)])
    assert [n.start for n in p.notes] == [0, 2]
    assert p.end == 3
    with pytest.raises(ScoreError, match="duplicate part name"):
        Score(parts=[p, Part("a")])


def test_score_duration_and_bars():
    s = Score(parts=[Part("a", [Note(0, 1, 60), Note(10, 2, 62)])],
              tempo=TempoMap([(0, 60), (6, 120)]),
              meters=MeterMap([MeterChange(0, 3, 4)]))
    assert s.end_beat == 12
    assert s.duration_seconds == pytest.approx(6 + 3)
    assert s.bar_count == 4


def test_excerpt_cuts_and_shifts():
    s = Score(parts=[Part("a", [Note(0, 3, 60), Note(2, 4, 62), Note(7, 1, 64), Note(12, 1, 65)])],
              tempo=TempoMap([(0, 60), (5, 90), (10, 120)]),
              meters=MeterMap([MeterChange(0, 3, 4), MeterChange(6, 2, 4)]),
              keys=[KeyChange(0, "D", "minor"), KeyChange(6, "A", "minor")])
    ex = s.excerpt(2, 4)           # bars 2..4 = beats 3..10 (3/4, 3/4 ... then 2/4 from beat 6)
    assert [(n.start, n.duration, n.pitch) for n in ex.parts[0].notes] == [(0, 3, 62), (4, 1, 64)]
    assert [(c.beat, c.bpm) for c in ex.tempo.changes] == [(0, 60), (2, 90)]
    assert [(c.beat, str(c)) for c in ex.meters.changes] == [(0, "3/4"), (3, "2/4")]
    assert [(k.beat, str(k)) for k in ex.keys] == [(0, "D minor"), (3, "A minor")]
    with pytest.raises(ScoreError, match="bad bar range"):
        s.excerpt(3, 2)


def test_meter_map_exact_bar_lines_by_hand():
    """The exact bar lines the notation checks bars against (pickup of 1 beat in 3/4,
    6/8 from beat 7, 5/8 from beat 13): written out by hand."""
    from fractions import Fraction as F

    from synth.score import MeterChange, MeterMap

    m = MeterMap([MeterChange(0, 3, 4), MeterChange(7, 6, 8), MeterChange(13, 5, 8)], pickup=1)
    starts = {0: F(0), 1: F(1), 2: F(4), 3: F(7), 4: F(10), 5: F(13), 6: F(31, 2)}
    for bar, beat in starts.items():
        assert m.exact_bar_start(bar) == beat
        assert m.bar_start(bar) == float(beat)
        assert m.exact_bar_at(beat) == bar
        assert m.exact_bar_at(beat - F(1, 1 << 20)) == max(bar - 1, 0)
    assert [m.bar_length(b) for b in range(7)] == [1, 3, 3, 3, 3, F(5, 2), F(5, 2)]
    assert [str(m.meter_of_bar(b)) for b in (0, 1, 3, 5)] == ["3/4", "3/4", "6/8", "5/8"]
    with pytest.raises(ScoreError, match="bar numbers start at 0"):
        m.exact_bar_start(-1)
    with pytest.raises(ScoreError, match=r"start at 1 \(0 only with a pickup bar\)"):
        MeterMap().exact_bar_start(0)


def _chordal_part(rng, n):
    """A part of ``n`` notes, many in chords (equal onsets), some with equal keys."""
    notes = [Note(float(rng.integers(0, n // 3)) * 0.5, float(rng.choice([0.5, 1.0])),
                  float(rng.integers(55, 62)), int(rng.integers(60, 63))) for _ in range(n)]
    return Part("p", notes, preset="organ", patch={"envelope.release": 0.5}, gain_db=-3.0,
                pan=0.25, effects=({"type": "reverb", "mix": 0.2},), generated=True,
                description="d")


@pytest.mark.parametrize("seed", range(40))
def test_with_notes_from_a_few_changes_is_a_full_sort(seed):
    # with_notes puts a few changed (in place) or appended notes in order from what
    # changed: the result must be exactly what sorting every note gives
    from dataclasses import replace
    rng = np.random.default_rng(seed)
    part = _chordal_part(rng, int(rng.integers(64, 300)))
    assert part.end > 0                     # known before: the new part's end follows from it
    notes = list(part.notes)
    changed = sorted(rng.choice(len(notes), int(rng.integers(0, len(notes) // 10)), replace=False))
    for i in changed:
        n = notes[i]
        kind = rng.integers(4)
        if kind == 0:                       # pitch moves within its chord
            notes[i] = replace(n, pitch=float(rng.integers(55, 62)))
        elif kind == 1:                     # velocity only
            notes[i] = replace(n, velocity=int(rng.integers(60, 63)))
        elif kind == 2:                     # onset moves (may break the order, or the end)
            notes[i] = replace(n, start=max(0.0, n.start + float(rng.choice([0.0, 0.25, -0.5,
                                                                             3.0, -50.0]))))
        else:                               # an equal note, another object
            notes[i] = replace(n)
    extra = [Note(float(rng.integers(0, len(notes) // 3)) * 0.5, 1.0, float(rng.integers(55, 62)),
                  int(rng.integers(60, 63))) for _ in range(int(rng.integers(0, 12)))]
    got = part.with_notes(notes + extra)
    want = replace(part, notes=tuple(notes + extra))
    assert got == want
    assert [id(n) for n in got.notes] == [id(n) for n in want.notes]     # the same stable order
    assert np.array_equal(got.starts, [n.start for n in want.notes])
    assert got.starts.flags.writeable is False
    assert got.end == max(n.end for n in want.notes)
    # with the changed positions given by the caller (no comparison of every note)
    assert [id(n) for n in part.with_notes(notes + extra, changed=changed).notes] == \
        [id(n) for n in want.notes]
    # and through another part's notes (like=): that part's fields, these notes in order
    other = Part("q", (), preset="sine")
    assert other.with_notes(notes + extra, like=part) == replace(other, notes=tuple(notes + extra))


def test_with_notes_still_refuses_what_is_not_a_note():
    part = _chordal_part(np.random.default_rng(0), 100)
    with pytest.raises(ScoreError, match="expected Note, got str"):
        part.with_notes(part.notes + ("C4",))
    with pytest.raises(ScoreError, match="expected Note, got int"):
        part.with_notes((7,) + part.notes[1:])


def test_with_notes_end_follows_the_changes():
    # the new part's end comes from the old one's and what changed: the note that held
    # the end shorter or longer, or a longer note appended
    from dataclasses import replace
    part = _chordal_part(np.random.default_rng(3), 120)
    part = part.with_notes(part.notes + (Note(10.0, 100.0, 60.0),))     # alone at the end
    last = max(range(121), key=lambda i: part.notes[i].end)
    for duration in (0.125, 9.0):
        assert part.end > 0
        notes = list(part.notes)
        notes[last] = replace(notes[last], duration=duration)
        for extra in ((), (Note(1.0, 200.0, 60.0),)):
            got = part.with_notes(notes + list(extra))
            assert got.end == max(n.end for n in notes + list(extra))


def test_bar_start_is_the_float_of_the_exact_bar_lengths():
    # bar_start computes (bars * bar length) as int / int: the float of the exact product
    from fractions import Fraction
    m = MeterMap([MeterChange(0.0, 3, 4), MeterChange(31.0, 7, 8),
                  MeterChange(31 + 3.5 * 7, 5, 16), MeterChange(31 + 3.5 * 7 + 1.25 * 11, 13, 8)],
                 pickup=1.0)
    anchors = [1.0, 31.0, 31 + 3.5 * 7, 31 + 3.5 * 7 + 1.25 * 11]
    firsts = [1, 11, 18, 29]
    lengths = [Fraction(3), Fraction(7, 2), Fraction(5, 4), Fraction(13, 2)]
    for bar in list(range(1, 400)) + [10**6 + 3, 10**9 + 7]:
        i = max(k for k in range(4) if firsts[k] <= bar)
        want = anchors[i] + float((bar - firsts[i]) * lengths[i])
        assert m.bar_start(bar) == want and type(m.bar_start(bar)) is float, bar
        assert m.bar_at(m.bar_start(bar) + 0.01) == bar


def test_a_pickled_part_keeps_its_onsets_read_only():
    # the score cache pickles parts: their onsets are made again, read-only, not stored
    import copy
    import pickle
    part = _chordal_part(np.random.default_rng(5), 100)
    assert part.starts.flags.writeable is False
    for back in (pickle.loads(pickle.dumps(part)), copy.deepcopy(part)):
        assert back == part and "starts" not in back.__dict__
        assert back.starts.flags.writeable is False
        assert np.array_equal(back.starts, part.starts)
        assert back.with_notes(back.notes[:-1]).notes == part.notes[:-1]
