"""Issue 14's orchestration targets, measured on rendered audio (22050 Hz excerpts).

* both waltz arrangements have a pulse section: drum hits (unpitched kit parts)
  whose low band strikes on the bar's strong beats and whose high band strikes on
  the after-beats, loud enough to be heard in the mix;
* every drone sounds where it can be heard: the strongest spectral peak of each
  drone part, in every second it sounds, above 55 Hz;
* no arrangement is duller than its source: the median spectral centroid of its
  frames at least the source's over the same bars;
* Bells in the Ice has a dynamic shape that follows its tension plan: its peaks
  at least 6 LU louder than its calm sections;
* every description names the sampled (``cmi_*``) voices its parts use.

Onsets, levels and frequencies are computed here with plain NumPy from the
rendered samples; the bar and beat positions come from the arrangement's tempo
and metre (2/4 at 104 bpm, 5/8 at 132 bpm) written out in the tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from synth.arrangement import load_arrangement, read_arrangement
from synth.loudness import integrated_loudness
from synth.patch import UNPITCHED_SOURCES, get_preset
from synth.render import render
from synth.sources import load_source

ROOT = Path(__file__).resolve().parents[1]
ARR_DIR = ROOT / "arrangements"
SR = 22050
NAMES = sorted(p.name for p in ARR_DIR.glob("*.toml"))
WALTZES = [n for n in NAMES if n.startswith("laurel-waltz")]
SONNERIES = [n for n in NAMES if n.startswith("sonnerie")]


@lru_cache(maxsize=None)
def _score(name: str):
    return load_arrangement(ARR_DIR / name)


@lru_cache(maxsize=None)
def _excerpt(name: str, first: int, last: int) -> np.ndarray:
    """Mono render of bars ``first..last`` at 22050 Hz, without peak normalisation
    (so that the levels of two excerpts compare); ``name`` is an arrangement file
    or ``sources/...``."""
    from synth.render import MasterSettings
    path = ARR_DIR / name
    score = load_source(path) if name.startswith("sources/") else _score(name)
    audio = render(score.excerpt(first, last), sr=SR, seed=score.metadata.seed or 1,
                   master=MasterSettings(normalize=False)).audio
    return audio.mean(axis=0)


def _unpitched(part) -> bool:
    return get_preset(part.preset).source in UNPITCHED_SOURCES


def _band_envelope(x: np.ndarray, lo: float, hi: float, hop: int = 64) -> np.ndarray:
    """Energy of mono ``x`` between ``lo`` and ``hi`` Hz, per ``hop`` samples (FFT mask)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1.0 / SR)
    band = np.fft.irfft(np.where((f >= lo) & (f < hi), spec, 0.0), n=len(x))
    n = len(band) // hop
    return (band[:n * hop] ** 2).reshape(n, hop).sum(axis=1)


def _strikes(env: np.ndarray, seconds: np.ndarray, hop: int = 64) -> np.ndarray:
    """For each time in ``seconds``: dB of the energy in [t - 30 ms, t + 60 ms]
    over the energy in [t - 150 ms, t - 60 ms] (a strike near t stands out)."""
    out = []
    for t in seconds:
        def seg(a, b):
            i, j = max(int((t + a) * SR / hop), 0), max(int((t + b) * SR / hop), 1)
            return float(env[i:j].mean()) if j > i else 0.0
        out.append(10 * np.log10((seg(-0.03, 0.06) + 1e-12) / (seg(-0.15, -0.06) + 1e-12)))
    return np.array(out)


def _pulse_stems(name: str, bars: tuple[int, int]):
    score = _score(name)
    ex = score.excerpt(*bars)
    result = render(ex, sr=SR, seed=score.metadata.seed, stems=True)
    mix, stems = result.audio, result.stems
    drums = [p.name for p in ex.parts if _unpitched(p) and p.notes]
    pulse = sum(stems[n] for n in drums).mean(axis=0)
    return mix.mean(axis=0), pulse, drums


# ---------------------------------------------------------------- the pulse sections

def test_nightmare_march_has_a_battery():
    """2/4 at 104 bpm: the low band (bass drum) strikes on both beats of every
    bar, the high band (snare) on the after-beats (median 10 dB over what precedes
    them, at least 80 % of them 6 dB; a soft one can be masked), and the battery is within
    12 dB of the mix."""
    mix, pulse, drums = _pulse_stems("laurel-waltz-nightmare-march.toml", (1, 6))
    assert len(drums) >= 2
    beat = 60.0 / 104
    beats = np.arange(12) * beat                       # 6 bars of 2/4
    low = _strikes(_band_envelope(pulse, 30, 150), beats[1:])
    high = _strikes(_band_envelope(pulse, 3000, 10000), beats + beat / 2)
    print(f"\nmarch: bass drum strikes {np.round(low, 1)} dB, after-beats {np.round(high, 1)} dB")
    assert np.all(low >= 6.0)
    assert np.median(high) >= 10.0 and np.mean(high >= 6.0) >= 0.8
    level = 10 * np.log10(np.mean(pulse ** 2) / np.mean(mix ** 2))
    print(f"march: battery {level:.1f} dB re the mix")
    assert level >= -12.0


def test_broken_carousel_has_band_organ_drums():
    """5/8 at 132 bpm (eighth = 0.227 s, bar = 5 eighths): the low band (bass
    drum) strikes on each bar's first eighth and is quiet on the others; the
    high band strikes on eighths 2-5 (ticks and woodblocks: median 10 dB, at
    least 80 % of them 6 dB)."""
    mix, pulse, drums = _pulse_stems("laurel-waltz-carousel-5-8.toml", (1, 6))
    assert drums
    eighth = 60.0 / 132 / 2
    bar_starts = np.arange(6) * 5 * eighth
    others = np.array([b + k * eighth for b in bar_starts for k in range(1, 5)])
    env_low = _band_envelope(pulse, 30, 150)
    low_on = _strikes(env_low, bar_starts[1:])
    low_off = _strikes(env_low, others)
    high = _strikes(_band_envelope(pulse, 2000, 10000), others)
    print(f"\ncarousel: bass drum {np.round(low_on, 1)} dB, low band off the 'oom' "
          f"median {np.median(low_off):.1f} dB, ticks/woodblocks {np.round(high, 1)} dB")
    assert np.all(low_on >= 6.0)
    assert np.median(low_off) < 3.0
    assert np.median(high) >= 10.0 and np.mean(high >= 6.0) >= 0.8
    level = 10 * np.log10(np.mean(pulse ** 2) / np.mean(mix ** 2))
    print(f"carousel: drums {level:.1f} dB re the mix")
    assert level >= -15.0


# ---------------------------------------------------------------- drones

def _drone_parts(score):
    return [p for p in score.parts if "drone" in p.name and p.notes]


@pytest.mark.parametrize("name", NAMES)
def test_drones_sound_above_55_hz(name):
    """Every pitch set a drone part plays at the default seed, struck as a 2-second
    chord on the part's own voice: the strongest spectral peak above 55 Hz."""
    from synth.score import Note, Score, TempoMap
    score = _score(name)
    drones = _drone_parts(score)
    assert drones, f"{name} has no drone part"
    for part in drones:
        chords = sorted({tuple(sorted(n.pitch for n in part.notes if n.start == s))
                         for s in {n.start for n in part.notes}})
        notes = [Note(4.0 * k, 4.0, p, 100) for k, chord in enumerate(chords) for p in chord]
        test = Score(parts=(part.with_notes(notes),), tempo=TempoMap.constant(120.0))
        audio = render(test, sr=SR, seed=1).audio.mean(axis=0)
        peaks = []
        for k in range(len(chords)):          # the middle second of each 2-second chord
            x = audio[int((2 * k + 0.5) * SR):int((2 * k + 1.5) * SR)] * np.hanning(SR)
            spec = np.abs(np.fft.rfft(x))
            peaks.append(float(np.fft.rfftfreq(SR, 1.0 / SR)[np.argmax(spec)]))
        print(f"\n{name} {part.name}: {len(chords)} pitch sets, strongest peak "
              f"{min(peaks):.0f} .. {max(peaks):.0f} Hz")
        assert min(peaks) > 55.0


# ---------------------------------------------------------------- brightness

#: bars compared with the source: two 16-bar strains of the waltz (calm and
#: peak); four 6-bar stretches of the Sonnerie (the calm opening, the storm, the
#: F major, the return), which Bells in the Ice's dynamics test reuses
BRIGHTNESS_BARS = {"laurel-waltz": [(1, 16), (41, 56)],
                   "sonnerie": [(1, 6), (145, 150), (209, 214), (283, 288)]}


def _centroids(x: np.ndarray) -> np.ndarray:
    """Spectral centroid (Hz, magnitude-weighted) of each 4096-sample Hann frame
    of mono ``x`` within 40 dB of its loudest frame."""
    n = 1 + (len(x) - 4096) // 2048
    idx = np.arange(4096)[None, :] + 2048 * np.arange(n)[:, None]
    fr = x[idx] * np.hanning(4096)
    mag = np.abs(np.fft.rfft(fr, axis=1))
    f = np.fft.rfftfreq(4096, 1.0 / SR)
    rms = np.sqrt((fr ** 2).mean(axis=1))
    keep = rms > rms.max() * 10 ** (-40 / 20)
    return ((mag * f).sum(axis=1) / (mag.sum(axis=1) + 1e-12))[keep]


def _median_centroid(name: str, family: str) -> float:
    return float(np.median(np.concatenate([_centroids(_excerpt(name, a, b))
                                           for a, b in BRIGHTNESS_BARS[family]])))


@pytest.mark.parametrize("name", NAMES)
def test_not_duller_than_the_source(name):
    family = "sonnerie" if name.startswith("sonnerie") else "laurel-waltz"
    arranged = _median_centroid(name, family)
    source = _median_centroid(f"sources/{family}.toml", family)
    print(f"\n{name}: median spectral centroid {arranged:.0f} Hz, source {source:.0f} Hz")
    assert arranged >= source


# ---------------------------------------------------------------- Bells in the Ice's dynamics

def test_bells_in_the_ice_swells_with_its_tension_plan():
    """Integrated loudness of 6-bar excerpts (no normalisation): the two peaks
    (the storm, bars 145-150, tension ~0.9; the return, 283-288, ~0.95) at
    least 6 LU over the calm stretches (the opening, 1-6, tension 0-0.13; the
    F major thaw, 209-214, ~0.1)."""
    name = "sonnerie-bells-in-the-ice.toml"

    def lufs(a, b):
        x = _excerpt(name, a, b)
        return integrated_loudness(np.stack([x, x]), SR)

    calm = [lufs(1, 6), lufs(209, 214)]
    peaks = [lufs(145, 150), lufs(283, 288)]
    print(f"\n{name}: calm {np.round(calm, 1)} LUFS, peaks {np.round(peaks, 1)} LUFS")
    assert min(peaks) - max(calm) >= 6.0


# ---------------------------------------------------------------- descriptions

@pytest.mark.parametrize("name", NAMES)
def test_description_names_its_sampled_voices(name):
    arr = read_arrangement(ARR_DIR / name)
    used = {p.preset for p in _score(name).parts if p.preset.startswith("cmi_")}
    assert used, f"{name} uses no cmi_* voice"
    missing = [v for v in sorted(used) if v not in arr.description]
    assert not missing, f"{name}: the description does not name {missing}"


@pytest.mark.parametrize("name", WALTZES)
def test_waltz_description_describes_its_pulse_section(name):
    text = read_arrangement(ARR_DIR / name).description.lower()
    assert "bass drum" in text and ("snare" in text or "woodblock" in text)
