"""Golden renders: the refactorings of issue 16 must not change a sample.

Every case below renders a score and compares the SHA-256 of its float64
samples with ``tests/data/golden.json``.  A commit that changes the sound on
purpose regenerates the file and says why in its message::

    python tests/test_golden.py --update

The hashes are exact only on the platform they were recorded on: NumPy and
SciPy versions, and the CPU, whose SIMD paths round NumPy's transcendental
functions (and libm's) differently (an AVX-512 machine gives other last bits
than an AVX2 one for 34 of the cases).  So the file keeps one digest per
recorded platform for each case, and the platforms' descriptions
(:func:`platform_key`).  A render passes when its digest is one of the
recorded ones; on a recorded platform any other digest fails; on a platform
never recorded the test compares a coarse fingerprint instead (RMS per 50 ms
block and the peak, in dB), which still catches any audible change.  To add
this machine's digests to a file recorded elsewhere (same code, so the
fingerprints must agree)::

    python tests/test_golden.py --add-platform
"""

import hashlib
import json
import pathlib
import platform
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


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def platform_key() -> dict:
    """What decides the last bits of a render here: library versions and the CPU's SIMD level."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    reached = [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]
    return {"numpy": np.__version__, "scipy": scipy.__version__,
            "machine": platform.machine(), "cpu": _cpu_model(),
            "simd": reached[-1] if reached else "baseline"}


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
    got = digest(audio)
    if got in recorded["sha256"]:
        return
    assert platform_key() not in golden["platforms"], (
        f"{name}: the samples changed (digest {got[:12]}, recorded here {recorded['sha256']})")
    check_fingerprint(fingerprint(audio), recorded)     # a platform never recorded


def check_fingerprint(got: dict, recorded: dict) -> None:
    """Assert that two :func:`fingerprint` results agree within rounding (0.05 dB)."""
    assert got["frames"] == recorded["frames"]
    np.testing.assert_allclose(got["rms_db"], recorded["rms_db"], atol=0.05)
    assert abs(got["peak_db"] - recorded["peak_db"]) <= 0.05


def _update(add_platform: bool = False) -> None:
    """Record this platform's digests: alone (``--update``), or beside the recorded ones."""
    old = _golden() if add_platform else {"platforms": [], "cases": {}}
    if add_platform and platform_key() in old["platforms"]:
        sys.exit("this platform is recorded already: use --update after a deliberate change")
    out = {"platforms": old["platforms"] + [platform_key()], "cases": {}}
    for name, make in CASES.items():
        audio = render_case(make)
        got, sha = fingerprint(audio), digest(audio)
        before = old["cases"].get(name)
        if add_platform:
            try:
                assert before is not None
                check_fingerprint(got, before)
            except AssertionError:
                sys.exit(f"{name}: the render differs from the recorded one beyond rounding: "
                         "not the same code; use --update after a deliberate change")
        digests = (before["sha256"] if add_platform else []) + [sha]
        out["cases"][name] = {**(before if add_platform else got), "sha256": sorted(set(digests))}
        print(name, sha[:12], flush=True)
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] not in (["--update"], ["--add-platform"]):
        sys.exit("usage: python tests/test_golden.py --update | --add-platform")
    _update(add_platform=sys.argv[1:] == ["--add-platform"])
