"""WAV encoding: samples round to the nearest step, without bias, and clip."""

import numpy as np
import pytest
import soundfile as sf

from synth import audio


def _write_read(tmp_path, x, subtype, dtype):
    path = tmp_path / "t.wav"
    audio.write_wav(path, np.vstack([x, -x]), sr=44100, subtype=subtype, force=True)
    return sf.read(path, dtype=dtype)[0].T


def test_pcm16_rounds_to_the_nearest_step_and_clips(tmp_path):
    x = np.array([0.9, 163.6 / 32768, 163.4 / 32768, 0.51 / 32768, 1.2, 1.0])
    left, right = _write_read(tmp_path, x, "PCM_16", "int16")
    assert left.tolist() == [29491, 164, 163, 1, 32767, 32767]
    assert right.tolist() == [-29491, -164, -163, -1, -32768, -32768]


def test_pcm24_rounds_to_the_nearest_step(tmp_path):
    x = np.array([0.9, 1000.6 / 2 ** 23, -0.3])
    left = _write_read(tmp_path, x, "PCM_24", "int32")[0] >> 8
    assert left.tolist() == [7549747, 1001, -2516582]      # 0.9 * 2^23 = 7549747.2 etc.


@pytest.mark.parametrize("subtype, step", [("PCM_16", 2.0 ** -15), ("PCM_24", 2.0 ** -23)])
def test_quantisation_error_is_at_most_half_a_step_and_unbiased(tmp_path, subtype, step):
    x = np.random.default_rng(5).uniform(-0.95, 0.95, 200_000)
    back = _write_read(tmp_path, x, subtype, "float64")[0]
    err = back - x
    assert np.max(np.abs(err)) <= 0.5 * step * (1 + 1e-9)
    assert abs(np.mean(err)) < 0.01 * step          # rounding down would give -0.5 step


def test_float_is_stored_as_float32(tmp_path):
    x = np.array([0.1, -0.7, 1.5])
    back = _write_read(tmp_path, x, "FLOAT", "float32")[0]
    assert np.array_equal(back, x.astype(np.float32))


def test_non_finite_samples_are_refused_and_nothing_is_left(tmp_path):
    path = tmp_path / "bad.wav"
    with pytest.raises(audio.AudioFileError, match="refusing to write non-finite samples"):
        audio.write_wav(path, np.array([[0.1, np.nan], [0.0, 0.0]]), sr=44100)
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("frames", [0, 1, 2, 3, 5, 1001, 4096])
def test_pcm24_bytes_are_the_top_three_bytes_of_each_int32(frames):
    # what libsndfile stores: each sample's int32 (x * 2^23 << 8), bytes 1..3 little-endian,
    # channels interleaved; packed four samples at a time plus the rest
    x = np.random.default_rng(frames).uniform(-1.1, 1.1, (2, frames))
    ints = np.clip(np.rint(x.T * 2.0 ** 23), -2 ** 23, 2 ** 23 - 1).astype("<i4") << 8
    expected = ints.reshape(-1).view(np.uint8).reshape(-1, 4)[:, 1:].reshape(-1)
    assert np.array_equal(audio.wav_bytes(x, "PCM_24"), expected)
