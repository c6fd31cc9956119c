"""Every script in examples/ runs, writes its files into the folder it is given,
and the audio it writes is real (finite, non-silent, peak under full scale)."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))

#: files each example must write (the scripts are the documentation of this)
EXPECTED = {
    "01_build_a_score.py": ["01-built-in-python.wav"],
    "02_custom_patch.py": ["02-square.wav", "02-soft-square.wav", "02-glass.wav"],
    "03_custom_transform.py": ["03-grace-seed1.wav", "03-grace-seed2.wav"],
    "04_seeded_variations.py": [f"04-variation-{i}.wav" for i in range(1, 6)],
    "05_midi_in_out.py": ["05-round-trip.mid", "05-from-midi.wav"],
}


def test_every_example_is_listed():
    assert [p.name for p in SCRIPTS] == sorted(EXPECTED)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_and_writes_its_files(script, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, str(script), str(out)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip(), "an example should say what it did"
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED[script.name])
    assert list(tmp_path.iterdir()) == [out], "examples write only into their folder"
    for wav in out.glob("*.wav"):
        audio, sr = sf.read(wav)
        assert sr == 22050
        assert np.isfinite(audio).all()
        peak_db = 20 * np.log10(np.abs(audio).max())
        assert -1.05 < peak_db <= -0.99, (wav.name, peak_db)       # master ceiling
        assert len(audio) > sr, wav.name                            # longer than a second


def test_example_05_round_trips_the_quarter_tone(tmp_path):
    run = subprocess.run([sys.executable, str(EXAMPLES / "05_midi_in_out.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "sounding pitches 62, 65, 69.5, 62, 65, 69" in run.stdout


def test_example_without_argument_uses_a_temporary_folder(tmp_path):
    run = subprocess.run([sys.executable, str(EXAMPLES / "01_build_a_score.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert list(tmp_path.iterdir()) == []
    written = pathlib.Path(run.stdout.split("wrote ", 1)[1].split(":", 1)[0])
    assert written.exists()
    written.unlink()
    written.parent.rmdir()
