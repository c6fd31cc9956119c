"""Composer's measures (synth.analysis.music), the loudness range (EBU Tech 3342)
and their place in `synth analyze`.

Every expected value is written out by hand from the music (or from the
EBU specification), never computed by the code under test.
"""

import json

import numpy as np
import pytest
import soundfile as sf

from synth.analysis.music import (KeyWindow, best_keys, density, key_agreement, key_name,
                                  key_pitch_class, key_windows, note_values, notes_per_bar,
                                  pitch_class_durations, repeated_bars, velocity_range,
                                  velocity_ranges)
from synth.cli import main
from synth.errors import ScoreError
from synth.loudness import LoudnessRangeMeter, k_weighting_sos, loudness_range
from synth.score import KeyChange, MeterChange, MeterMap, Note, Part, Score

C4 = 60


def cadence(tonic: int, *, minor: bool = False, start: float = 0.0, velocity: int = 80):
    """Bar 1: a scale in eighths; bars 2-5: I-IV-V-I (i-iv-V-i) as whole-note triads.

    The minor form is harmonic minor (raised seventh), so the V has its
    leading tone.  All in 4/4 from ``start``.
    """
    steps = (0, 2, 3, 5, 7, 8, 11, 12) if minor else (0, 2, 4, 5, 7, 9, 11, 12)
    third = 3 if minor else 4
    notes = [Note(start + 0.5 * i, 0.5, tonic + s, velocity) for i, s in enumerate(steps)]
    chords = [(0, third, 7), (5, 5 + third, 12), (-1, 2, 7), (0, third, 7)]
    for k, chord in enumerate(chords):
        notes += [Note(start + 4 + 4 * k, 4, tonic + s, velocity) for s in chord]
    return notes


def score_of(*parts, keys=(), meters=None):
    return Score(parts=tuple(parts), keys=tuple(keys), meters=meters or MeterMap())


# ---------------------------------------------------------------- key names

def test_key_names_use_the_project_spelling():
    assert key_name(2, "minor") == "D minor"
    assert key_name(10, "major") == "Bb major"
    assert key_name(6, "minor") == "F# minor"
    assert key_name(8, "minor") == "G# minor"
    assert key_pitch_class("Bb major") == (10, "major")
    assert key_pitch_class("F#m") == (6, "minor")
    assert key_pitch_class("A aeolian") == (9, "minor")
    assert key_pitch_class("E dorian") is None
    with pytest.raises(ScoreError, match="mode must be 'major' or 'minor'"):
        key_name(0, "dorian")


# ---------------------------------------------------------------- key finding

def test_pitch_class_durations_are_beats_per_pitch_class_clipped_to_the_bars():
    s = score_of(Part("a", (Note(0, 2, 62), Note(2, 4, 74), Note(6, 1, 61.4))))
    assert pitch_class_durations(s).tolist() == [0, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    # bar 2 only (beats 4..8): 2 beats of the tied D, 1 of C#
    assert pitch_class_durations(s, first_bar=2, last_bar=2).tolist() == [
        0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("profile", ["krumhansl", "temperley"])
def test_a_c_major_scale_and_cadence_is_c_major(profile):
    s = score_of(Part("a", tuple(cadence(C4))))
    assert best_keys(pitch_class_durations(s), profile=profile).key == "C major"


@pytest.mark.parametrize("profile", ["krumhansl", "temperley"])
def test_the_same_in_f_sharp_harmonic_minor_is_f_sharp_minor(profile):
    s = score_of(Part("a", tuple(cadence(C4 + 6, minor=True))))
    est = best_keys(pitch_class_durations(s), profile=profile)
    assert est.key == "F# minor"
    assert est.correlation > est.runner_up_correlation


def test_a_key_change_half_way_is_heard_in_both_windows():
    # bars 1-5 C major, 6-8 silent; bars 9-13 F# minor from beat 32, written there
    notes = cadence(C4) + cadence(C4 + 6, minor=True, start=32)
    s = score_of(Part("a", tuple(notes)),
                 keys=[KeyChange(0, "C", "major"), KeyChange(32, "F#", "minor")])
    windows = key_windows(s, window_bars=8)
    assert [(w.first_bar, w.last_bar, w.key, w.written_key) for w in windows] == [
        (1, 8, "C major", "C major"), (9, 13, "F# minor", "F# minor")]
    assert all(w.agrees for w in windows)
    areas = key_agreement(windows)
    assert [(a.written_key, a.first_bar, a.last_bar, a.windows, a.agreeing, a.share)
            for a in areas] == [("C major", 1, 8, 1, 1, 1.0), ("F# minor", 9, 13, 1, 1, 1.0)]


def test_a_planned_key_that_is_not_heard_scores_zero():
    notes = cadence(C4) + cadence(C4, start=20)              # bars 1-10, C major twice
    s = score_of(Part("a", tuple(notes)), keys=[KeyChange(0, "D", "minor")])
    windows = key_windows(s, window_bars=5)
    assert [(w.first_bar, w.last_bar, w.key) for w in windows] == [(1, 5, "C major"),
                                                                  (6, 10, "C major")]
    [area] = key_agreement(windows)
    assert (area.written_key, area.windows, area.agreeing, area.share) == ("D minor", 2, 0, 0.0)


def test_windows_without_notes_or_written_key_are_not_compared():
    s = score_of(Part("a", tuple(cadence(C4, start=8)) + (Note(40, 1, 60),)))
    windows = key_windows(s, window_bars=2)                 # bars 1-2 hold nothing
    assert (windows[0].first_bar, windows[0].last_bar, windows[0].key) == (1, 2, None)
    assert windows[0].correlation == 0.0 and windows[0].agrees is None
    assert windows[1].key is not None and windows[1].written_key is None
    assert key_agreement(windows)[0].share is None
    modal = KeyWindow(1, 8, "E minor", 0.9, "G major", 0.8, "E dorian")
    assert modal.agrees is None
    assert KeyWindow(1, 8, "Bb major", 0.9, "F major", 0.8, "A# major").agrees is True


def test_parts_restrict_key_finding():
    violin = Part("violin", tuple(cadence(C4 + 12)))
    drone = Part("drone", (Note(0, 20, 42), Note(0, 20, 49), Note(0, 20, 54)))   # F#, C#, F#
    s = score_of(violin, drone)
    assert key_windows(s, parts=["violin"])[0].key == "C major"
    assert key_windows(s)[0].key != "C major"
    with pytest.raises(ScoreError, match="no part named 'viola'"):
        key_windows(s, parts=["violin", "viola"])
    with pytest.raises(TypeError, match="list of part names"):
        key_windows(s, parts="violin")


def test_bad_key_finding_arguments():
    s = score_of(Part("a", tuple(cadence(C4))))
    with pytest.raises(ScoreError, match="unknown key profile 'aarden'"):
        key_windows(s, profile="aarden")
    with pytest.raises(ScoreError, match="window_bars must be >= 1, got 0"):
        key_windows(s, window_bars=0)
    with pytest.raises(ScoreError, match="bad bar range 3..2"):
        pitch_class_durations(s, first_bar=3, last_bar=2)


# ---------------------------------------------------------------- repeated bars

def bar(first_bar: int, pitches, *, velocity: int = 80, offset: float = 0.0):
    """Quarter notes from beat ``offset`` of a 4/4 bar."""
    start = 4 * (first_bar - 1)
    return [Note(start + offset + i, 1, p, velocity) for i, p in enumerate(pitches)]


def test_repeated_bar_runs_are_counted_exactly():
    a, b, c = (60, 62, 64, 65), (67, 67, 65, 64), (72,)
    notes = (bar(1, a) + bar(2, a) + bar(3, a, velocity=100)   # velocity does not count
             + bar(4, b) + bar(5, b)
             + bar(6, c)                                       # bar 7 empty: no run 6-8
             + bar(8, c) + bar(9, c)
             + bar(10, c, offset=1)                            # same pitch, other beat
             + bar(11, a))
    s = score_of(Part("violin", tuple(notes)), Part("viol", tuple(bar(1, a) + bar(3, b))),
                 Part("empty", ()))
    rep = repeated_bars(s)
    assert (rep["violin"].longest_run, rep["violin"].repeats, rep["violin"].runs) == (
        3, 4, ((1, 3), (4, 2), (8, 2)))
    assert (rep["viol"].longest_run, rep["viol"].repeats, rep["viol"].runs) == (1, 0, ())
    assert (rep["empty"].longest_run, rep["empty"].repeats, rep["empty"].runs) == (0, 0, ())
    assert list(repeated_bars(s, parts=["viol"])) == ["viol"]


def test_repeated_bars_follow_the_meters():
    # 3/4 throughout: the same three quarter notes in bars 1 and 2, another bar 3
    meters = MeterMap([MeterChange(0, 3, 4)])
    notes = [Note(b * 3 + i, 1, 60 + i) for b in (0, 1) for i in range(3)] + [Note(6, 3, 50)]
    rep = repeated_bars(score_of(Part("p", tuple(notes)), meters=meters))["p"]
    assert (rep.longest_run, rep.repeats, rep.runs) == (2, 1, ((1, 2),))


# ---------------------------------------------------------------- density, velocities, values

def test_notes_per_bar_and_density_windows():
    melody = Part("melody", tuple(bar(1, (60, 62, 64, 65)) + bar(2, (60, 62)) + bar(4, (60,))
                                  + bar(5, (60, 61, 62))))
    bass = Part("bass", (Note(0, 16, 36), Note(16, 4, 38)))     # held over bars 1-4, then bar 5
    s = score_of(melody, bass)
    assert {k: v.tolist() for k, v in notes_per_bar(s).items()} == {
        "melody": [4, 2, 0, 1, 3], "bass": [1, 0, 0, 0, 1]}
    d = density(s, window_bars=2)
    assert d["melody"].per_bar == (4, 2, 0, 1, 3)
    assert d["melody"].window_means == (3.0, 0.5, 3.0)
    assert d["bass"].window_means == (0.5, 0.0, 1.0)
    assert list(density(s, parts=["bass"])) == ["bass"]


def test_velocity_ranges_and_note_values():
    a = Part("a", (Note(0, 0.5, 60, 40), Note(0.5, 0.5, 62, 72), Note(1, 1.5, 64, 72)))
    b = Part("b", (Note(0, 2.5, 48, 100), Note(2.5, 1, 50, 72)))
    s = score_of(a, b, Part("c", ()))
    r = velocity_ranges(s)
    assert (r["a"].min, r["a"].max, r["a"].distinct) == (40, 72, 2)
    assert (r["b"].min, r["b"].max, r["b"].distinct) == (72, 100, 2)
    assert r["c"] is None
    overall = velocity_range(n for p in s.parts for n in p.notes)
    assert (overall.min, overall.max, overall.distinct) == (40, 100, 3)
    assert note_values(s) == (0.5, 1.0, 1.5, 2.5)
    assert note_values(s, parts=["a"]) == (0.5, 1.5)


# ---------------------------------------------------------------- loudness range (EBU Tech 3342)

def tone_steps(levels_dbfs, sr, seconds=20.0):
    """EBU Tech 3342 test signal: a stereo 1 kHz sine, ``seconds`` at each peak level."""
    t = np.arange(int(seconds * sr)) / sr
    x = np.concatenate([10 ** (db / 20) * np.sin(2 * np.pi * 1000 * t) for db in levels_dbfs])
    return np.stack([x, x])


def test_k_weighting_at_48_khz_is_the_bs1770_table():
    # ITU-R BS.1770-4, Annex 1, tables 1 and 2 (48 kHz)
    expected = [[1.53512485958697, -2.69169618940638, 1.19839281085285,
                 1.0, -1.69065929318241, 0.73248077421585],
                [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]]
    np.testing.assert_allclose(k_weighting_sos(48000), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("levels, lra", [
    ((-20, -30), 10.0),                         # EBU Tech 3342, table 1, signal 1
    ((-20, -15), 5.0),                          # signal 2
    ((-40, -20), 20.0),                         # signal 3
    ((-50, -35, -20, -35, -50), 15.0),          # signal 4 (the -50 dBFS steps fall under the gate)
])
def test_loudness_range_of_the_ebu_tone_steps(levels, lra):
    assert loudness_range(tone_steps(levels, 48000), 48000) == pytest.approx(lra, abs=0.1)


def test_loudness_range_at_44100_hz_and_in_any_blocks():
    x = tone_steps((-20, -30), 44100)
    assert loudness_range(x, 44100) == pytest.approx(10.0, abs=0.1)
    assert loudness_range(x, 44100, block_samples=4097) == pytest.approx(10.0, abs=0.1)
    whole, pieces = LoudnessRangeMeter(44100, 2), LoudnessRangeMeter(44100, 2)
    whole.add(x[:, :7 * 44100])
    for a in range(0, 7 * 44100, 1001):
        pieces.add(x[:, a:min(a + 1001, 7 * 44100)])
    assert len(whole.short_term) == len(pieces.short_term) == 41   # 3 s, then every 0.1 s to 7 s
    np.testing.assert_allclose(pieces.short_term, whole.short_term, rtol=0, atol=1e-9)


def test_short_term_loudness_of_the_ebu_3341_sine():
    # EBU Tech 3341, test 1: a stereo 1 kHz sine at -23 dBFS reads -23.0 LUFS (+-0.1)
    meter = LoudnessRangeMeter(48000, 2)
    meter.add(tone_steps((-23,), 48000, seconds=5))
    assert len(meter.short_term) == 21
    np.testing.assert_allclose(meter.short_term, -23.0, atol=0.1)
    assert meter.loudness_range() == pytest.approx(0.0, abs=0.01)


def test_loudness_range_of_silence_and_short_audio_is_zero():
    assert loudness_range(np.zeros((2, 48000 * 5)), 48000) == 0.0
    assert loudness_range(tone_steps((-20,), 48000, seconds=2.5), 48000) == 0.0


def test_loudness_range_rejects_bad_input():
    with pytest.raises(ValueError, match="channels must be 1..5, got 6"):
        loudness_range(np.zeros((6, 1000)), 48000)
    with pytest.raises(ValueError, match="sr must be an integer sample rate"):
        loudness_range(np.zeros((2, 1000)), 44100.5)
    meter = LoudnessRangeMeter(48000, 2)
    with pytest.raises(ValueError, match=r"expected a block of shape \(2, n\)"):
        meter.add(np.zeros((1, 100)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        meter.add(np.full((2, 10), np.nan))


# ---------------------------------------------------------------- synth analyze

SMALL_SCORE = '''
[score]
title = "Two keys"
tempo = 240
meter = "4/4"
key = "C major"

[[key]]
bar = 3
key = "F# minor"

[parts.violin]
notes = """
  v90 C5:4 E5 G5 C6 | C5:4 E5 G5 C6 |
  v100 F#5:4 A5 C#6 A5 | v50 G#5:4 E#5 F#5:2 |
"""

[parts.bass]
notes = "v60 C3:1 | C3:1 | F#2:1 | F#2:1 |"
'''


def test_analyze_reports_the_composers_measures(tmp_path, capsys):
    path = tmp_path / "two-keys.toml"
    path.write_text(SMALL_SCORE, encoding="utf-8")
    assert main(["analyze", str(path), "--json", "--window-bars", "2", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(k["bars"], k["written"], k["heard"], k["agrees"]) for k in report["keys"]] == [
        ([1, 2], "C major", "C major", True), ([3, 4], "F# minor", "F# minor", True)]
    assert all(0 < k["correlation"] <= 1 for k in report["keys"])
    assert [(a["written"], a["bars"], a["windows"], a["agreeing"], a["share"])
            for a in report["key_agreement"]] == [("C major", [1, 2], 1, 1, 1.0),
                                                  ("F# minor", [3, 4], 1, 1, 1.0)]
    assert report["repeats"] == {
        "violin": {"longest_run": 2, "repeated_bars": 1, "runs": [[1, 2]]},
        "bass": {"longest_run": 2, "repeated_bars": 2, "runs": [[1, 2], [3, 2]]}}
    assert report["density"]["violin"] == {"per_bar": [4, 4, 4, 3], "window_means": [4.0, 3.5]}
    assert report["density"]["bass"] == {"per_bar": [1, 1, 1, 1], "window_means": [1.0, 1.0]}
    assert report["velocities"] == {
        "parts": {"violin": {"min": 50, "max": 100, "distinct": 3},
                  "bass": {"min": 60, "max": 60, "distinct": 1}},
        "all": {"min": 50, "max": 100, "distinct": 4}}
    assert report["note_values"] == {"count": 3, "beats": [1.0, 2.0, 4.0]}
    assert (report["key_profile"], report["key_parts"]) == ("krumhansl", None)

    # the key of the violin alone, with the other profiles; the text output names both keys
    assert main(["analyze", str(path), "--window-bars", "2", "--parts", "violin",
                 "--key-profile", "temperley", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Kostka-Payne profiles; violin" in out
    assert "C major (bars 1-2) in 1 of 1" in out and "F# minor (bars 3-4) in 1 of 1" in out
    assert "violin: longest run 2 (bars 1-2); 1 bar identical to the bar before" in out


def test_analyze_rejects_an_unknown_part(tmp_path, capsys):
    path = tmp_path / "two-keys.toml"
    path.write_text(SMALL_SCORE, encoding="utf-8")
    assert main(["analyze", str(path), "--parts", "violin,viola", "--quiet"]) == 2
    assert "no part named 'viola'" in capsys.readouterr().err


def test_analyze_audio_reports_the_loudness_range(tmp_path, capsys):
    path = tmp_path / "steps.wav"
    sf.write(path, tone_steps((-20, -30), 48000).T, 48000, subtype="FLOAT")
    assert main(["analyze", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loudness_range_lu"] == pytest.approx(10.0, abs=0.1)
    assert main(["analyze", str(path)]) == 0
    assert "loudness range  10.0 LU (EBU Tech 3342)" in capsys.readouterr().out
