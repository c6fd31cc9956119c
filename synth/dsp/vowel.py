"""A built-in sample for the Fairlight's Mode 4: a breathy sung vowel, synthesised.

The CMI shipped with recordings; this package ships none, so a Mode-4 voice
with no ``params.sample`` plays this: harmonics of middle C under two vowel
formants (an open "ah", F1 650 Hz, F2 1100 Hz, plus a weak F3), a slow
vibrato, breath noise, a short attack and a slow decay.
"""

from __future__ import annotations

import numpy as np

__all__ = ["breathy_vowel", "MIDDLE_C_HZ"]

#: Pitch of the sample (MIDI 60).
MIDDLE_C_HZ = 261.6255653005986
#: Formants: (centre Hz, width Hz, weight) of the Gaussian resonances.
FORMANTS = ((650.0, 220.0, 1.0), (1100.0, 300.0, 0.6), (2600.0, 500.0, 0.15))
#: Weight added to every harmonic (the glottal source between the formants).
FORMANT_FLOOR = 0.02
#: Harmonic amplitudes fall as ``h ** -SOURCE_TILT`` before the formants.
SOURCE_TILT = 0.5
#: Harmonics stop here, or below ``HARMONIC_LIMIT`` of the sample rate.
MAX_HARMONICS = 39
HARMONIC_LIMIT = 0.45
#: Vibrato: depth in octaves (0.004 = about 5 cents) and rate in Hz.
VIBRATO_OCTAVES = 0.004
VIBRATO_HZ = 5.2
#: Breath noise level (relative to the voiced part) and its smoothing length in samples.
BREATH_LEVEL = 0.04
BREATH_SMOOTHING = 4
#: Linear attack (seconds) and exponential decay time constant (seconds).
ATTACK_SECONDS = 0.04
DECAY_SECONDS = 1.5
#: Peak of the result: the largest value an 8-bit sample holds (127/128).
PEAK = 127 / 128


def breathy_vowel(rate_hz: float, noise: np.ndarray) -> np.ndarray:
    """The vowel sample at ``rate_hz``, as long as ``noise``.

    Parameters
    ----------
    rate_hz : float
        Sample rate of the result (the Fairlight's recording rate).
    noise : np.ndarray [shape=(n,)]
        Standard-normal noise for the breath (the caller's seeded stream).

    Returns
    -------
    np.ndarray [shape=(n,)]
        Samples peaking at exactly :data:`PEAK`, middle C.
    """
    n = len(noise)
    t = np.arange(n) / rate_hz
    f0 = MIDDLE_C_HZ * 2 ** (VIBRATO_OCTAVES * np.sin(2 * np.pi * VIBRATO_HZ * t))
    phase = np.cumsum(f0) / rate_hz
    y = np.zeros(n)
    for h in range(1, MAX_HARMONICS + 1):
        fh = h * MIDDLE_C_HZ
        if fh > HARMONIC_LIMIT * rate_hz:
            break
        (c1, w1, g1), (c2, w2, g2), (c3, w3, g3) = FORMANTS
        formants = (g1 * np.exp(-((fh - c1) / w1) ** 2) + g2 * np.exp(-((fh - c2) / w2) ** 2)
                    + g3 * np.exp(-((fh - c3) / w3) ** 2))
        y += (formants + FORMANT_FLOOR) / h ** SOURCE_TILT * np.sin(2 * np.pi * h * phase)
    y += BREATH_LEVEL * np.convolve(noise, np.ones(BREATH_SMOOTHING) / BREATH_SMOOTHING,
                                    mode="same")
    y *= np.minimum(t / ATTACK_SECONDS, 1.0) * np.exp(-t / DECAY_SECONDS)
    return y / np.max(np.abs(y)) * PEAK
