"""Hostile inputs, outputs and signals (issue 15): each ends in exit 0 with a correct
file or exit 2 with one line naming the path and the problem, and nothing is left behind."""

from __future__ import annotations

import io
import os
import resource
import signal
import stat
import struct
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import soundfile as sf

from synth import audio
from synth.audio import atomic_output, read_sample, write_wav
from synth.cli import main
from synth.errors import AudioFileError, ScoreError, SynthError, printable
from synth.files import read_bytes
from synth.musicxml import read_musicxml

SCORE = """\
[score]
title = "Hostile"
tempo = 120
meter = "4/4"

[parts.a]
preset = "sine"
notes = "C4:4 E4 G4 C5 | <C4 E4 G4>:1 |"
"""

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MUSICXML = os.path.join(REPO, "tests", "data", "repeats-ds-al-coda.musicxml")


@pytest.fixture
def score_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SCORE)
    return p


def cli(*args, cwd=None):
    """Run the CLI in a subprocess: (exit status, stderr)."""
    env = dict(os.environ, PYTHONPATH=REPO)
    r = subprocess.run([sys.executable, "-m", "synth", *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


def run(capsys, *args):
    status = main([str(a) for a in args])
    return status, capsys.readouterr().err


# ---------------------------------------------------------------- inputs

@pytest.mark.parametrize("make, match", [
    (lambda p: os.mkfifo(p), "is a FIFO"),
    (lambda p: os.symlink("/dev/zero", p), "is a device"),
    (lambda p: os.mkdir(p), "directory"),
])
@pytest.mark.parametrize("name", ["x.toml", "x.mid", "x.musicxml"])
def test_inputs_that_are_not_regular_files_are_refused_at_once(tmp_path, capsys, make, match,
                                                                 name):
    p = tmp_path / name
    make(p)
    t0 = time.monotonic()
    status, err = run(capsys, "render", p, "-o", tmp_path / "o.wav", "--quiet")
    assert status == 2
    assert str(p) in err and match in err
    assert err.count("\n") == 1
    assert time.monotonic() - t0 < 10
    assert not (tmp_path / "o.wav").exists()


def test_read_bytes_checks_the_size_before_reading(tmp_path):
    p = tmp_path / "big.toml"
    with open(p, "wb") as f:
        f.truncate(10_000_000)             # sparse: big on paper, nothing to read
    with pytest.raises(ScoreError, match=r"big.toml: file is 10000000 bytes; larger than the "
                       r"1000-byte limit"):
        read_bytes(p, limit=1000, error_type=ScoreError)


def _mxl(xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("score.musicxml", xml)
    return buf.getvalue()


def test_mxl_archive_errors_are_clear_score_errors():
    with open(MUSICXML, "rb") as f:
        xml = f.read()
    good = _mxl(xml)
    assert read_musicxml(good).parts                    # the archive itself is fine
    at = good.index(b"score.musicxml") + len("score.musicxml")
    corrupt = good[:at + 20] + bytes(b ^ 0xFF for b in good[at + 20:at + 60]) + good[at + 60:]
    with pytest.raises(ScoreError, match="broken .mxl archive: .*decompress"):
        read_musicxml(corrupt)
    encrypted = bytearray(good)
    encrypted[6] |= 1
    encrypted[good.rfind(b"PK\x01\x02") + 8] |= 1      # the central directory's flag
    with pytest.raises(ScoreError, match="broken .mxl archive: a member is encrypted"):
        read_musicxml(bytes(encrypted))
    bad_crc = bytearray(good)
    bad_crc[14] ^= 0xFF
    bad_crc[good.rfind(b"PK\x01\x02") + 16] ^= 0xFF
    with pytest.raises(ScoreError, match="Bad CRC-32"):
        read_musicxml(bytes(bad_crc))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_entity_declarations_are_refused_in_any_encoding(encoding):
    doc = (f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
           '<!DOCTYPE score-partwise [<!ENTITY a "aaaaaaaaaa">]>'
           '<score-partwise><part-list/></score-partwise>').encode(encoding)
    if encoding == "utf-32":
        pytest.importorskip("xml.parsers.expat")
    try:
        read_musicxml(doc)
    except ScoreError as e:
        assert ("declares XML entities" in str(e) or "cannot decode" in str(e)
                or "not well-formed" in str(e))
    else:
        pytest.fail("an entity declaration was accepted")


def test_utf16_entity_declaration_is_refused_by_the_check_itself():
    doc = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]>'
           '<score-partwise/>').encode("utf-16")
    with pytest.raises(ScoreError, match="declares XML entities"):
        read_musicxml(doc)


# ---------------------------------------------------------------- Mode-4 samples

def _wav(path, frames, sr=44100, subtype="FLOAT"):
    sf.write(path, frames, sr, subtype=subtype)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_sample_with_non_finite_values_is_refused_naming_the_file(tmp_path, bad):
    x = np.full(1000, 0.1)
    x[500] = bad
    p = tmp_path / "bad.wav"
    _wav(p, x)
    with pytest.raises(AudioFileError, match=r"bad.wav: holds NaN or infinite samples "
                       r"\(first at frame 500\)"):
        read_sample(p, max_frames=10_000)


def test_sample_with_absurd_values_is_refused(tmp_path):
    p = tmp_path / "huge.wav"
    sf.write(p, np.full(100, 1e30), 44100, subtype="DOUBLE")
    with pytest.raises(AudioFileError, match="huge.wav: holds samples of magnitude 1e\\+30"):
        read_sample(p, max_frames=10_000)


@pytest.mark.parametrize("rate", [1, 7, 999])
def test_sample_rate_below_the_minimum_is_refused(tmp_path, rate):
    p = tmp_path / "slow.wav"
    _wav(p, np.full(100, 0.1), sr=rate)
    with pytest.raises(AudioFileError, match=f"slow.wav: sample rate {rate} Hz is outside "
                       "1000..768000 Hz"):
        read_sample(p, max_frames=10_000)


def test_sample_reads_only_the_frames_asked_for(tmp_path):
    t = np.arange(200_000) / 44100
    left, right = np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 220 * t)
    p = tmp_path / "long.wav"
    _wav(p, np.stack([left, right], axis=1))
    mono, sr = read_sample(p, max_frames=lambda file_sr: file_sr // 10)
    assert sr == 44100 and mono.shape == (4410,)
    expected = (left[:4410].astype(np.float32) + right[:4410].astype(np.float32)) / 2
    assert np.max(np.abs(mono - expected)) < 1e-7


def test_sample_that_is_a_fifo_is_refused(tmp_path):
    p = tmp_path / "pipe.wav"
    os.mkfifo(p)
    with pytest.raises(AudioFileError, match="pipe.wav: cannot read: is a FIFO"):
        read_sample(p, max_frames=100)


# ---------------------------------------------------------------- outputs

def _listing(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("output, match", [
    ("out.wav/", r"out.wav/: ends with '/', so it names a folder"),
    ("x.mp3", r"x.mp3: cannot write '.mp3' files"),
    ("a" * 260 + ".wav", r"file name is 264 bytes; longer than the 255"),
    ("missing/x.wav", r"missing/x.wav: folder .* does not exist"),
    ("s.toml/x.wav", r"s.toml' is not a folder"),
])
def test_bad_output_paths_are_refused_before_rendering(tmp_path, capsys, score_file, output,
                                                       match, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    status, err = run(capsys, "render", score_file, "-o", output, "--quiet")
    assert status == 2, err
    assert err.startswith("synth: error: ") and err.count("\n") == 1
    assert __import__("re").search(match, err), err
    assert _listing(tmp_path) == before


def test_an_output_name_near_name_max_is_written(tmp_path, capsys, score_file):
    out = tmp_path / ("a" * 250 + ".wav")        # 254 bytes: the temporary name must be shorter
    status, err = run(capsys, "render", score_file, "-o", out, "--quiet", "--sample-rate",
                      "22050")
    assert status == 0, err
    assert sf.info(str(out)).frames > 0
    assert _listing(tmp_path) == sorted(["s.toml", out.name])


def test_the_input_is_never_the_output(tmp_path, capsys, score_file):
    (tmp_path / "link.wav").symlink_to(score_file)
    status, err = run(capsys, "render", score_file, "-o", tmp_path / "link.wav", "--force",
                      "--quiet")
    assert status == 2
    assert "link.wav: is the input file" in err
    assert score_file.read_text() == SCORE


def test_an_arrangement_never_overwrites_its_source(tmp_path, capsys, score_file):
    (tmp_path / "arr.toml").write_text('[arrangement]\ntitle = "A"\nsource = "s.toml"\n')
    src_link = tmp_path / "src.wav"
    src_link.symlink_to(score_file)
    status, err = run(capsys, "render", tmp_path / "arr.toml", "-o", src_link, "--force",
                      "--quiet")
    assert status == 2
    assert "src.wav: is the input file" in err and "s.toml" in err
    assert score_file.read_text() == SCORE


def test_only_regular_files_are_replaced_even_with_force(tmp_path, capsys, score_file):
    fifo = tmp_path / "out.wav"
    os.mkfifo(fifo)
    status, err = run(capsys, "render", score_file, "-o", fifo, "--force", "--quiet")
    assert status == 2
    assert "out.wav: exists and is not a regular file" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_stems_folder_that_is_a_file_is_refused(tmp_path, capsys, score_file):
    (tmp_path / "stems").write_text("not a folder")
    status, err = run(capsys, "render", score_file, "-o", tmp_path / "o.wav", "--stems",
                      tmp_path / "stems", "--quiet")
    assert status == 2
    assert "stems: is a file, not a folder" in err
    assert not (tmp_path / "o.wav").exists()


def test_permission_denied_is_a_user_error_naming_the_path(tmp_path, capsys, score_file,
                                                         monkeypatch):
    # as root the folder's mode would not stop the write, so the system call is refused
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(audio, "_open_anonymous", refuse)
    status, err = run(capsys, "render", score_file, "-o", tmp_path / "o.wav", "--quiet",
                      "--sample-rate", "22050")
    assert status == 2
    assert "o.wav: cannot write: Permission denied" in err
    assert _listing(tmp_path) == ["s.toml"]


def _limit_file_size(nbytes):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


def test_file_size_limit_is_a_user_error_and_leaves_nothing(tmp_path, score_file):
    # 200 KB: the spool fits, the 24-bit output (about 500 KB) does not
    env = dict(os.environ, PYTHONPATH=REPO, TMPDIR=str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    r = subprocess.run([sys.executable, "-m", "synth", "render", str(score_file), "-o",
                        str(tmp_path / "o.wav"), "--quiet", "--sample-rate", "22050",
                        "--jobs", "1"],
                       env=env, capture_output=True, text=True, timeout=120,
                       preexec_fn=_limit_file_size(600_000))
    assert r.returncode == 2, r.stderr
    assert "File too large" in r.stderr and r.stderr.count("\n") == 1
    assert _listing(tmp_path) == ["s.toml", "tmp"]
    assert _listing(tmp_path / "tmp") == []


def test_outputs_get_the_umask_mode_through_the_anonymous_file(tmp_path):
    old = os.umask(0o027)
    try:
        write_wav(tmp_path / "a.wav", np.zeros((2, 100)), sr=22050)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.wav").st_mode) == 0o640


def test_a_file_appearing_during_the_write_is_not_clobbered(tmp_path):
    out = tmp_path / "a.wav"

    def blocks():
        yield np.zeros((2, 100))
        out.write_bytes(b"theirs")
        yield np.zeros((2, 100))

    with pytest.raises(AudioFileError, match="a.wav: file appeared while rendering"):
        write_wav(out, blocks(), sr=22050)
    assert out.read_bytes() == b"theirs"
    assert _listing(tmp_path) == ["a.wav"]


def test_forced_replace_keeps_nothing_else(tmp_path):
    out = tmp_path / "a.wav"
    out.write_bytes(b"old")
    write_wav(out, np.full((2, 50), 0.25), sr=22050, force=True)
    x, sr = sf.read(out)
    assert sr == 22050 and x.shape == (50, 2) and np.allclose(x, 0.25, atol=1e-6)
    assert _listing(tmp_path) == ["a.wav"]


# ---------------------------------------------------------------- bytes

def test_float_wavs_are_byte_identical_for_the_same_samples(tmp_path):
    x = np.random.default_rng(1).uniform(-0.9, 0.9, (2, 5000))
    write_wav(tmp_path / "a.wav", x, sr=44100, subtype="FLOAT", metadata={"title": "t"})
    time.sleep(1.1)                       # libsndfile's PEAK chunk held a timestamp in seconds
    write_wav(tmp_path / "b.wav", x, sr=44100, subtype="FLOAT", metadata={"title": "t"})
    a, b = (tmp_path / "a.wav").read_bytes(), (tmp_path / "b.wav").read_bytes()
    assert a == b
    assert b"PEAK" not in a
    y, sr = sf.read(tmp_path / "a.wav", dtype="float32")
    assert sr == 44100 and np.array_equal(y.T, x.astype(np.float32))


@pytest.mark.parametrize("subtype, step", [("PCM_16", 2.0 ** -15), ("PCM_24", 2.0 ** -23),
                                           ("FLOAT", 1e-7)])
def test_wav_writer_round_trips_through_libsndfile(tmp_path, subtype, step):
    x = np.random.default_rng(2).uniform(-1, 1, (2, 3001))
    write_wav(tmp_path / "a.wav", x, sr=48000, subtype=subtype,
              metadata={"title": "odd", "artist": "ab"})
    y, sr = sf.read(tmp_path / "a.wav", always_2d=True)
    assert sr == 48000 and y.shape == (3001, 2)
    assert np.max(np.abs(y.T - x)) <= step
    assert audio.read_metadata(tmp_path / "a.wav")["title"] == "odd"
    size = os.path.getsize(tmp_path / "a.wav")
    riff = struct.unpack("<I", (tmp_path / "a.wav").read_bytes()[4:8])[0]
    assert riff == size - 8


def test_rf64_above_the_riff_limit(tmp_path, monkeypatch):
    # the 4 GiB limit lowered to 1000 bytes: the same code path writes the same header
    monkeypatch.setattr(audio, "RF64_THRESHOLD", 1000)
    x = np.random.default_rng(3).uniform(-1, 1, (2, 2000))
    write_wav(tmp_path / "big.wav", x, sr=44100, subtype="PCM_16")
    raw = (tmp_path / "big.wav").read_bytes()
    assert raw[:4] == b"RF64" and raw[12:16] == b"ds64"
    riff64, data64, frames64 = struct.unpack("<QQQ", raw[20:44])
    assert riff64 == len(raw) - 8 and data64 == 2000 * 4 and frames64 == 2000
    y, sr = sf.read(tmp_path / "big.wav", always_2d=True)
    assert sf.info(str(tmp_path / "big.wav")).format == "RF64"
    assert y.shape == (2000, 2) and np.max(np.abs(y.T - x)) <= 2.0 ** -15


# ---------------------------------------------------------------- messages

def test_messages_escape_control_characters_and_cut_long_values():
    e = ScoreError("part \x1b[31mred\x1b[0m\nnext " + "x" * 5000, source="a\x07.toml")
    text = str(e)
    assert "\x1b" not in text and "\n" not in text and "\x07" not in text
    assert text.startswith("a\\x07.toml: part \\x1b[31mred")
    assert len(text) < 1100 and "characters cut" in text
    assert printable("plain") == "plain"


def test_a_terminal_escape_in_a_part_name_does_not_reach_the_terminal(tmp_path):
    p = tmp_path / "e.toml"
    p.write_text(SCORE.replace("[parts.a]", '[parts."\\u001b]0;pwned\\u0007"]')
                 .replace('preset = "sine"', 'preset = "no-such-preset"'))
    status, err = cli("render", p, "-o", tmp_path / "o.wav", "--quiet")
    assert status == 2
    assert "\x1b" not in err and "\x07" not in err and err.count("\n") == 1


# ---------------------------------------------------------------- signals

def _render_process(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, TMPDIR=str(tmp_path / "tmp"))
    os.makedirs(tmp_path / "tmp", exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "synth", "render", *map(str, args)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


LONG_SCORE = SCORE.replace('notes = "C4:4 E4 G4 C5 | <C4 E4 G4>:1 |"',
                           'notes = "' + "<C4 E4 G4 B4 D5 F5>:1 | " * 40 + '"')


def _writing_into(pid, folder) -> bool:
    """True once process ``pid`` holds an open file in ``folder`` (the unnamed output)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(folder) + os.sep):
                return True
        except OSError:
            pass
    return False


@pytest.mark.parametrize("sig, point", [
    *[(sig, point) for sig in (signal.SIGTERM, signal.SIGKILL)
      for point in ("start", "render", "late", "write")],
    (signal.SIGHUP, "render"), (signal.SIGHUP, "write"), (signal.SIGINT, "write"),
])
def test_a_signal_at_any_moment_leaves_nothing_behind(tmp_path, sig, point):
    src = tmp_path / "in" / "long.toml"
    os.makedirs(src.parent)
    src.write_text(LONG_SCORE)
    out = tmp_path / "out"
    os.mkdir(out)
    proc = _render_process([src, "-o", out / "o.wav", "--stems", out / "stems", "--jobs", "1",
                            "--sample-rate", "22050"], tmp_path)
    started = point == "start"
    if not started:         # the stems folder appears when the render begins
        deadline = time.monotonic() + 60
        while not (out / "stems").exists() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        if point == "write":        # the mix is being written into the unnamed file
            while not _writing_into(proc.pid, out) and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.002)
        else:
            time.sleep(0.05 if point == "render" else 1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0 or _listing(out) == ["o.wav", "stems"]:
        # it finished first (or the signal came as it exited): then everything is there
        assert _listing(out) == ["o.wav", "stems"]
        assert _listing(out / "stems") == ["01-a.wav"]
        assert sf.info(str(out / "o.wav")).frames == sf.info(str(out / "stems" / "01-a.wav")).frames
        return
    expected = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: 130,
                signal.SIGKILL: -9}[sig]
    if started and proc.returncode == -sig:
        pass                            # killed while Python was starting, before synth ran
    else:
        assert proc.returncode == expected, err
    if sig != signal.SIGKILL:
        if proc.returncode > 0:
            assert err.count("\n") == 1 and err.startswith("synth: "), err
        assert _listing(out) == []            # the stems folder it created is gone too
    else:
        # SIGKILL runs no clean-up: the unnamed output file vanishes with the process; a
        # stems folder may stay, but holds no partial file
        left = _listing(out)
        assert "o.wav" not in left and not [n for n in left if n.startswith(".")]
        if "stems" in left:
            assert not [n for n in _listing(out / "stems") if n.startswith(".")]
    assert _listing(tmp_path / "tmp") == []   # the spool is an unnamed temporary file
    assert _listing(src.parent) == ["long.toml"]


# ---------------------------------------------------------------- budgets

def _score_with(notes: str) -> str:
    return SCORE.replace('notes = "C4:4 E4 G4 C5 | <C4 E4 G4>:1 |"', f'notes = "{notes}"')


@pytest.mark.parametrize("notes, match", [
    ("(99999999999 C4:8 D4)", r"tuplet '\(99999999999' is larger than 128"),
    ("[C4:64]*1999999", r"more than 200,000 notes in one part"),
    ("C4:64*1999999", r"more than 200,000 notes in one part"),
    ("[" * 70 + "C4" + "]" * 70, r"groups nested more than 64 deep"),
    ("[" * 5000 + "C4" + "]" * 5000, r"groups nested more than 64 deep"),
])
def test_size_bombs_in_the_notation_are_refused_fast(tmp_path, capsys, notes, match):
    p = tmp_path / "bomb.toml"
    p.write_text(_score_with(notes))
    t0 = time.monotonic()
    status, err = run(capsys, "info", p)
    assert status == 2
    assert __import__("re").search(match, err), err
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("text", [
    "a = " + "[" * 10000 + "]" * 10000 + "\n",
    "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n",
    "".join(f"[{'.'.join(['t'] * k)}]\n" for k in range(1, 3000, 500)) + "[" + ".".join(["t"] * 3000) + "]\n",
])
def test_deeply_nested_toml_is_a_user_error(tmp_path, capsys, text):
    p = tmp_path / "deep.toml"
    p.write_text(text)
    status, err = run(capsys, "info", p)
    assert status == 2, err
    assert "deep.toml" in err and err.count("\n") == 1


def test_chained_canons_check_part_names_in_linear_time():
    from synth.score import Part, Score

    parts = [Part(f"p{i}", []) for i in range(200_000)]
    t0 = time.monotonic()
    Score(parts=parts)
    assert time.monotonic() - t0 < 2      # the quadratic check took minutes here
    with pytest.raises(ScoreError, match="duplicate part name"):
        Score(parts=parts + [Part("p7", [])])


def _arrangement_with_canons(tmp_path, count):
    (tmp_path / "s.toml").write_text(SCORE)
    steps = "".join('[[transform]]\nname = "canon"\ndelay_beats = 0.5\n\n' for _ in range(count))
    p = tmp_path / "canons.toml"
    p.write_text('[arrangement]\ntitle = "Canons"\nsource = "s.toml"\n\n' + steps)
    return p


def test_the_budget_is_checked_after_every_transform(tmp_path, capsys, monkeypatch):
    # each canon adds a part (1, 2, 3, 4, ...): with the parts budget at 3, the third step is refused
    p = _arrangement_with_canons(tmp_path, 6)
    monkeypatch.setenv("SYNTH_MAX_PARTS", "3")
    status, err = run(capsys, "info", p)
    assert status == 2, err
    assert "after transform[2] (canon): 4 parts, more than the limit of 3 (raise it with " \
        "the environment variable SYNTH_MAX_PARTS)" in err
    monkeypatch.setenv("SYNTH_MAX_PARTS", "7")
    status, err = run(capsys, "info", p)
    assert status == 0, err
    monkeypatch.setenv("SYNTH_MAX_PARTS", "lots")
    status, err = run(capsys, "info", p)
    assert status == 2 and "SYNTH_MAX_PARTS='lots' is not a number" in err


def test_a_score_file_with_too_many_parts_is_refused(tmp_path, capsys):
    p = tmp_path / "many.toml"
    p.write_text('[score]\ntitle = "Many"\ntempo = 120\n' + "".join(
        f'[parts.p{i}]\npreset = "sine"\nnotes = "C4:4"\n' for i in range(1025)))
    status, err = run(capsys, "info", p)
    assert status == 2, err
    assert "many.toml: 1,025 parts, more than the limit of 1,024" in err


def _held_notes_midi(count, ticks):
    from midi_bytes import ev, smf, vlq
    body = b"".join(ev(0, 0x90 | (i % 16), 20 + (i // 16) % 100, 64)   # every channel and
                    for i in range(count))                              # key, held together
    body += vlq(ticks) + b"\xff\x2f\x00"
    return smf(body, fmt=0)


def test_midi_with_too_many_held_notes_is_refused(tmp_path, capsys):
    p = tmp_path / "held.mid"
    p.write_bytes(_held_notes_midi(1100, 480 * 8))
    assert p.stat().st_size < 8192
    status, err = run(capsys, "render", p, "-o", tmp_path / "o.wav", "--quiet")
    assert status == 2, err
    assert "held.mid: 1,100 notes sounding at once, more than the limit of 1,024" in err
    assert "SYNTH_MAX_SIMULTANEOUS" in err
    assert not (tmp_path / "o.wav").exists()


def test_midi_notes_held_for_ten_minutes_exceed_the_note_seconds_budget(tmp_path, capsys):
    p = tmp_path / "long.mid"
    p.write_bytes(_held_notes_midi(1000, 480 * 2 * 600))     # 120 bpm: 600 s
    status, err = run(capsys, "info", p)
    assert status == 2, err
    assert "600,000 note-seconds" in err and "SYNTH_MAX_NOTE_SECONDS" in err


def test_an_empty_preset_name_is_refused(tmp_path, capsys, score_file):
    status, err = run(capsys, "render", score_file, "--preset", "", "-o", tmp_path / "o.wav",
                      "--quiet")
    assert status == 2
    assert "unknown preset ''" in err
    assert not (tmp_path / "o.wav").exists()
