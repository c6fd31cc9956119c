"""Tunings: Scala .scl/.kbm, built-in EDOs and just intonation, measured on rendered audio."""

import math
import pathlib
import subprocess
import sys
from fractions import Fraction

import pytest

from conftest import cents, peak_frequency
from synth.errors import ScoreError
from synth.render import render
from synth.scorefile import load_score_file, parse_score_toml
from synth.tuning import load_tuning, parse_kbm, parse_scl

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUNINGS = ROOT / "examples" / "tunings"
SR = 44100


def file_cents(path):
    """Cents of degrees 1..N read from a .scl by hand (independent of synth.tuning)."""
    lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("!")]
    count = int(lines[1].split()[0])
    out = []
    for ln in lines[2:2 + count]:
        tok = ln.split()[0]
        out.append(float(tok) if "." in tok else 1200 * math.log2(Fraction(tok)))
    return out


def render_keys(score_text, tmp_path, files=()):
    for f in files:
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "piece.toml").write_text(score_text)
    score = load_score_file(tmp_path / "piece.toml")
    audio = render(score, sr=SR, seed=0).audio[0]
    return score, audio


@pytest.mark.parametrize("scl", ["19-edo.scl", "just-7-limit.scl"])
def test_every_rendered_note_within_2_cents_of_the_scala_file(scl, tmp_path):
    degrees = [0.0] + file_cents(TUNINGS / scl)            # degree 0 .. the period
    n = len(degrees)
    keys = " ".join(f"{60 + k}:4 r:4" for k in range(n))   # one key per degree, from 60
    text = f'[score]\ntempo = 120\ntuning = "{scl}"\n\n[parts.a]\npreset = "sine"\n' \
           f'notes = "{keys}"\n'
    score, audio = render_keys(text, tmp_path, [TUNINGS / scl])
    notes = score.parts[0].notes
    assert len(notes) == n
    worst = 0.0
    for note, expected_cents in zip(notes, degrees):
        a = int((note.start * 0.5 + 0.1) * SR)                # 120 bpm: 0.5 s per beat
        x = audio[a:a + int(0.3 * SR)]
        # no .kbm: key 60 is degree 0 at 261.6256 Hz (12-EDO middle C)
        f_expected = 261.6255653005986 * 2 ** (expected_cents / 1200)
        worst = max(worst, abs(cents(peak_frequency(x, SR), f_expected)))
    assert worst < 2.0, worst


def test_keyboard_mapping_puts_degree_0_on_d_with_a440(tmp_path):
    text = ('[score]\ntuning = { scale = "just-7-limit.scl", keyboard = "d-a440.kbm" }\n\n'
            '[parts.a]\npreset = "sine"\nnotes = "D4:2 A4 D5 C5"\n')
    score, audio = render_keys(text, tmp_path, [TUNINGS / "just-7-limit.scl",
                                                TUNINGS / "d-a440.kbm"])
    d4 = 440 / 1.5                                            # A4 = 3/2 above D4
    expected = [d4, 440.0, 2 * d4, d4 * 7 / 4]               # C5 = degree 10 = 7/4 above D4
    for note, f in zip(score.parts[0].notes, expected):
        a = int((note.start * 0.5 + 0.1) * SR)
        assert abs(cents(peak_frequency(audio[a:a + int(0.6 * SR)], SR), f)) < 2.0


@pytest.mark.parametrize("name, key, expected", [
    ("19-edo", 61, 60 + 12 / 19), ("19-edo", 79, 72.0), ("24-edo", 62, 61.0),
    ("31-edo", 91, 72.0), ("31-edo", 41, 60 - 19 * 12 / 31), ("12-edo", 67, 67.0),
    ("just", 64, 60 + 12 * math.log2(5 / 4)), ("just", 67, 60 + 12 * math.log2(3 / 2)),
    ("just-7", 70, 60 + 12 * math.log2(7 / 4)),
])
def test_builtin_tunings(name, key, expected):
    assert load_tuning(name).pitch(key) == pytest.approx(expected, abs=1e-9)


def test_cent_offsets_and_part_tunings():
    text = ('[score]\ntuning = "19-edo"\n\n[parts.edo]\nnotes = "61 C4+25c"\n\n'
            '[parts.plain]\ntuning = "12-edo"\nnotes = "61"\n\n'
            '[parts.raw]\nevents = [[0, 1, 61]]\n')
    score = parse_score_toml(text)
    assert sorted(n.pitch for n in score.part("edo").notes) == pytest.approx([60.25, 60 + 12 / 19])
    assert score.part("plain").notes[0].pitch == 61.0
    assert score.part("raw").notes[0].pitch == 61.0        # events are exact pitches


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("data, message", [
    (b"! bad\nthree notes\n 3\n 100.0\n 3/2\n", r"bad\.scl:5: the count on line 3 says 3 notes, but only 2 follow"),
    (b"desc\n2\n3/2\n2/1\n5/4\n", r"bad\.scl:5: the count on line 2 says 2 notes, but more follow: '5/4'"),
    (b"desc\n3\n9/8\n3/0\n2/1", r"bad\.scl:4: bad ratio '3/0'"),
    (b"desc\n3\n9/8\nthree-halves\n2/1\n", r"bad\.scl:4: not a pitch: 'three-halves'"),
    (b"desc\ntwelve\n", r"bad\.scl:2: the note count must be a whole number, got 'twelve'"),
    (b"desc\n2\n9/8\n2/1\n! caf\xe9\n", r"bad\.scl:5: not UTF-8: byte 0xe9"),
    (b"", r"bad\.scl:1: empty Scala file"),
    (b"! only a comment, no newline", r"bad\.scl:1: empty Scala file"),
])
def test_malformed_scl_names_the_file_and_line(tmp_path, data, message):
    path = write(tmp_path, "bad.scl", data)
    with pytest.raises(ScoreError, match=message):
        load_tuning(str(path))


def test_malformed_scl_exits_2_from_the_cli(tmp_path):
    write(tmp_path, "bad.scl", b"! wrong count\nbad\n 5\n 100.\n 200.\n 2/1\n")
    (tmp_path / "piece.toml").write_text('[score]\ntuning = "bad.scl"\n\n[parts.a]\nnotes = "C4"\n')
    run = subprocess.run([sys.executable, "-m", "synth", "info", str(tmp_path / "piece.toml")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().startswith("synth: error: ")
    assert "bad.scl:6: the count on line 3 says 5 notes, but only 3 follow" in run.stderr


def test_scala_quirks_are_read():
    text = "! c\r\n!\r\n\r\n 3 notes in all\r\n  100.0 cents\r\n 3/2 fifth\r\n 2"  # CRLF, blank desc, no newline
    desc, values = parse_scl(text)
    assert desc == "" and values == pytest.approx([100.0, 1200 * math.log2(1.5), 1200.0])


def test_kbm_errors_and_unmapped_keys(tmp_path):
    with pytest.raises(ScoreError, match=r"m\.kbm:2: first key must be a MIDI key 0..127"):
        parse_kbm("12\n200\n127\n60\n69\n440\n12\n", "m.kbm")
    kbm = "! white keys only\n7\n0\n127\n60\n69\n440.0\n12\n0\nx\n2\n4\n5\n7\n9\n"
    write(tmp_path, "w.kbm", kbm.encode())
    tuning = load_tuning("12-edo", base_dir=str(tmp_path), kbm="w.kbm")
    with pytest.raises(ScoreError, match="key 61 is not mapped"):
        tuning.pitch(61)
    text = '[score]\ntuning = { scale = "12-edo", keyboard = "w.kbm" }\n[parts.a]\nnotes = "C#4"\n'
    with pytest.raises(ScoreError, match=r"x.toml:\d+: parts\.a\.tuning: key 61 is not mapped"):
        parse_score_toml(text, "x.toml", base_dir=str(tmp_path))


def test_unknown_tuning_names_the_key():
    with pytest.raises(ScoreError, match=r"x.toml:2: score.tuning: unknown tuning 'pythagorean'"):
        parse_score_toml('[score]\ntuning = "pythagorean"\n[parts.a]\nnotes = "C4"\n', "x.toml")


def test_example_score_in_19_edo_loads():
    score = load_score_file(TUNINGS / "nineteen.toml")
    assert any(n.pitch != round(n.pitch) for p in score.parts for n in p.notes)
