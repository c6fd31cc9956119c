"""The streaming master (``--master limit``) and ``render -o -`` as a stream.

The true peak is measured by :func:`synth.loudness.true_peak_db` (BS.1770's
4x oversampling) on what a reader gets back from the bytes: the streamed WAV
read with soundfile, not synth's own arrays.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from synth.errors import RenderError
from synth.loudness import true_peak_db
from synth.render import MasterSettings

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))

SCORE = """\
[score]
title = "Stream"
tempo = 120
meter = "4/4"
seed = 3

[parts.chords]
preset = "saw"
notes = "f C4:4 E4 G4 C5 | <C4 E4 G4 C5>:2 <D4 F4 A4 D5>:2 | ff <C3 G3 C4 E4 G4 C5>:1 |"

[parts.bells]
preset = "cmi_bell"
pan = -0.4
effects = [{ type = "reverb", rt60 = 1.2, mix = 0.3 }]
notes = "mp G5:8 A5 B5 C6 D6 E6 F6 G6 | C6:2 G5:2 | C6:1 |"
"""


@pytest.fixture
def score_file(tmp_path):
    path = tmp_path / "stream.toml"
    path.write_text(SCORE)
    return path


def _synth(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "synth", *map(str, args)], capture_output=True,
                          env=ENV, timeout=timeout)


def _wav_chunks(data: bytes) -> dict:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8, "RIFF size is not exact"
    chunks, pos = {}, 12
    while pos < len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks[cid] = (pos + 8, size)
        pos += 8 + size + (size % 2)
    return chunks


@pytest.mark.parametrize("ceiling", [-1.0, -6.0])
def test_streamed_wav_is_exact_and_under_the_true_peak_ceiling(score_file, ceiling):
    run = _synth("render", score_file, "-o", "-", "--master", "limit", "--ceiling", ceiling,
                 "--quiet", "--jobs", 1)
    assert run.returncode == 0, run.stderr
    chunks = _wav_chunks(run.stdout)
    start, size = chunks[b"data"]
    assert start + size == len(run.stdout), "the data chunk's size is the stream's length"
    audio, sr = sf.read(io.BytesIO(run.stdout), dtype="float64", always_2d=True)
    assert sr == 44100 and audio.shape[1] == 2 and size == audio.shape[0] * 6
    assert true_peak_db(audio.T) <= ceiling
    assert true_peak_db(audio.T) > ceiling - 6      # and the gain is not absurdly low
    # the same length as the plan and as the normalize render
    normal = _synth("render", score_file, "-o", "-", "--quiet")
    assert sf.info(io.BytesIO(normal.stdout)).frames == audio.shape[0]
    # the seed is in the stream's comment, as in a file
    assert "seed: 3" in sf.SoundFile(io.BytesIO(run.stdout)).copy_metadata()["comment"]


def test_stream_is_bit_identical_across_runs_jobs_and_files(score_file, tmp_path):
    a = _synth("render", score_file, "-o", "-", "--master", "limit", "--quiet", "--jobs", 1)
    b = _synth("render", score_file, "-o", "-", "--master", "limit", "--quiet", "--jobs", 2)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    out = tmp_path / "limited.wav"
    c = _synth("render", score_file, "-o", out, "--master", "limit", "--quiet")
    assert c.returncode == 0, c.stderr
    streamed, _ = sf.read(io.BytesIO(a.stdout), dtype="int32")
    written, _ = sf.read(out, dtype="int32")
    np.testing.assert_array_equal(streamed, written)


@pytest.mark.parametrize("bits", ["16", "float"])
def test_stream_other_bit_depths(score_file, bits):
    run = _synth("render", score_file, "-o", "-", "--master", "limit", "--bit-depth", bits,
                 "--quiet")
    assert run.returncode == 0, run.stderr
    chunks = _wav_chunks(run.stdout)
    info = sf.info(io.BytesIO(run.stdout))
    assert info.subtype == {"16": "PCM_16", "float": "FLOAT"}[bits]
    assert chunks[b"data"][1] == info.frames * (4 if bits == "16" else 8)


def test_normalize_stream_has_an_exact_header_too(score_file, tmp_path):
    run = _synth("render", score_file, "-o", "-", "--quiet")
    assert run.returncode == 0
    start, size = _wav_chunks(run.stdout)[b"data"]
    assert start + size == len(run.stdout)
    out = tmp_path / "n.wav"
    assert _synth("render", score_file, "-o", out, "--quiet").returncode == 0
    np.testing.assert_array_equal(sf.read(io.BytesIO(run.stdout), dtype="int32")[0],
                                  sf.read(out, dtype="int32")[0])


def test_loudness_needs_the_normalize_master(score_file):
    run = _synth("render", score_file, "-o", "-", "--master", "limit", "--loudness", "-16")
    assert run.returncode == 2
    assert run.stderr.decode().count("\n") == 1 and b"loudness" in run.stderr
    with pytest.raises(RenderError, match="loudness"):
        MasterSettings(limit=True, loudness=-16)
