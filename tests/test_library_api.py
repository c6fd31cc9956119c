"""The library surface asked for in issue 17: note names in Note, synth.write,
errors that are SynthErrors, and docs/api.md covering every public name."""

from __future__ import annotations

import os
import pathlib
import re

import numpy as np
import pytest

import synth
from synth.audio import read_audio, read_metadata

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_api_page_documents_every_public_name():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"`([^`\n]+)`", text)) + "\n" + "\n".join(
        re.findall(r"```python\n(.*?)```", text, flags=re.S))
    missing = [name for name in synth.__all__ if not re.search(rf"\b{re.escape(name)}\b", code)]
    assert not missing, f"docs/api.md does not show these public names of synth: {missing}"


def test_public_names_exist_and_the_package_map_lists_them():
    doc = synth.__doc__
    for name in synth.__all__:
        assert hasattr(synth, name), name
    for name in ("write", "Note", "render", "load"):
        assert re.search(rf"\b{name}\b", doc), name


@pytest.mark.parametrize("name, pitch", [("E5", 76.0), ("C4", 60.0), ("Bb3", 58.0),
                                         ("A4+25c", 69.25), ("C#-1", 1.0)])
def test_note_accepts_note_names(name, pitch):
    n = synth.Note(0, 1, name)
    assert n.pitch == pitch and isinstance(n.pitch, float)
    assert n == synth.Note(0, 1, pitch)


@pytest.mark.parametrize("args, match", [
    ((0, 1, "H5"), "not a note name: 'H5'"),
    ((0, 1, "C10"), "outside the MIDI range"),
    ((0, 1, None), "pitch must be a number or a note name"),
    (("a", 1, 60), "start must be a number, got 'a'"),
    ((0, [1], 60), "duration must be a number"),
    ((0, 1, 60, 80.5), "velocity must be an integer"),
    ((0, 0, 60), "duration must be > 0"),
])
def test_bad_note_values_raise_score_errors(args, match):
    with pytest.raises(synth.ScoreError, match=re.escape(match)) as info:
        synth.Note(*args)
    assert isinstance(info.value, synth.SynthError) and isinstance(info.value, ValueError)


def _tone(n=4410, sr=44100):
    t = np.arange(n) / sr
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, -0.25 * left])


@pytest.mark.parametrize("suffix, tol", [(".wav", 2 ** -23), (".flac", 2 ** -23),
                                         (".WAV", 2 ** -23), (".ogg", 0.1)])
def test_write_channels_first_by_suffix(tmp_path, suffix, tol):
    audio = _tone()
    path = tmp_path / f"tone{suffix}"
    synth.write(path, audio, 44100, metadata={"title": "tone"})
    back, sr = read_audio(path)
    assert sr == 44100 and back.shape == audio.shape
    assert np.max(np.abs(back - audio)) <= tol
    if suffix != ".ogg":
        assert read_metadata(path)["title"] == "tone"


def test_write_mono_and_subtypes(tmp_path):
    audio = _tone()
    synth.write(tmp_path / "m.wav", audio[0], 44100, subtype="PCM_16")
    back, _ = read_audio(tmp_path / "m.wav")
    assert back.shape == (1, audio.shape[1])
    assert np.max(np.abs(back[0] - audio[0])) <= 2 ** -16
    synth.write(tmp_path / "f.wav", audio, 44100, subtype="FLOAT")
    assert np.allclose(read_audio(tmp_path / "f.wav")[0], audio, atol=1e-7)


def test_write_render_output_directly(tmp_path):
    score = synth.Score(parts=[synth.Part("p", [synth.Note(0, 1, "E5")], preset="triangle")])
    audio = synth.render(score, sr=22050).audio
    synth.write(tmp_path / "r.flac", audio, 22050)
    assert read_audio(tmp_path / "r.flac")[0].shape == audio.shape


@pytest.mark.parametrize("name", ["x.mp3", "x", "x.aiff"])
def test_write_refuses_unknown_suffix_and_writes_nothing(tmp_path, name):
    with pytest.raises(synth.AudioFileError, match="cannot write .*use .wav, .flac or .ogg"):
        synth.write(tmp_path / name, _tone(), 44100)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_and_keeps_existing_files(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(b"keep")
    with pytest.raises(synth.AudioFileError, match="file exists"):
        synth.write(path, _tone(), 44100)
    assert path.read_bytes() == b"keep"
    bad = _tone()
    bad[0, 10] = np.nan
    with pytest.raises(synth.AudioFileError, match="non-finite"):
        synth.write(path, bad, 44100, force=True)
    assert path.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]     # no temporary left
    synth.write(path, _tone(), 44100, force=True)
    assert read_audio(path)[1] == 44100


@pytest.mark.parametrize("kwargs, match", [
    ({"audio": np.zeros((2, 3, 4))}, "must be shaped"),
    ({"audio": np.zeros((10, 100))}, "1..8 channels"),
    ({"sr": 44100.5}, "sample rate"),
    ({"subtype": "VORBIS"}, "cannot be written as WAV"),
])
def test_write_bad_arguments(tmp_path, kwargs, match):
    args = {"audio": _tone(), "sr": 44100, **kwargs}
    with pytest.raises(synth.AudioFileError, match=match):
        synth.write(tmp_path / "x.wav", args.pop("audio"), args.pop("sr"), **args)


def test_render_refuses_an_unknown_output_suffix(tmp_path, capsys):
    from synth.cli import main
    score = ROOT / "examples" / "first-score.toml"
    assert main(["render", str(score), "-o", str(tmp_path / "x.mp3"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "x.mp3: cannot write '.mp3' files; use .wav" in err
    assert list(tmp_path.iterdir()) == []


def test_every_function_of_the_public_api_is_annotated():
    """synth ships ``py.typed``: each function (and method of a class) that ``synth``
    exports or docs/api.md uses has its return and every parameter annotated
    (bench/annotations.py counts the rest of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("annotations_bench",
                                                  ROOT / "bench" / "annotations.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    api = bench.api_functions(str(ROOT))
    assert len(api) > 60                      # the names were found
    missing = sorted(q for q, (f, method) in api.items()
                     if not bench.is_annotated(f, method=method))
    assert missing == []


def test_the_patch_module_alone_knows_the_presets():
    """A program that imports only synth.patch finds the built-in presets (the
    package root no longer imports the table eagerly: the play client stays light)."""
    import subprocess
    import sys

    code = ("from synth.patch import preset_names, resolve_patch\n"
            "p = resolve_patch('pad', {'filter.cutoff': 900})\n"
            "print(len(preset_names()), p.name, p.filter.cutoff)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=root), timeout=120)
    assert run.returncode == 0, run.stderr
    count, name, cutoff = run.stdout.split()
    assert int(count) >= 40 and name == "pad" and float(cutoff) == 900.0


def test_a_failed_import_of_the_preset_table_is_not_an_unknown_preset(monkeypatch):
    import sys

    import synth.patch as patch

    monkeypatch.setattr(patch, "PRESETS", {})
    monkeypatch.setattr(patch, "_BUILTINS_ASKED", False)
    monkeypatch.setitem(sys.modules, "synth.presets", None)     # its import fails
    for _ in range(2):                  # the second lookup too: the import's error, again
        with pytest.raises(ImportError, match="synth.presets"):
            patch.get_preset("pad")
