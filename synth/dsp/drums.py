"""A synthetic drum kit (analogue-style drum voices), one hit per call.

Each General MIDI drum note maps to a kind of drum (:data:`DRUM_KIT`): a
kick is a sine swept down onto its tuning plus a click, a tom a sine with a
short pitch drop and a skin noise, a snare two sine modes plus a high-passed
rattle, a hand clap three noise bursts and a tail, the metal voices (hats,
crash, ride) six detuned squares (the TR-808's cymbal circuit) with noise.
Pure functions: the random generator comes from the caller's seed stream.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..units import midi_to_hz
from . import filters, oscillators

__all__ = ["Drum", "DRUM_KIT", "GENERIC_DRUM", "drum_for_note", "longest_decay", "decay_curve",
           "drum_hit", "METAL_HZ"]


class Drum(NamedTuple):
    """One drum of the kit."""

    kind: str           #: "kick", "tom", "snare", "stick", "clap", "hat", "crash", "ride" or "hit"
    decay: float        #: seconds the hit lasts (before the kit's decay_scale)
    tuning: float       #: Hz of the body (kick, tom, snare, stick, clap) or a scale of the metal set


#: GM drum note -> the drum that plays it.  Notes not listed play
#: :data:`GENERIC_DRUM`, a noise hit tuned by the note.
DRUM_KIT: dict[int, Drum] = {k: Drum(*v) for k, v in {
    35: ("kick", 0.5, 44.0), 36: ("kick", 0.42, 52.0),
    37: ("stick", 0.08, 1100.0),
    38: ("snare", 0.25, 185.0), 40: ("snare", 0.3, 200.0),
    39: ("clap", 0.3, 1100.0),
    41: ("tom", 0.55, 82.0), 43: ("tom", 0.5, 98.0), 45: ("tom", 0.45, 110.0),
    47: ("tom", 0.42, 131.0), 48: ("tom", 0.4, 147.0), 50: ("tom", 0.38, 175.0),
    42: ("hat", 0.06, 1.0), 44: ("hat", 0.1, 1.0), 46: ("hat", 0.5, 1.0),
    49: ("crash", 1.8, 1.0), 57: ("crash", 1.6, 1.1),
    51: ("ride", 1.4, 1.0), 59: ("ride", 1.2, 1.05),
}.items()}
GENERIC_DRUM = Drum("hit", 0.15, 0.0)
#: Frequencies (Hz) of the six detuned squares of the metal voices (the
#: inharmonic set of the TR-808's cymbal and hi-hat circuit).
METAL_HZ = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)

#: Every hit decays on an exponential falling this many nepers (6.91 = 60 dB)
#: over its length, shifted to end at exactly 0.
DECAY_NEPERS = 6.91
# kick: the body sweeps from 4x its tuning down with this time constant; a
# high-passed click of this level and decay marks the beater
KICK_SWEEP_SECONDS = 0.025
KICK_SWEEP_RATIO = 3.0
KICK_CLICK_HZ = 2000.0
KICK_CLICK_SECONDS = 0.003
KICK_CLICK_LEVEL = 0.3
# tom: the pitch drops by half its tuning; the skin noise is band-passed at 4x
TOM_DROP = 0.5
TOM_DROP_SECONDS = 0.06
TOM_SKIN_RATIO = 4.0
TOM_SKIN_SECONDS = 0.03
TOM_SKIN_LEVEL = 0.3
# snare: two membrane modes (1 and 1.78 x tuning), a rattle high-passed at 1.2 kHz
SNARE_MODE_RATIO = 1.78
SNARE_MODE_LEVEL = 0.6
SNARE_TONE_SECONDS = 0.04
SNARE_TONE_LEVEL = 0.5
SNARE_RATTLE_HZ = 1200.0
SNARE_RATTLE_LEVEL = 0.7
# side stick: a band-passed click and a short tone
STICK_CLICK_HZ = 1800.0
STICK_CLICK_LEVEL = 0.8
STICK_TONE_LEVEL = 0.6
# clap: three 8 ms bursts 10 ms apart (decay 4 ms), then the tail from 30 ms
CLAP_BURSTS = (0.0, 0.01, 0.02)
CLAP_BURST_SECONDS = 0.008
CLAP_BURST_DECAY = 0.004
CLAP_TAIL_START = 0.03
CLAP_TAIL_LEVEL = 0.8
# metal voices: high-passed (hat, crash) or band-passed (ride, plus its bell tone)
HAT_HZ = 7000.0
CRASH_HZ = 4000.0
RIDE_HZ = 5000.0
RIDE_Q = 0.9
RIDE_BELL_HZ = 3150.0
RIDE_BELL_LEVEL = 0.15
METAL_LEVEL = 1.5
# generic hit: band-passed noise centred on the note, within these bounds
HIT_MIN_HZ, HIT_MAX_HZ = 200.0, 8000.0
#: Filters stop below this fraction of the sample rate.
MAX_CUTOFF_FRACTION = 0.45


def drum_for_note(pitch: float) -> Drum:
    """The drum that plays MIDI note ``pitch`` (rounded)."""
    return DRUM_KIT.get(int(round(pitch)), GENERIC_DRUM)


def longest_decay() -> float:
    """Seconds of the kit's longest drum."""
    return max(d.decay for d in DRUM_KIT.values())


def decay_curve(n: int, c: float = DECAY_NEPERS) -> np.ndarray:
    """1 at the first sample falling exponentially (``c`` nepers) to exactly 0 at the last.

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    x = np.arange(n) / max(n - 1, 1)
    return (np.exp(-c * x) - np.exp(-c)) / (1.0 - np.exp(-c))


@lru_cache(maxsize=128)
def _sos(kind: str, cutoff: float, sr: float, q: float, order: int) -> np.ndarray:
    return filters.design_filter(kind, cutoff, sr=sr, q=q, order=order)


def _filtered(x: np.ndarray, kind: str, cutoff: float, sr: float, q: float = 0.7071,
              order: int = 2) -> np.ndarray:
    cutoff = float(min(cutoff, MAX_CUTOFF_FRACTION * sr))
    return filters.sosfilt(_sos(kind, cutoff, float(sr), float(q), order), x)


def _metal(n: int, sr: float, scale: float) -> np.ndarray:
    y = np.zeros(n)
    for f in METAL_HZ:
        y += oscillators.square(f * scale, sr=sr, n=n)[0]
    return y / len(METAL_HZ)


def drum_hit(pitch: float, *, sr: float, n: int, tune: float, rng: np.random.Generator
             ) -> np.ndarray:
    """One hit of the drum at GM note ``pitch``.

    Parameters
    ----------
    pitch : float
        GM drum note (:data:`DRUM_KIT`; other notes: a noise hit at that pitch).
    sr : float
        Sample rate in Hz.
    n : int
        Samples (the hit decays to exactly 0 over them).
    tune : float
        Frequency factor applied to every tuning (1 = as listed).
    rng : numpy.random.Generator
        Noise source.

    Returns
    -------
    np.ndarray [shape=(n,)]
        Peak about 1 at full scale.
    """
    kind, _, tune_hz = drum_for_note(pitch)
    t = np.arange(n) / sr
    env = decay_curve(n)
    if kind == "kick":
        f = tune * (tune_hz + KICK_SWEEP_RATIO * tune_hz * np.exp(-t / KICK_SWEEP_SECONDS))
        body = oscillators.sine(f, sr=sr, n=n)[0] * env
        click = (_filtered(rng.uniform(-1, 1, n), "highpass", KICK_CLICK_HZ, sr)
                 * np.exp(-t / KICK_CLICK_SECONDS))
        return body + KICK_CLICK_LEVEL * click
    if kind == "tom":
        f = tune * tune_hz * (1.0 + TOM_DROP * np.exp(-t / TOM_DROP_SECONDS))
        body = oscillators.sine(f, sr=sr, n=n)[0]
        skin = _filtered(rng.uniform(-1, 1, n), "bandpass", TOM_SKIN_RATIO * tune_hz * tune, sr,
                         q=1.0)
        return (body + TOM_SKIN_LEVEL * skin * np.exp(-t / TOM_SKIN_SECONDS)) * env
    if kind == "snare":
        tone = (oscillators.sine(tune * tune_hz, sr=sr, n=n)[0]
                + SNARE_MODE_LEVEL * oscillators.sine(tune * tune_hz * SNARE_MODE_RATIO,
                                                      sr=sr, n=n)[0]) * np.exp(-t / SNARE_TONE_SECONDS)
        rattle = _filtered(rng.uniform(-1, 1, n), "highpass", SNARE_RATTLE_HZ * tune, sr, order=4)
        return SNARE_TONE_LEVEL * tone + SNARE_RATTLE_LEVEL * rattle * env
    if kind == "stick":
        click = _filtered(rng.uniform(-1, 1, n), "bandpass", STICK_CLICK_HZ * tune, sr, q=2.0)
        return (STICK_CLICK_LEVEL * click
                + STICK_TONE_LEVEL * oscillators.sine(tune * tune_hz, sr=sr, n=n)[0]) * env
    if kind == "clap":
        noise = _filtered(rng.uniform(-1, 1, n), "bandpass", tune_hz * tune, sr, q=1.5) * 2.0
        bursts = sum(np.where((t >= d) & (t < d + CLAP_BURST_SECONDS),
                              np.exp(-(t - d) / CLAP_BURST_DECAY), 0.0)
                     for d in CLAP_BURSTS)
        tail = np.where(t >= CLAP_TAIL_START, env, 0.0)
        return noise * (bursts + CLAP_TAIL_LEVEL * tail)
    if kind in ("hat", "crash", "ride"):
        metal = _metal(n, sr, tune * tune_hz)
        noise = rng.uniform(-1, 1, n)
        if kind == "hat":
            y = _filtered(0.7 * metal + 0.5 * noise, "highpass", HAT_HZ, sr, order=4)
        elif kind == "crash":
            y = _filtered(0.6 * metal + 0.6 * noise, "highpass", CRASH_HZ, sr, order=4)
        else:
            y = _filtered(metal + 0.2 * noise, "bandpass", RIDE_HZ, sr, q=RIDE_Q) \
                + RIDE_BELL_LEVEL * oscillators.sine(RIDE_BELL_HZ * tune, sr=sr, n=n)[0]
        return METAL_LEVEL * y * env
    centre = float(np.clip(midi_to_hz(pitch) * tune, HIT_MIN_HZ, HIT_MAX_HZ))
    return _filtered(rng.uniform(-1, 1, n), "bandpass", centre, sr, q=2.0) * 2.0 * env
