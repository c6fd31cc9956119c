"""The compact note notation: exact starts, durations, pitches, velocities, and errors."""

import pytest

from synth.errors import ScoreError
from synth.notation import parse_notation
from synth.score import MeterChange, MeterMap


def notes(text, **kw):
    return [(n.start, n.duration, n.pitch, n.velocity) for n in parse_notation(text, **kw)]


THREE_FOUR = MeterMap([MeterChange(0.0, 3, 4)])


def test_pitches_names_accidentals_octaves_and_midi_numbers():
    got = [p for _, _, p, _ in notes("C4 C#4 Db4 Eb3 F##5 Bbb2 Cb4 B#3 Bn3 C-1 G9 60 60.5 127")]
    assert got == [60, 61, 61, 51, 79, 45, 59, 60, 59, 0, 127, 60, 60.5, 127]


def test_microtones_by_cents_on_names_and_numbers():
    got = [p for _, _, p, _ in notes("A4+25c A4-50c 69+12.5c")]
    assert got == pytest.approx([69.25, 68.5, 69.125], abs=1e-12)


def test_durations_whole_to_64th_dotted_and_sticky():
    got = [(s, d) for s, d, _, _ in notes("C4:1 C4:2 C4:4 C4:8 C4:16 C4:32 C4:64 C4:4. C4:4.. C4 C4:8 C4")]
    durations = [d for _, d in got]
    assert durations == [4, 2, 1, 0.5, 0.25, 0.125, 0.0625, 1.5, 1.75, 1.75, 0.5, 0.5]
    starts = [s for s, _ in got]
    assert starts[1] == 4 and starts[2] == 6 and starts[-1] == starts[-2] + 0.5


def test_default_duration_is_a_quarter_and_default_velocity_mf():
    assert notes("C4") == [(0.0, 1.0, 60.0, 80)]


def test_triplet_eighths_are_a_third_of_a_beat():
    got = notes("(3 C4:8 D4 E4) F4:4")
    assert [s for s, *_ in got] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert [d for _, d, *_ in got] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1])


def test_general_tuplets_and_nesting():
    five = notes("(5:4 C4:16 D4 E4 F4 G4) A4:4")
    assert [d for _, d, *_ in five][:5] == pytest.approx([0.2] * 5)
    assert five[-1][0] == pytest.approx(1.0)
    # a triplet inside a triplet: 3 in 2 of (3 in 2 of eighths) -> 2/9 beat each
    nested = notes("(3 C4:8 (3 D4:16 E4 F4) G4:8) A4:4")
    assert [d for _, d, *_ in nested][:5] == pytest.approx([1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 3])
    assert nested[-1][0] == pytest.approx(1.0)


def test_tie_merges_into_one_note_also_across_a_bar_line():
    got = notes("C4:2 D4:2~ | D4:4 E4:2. |")
    assert got == [(0, 2, 60, 80), (2, 3, 62, 80), (5, 3, 64, 80)]
    spaced = notes("C4:2 ~ C4:8 r:8 r:4")
    assert spaced == [(0, 2.5, 60, 80)]


def test_chords_are_simultaneous_and_tie_as_a_whole():
    got = notes("<C4 E4 G4>:2 <C4 E4 G4>~ <C4 E4 G4>:4 r")
    assert sorted(got) == [(0, 2, 60, 80), (0, 2, 64, 80), (0, 2, 67, 80),
                           (2, 3, 60, 80), (2, 3, 64, 80), (2, 3, 67, 80)]


def test_rests_advance_time_and_whole_bar_rest_fills_the_meter():
    got = notes("r:4 C4:2 | R | D4:2. |", meters=THREE_FOUR)
    assert got == [(1, 2, 60, 80), (6, 3, 62, 80)]
    assert notes("R*3 C4:2. |", meters=THREE_FOUR) == [(9, 3, 60, 80)]


def test_repeat_doubles_the_bar():
    got = notes("|: C4:4 D4 E4 :| F4:2. |", meters=THREE_FOUR)
    assert [(s, p) for s, _, p, _ in got] == [(0, 60), (1, 62), (2, 64), (3, 60), (4, 62),
                                              (5, 64), (6, 65)]


def test_repeat_count_and_group_repeat_and_note_repeat():
    three = notes("|: C4:1 :|x3 D4:1 |")
    assert [s for s, *_ in three] == [0, 4, 8, 12]
    group = notes("[C4:8 D4]*3 E4:4")
    assert [(s, p) for s, _, p, _ in group] == [(0, 60), (0.5, 62), (1, 60), (1.5, 62), (2, 60),
                                                (2.5, 62), (3, 64)]
    single = notes("C4:16*4 D4:4")
    assert [s for s, *_ in single] == [0, 0.25, 0.5, 0.75, 1]


def test_end_and_start_repeat():
    got = notes("|: C4:1 :|: D4:1 :|")
    assert [(s, p) for s, _, p, _ in got] == [(0, 60), (4, 60), (8, 62), (12, 62)]


def test_dynamics_set_velocity_of_following_notes():
    got = notes("C4 ppp C4 pp C4 p C4 mp C4 mf C4 f C4 ff C4 fff C4 v101 C4")
    assert [v for *_, v in got] == [80, 16, 32, 48, 64, 80, 96, 112, 127, 101]


def test_comments_are_ignored():
    assert notes("C4 % a comment D4 E4\nF4") == [(0, 1, 60, 80), (1, 1, 65, 80)]


def test_meter_change_changes_the_bar_check():
    meters = MeterMap([MeterChange(0.0, 3, 4), MeterChange(3.0, 5, 8)])
    got = notes("C4:2. | D4:4 E4:8 F4 G4 |", meters=meters)
    assert [s for s, *_ in got] == [0, 3, 4, 4.5, 5]
    with pytest.raises(ScoreError, match=r"bells, bar 2: 6/8 of a 5/8 bar"):
        parse_notation("C4:2. | D4:4 E4:8 F4 G4 A4 |", meters=meters, part="bells")


def test_start_beat_offsets_everything():
    got = notes("C4:2. | D4 |", meters=THREE_FOUR, start_beat=6.0)
    assert got[0][0] == 6 and got[1][0] == 9


# ---------------------------------------------------------------- errors

def raises(text, pattern, **kw):
    with pytest.raises(ScoreError, match=pattern):
        parse_notation(text, part="bells", source="piece.toml", **kw)


def test_bar_that_does_not_add_up_names_part_bar_file_line_column():
    raises("C4:2. | D4:4 E4 F4:8 G4 A4 |\n", r"^piece\.toml:1:28: bells, bar 2: 7/8 of a 3/4 bar",
           meters=THREE_FOUR)
    raises("C4:2. |\n D4:4 E4 |", r"^piece\.toml:2:10: bells, bar 2: 2/4 of a 3/4 bar",
           meters=THREE_FOUR)


def test_last_bar_without_bar_line_is_checked_too():
    raises("C4:1 | D4:2", r"bells, bar 2: 2/4 of a 4/4 bar at the end of the notes")


def test_note_crossing_a_bar_line_is_an_error():
    raises("C4:2 D4:1 | E4:2 |", r"bar 1: 6/4 of a 4/4 bar .*runs past")


def test_unknown_pitch_names():
    raises("C4 H4", r"piece\.toml:1:4: bells: unknown token 'H4'")
    raises("c4", r"upper-case: 'C4'")
    raises("C12", r"'C12' is outside the MIDI range")
    raises("128", r"'128' is outside 0\.\.127")


def test_zero_negative_and_bad_durations():
    raises("C4:0", r"1:1: bells: zero duration in 'C4:0'")
    raises("D4 C4:-8", r"1:4: bells: negative duration in 'C4:-8'")
    raises("C4:3", r"bad duration :3")
    raises("C4:4...", r"too many dots")


def test_tie_to_a_different_pitch_or_a_rest_or_nothing():
    raises("C4:2~ D4:2", r"1:7: bells, bar 1: tie from C4 .*to 'D4:2'")
    raises("C4:2~ r:2", r"tie from C4 .*to a rest")
    raises("<C4 E4>:2~ <C4 G4>", r"tie from C4 E4")
    raises("C4:2 D4~", r"1:6: bells, bar 1: tie at the end of the notes")


def test_unclosed_chord_tuplet_repeat_group():
    raises("C4 <E4 G4", r"1:4: bells: unclosed chord")
    raises("C4 (3 C4:8 D4", r"1:4: bells: unclosed tuplet: '\(3'")
    raises("|: C4:1 |", r"1:1: bells: unclosed repeat")
    raises("[C4 D4", r"1:1: bells: unclosed group")
    raises("C4:1 :|", r"':\|' closes a repeat but no '\|:' opened one")
    raises("(3 C4:8 D4 ]", r"'\]' closes a group, but the '\(3' opened at 1:1 is still open")
    raises("C4 )", r"'\)' without a '\(' that opened it")


def test_misplaced_tokens():
    raises("<C4 E4:4>", r"inside a chord: write the duration")
    raises("<C4 | E4>", r"inside a chord")
    raises("(3 C4:8 | D4 E4)", r"bar line '\|' inside a tuplet")
    raises("C4 R", r"'R' \(whole-bar rest\) must start a bar")
    raises("v0 C4", r"velocity 'v0' must be v1\.\.v127")
    raises("(4 C4 D4 E4 F4)", r"needs an explicit ratio")
    raises("~ C4", r"must follow a note or chord")


def test_impossible_lengths_are_refused_quickly():
    raises("[C4:1]*100000000", r"past beat 10,000,000")
    raises("C4:1*100000000", r"past beat 10,000,000")
    raises("|: C4:1 :|x100000000", r"past beat 10,000,000")


def test_custom_locator_maps_positions():
    with pytest.raises(ScoreError, match=r"^f\.toml:11:4: bells: unknown token 'Q4'"):
        parse_notation("C4\nD4 Q4", part="bells", source="f.toml",
                       locate=lambda off: (10 + (off >= 3), off - (3 if off >= 3 else 0) + 1))
