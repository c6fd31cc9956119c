"""Golden renders: the refactorings of issue 16 must not change a sample.

Every case below renders a score and compares the SHA-256 of its float64
samples with ``tests/data/golden.json``.  A commit that changes the sound on
purpose regenerates the file and says why in its message::

    python tests/test_golden.py --update

The hashes are exact only for the NumPy and SciPy versions they were recorded
with (a new release may round differently).  Under other versions the test
compares a coarse fingerprint instead (RMS per 50 ms block and the peak, in
dB), which still catches any audible change.
"""

import hashlib
import json
import pathlib
import sys

import numpy as np
import pytest
import scipy

import synth
from synth import Note, Part, Score, TempoMap
from synth.loader import load

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden.json"
SR = 22050

# (arrangement, first bar, last bar): an opening and a passage from the middle
ARRANGEMENT_EXCERPTS = [
    ("laurel-waltz-nightmare-march", 1, 6), ("laurel-waltz-nightmare-march", 41, 46),
    ("laurel-waltz-carousel-5-8", 1, 6), ("laurel-waltz-carousel-5-8", 33, 38),
    ("sonnerie-bells-in-the-ice", 1, 4), ("sonnerie-bells-in-the-ice", 120, 123),
    ("sonnerie-seven-bells", 1, 4), ("sonnerie-seven-bells", 150, 153),
    ("sonnerie-bells-backwards", 1, 4), ("sonnerie-bells-backwards", 200, 203),
]

EFFECTS = [
    {"type": "chorus"}, {"type": "delay", "beats": 0.75}, {"type": "reverb", "rt60": 1.5},
    {"type": "saturate", "drive_db": 9.0, "oversample": 4}, {"type": "bitcrush", "bits": 6},
    {"type": "decimate", "rate_hz": 9000.0}, {"type": "gain", "gain_db": -3.0},
]


def _phrase(preset: str) -> Score:
    """A low note, a high note with a bend-free legato, and a chord."""
    notes = [Note(0, 0.5, "A2", 100), Note(0.5, 0.75, "E5", 70),
             Note(1.5, 1.0, "C4", 90), Note(1.5, 1.0, "E4", 90), Note(1.5, 1.0, "G4", 90)]
    return Score(parts=[Part("p", notes, preset=preset)], tempo=TempoMap([(0, 150)]))


def _effects_score(effect) -> Score:
    notes = [Note(i * 0.5, 0.4, 57 + 3 * i, 96) for i in range(6)]
    return Score(parts=[Part("fx", notes, preset="supersaw", effects=[effect])], tempo=TempoMap([(0, 132)]))


def cases():
    """Yield (name, zero-argument function returning a Score)."""
    for piece, first, last in ARRANGEMENT_EXCERPTS:
        yield (f"{piece}@{first}-{last}",
               lambda piece=piece, first=first, last=last:
               load(ROOT / "arrangements" / f"{piece}.toml").excerpt(first, last))
    yield "examples/first-score", lambda: load(ROOT / "examples" / "first-score.toml")
    for name in synth.preset_names():
        yield f"preset/{name}", lambda name=name: _phrase(name)
    for effect in EFFECTS:
        yield f"effect/{effect['type']}", lambda effect=effect: _effects_score(effect)


def render_case(make) -> np.ndarray:
    audio = synth.render(make(), sr=SR, seed=7)
    audio = audio[0] if isinstance(audio, tuple) else getattr(audio, "audio", audio)
    return np.ascontiguousarray(audio, dtype=np.float64)


def fingerprint(audio: np.ndarray) -> dict:
    block = SR // 20
    n = audio.shape[1] // block * block
    rms = np.sqrt(np.mean(audio[:, :n].reshape(2, -1, block) ** 2, axis=(0, 2)) + 1e-20)
    return {"frames": int(audio.shape[1]),
            "rms_db": [round(float(v), 2) for v in 20 * np.log10(rms)],
            "peak_db": round(float(20 * np.log10(np.max(np.abs(audio)) + 1e-20)), 2)}


def digest(audio: np.ndarray) -> str:
    return hashlib.sha256(audio.tobytes()).hexdigest()


def _versions() -> dict:
    return {"numpy": np.__version__, "scipy": scipy.__version__}


def _golden() -> dict:
    return json.loads(GOLDEN.read_text())


CASES = dict(cases())


def test_every_case_is_recorded():
    assert sorted(_golden()["cases"]) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_render_matches_golden(name):
    golden = _golden()
    recorded = golden["cases"].get(name)
    assert recorded is not None, f"{name} is not in {GOLDEN.name}: run tests/test_golden.py --update"
    audio = render_case(CASES[name])
    assert np.all(np.isfinite(audio))
    if golden["versions"] == _versions():
        assert digest(audio) == recorded["sha256"], f"{name}: the samples changed"
    else:
        got = fingerprint(audio)
        assert got["frames"] == recorded["frames"]
        np.testing.assert_allclose(got["rms_db"], recorded["rms_db"], atol=0.05)
        assert abs(got["peak_db"] - recorded["peak_db"]) <= 0.05


def _update() -> None:
    out = {"versions": _versions(), "cases": {}}
    for name, make in CASES.items():
        audio = render_case(make)
        out["cases"][name] = {"sha256": digest(audio), **fingerprint(audio)}
        print(name, out["cases"][name]["sha256"][:12], flush=True)
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_golden.py --update")
    _update()
