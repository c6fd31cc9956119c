"""Score files: TOML container -> Score, located errors, and the writer."""

import textwrap

import pytest

from synth.errors import ArrangementError, ScoreError
from synth.score import MeterMap, Note, Part
from synth.scorefile import (ScoreContext, dump_score_toml, load_score_file,
                             parse_part_settings, parse_part_table, parse_score_toml)

FULL = textwrap.dedent('''\
    [score]
    title = "Bells"
    composer = "Nobody"
    seed = 1723
    tempo = 96
    meter = "3/4"
    key = "D minor"
    description = "test piece"

    [provenance]
    source = "written for the tests"

    [[tempo]]
    bar = 9
    beat = 2.5
    bpm = 80

    [[meter]]
    bar = 3
    meter = "5/8"

    [[key]]
    bar = 3
    key = "A minor"

    [parts.bells]
    preset = "saw"
    gain_db = -3.0
    pan = -0.3
    description = "the bells"
    effects = [ { type = "reverb", mix = 0.3 } ]
    notes = """
      mf D4:2. | F4:4 E4:2 |
      f A4:8 G4 F4 E4 D4 |
    """

    [parts.bells.patch]
    envelope.release = 2.0

    [parts.drone]
    preset = "sine"
    generated = true
    bar = 2
    notes = "<D3 A3>:2. | R |"
    events = [ [0.0, 1.0, 62, 90], [1.0, 0.5, "F4", 81] ]
    ''')


def test_full_file_gives_the_expected_score(tmp_path):
    path = tmp_path / "bells.toml"
    path.write_text(FULL, encoding="utf-8")
    score = load_score_file(path)
    md = score.metadata
    assert (md.title, md.composer, md.seed, md.description) == ("Bells", "Nobody", 1723, "test piece")
    assert md.provenance == {"source": "written for the tests"}
    assert [p.name for p in score.parts] == ["bells", "drone"]
    bells = score.part("bells")
    assert (bells.preset, bells.gain_db, bells.pan) == ("saw", -3.0, -0.3)
    assert bells.patch == {"envelope.release": 2.0}
    assert bells.effects == ({"type": "reverb", "mix": 0.3},)
    assert [(n.start, n.duration, n.pitch, n.velocity) for n in bells.notes] == [
        (0, 3, 62, 80), (3, 1, 65, 80), (4, 2, 64, 80),
        (6, 0.5, 69, 96), (6.5, 0.5, 67, 96), (7, 0.5, 65, 96), (7.5, 0.5, 64, 96),
        (8, 0.5, 62, 96)]
    drone = score.part("drone")
    assert drone.generated is True
    # the notation starts at bar 2 (beat 3); events are absolute
    assert [(n.start, n.duration, n.pitch, n.velocity) for n in drone.notes] == [
        (0, 1, 62, 90), (1, 0.5, 65, 81), (3, 3, 50, 80), (3, 3, 57, 80)]


def test_tempo_change_at_bar_and_beat_lands_on_the_absolute_beat():
    score = parse_score_toml(FULL)
    # bars 1-2 in 3/4 (6 beats), bars 3-8 in 5/8 (6 x 2.5 = 15 beats): bar 9 starts at 21;
    # beat 2.5 counts eighths in 5/8, so 1.5 eighths = 0.75 beat later
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0, 96), (21.75, 80)]
    assert score.tempo.seconds(21.75) == pytest.approx(21.75 * 60 / 96)
    assert score.tempo.seconds(22.75) == pytest.approx(21.75 * 60 / 96 + 60 / 80)


def test_tempo_change_in_four_four_bar_9_beat_2_5():
    score = parse_score_toml('[score]\ntempo = 120\n[[tempo]]\nbar = 9\nbeat = 2.5\nbpm = 60\n')
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0, 120), (33.5, 60)]


def test_meter_and_key_changes_at_bar_lines():
    score = parse_score_toml(FULL)
    assert [(c.beat, str(c)) for c in score.meters.changes] == [(0, "3/4"), (6, "5/8")]
    assert [(k.beat, str(k)) for k in score.keys] == [(0, "D minor"), (6, "A minor")]


def test_defaults_and_title_from_file_name(tmp_path):
    path = tmp_path / "little-tune.toml"
    path.write_text('[score]\n[parts.a]\nnotes = "C4 D4"\n', encoding="utf-8")
    score = load_score_file(path)
    assert score.title == "little-tune"
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0, 120)]
    assert [str(c) for c in score.meters.changes] == ["4/4"]
    assert score.part("a").preset == "sine"


def test_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "win.toml"
    path.write_bytes(b'\xef\xbb\xbf[score]\r\ntempo = 100\r\n[parts.a]\r\nnotes = """\r\nC4:1 |\r\nD4:1 |\r\n"""\r\n')
    score = load_score_file(path)
    assert [n.pitch for n in score.part("a").notes] == [60, 62]


def test_dump_and_parse_round_trip_exactly():
    score = parse_score_toml(FULL)
    bent = Part("bent", (Note(0.1, 1 / 3, 60.25, 7, ((0.0, 0.0), (0.5, -1.5))),))
    score = score.with_parts(score.parts + (bent,))
    again = parse_score_toml(dump_score_toml(score))
    assert again.parts == score.parts
    assert [p.patch for p in again.parts] == [p.patch for p in score.parts]
    assert [p.effects for p in again.parts] == [p.effects for p in score.parts]
    assert again.part("bent").notes[0].bend == ((0.0, 0.0), (0.5, -1.5))
    assert again.tempo == score.tempo and again.meters == score.meters
    assert again.keys == score.keys and again.metadata == score.metadata


def test_parse_part_table_for_arrangement_overrides():
    ctx = ScoreContext(meters=MeterMap())
    part = parse_part_table({"preset": "square", "notes": "C4:1 | E4:1 |", "pan": 0.5},
                            name="lead", score_context=ctx, source="arr.toml")
    assert (part.preset, part.pan, [n.start for n in part.notes]) == ("square", 0.5, [0, 4])
    settings = parse_part_settings({"preset": "saw", "gain_db": -6}, name="lead", source="arr.toml")
    assert settings == {"preset": "saw", "gain_db": -6.0}
    with pytest.raises(ArrangementError, match=r"arr\.toml: parts\.lead\.preset: unknown preset 'sawz'"):
        parse_part_settings({"preset": "sawz"}, name="lead", source="arr.toml",
                            error_type=ArrangementError)


# ---------------------------------------------------------------- errors

def load_text(tmp_path, text, name="bad.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_score_file(path)


#: Malformed score files and the one error each must give: (what, file text,
#: message pattern); each names the file, the line (and column) and the key.
BAD_FILES = [
    ("toml_syntax_error_has_line_and_column", '[score]\ntitle = "x"\ntempo = \n',
     r"bad\.toml:3:9: TOML syntax error: Invalid value"),
    ("unknown_table_and_keys_suggest_the_nearest_name", '[score]\n\n[scroe]\ntitle = "x"\n',
     r"bad\.toml:3: unknown table 'scroe' \(did you mean 'score'\?\)"),
    ("unknown_table_and_keys_suggest_the_nearest_name", '[score]\ntitel = "x"\n',
     r"bad\.toml:2: unknown key 'titel' in \[score\] \(did you mean 'title'\?\)"),
    ("unknown_table_and_keys_suggest_the_nearest_name", '[score]\n[parts.a]\npreset = "saw"\nnotse = "C4"\n',
     r"bad\.toml:4: unknown key 'notse' in \[parts\.a\] \(did you mean 'notes'\?\)"),
    ("unknown_table_and_keys_suggest_the_nearest_name", '[score]\n[[tempo]]\nbar = 2\n\nbmp = 90\n',
     r"bad\.toml:5: unknown key 'bmp' in \[\[tempo\]\] #1 \(did you mean 'bpm'\?\)"),
    ("missing_score_table_and_arrangement_file", '[parts.a]\nnotes = "C4"\n',
     r"bad\.toml: a score file needs a \[score\] table"),
    ("missing_score_table_and_arrangement_file", '[arrangement]\nsource = "x.toml"\n',
     r"bad\.toml:1: .*arrangement file"),
    ("zero_and_negative_durations", '[score]\n[parts.lead]\nnotes = "C4 D4:0"\n',
     r"bad\.toml:3:13: lead: zero duration in 'D4:0'"),
    ("zero_and_negative_durations", '[score]\n[parts.lead]\nevents = [[0, 1, 60, 80], [1, -1, 60, 80]]\n',
     r"bad\.toml:3: parts\.lead\.events: events\[1\]: negative duration -1"),
    ("zero_and_negative_durations", '[score]\n[parts.lead]\nevents = [[0, 0, 60]]\n',
     r"events\[0\]: zero duration 0"),
    ("bad_events", '[score]\n[parts.lead]\nevents = [[0, 1, "Q4", 80]]\n',
     r"events\[0\]: not a note name: 'Q4'"),
    ("bad_events", '[score]\n[parts.lead]\nevents = [[0, 1, 60, 0]]\n',
     r"events\[0\]: velocity must be an integer 1\.\.127, got 0"),
    ("bad_events", '[score]\n[parts.lead]\nevents = [[0, 1]]\n',
     r"events\[0\]: expected \[start_beat"),
    ("tempo_zero_or_negative", '[score]\ntempo = 0\n',
     r"bad\.toml:2: score\.tempo: 0 is below the minimum 1 bpm"),
    ("tempo_zero_or_negative", '[score]\ntempo = 90\n\n[[tempo]]\nbar = 3\nbpm = -80\n',
     r"bad\.toml:6: tempo\[1\]\.bpm: -80 is below the minimum 1 bpm"),
    # issue 15: every number finite and within a documented musical range, file and line named
    ("tempo_absurd", '[score]\ntempo = 1e9\n',
     r"bad\.toml:2: score\.tempo: 1000000000\.0 is above the maximum 1000 bpm"),
    ("tempo_infinite", '[score]\ntempo = inf\n', r"bad\.toml:2: score\.tempo: expected a finite number"),
    ("meter_absurd", '[score]\nmeter = "1000000/4"\n',
     r"bad\.toml:2: score\.meter: meter numerator: 1000000 is above the maximum 64 beats"),
    ("meter_change_absurd", '[score]\n[[meter]]\nbar = 2\nmeter = "99/8"\n',
     r"bad\.toml:4: meter\.meter: meter numerator: 99 is above the maximum 64"),
    ("part_delay_too_long", '[score]\n[parts.a]\nnotes = "C4:1"\neffects = [{type = "delay", time = 1e6}]\n',
     r"bad\.toml:4: parts\.a\.effects\[0\]\.time: 1000000\.0 is above the maximum 10 seconds"),
    ("part_reverb_infinite", '[score]\n[parts.a]\nnotes = "C4:1"\n\neffects = [{type = "reverb", rt60 = inf}]\n',
     r"bad\.toml:5: parts\.a\.effects\[0\]\.rt60: expected a finite number, got inf"),
    ("part_oversample_absurd", '[score]\n[parts.a]\nnotes = "C4:1"\neffects = [{type = "saturate", oversample = 1e9}]\n',
     r"bad\.toml:4: parts\.a\.effects\[0\]\.oversample: 1000000000\.0 is not one of 1, 2, 4, 8"),
    ("part_delay_beats_too_long",
     '[score]\ntempo = 60\n[parts.a]\nnotes = "C4:1"\neffects = [{type = "delay", beats = 12}]\n',
     r"bad\.toml:5: parts\.a\.effects\[0\]\.beats: 12 beats at 60 bpm last 12 s, above the "
     r"maximum 10 seconds"),
    ("part_chorus_rate", '[score]\n[parts.a]\nnotes = "C4:1"\neffects = [{type = "chorus", rate_hz = 1e300}]\n',
     r"bad\.toml:4: parts\.a\.effects\[0\]\.rate_hz: 1e\+300 is above the maximum 20 Hz"),
    ("part_gain_absurd", '[score]\n[parts.a]\nnotes = "C4:1"\neffects = [{type = "gain", gain_db = 400}]\n',
     r"bad\.toml:4: parts\.a\.effects\[0\]\.gain_db: 400 is above the maximum 48 dB"),
    ("part_effect_typo", '[score]\n[parts.a]\nnotes = "C4:1"\neffects = [{type = "delay", tiem = 0.3}]\n',
     r"bad\.toml:4: parts\.a\.effects\[0\]\.tiem: unknown parameter of effect 'delay' \(did you mean 'time'\?\)"),
    ("master_decimate_absurd", '[score]\n[master]\neffects = [{type = "decimate", rate_hz = 1e-9}]\n',
     r"bad\.toml:3: master\.effects\[0\]\.rate_hz: 1e-09 is below the minimum 100 Hz"),
    ("tempo_beat_past_the_bar", '[score]\nmeter = "3/4"\n[[tempo]]\nbar = 2\nbeat = 4\nbpm = 80\n',
     r"tempo\[1\]\.beat: beat 4 is past the end of bar 2 \(a 3/4 bar"),
    ("tie_to_a_different_pitch", '[score]\n[parts.lead]\nnotes = "C4:1~ | D4:1 |"\n',
     r"bad\.toml:3:18: lead, bar 2: tie from C4"),
    ("unknown_preset_and_bad_patch_key", '[score]\n[parts.lead]\npreset = "sawtooth"\nnotes = "C4"\n',
     r"bad\.toml:3: parts\.lead\.preset: unknown preset 'sawtooth' \(did you mean 'saw'\?\)"),
    ("unknown_preset_and_bad_patch_key", '[score]\n[parts.lead]\npreset = "saw"\n[parts.lead.patch]\nenvelope.relase = 2.0\n',
     r"bad\.toml:5: parts\.lead\.patch: unknown patch key 'envelope\.relase'"),
    ("bad_values_of_part_keys", '[score]\n[parts.lead]\npan = 3\n',
     r"bad\.toml:3: parts\.lead\.pan: must be <= 1, got 3"),
    ("bad_values_of_part_keys", '[score]\n[parts.lead]\ngenerated = "yes"\n',
     r"parts\.lead\.generated: must be true or false, got 'yes'"),
    ("bad_values_of_part_keys", '[score]\nmeter = "3/5"\n',
     r"bad\.toml:2: score\.meter: not a meter: '3/5'"),
    ("bad_values_of_part_keys", '[score]\nkey = "H major"\n',
     r"bad\.toml:2: score\.key: not a key: 'H major'"),
    ("impossible_lengths", '[score]\ntempo = 1\n[parts.a]\nevents = [[0, 2000, 60, 80]]\n',
     r"bad\.toml: impossible length: the notes last 33\.3 hours"),
    ("impossible_lengths", '[score]\n[parts.a]\nevents = [[1e7, 1, 60, 80]]\n',
     r"events\[0\]: ends past beat 10,000,000"),
    ("impossible_lengths", '[score]\n[parts.a]\nnotes = "[C4:1 |]*9999999"\n',
     r"bad\.toml:3:10: a, bar 1: the notes run past beat 10,000,000"),
]


@pytest.mark.parametrize("text, match", [case[1:] for case in BAD_FILES],
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(BAD_FILES)])
def test_a_malformed_file_gives_one_error_naming_where(tmp_path, text, match):
    with pytest.raises(ScoreError, match=match):
        load_text(tmp_path, text)


def test_non_utf8_bytes_name_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[score]\ntitle = "Caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ScoreError, match=r"latin1\.toml:2:13: not UTF-8: byte 0xe9 at byte offset 20"):
        load_score_file(path)


def test_unknown_pitch_is_located_in_the_file(tmp_path):
    text = '[score]\n\n[parts.lead]\nnotes = """\nC4 D4\n  E4 H4 F4\n"""\n'
    with pytest.raises(ScoreError, match=r"bad\.toml:6:6: lead: unknown token 'H4'"):
        load_text(tmp_path, text)
    # single-line string on the key's own line
    with pytest.raises(ScoreError, match=r"bad\.toml:3:16: lead: unknown token 'X4'"):
        load_text(tmp_path, '[score]\n[parts.lead]\nnotes = "C4 D4 X4"\n')


def test_bar_that_does_not_add_up_names_file_line_part_and_bar(tmp_path):
    text = ('[score]\nmeter = "3/4"\n\n[[meter]]\nbar = 3\nmeter = "5/8"\n\n[parts.bells]\n'
            'notes = """\nD4:2. | F4:2. |\nA4:8 G4 F4 E4 D4 | C4:4 D4 E4 |\n"""\n')
    with pytest.raises(ScoreError,
                       match=r"bad\.toml:11:31: bells, bar 4: 6/8 of a 5/8 bar at bar line '\|'"):
        load_text(tmp_path, text)


def test_unclosed_chord_tuplet_repeat(tmp_path):
    for notes, what in (("C4 <E4 G4", "chord"), ("(3 C4:8 D4 E4", "tuplet"), ("|: C4:1 |", "repeat")):
        with pytest.raises(ScoreError, match=rf"bad\.toml:3:\d+: lead: unclosed {what}"):
            load_text(tmp_path, f'[score]\n[parts.lead]\nnotes = "{notes}"\n')


