"""The master stage, stems, loudness, and the files a render writes."""

import os

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from scipy import signal

from synth.audio import atomic_output, read_metadata, write_wav
from synth.errors import AudioFileError, RenderError
from synth.render import MasterSettings, render, render_to_file, stem_filename
from synth.score import Metadata, Note, Part, Score, TempoMap


def small_score(seconds=3.0):
    beats = seconds * 2       # 120 bpm
    chord = [Note(b, 1.0, p, 90) for b in np.arange(0, beats - 1, 1.0) for p in (57, 60, 64)]
    bass = [Note(b, 2.0, 45, 100) for b in np.arange(0, beats - 2, 2.0)]
    return Score(parts=[Part("chords", chord, preset="saw", pan=-0.4),
                        Part("bass", bass, preset="triangle", pan=0.3),
                        Part("air", [Note(0, beats - 1, 60, 40)], preset="noise")],
                 tempo=TempoMap.constant(120), metadata=Metadata(title="Test", seed=3))


def independent_true_peak_db(x, sr):
    up = signal.resample_poly(x, 8, 1, axis=1)
    return 20 * np.log10(np.abs(up).max())


@pytest.mark.parametrize("master", [MasterSettings(normalize=False, gain_db=18.0),
                                    MasterSettings(limit=True, ceiling_db=-3.0)],
                         ids=["soft-limited +18 dB", "streaming limiter"])
def test_stems_stay_under_the_ceiling_with_one_shared_gain(tmp_path, master):
    # the limiter holds the mix at the ceiling; stems scaled by the master
    # gain alone would pass it (at +18 dB of gain; twelve saws in unison add
    # up to 12x, where the streaming master's pre-scan expects ~3.5x)
    score = small_score(2.0)
    score = score.with_parts([*score.parts, Part("wall", [Note(0, 2, 48, 127)] * 12, preset="saw")])
    loud = render(score, sr=22050, master=master, stems=True)
    peaks = {name: float(np.max(np.abs(x))) for name, x in loud.stems.items()}
    assert max(peaks.values()) == pytest.approx(master.ceiling, rel=1e-12)
    assert loud.stem_gain < loud.master_gain
    # one gain for all: the stems are those of a plain normalised render, rescaled,
    # and those sum to its mix times stem_gain / master_gain
    plain = render(score, sr=22050, stems=True)
    total = sum(plain.stems.values()) * (plain.master_gain / plain.stem_gain)
    assert np.max(np.abs(total - plain.audio)) < 1e-12
    for name, stem in loud.stems.items():
        np.testing.assert_allclose(stem / loud.stem_gain, plain.stems[name] / plain.stem_gain,
                                   rtol=0, atol=1e-12)
    # and 24-bit stem files do not clip: no sample at full scale
    result = render_to_file(score, tmp_path / "mix.wav", sr=22050, master=master,
                            stems_dir=tmp_path / "stems")
    assert result.stem_gain == pytest.approx(loud.stem_gain, rel=1e-12)
    for f in sorted(os.listdir(tmp_path / "stems")):
        data, _ = sf.read(tmp_path / "stems" / f, always_2d=True)
        assert np.max(np.abs(data)) <= master.ceiling + 2 ** -23


def test_stems_sum_to_the_mix_and_share_its_length(tmp_path):
    score = small_score()
    result = render(score, sr=22050, stems=True)
    mix, stems = result.audio, result.stems
    assert set(stems) == {"chords", "bass", "air"}
    total = sum(stems.values())
    assert all(s.shape == mix.shape for s in stems.values())
    assert np.abs(total - mix).max() < 1e-6
    # and through files: float WAVs read back with soundfile
    out = tmp_path / "mix.wav"
    render_to_file(score, out, sr=22050, subtype="FLOAT", stems_dir=tmp_path / "stems")
    files = sorted(os.listdir(tmp_path / "stems"))
    assert files == ["01-chords.wav", "02-bass.wav", "03-air.wav"]
    mix_file, _ = sf.read(out, always_2d=True)
    stem_sum = sum(sf.read(tmp_path / "stems" / f, always_2d=True)[0] for f in files)
    assert stem_sum.shape == mix_file.shape
    assert np.abs(stem_sum - mix_file).max() < 1e-6


@pytest.mark.parametrize("target", [-23.0, -30.0])
def test_loudness_target_measured_independently(target):
    sr = 44100
    y = render(small_score(4.0), sr=sr, master=MasterSettings(loudness=target)).audio
    measured = pyloudnorm.Meter(sr).integrated_loudness(y.T)
    assert abs(measured - target) < 0.5
    assert independent_true_peak_db(y, sr) <= -1.0 + 0.05


def test_loudness_target_too_loud_is_held_at_the_true_peak_ceiling():
    sr = 44100
    with pytest.warns(UserWarning, match="held at the -1 dBTP ceiling"):
        y = render(small_score(4.0), sr=sr, master=MasterSettings(loudness=-3.0)).audio
    assert independent_true_peak_db(y, sr) <= -1.0 + 0.05
    assert pyloudnorm.Meter(sr).integrated_loudness(y.T) < -3.5


def test_render_to_file_matches_render_and_carries_metadata(tmp_path):
    score = small_score()
    out = tmp_path / "a.wav"
    meta = {"title": "Bells", "artist": "synth", "software": "synth test",
            "comment": "source: x.toml; seed: 3"}
    render_to_file(score, out, sr=22050, subtype="FLOAT", metadata=meta)
    data, sr = sf.read(out, always_2d=True)
    assert sr == 22050
    ref = render(score, sr=22050).audio
    assert np.abs(data.T - ref).max() < 1e-7         # float32 rounding only
    got = read_metadata(out)
    for k, v in meta.items():
        if k == "software":      # libsndfile appends its own version
            assert got[k].startswith(v)
        else:
            assert got[k] == v


@pytest.mark.parametrize("subtype, step", [("PCM_16", 2 ** -15), ("PCM_24", 2 ** -23)])
def test_bit_depths(tmp_path, subtype, step):
    out = tmp_path / "a.wav"
    render_to_file(small_score(1.5), out, sr=22050, subtype=subtype)
    info = sf.info(out)
    assert info.subtype == subtype
    data, _ = sf.read(out)
    # every sample sits on the integer grid of the format
    assert np.allclose(np.round(data / step) * step, data, atol=1e-12)
    assert np.abs(data).max() <= 10 ** (-1 / 20) + step


def test_existing_file_is_not_clobbered_without_force(tmp_path):
    out = tmp_path / "a.wav"
    out.write_bytes(b"precious")
    with pytest.raises(AudioFileError, match="file exists.*--force"):
        render_to_file(small_score(1.0), out, sr=22050)
    assert out.read_bytes() == b"precious"
    render_to_file(small_score(1.0), out, sr=22050, force=True)
    assert sf.info(out).frames > 0


def test_failed_render_leaves_nothing_behind(tmp_path, monkeypatch):
    import importlib
    render_module = importlib.import_module("synth.render.plan")

    calls = {"n": 0}
    real = render_module.render_note_pieces

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(render_module, "render_note_pieces", failing)
    out = tmp_path / "a.wav"
    with pytest.raises(KeyboardInterrupt):
        render_to_file(small_score(), out, sr=22050, stems_dir=tmp_path / "stems")
    assert not out.exists()
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []


def test_interrupted_write_leaves_nothing(tmp_path):
    out = tmp_path / "b.wav"

    def blocks():
        yield np.zeros((2, 100))
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_wav(out, blocks(), sr=22050)
    assert list(tmp_path.iterdir()) == []


def test_non_finite_samples_are_never_written(tmp_path):
    out = tmp_path / "c.wav"
    with pytest.raises(AudioFileError, match="non-finite"):
        write_wav(out, np.array([[0.0, np.nan], [0.0, 0.0]]), sr=22050)
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder(tmp_path):
    with pytest.raises(AudioFileError, match="does not exist"):
        render_to_file(small_score(1.0), tmp_path / "nope" / "a.wav", sr=22050)


def test_atomic_output_keeps_target_until_success(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="boom"):
        with atomic_output(target, force=True) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"new")
            raise ValueError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.bin"]


def test_stem_filenames_are_safe():
    assert stem_filename(0, "bells") == "01-bells.wav"
    assert stem_filename(11, "../etc/passwd") == "12-etc_passwd.wav"


def test_loudness_target_out_of_range():
    with pytest.raises(RenderError, match="loudness target must be"):
        MasterSettings(loudness=5.0)
