"""A built-in Fairlight sample library, made by synth's own DSP (no recordings).

Why over 500 lines: mostly data written as code. Fifteen voice recipes (a
dozen lines each), the building blocks they share and the 8-bit recording
step; splitting the recipes from their building blocks would only add imports.

The CMI shipped with floppy disks of sampled sounds (choirs, bells, plates,
breath, drums) that the *Liquid Sky* score was built from.  Those factory
sounds come from commercial recordings, so this project cannot ship them;
instead every voice here is *synthesised* from code (formant synthesis,
modal synthesis, Karplus-Strong, filtered noise), then "recorded" into the
machine the way the CMI stored a sample:

- **8-bit** linear words, -128..127 (:attr:`StoredVoice.data`, ``int8``);
- at most **16 KB** per voice: 128 segments x 128 bytes = 16384 samples;
- a **recording rate** (at most the series' ADC maximum, about 30.2 kHz on
  the Series II; long sounds were recorded slower to fit the memory, which
  moves the DAC images into the audible band even at the root);
- a **recorded root**: the pitch the sound has when played at its recording
  rate (A2 = 110 Hz, where CMI II voices sound by default, unless the sound
  lives elsewhere);
- optional **loop points** (sustained sounds loop a steady stretch whose ends
  are cross-faded, as careful CMI users did);
- a stated **recording level** (peak, dBFS): a quietly recorded voice keeps
  its 8-bit noise floor while the player turns it up, so its quantisation
  noise is that many dB higher relative to the signal.

Every one-shot ends on a fade to 0 (a release, not a cliff).  Generation is
deterministic (fixed seeds, NumPy only) and cached in-process; all voices
together take a fraction of a second.

Public API
----------
VOICES : dict of name -> VoiceSpec (root, rate, level, loop, description)
voice(name) -> StoredVoice       the stored 8-bit voice (cached)
playback_samples(name) -> ndarray  its words on the 1/128 grid, scaled back
                                   up by the recording level (what the VCA sees)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import filters

__all__ = ["VoiceSpec", "StoredVoice", "VOICES", "MAX_SAMPLES", "voice", "playback_samples",
           "voice_names", "reference_table", "partials"]

#: One voice's wave memory: 128 segments x 128 bytes.
MAX_SAMPLES = 128 * 128
#: A2, where CMI II voices sound by default.
_A2_HZ = 110.0


@dataclass(frozen=True)
class VoiceSpec:
    """How a library voice was "recorded".

    Attributes
    ----------
    name : str
    description : str
    root_hz : float
        Pitch of the sound played at its recording rate.
    rate_hz : float
        Recording (ADC) rate, Hz.
    level_db : float
        Recording level: the peak of the stored words, dB below 8-bit full scale.
    loop : bool
        Whether the voice has sustain loop points (chosen by the generator).
    """

    name: str
    description: str
    root_hz: float
    rate_hz: float
    level_db: float
    loop: bool = False


@dataclass(frozen=True)
class StoredVoice:
    """A voice as it sits in one channel card's memory.

    Attributes
    ----------
    spec : VoiceSpec
    data : np.ndarray [shape=(n,), dtype=int8, n <= 16384]
        The stored words (read-only).
    loop : tuple of int or None
        ``(start, end)``: after word ``end - 1`` playback jumps to ``start``
        while the note sounds.
    """

    spec: VoiceSpec
    data: np.ndarray
    loop: tuple[int, int] | None

    @property
    def seconds(self) -> float:
        """Length at the recording rate (one pass, no loop)."""
        return len(self.data) / self.spec.rate_hz

    @property
    def root_midi(self) -> float:
        return 69.0 + 12.0 * float(np.log2(self.spec.root_hz / 440.0))


# ---------------------------------------------------------------- building blocks

def _rng(name: str) -> np.random.Generator:
    """A fixed stream per voice (PCG64 is stable across NumPy versions)."""
    return np.random.default_rng([0x434D49, *name.encode()])


def _t(n: int, rate: float) -> np.ndarray:
    return np.arange(n) / rate


def _anti_alias(x: np.ndarray, rate: float, cutoff: float | None = None) -> np.ndarray:
    """The ADC's input filter: 8th-order low-pass at 0.42 x the recording rate."""
    sos = filters.design_filter("lowpass", cutoff or 0.42 * rate, sr=rate, order=4)
    y, _ = filters.apply(x, sos)
    y, _ = filters.apply(y, sos)
    return y


def _bandpass(x, centre, q, rate):
    sos = filters.design_filter("bandpass", min(centre, 0.45 * rate), sr=rate, q=q, order=2)
    return filters.apply(x, sos)[0]


def _formant_gain(freq, formants) -> np.ndarray:
    """Magnitude of a cascade of 2-pole resonators ``(F, B, gain)`` at ``freq``."""
    f = np.asarray(freq, dtype=np.float64)
    g = np.ones_like(f)
    total = np.zeros_like(f)
    for centre, bw, gain in formants:
        r = f / centre
        g = gain / np.sqrt((1.0 - r * r) ** 2 + (f * bw / centre ** 2) ** 2)
        total = total + g
    return total


def _loop_rate(hz: float, rate: float, loop_words: int | None) -> float:
    """``hz`` moved to a whole number of cycles per loop (so a looped vibrato joins up)."""
    if not loop_words:
        return hz
    cycles = max(1, int(round(hz * loop_words / rate)))
    return cycles * rate / loop_words


def _voiced(n, rate, f0, formants, *, vibrato_cents=0.0, vibrato_hz=5.0, jitter=0.0, rng=None,
            phase0=0.0, tilt=1.0, loop_words=None):
    """Harmonics of a (slightly moving) ``f0`` under a formant envelope.

    The glottal source falls as ``1 / h**tilt``; the formants scale each
    harmonic by their response at its mean frequency.  Only harmonics below
    0.42 x the recording rate are summed (the input filter's passband).
    The vibrato and the slower pitch wander (``jitter`` cents, two slow sines
    at random phases) repeat a whole number of times per ``loop_words``, so
    a loop of that length joins without a jump in pitch.
    """
    t = _t(n, rate)
    cents = vibrato_cents * np.sin(2 * np.pi * _loop_rate(vibrato_hz, rate, loop_words) * t + phase0)
    if jitter and rng is not None:
        for hz, weight in ((0.7, 0.6), (1.9, 0.4)):
            cents = cents + jitter * weight * np.sin(2 * np.pi * _loop_rate(hz, rate, loop_words) * t
                                                     + rng.uniform(0, 2 * np.pi))
    f = f0 * 2.0 ** (cents / 1200.0)
    phase = np.cumsum(f) / rate + phase0
    y = np.zeros(n)
    h_max = int(0.42 * rate / f0)
    hs = np.arange(1, h_max + 1)
    amps = _formant_gain(hs * f0, formants) / hs ** tilt
    for h, a in zip(hs, amps):
        y += a * np.sin(2 * np.pi * h * phase)
    return y


def _modes(n, rate, freqs, amps, decays, *, phases=None):
    """Sum of exponentially decaying sines (modal synthesis): ``decays`` = seconds to -60 dB."""
    t = _t(n, rate)
    y = np.zeros(n)
    for i, (f, a, d) in enumerate(zip(freqs, amps, decays)):
        if f >= 0.42 * rate:
            continue
        ph = 0.0 if phases is None else phases[i]
        y += a * np.exp(-6.9078 * t / d) * np.sin(2 * np.pi * f * t + ph)
    return y


def _attack(n, rate, seconds):
    """A raised-cosine rise over ``seconds`` (0 at sample 0)."""
    k = max(1, int(round(seconds * rate)))
    env = np.ones(n)
    m = min(k, n)
    env[:m] = 0.5 - 0.5 * np.cos(np.pi * np.arange(m) / k)
    return env


def _end_fade(x, rate, seconds=0.06):
    """A raised-cosine fade to exactly 0 over the last fifth of the words (at
    least ``seconds``): a one-shot's release, gentle even when played fast."""
    k = min(len(x), max(64, int(round(seconds * rate)), len(x) // 5))
    out = x.copy()
    out[-k:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, k + 1) / k)
    return out


def _crossfade_loop(x, start, end, fade):
    """Blend the loop's last ``fade`` words into those before ``start`` (equal power),
    so the jump from ``end - 1`` back to ``start`` continues the wave."""
    out = x.copy()
    w = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade)
    out[end - fade:end] = x[end - fade:end] * np.cos(0.5 * np.pi * (np.arange(fade) + 0.5) / fade) \
        + x[start - fade:start] * w
    return out


# ---------------------------------------------------------------- the voices

# vowel formants (F, bandwidth, gain), adult voice averages
_AAH = ((730.0, 90.0, 1.0), (1090.0, 110.0, 0.5), (2440.0, 170.0, 0.18), (3400.0, 250.0, 0.08))
_OOH = ((300.0, 60.0, 1.0), (870.0, 90.0, 0.35), (2240.0, 170.0, 0.05), (3300.0, 250.0, 0.02))


def _choir_aah(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    y = np.zeros(n)
    # four singers, a few cents apart, each with its own vibrato and drift
    for i, (det, vib_hz) in enumerate(((-7.0, 5.1), (2.5, 5.6), (7.0, 4.7), (-2.5, 6.0))):
        y += _voiced(n, rate, f0 * 2 ** (det / 1200), _AAH, vibrato_cents=14.0, vibrato_hz=vib_hz,
                     jitter=3.0, rng=rng, phase0=1.7 * i, tilt=1.0,
                     loop_words=loop_words)
    y /= np.max(np.abs(y))
    # breath: noise through the same formants, pulsed by the glottal cycle
    noise = rng.standard_normal(n)
    breath = sum(g * _bandpass(noise, f, f / bw, rate) for f, bw, g in _AAH)
    pulse = 0.6 + 0.4 * np.sin(2 * np.pi * f0 * _t(n, rate)) ** 2
    y += 0.22 * breath * pulse / np.max(np.abs(breath))
    return y * _attack(n, rate, 0.12)


def _male_ooh(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    # one low voice (a single singer: no chorus to smear the loop)
    y = _voiced(n, rate, f0, _OOH, vibrato_cents=10.0, vibrato_hz=5.0, jitter=3.0, rng=rng,
                tilt=1.2, loop_words=loop_words)
    y /= np.max(np.abs(y))
    noise = rng.standard_normal(n)
    y += 0.08 * _bandpass(noise, 400.0, 3.0, rate) / 0.3
    return y * _attack(n, rate, 0.15)


def _glass(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    # a wine glass: a strong (2,0) mode and sparse, slightly stretched upper modes
    ratios = (1.0, 2.32, 2.98, 4.25, 5.61, 6.63, 8.9)
    amps = (1.0, 0.35, 0.2, 0.16, 0.1, 0.07, 0.05)
    decays = (2.5, 1.4, 1.1, 0.8, 0.55, 0.45, 0.3)
    y = _modes(n, rate, [f0 * r for r in ratios], amps, decays, phases=rng.uniform(0, 6.28, 7))
    tick = _bandpass(rng.standard_normal(n), 6000.0, 2.0, rate) * np.exp(-_t(n, rate) / 0.002)
    return y + 0.3 * tick


def _metal_plate(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    # a thin plate: mode frequencies ~ (m^2 + k n^2), dense and inharmonic
    m, k = np.meshgrid(np.arange(1, 9), np.arange(1, 9))
    ratios = np.unique(np.round((m ** 2 + 1.41 * k ** 2) / 2.41, 4))[:48]
    freqs = f0 * ratios
    amps = rng.uniform(0.3, 1.0, len(ratios)) / ratios ** 0.35
    decays = 1.6 / ratios ** 0.25
    y = _modes(n, rate, freqs, amps, decays, phases=rng.uniform(0, 6.28, len(ratios)))
    hit = _anti_alias(rng.standard_normal(n), rate) * np.exp(-_t(n, rate) / 0.01)
    return y / np.max(np.abs(y)) + 0.5 * hit


def _tubular_bell(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    # a tube's free-free modes fall near 1 : 2.76 : 5.40 : 8.93; the struck
    # pitch is heard from the upper modes, so the set is centred on the root:
    # a hum an octave down, the root, and stretched upper partials
    ratios = (0.5, 1.0, 1.5, 2.0, 2.76, 3.24, 4.1, 5.40, 6.6)
    amps = (0.25, 1.0, 0.3, 0.45, 0.35, 0.2, 0.15, 0.12, 0.06)
    decays = (3.0, 2.6, 1.8, 1.6, 1.2, 0.9, 0.7, 0.5, 0.35)
    y = _modes(n, rate, [f0 * r for r in ratios], amps, decays, phases=rng.uniform(0, 6.28, 9))
    strike = _bandpass(rng.standard_normal(n), 3000.0, 1.5, rate) * np.exp(-_t(n, rate) / 0.004)
    return y * _attack(n, rate, 0.001) + 0.25 * strike


def _bowed_string(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    t = _t(n, rate)
    # Helmholtz motion ~ a saw (1/h), body resonances, bow noise, vibrato
    body = ((280.0, 120.0, 1.0), (460.0, 150.0, 0.8), (1100.0, 300.0, 0.5), (2800.0, 700.0, 0.35))
    y = _voiced(n, rate, f0, body, vibrato_cents=12.0, vibrato_hz=5.3, jitter=3.0, rng=rng,
                tilt=1.0, loop_words=loop_words)
    y /= np.max(np.abs(y))
    scrape = _bandpass(rng.standard_normal(n), 2500.0, 1.2, rate)
    y += 0.06 * scrape / np.std(scrape) * (0.5 + 0.5 * np.exp(-t / 0.15))
    return y * _attack(n, rate, 0.09)


def _plucked_string(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    # Karplus-Strong: a noise burst circulating in a delay line through a
    # two-point average (half a sample of delay); a first-order all-pass
    # supplies the fractional rest of the period, so the string is in tune
    d = int(np.floor(rate / f0 - 0.6))
    frac = rate / f0 - 0.5 - d                        # 0.1 .. 1.1 samples
    c = (1.0 - frac) / (1.0 + frac)
    excite = np.zeros(n)
    excite[:d] = _anti_alias(rng.uniform(-1, 1, d + 64), rate, 0.3 * rate)[64:]
    return _ks_run(excite, d, c, n)


def _ks_run(excite, d, c, n):
    y = np.zeros(n)
    loss, v_prev, out_prev = 0.985, 0.0, 0.0
    for i in range(n):
        fed = (y[i - d] + y[i - d - 1]) if i > d else 0.0
        v = loss * 0.5 * fed
        out_prev = c * v + v_prev - c * out_prev
        v_prev = v
        y[i] = out_prev + excite[i]
    return y


def _breath(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    t = _t(n, rate)
    noise = rng.standard_normal(n)
    # wind: broad noise, a breathy resonance near 4x the root, slow gusts
    y = _bandpass(noise, 4 * f0, 1.2, rate) + 0.5 * _bandpass(noise, 1800.0, 0.7, rate) \
        + 0.25 * _anti_alias(noise, rate)
    gust = 0.75 + 0.25 * np.sin(2 * np.pi * _loop_rate(0.9, rate, loop_words) * t) \
        * np.sin(2 * np.pi * _loop_rate(0.37, rate, loop_words) * t + 1.0)
    return y * gust * _attack(n, rate, 0.25)


def _vocal_ha(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    t = _t(n, rate)
    noise = rng.standard_normal(n)
    # 'h': aspiration through the vowel's formants, then the voiced 'a'
    h = sum(g * _bandpass(noise, f, f / bw / 2, rate) for f, bw, g in _AAH)
    h = h / np.max(np.abs(h)) * np.exp(-np.maximum(t - 0.03, 0) / 0.03) * _attack(n, rate, 0.01)
    v = _voiced(n, rate, f0, _AAH, vibrato_cents=6.0,
                jitter=4.0, rng=rng, tilt=0.9)
    v = v / np.max(np.abs(v))
    onset = np.clip((t - 0.04) / 0.03, 0.0, 1.0)
    v *= onset * np.exp(-np.maximum(t - 0.07, 0) / 0.22)
    return 0.6 * h + v


def _tuned_drum(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    t = _t(n, rate)
    # a membrane's modes (Bessel zeros 1 : 1.59 : 2.14 : 2.30 : 2.65 : 2.92),
    # the fundamental pulled down a little as the head relaxes
    ratios = (1.0, 1.59, 2.14, 2.30, 2.65, 2.92)
    amps = (1.0, 0.5, 0.35, 0.25, 0.18, 0.12)
    decays = (0.9, 0.5, 0.35, 0.3, 0.25, 0.2)
    glide = 2.0 ** (0.25 * np.exp(-t / 0.05) / 12.0)
    y = np.zeros(n)
    for r, a, d in zip(ratios, amps, decays):
        phase = np.cumsum(f0 * r * glide) / rate
        y += a * np.exp(-6.9 * t / d) * np.sin(2 * np.pi * phase)
    stick = _bandpass(rng.standard_normal(n), 2200.0, 1.0, rate) * np.exp(-t / 0.006)
    return y + 0.4 * stick / np.max(np.abs(stick))


def _snare(spec, n, rng, loop_words=None):
    rate = spec.rate_hz
    t = _t(n, rate)
    # shell modes near 185 and 330 Hz; the wires: noise band-limited around
    # 3-8 kHz whose level buzzes with the batter head (the rattle)
    head = _modes(n, rate, (185.0, 330.0, 440.0), (1.0, 0.6, 0.3), (0.18, 0.12, 0.1))
    noise = _anti_alias(rng.standard_normal(n), rate)
    wires = _bandpass(noise, 4500.0, 0.9, rate) + 0.4 * _bandpass(noise, 7500.0, 1.5, rate)
    buzz = 1.0 + 0.6 * np.sign(np.sin(2 * np.pi * 185.0 * t)) * np.exp(-t / 0.08)
    wires = wires / np.std(wires[:int(0.05 * rate)]) * np.exp(-6.9 * t / 0.32) * buzz
    crack = noise * np.exp(-t / 0.003)
    return 0.8 * head + 0.35 * wires + 0.6 * crack


def _bass_drum(spec, n, rng, loop_words=None):
    rate = spec.rate_hz
    t = _t(n, rate)
    # a big beater on a loose head: pitch falls from ~110 to 50 Hz
    f = 50.0 + 60.0 * np.exp(-t / 0.035)
    body = np.sin(2 * np.pi * np.cumsum(f) / rate) * np.exp(-6.9 * t / 0.55)
    beater = _bandpass(rng.standard_normal(n), 1400.0, 0.8, rate) * np.exp(-t / 0.004)
    return body + 0.3 * beater


def _woodblock(spec, n, rng, loop_words=None):
    rate = spec.rate_hz
    t = _t(n, rate)
    y = _modes(n, rate, (880.0, 2370.0, 3950.0), (1.0, 0.45, 0.2), (0.12, 0.05, 0.03))
    click = _bandpass(rng.standard_normal(n), 5000.0, 1.0, rate) * np.exp(-t / 0.0015)
    return y * _attack(n, rate, 0.0005) + 0.3 * click


def _cymbal(spec, n, rng, loop_words=None):
    rate = spec.rate_hz
    t = _t(n, rate)
    # many inharmonic metal partials plus a bright noise wash
    freqs = 340.0 * np.exp(rng.uniform(0.0, np.log(30.0), 90))
    y = _modes(n, rate, freqs, rng.uniform(0.2, 1.0, 90) / (freqs / 340.0) ** 0.2,
               rng.uniform(0.6, 1.6, 90), phases=rng.uniform(0, 6.28, 90))
    y = y / np.max(np.abs(y))
    wash = _bandpass(_anti_alias(rng.standard_normal(n), rate), 7000.0, 0.7, rate)
    wash = wash / np.std(wash) * np.exp(-6.9 * t / 0.9)
    return (0.6 * y + 0.25 * wash) * _attack(n, rate, 0.002)


def _gong(spec, n, rng, loop_words=None):
    rate, f0 = spec.rate_hz, spec.root_hz
    t = _t(n, rate)
    # a tam-tam: low inharmonic modes at once, upper ones blooming later
    ratios = np.array([0.5, 1.0, 1.37, 1.83, 2.33, 2.9, 3.55, 4.3, 5.1, 6.2, 7.4, 8.8, 10.3, 12.1])
    freqs = f0 * ratios
    y = np.zeros(n)
    for i, (f, r) in enumerate(zip(freqs, ratios)):
        if f >= 0.42 * rate:
            continue
        bloom = 1.0 - np.exp(-t / (0.02 + 0.05 * r))
        y += (1.0 / r ** 0.4) * bloom * np.exp(-6.9 * t / (4.0 / r ** 0.3)) \
            * np.sin(2 * np.pi * f * t + 1.3 * i)
    return y + 0.2 * _bandpass(rng.standard_normal(n), 300.0, 1.0, rate) * np.exp(-t / 0.02)


def _rate(root_hz: float, words_per_cycle: int) -> float:
    """A recording rate of ``words_per_cycle + 1/2`` words per cycle of the root.

    Recording rates were whatever the sampling-rate page was set to, not a
    multiple of the pitch; half a word off makes the DAC images fall half
    way between the harmonics of any played note (``clock / f`` is the same
    at every pitch), the most inharmonic case.
    """
    return root_hz * (words_per_cycle + 0.5)


#: name -> (spec, generator, loop start fraction or None)
_LIBRARY = {
    "choir_aah": (VoiceSpec("choir_aah", "breathy choir 'aah': four formant-synthesised singers",
                            _A2_HZ, _rate(110.0, 218), -3.0, loop=True), _choir_aah, 0.45),
    "male_ooh": (VoiceSpec("male_ooh", "male 'ooh', recorded quietly (more 8-bit noise)",
                           _A2_HZ, _rate(110.0, 145), -14.0, loop=True), _male_ooh, 0.4),
    "glass": (VoiceSpec("glass", "struck wine glass: sparse, slightly stretched modes",
                        440.0, _rate(440.0, 45), -1.0), _glass, None),
    "metal_plate": (VoiceSpec("metal_plate", "struck metal plate: dense inharmonic plate modes",
                              _A2_HZ, _rate(110.0, 127), -2.0), _metal_plate, None),
    "tubular_bell": (VoiceSpec("tubular_bell", "tubular bell: hum, root and stretched partials",
                               440.0, _rate(440.0, 27), -1.0), _tubular_bell, None),
    "bowed_string": (VoiceSpec("bowed_string", "bowed low string: saw-like motion, body, bow noise",
                               _A2_HZ, _rate(110.0, 218), -3.0, loop=True), _bowed_string, 0.45),
    "plucked_string": (VoiceSpec("plucked_string", "plucked string (Karplus-Strong)",
                                 _A2_HZ, _rate(110.0, 182), -1.0), _plucked_string, None),
    "breath": (VoiceSpec("breath", "breath / wind noise, recorded very quietly",
                         _A2_HZ, _rate(110.0, 182), -20.0, loop=True), _breath, 0.35),
    "vocal_ha": (VoiceSpec("vocal_ha", "a sung 'ha': aspiration, then a short vowel",
                           _A2_HZ, _rate(110.0, 218), -2.0), _vocal_ha, None),
    "tuned_drum": (VoiceSpec("tuned_drum", "tuned drum: membrane modes, falling pitch",
                             _A2_HZ, _rate(110.0, 145), -1.0), _tuned_drum, None),
    "snare": (VoiceSpec("snare", "snare drum: shell modes and rattling wires",
                        _A2_HZ, _rate(110.0, 218), -1.0), _snare, None),
    "bass_drum": (VoiceSpec("bass_drum", "bass drum: falling 110 -> 50 Hz body, beater",
                            _A2_HZ, _rate(110.0, 91), -1.0), _bass_drum, None),
    "woodblock": (VoiceSpec("woodblock", "woodblock: three short modes and a click",
                            _A2_HZ, _rate(110.0, 273), -1.0), _woodblock, None),
    "cymbal": (VoiceSpec("cymbal", "cymbal: ninety inharmonic partials and a noise wash",
                         _A2_HZ, _rate(110.0, 182), -2.0), _cymbal, None),
    "gong": (VoiceSpec("gong", "gong / tam-tam: low modes with a late upper bloom",
                       _A2_HZ, _rate(110.0, 91), -2.0), _gong, None),
}

#: Library voice name -> its recording (root, rate, level, loop).
VOICES: dict[str, VoiceSpec] = {name: entry[0] for name, entry in _LIBRARY.items()}


def voice_names() -> tuple[str, ...]:
    return tuple(VOICES)


@lru_cache(maxsize=None)
def voice(name: str) -> StoredVoice:
    """The stored 8-bit voice ``name`` (generated once per process).

    Raises
    ------
    KeyError
        For an unknown name (callers turn it into a message with suggestions).
    """
    spec = VOICES[name]
    x, loop = _recording(name)
    x = x * (10.0 ** (spec.level_db / 20.0) * (127.0 / 128.0))
    words = np.clip(np.round(x * 128.0), -128, 127).astype(np.int8)
    if loop is None:
        words[-1] = 0
    words.setflags(write=False)
    return StoredVoice(spec, words, loop)


def _recording(name: str):
    """The voice before the ADC's quantiser: ``(x, loop)``, ``x`` peaking at 1 (float64)."""
    spec, make, loop_at = _LIBRARY[name]
    n = MAX_SAMPLES
    rng = _rng(name)
    loop = None
    if loop_at is not None:
        # the loop holds a whole number of pairs of root cycles (2 x (N + 1/2)
        # words), so a steady tone joins in phase; the generator makes its
        # vibrato and wander repeat in the same length
        pair = int(round(2.0 * spec.rate_hz / spec.root_hz))
        loop = (n - (n - int(loop_at * n)) // pair * pair, n)
    x = np.asarray(make(spec, n, rng, loop_words=None if loop is None else loop[1] - loop[0]),
                   dtype=np.float64)[:n]
    if loop is not None:
        start, end = loop
        x = _crossfade_loop(x, start, end, fade=min(2048, (end - start) // 2))
    else:
        # a one-shot keeps the words until it has died below one step (plus
        # a little), rounded up to whole segments, and fades to 0 there
        scale = 10.0 ** (spec.level_db / 20.0) * 127.0 / np.max(np.abs(x))
        audible = np.flatnonzero(np.abs(x) * scale >= 1.0)
        keep = min(n, -(-(int(audible[-1]) + int(0.03 * spec.rate_hz)) // 128) * 128)
        x = _end_fade(x[:keep], spec.rate_hz)
    return x / float(np.max(np.abs(x))), loop


@lru_cache(maxsize=None)
def playback_samples(name: str) -> np.ndarray:
    """The stored words on the 1/128 grid, times the recording level's make-up gain.

    This is what the channel card's VCA sees once the player has turned a
    quiet recording back up: the signal at full level, the 8-bit noise
    ``-level_db`` dB higher than in a voice recorded at full scale.
    """
    v = voice(name)
    y = v.data.astype(np.float64) / 128.0 * 10.0 ** (-v.spec.level_db / 20.0)
    y.setflags(write=False)
    return y


_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def reference_table() -> list[str]:
    """Markdown table of the library (for ``docs/reference.md``): one row per voice."""
    rows = ["| voice | root | recording rate | level | words (length) | loop | what it is |",
            "|---|---|---|---|---|---|---|"]
    for name in VOICES:
        v = voice(name)
        midi = int(round(v.root_midi))
        root = f"{_NAMES[midi % 12]}{midi // 12 - 1} = {v.spec.root_hz:g} Hz"
        loop = f"{v.loop[0]}..{v.loop[1]}" if v.loop else "one-shot"
        rows.append(f"| `{name}` | {root} | {v.spec.rate_hz:g} Hz | {v.spec.level_db:g} dBFS | "
                    f"{len(v.data)} ({v.seconds:.2f} s) | {loop} | {v.spec.description} |")
    return rows + [""]


@lru_cache(maxsize=None)
def partials(name: str, max_partials: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The voice's strongest spectral peaks: ratios to its root and amplitudes (loudest 1).

    Measured on the stored words (the first 0.4 s, Hann window, peaks at
    least a quarter of the root apart), for roughness and tension analysis
    of parts played by a sampled voice.

    Returns
    -------
    ratios, amps : np.ndarray [shape=(k,)], read-only, ratios ascending
    """
    v = voice(name)
    x = v.data[: int(0.4 * v.spec.rate_hz)].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(x) * 4)))
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), size))
    freqs = np.fft.rfftfreq(size, 1.0 / v.spec.rate_hz)
    is_peak = np.r_[False, (spec[1:-1] > spec[:-2]) & (spec[1:-1] >= spec[2:]), False]
    is_peak &= freqs > 0.2 * v.spec.root_hz
    order = np.flatnonzero(is_peak)[np.argsort(-spec[is_peak], kind="stable")]
    chosen: list[int] = []
    for i in order:                                   # strongest first, a quarter root apart
        if all(abs(freqs[i] - freqs[j]) >= 0.25 * v.spec.root_hz for j in chosen):
            chosen.append(int(i))
        if len(chosen) == max_partials:
            break
    chosen.sort()
    ratios = freqs[chosen] / v.spec.root_hz
    amps = spec[chosen] / np.max(spec[chosen])
    ratios.setflags(write=False)
    amps.setflags(write=False)
    return ratios, amps
