"""``synth export`` and MIDI input through the CLI: exit codes and one-line errors."""

from __future__ import annotations

import io
import struct

import mido
import pytest

from synth.cli import main
from synth.midi import read_midi_report


def write_mid(path, *, missing_eot=False):
    mf = mido.MidiFile(ticks_per_beat=480)
    mf.tracks.append(mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=600000),
        mido.Message("note_on", note=64, velocity=70),
        mido.Message("note_off", note=64, time=720)]))
    buf = io.BytesIO()
    mf.save(file=buf)
    data = buf.getvalue()
    if missing_eot:   # cut the end-of-track and fix the chunk length up
        data = data[:-4]
        data = data[:18] + struct.pack(">I", len(data) - 22) + data[22:]
    path.write_bytes(data)
    return path


def test_export_midi_to_midi(tmp_path, capsys):
    src = write_mid(tmp_path / "in.mid")
    out = tmp_path / "out.mid"
    assert main(["export", str(src), "-o", str(out)]) == 0
    score, msgs = read_midi_report(out)
    assert [(n.start, n.duration, n.pitch, n.velocity) for n in score.parts[0].notes] == [
        (0.0, 1.5, 64.0, 70)]
    assert score.tempo.bpm_at(0) == pytest.approx(100.0)
    assert "wrote" in capsys.readouterr().err


def test_export_refuses_to_overwrite_without_force(tmp_path, capsys):
    src = write_mid(tmp_path / "in.mid")
    out = tmp_path / "out.mid"
    out.write_bytes(b"keep me")
    assert main(["export", str(src), "-o", str(out)]) == 2
    assert "file exists (use --force to overwrite)" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["export", str(src), "-o", str(out), "--force"]) == 0
    assert out.read_bytes()[:4] == b"MThd"


def test_export_wrong_suffix_refused(tmp_path, capsys):
    src = write_mid(tmp_path / "in.mid")
    assert main(["export", str(src), "-o", str(tmp_path / "x.wav")]) == 2
    assert "must end in .mid or .midi" in capsys.readouterr().err


def test_malformed_input_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x00MTrk\x00\x00\x00\x00")
    assert main(["export", str(bad), "-o", str(tmp_path / "o.mid")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"synth: error: {bad}: ticks per beat is 0 in the "
                                        f"header: timing undefined"]
    assert not (tmp_path / "o.mid").exists()


def test_repairs_reported_as_warnings_and_export_succeeds(tmp_path, capsys):
    src = write_mid(tmp_path / "in.mid", missing_eot=True)
    assert main(["export", str(src), "-o", str(tmp_path / "o.mid")]) == 0
    err = capsys.readouterr().err
    assert (f"synth: warning: {src}: track 1: missing end-of-track; added after the last event"
            in err)
