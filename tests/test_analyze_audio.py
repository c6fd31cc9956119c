"""`synth analyze` on audio: loudness, peaks, duration, against published reference values."""

import json

import numpy as np
import pytest
import soundfile as sf

from synth.cli import main


def test_ebu_3341_stereo_sine_reads_minus_23_lufs(tmp_path, capsys):
    # EBU Tech 3341, test 1: a 1 kHz sine at -23 dBFS in both channels measures -23.0 LUFS (+-0.1)
    sr = 48000
    t = np.arange(20 * sr) / sr
    x = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    path = tmp_path / "sine.wav"
    sf.write(path, np.stack([x, x], axis=1), sr, subtype="FLOAT")
    assert main(["analyze", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["integrated_loudness_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert report["true_peak_dbtp"] == pytest.approx(-23.0, abs=0.05)
    assert report["sample_peak_dbfs"] == pytest.approx(-23.0, abs=0.01)
    assert report["duration_seconds"] == pytest.approx(20.0)
    assert (report["sample_rate"], report["channels"]) == (48000, 2)


def test_true_peak_sees_an_inter_sample_peak(tmp_path, capsys):
    # a sine at a quarter of the sample rate, sampled 45 degrees off its peaks:
    # every sample is at 0.7071 of the true amplitude (-3 dB)
    sr = 44100
    k = np.arange(sr)
    x = np.sin(np.pi / 2 * k + np.pi / 4)
    path = tmp_path / "isp.wav"
    sf.write(path, np.stack([x, x], axis=1) * 0.5, sr, subtype="FLOAT")
    assert main(["analyze", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sample_peak_dbfs"] == pytest.approx(20 * np.log10(0.5 * np.sqrt(0.5)), abs=0.01)
    assert report["true_peak_dbtp"] == pytest.approx(20 * np.log10(0.5), abs=0.2)


def test_silence_and_text_output(tmp_path, capsys):
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros((22050, 2)), 22050)
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "silent" in out and "0:01.000" in out


def test_unreadable_audio_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert "broken.wav" in err and "cannot read audio" in err
