"""One note -> samples: a patch played at a pitch, velocity and gate length.

The voice is a pure function of its arguments (the random generator comes in
from the renderer's seed stream), so a note sounds the same wherever it sits
in the piece and however the piece is cut into blocks.
"""

from __future__ import annotations

import numpy as np

from .dsp import envelopes, oscillators
from .patch import Patch
from .units import db_to_amp, midi_to_hz

__all__ = ["note_length", "render_note", "VOICE_SOURCES"]


def note_length(patch: Patch, gate_samples: int, *, sr: float) -> int:
    """Samples a note of ``gate_samples`` lasts including its release (ends at exactly 0)."""
    return envelopes.adsr_length(gate_samples, patch.envelope.release, sr=sr)


def _oscillator(source: str):
    def run(freq, sr, n, rng, max_freq):
        if source == "noise":
            return oscillators.white_noise(n, rng)
        fn = getattr(oscillators, source)
        if source in oscillators.BANDLIMITED_SHAPES:
            return fn(freq, sr=sr, n=n, max_freq=max_freq)[0]
        return fn(freq, sr=sr, n=n)[0]
    return run


#: source name -> callable(freq, sr, n, rng, max_freq) -> samples (n,)
VOICE_SOURCES = {name: _oscillator(name) for name in
                 ("sine", "saw", "square", "triangle", "noise",
                  "naive_saw", "naive_square", "naive_triangle")}


def render_note(patch: Patch, *, pitch: float, velocity: int, gate_samples: int, sr: float,
                rng: np.random.Generator | None = None,
                bend_semitones: np.ndarray | None = None) -> np.ndarray:
    """Render one note, release tail included.

    Parameters
    ----------
    patch : Patch
    pitch : float
        MIDI pitch (fractional = microtonal).
    velocity : int
        1..127.
    gate_samples : int
        Samples the key is held (>= 1).
    sr : float
        Sample rate in Hz.
    rng : numpy.random.Generator, optional
        Randomness for noise sources (from the render seed).
    bend_semitones : np.ndarray [shape=(n,)], optional
        Per-sample pitch offset in semitones over the whole note
        (``n == note_length(...)``).

    Returns
    -------
    np.ndarray [shape=(note_length(patch, gate_samples, sr=sr),), dtype=float64]
        Mono samples; the last one is exactly 0.
    """
    n = note_length(patch, gate_samples, sr=sr)
    base = pitch + 12 * patch.octave + patch.detune_cents / 100.0
    if bend_semitones is None:
        freq = float(midi_to_hz(base))
        max_freq = freq
    else:
        freq = midi_to_hz(base + bend_semitones)
        max_freq = float(np.max(freq))
    source = VOICE_SOURCES[patch.source]
    if rng is None:
        rng = np.random.default_rng(0)
    y = source(freq, sr, n, rng, max_freq)
    env = envelopes.adsr(n, sr=sr, gate_samples=gate_samples, attack=patch.envelope.attack,
                         decay=patch.envelope.decay, sustain=patch.envelope.sustain,
                         release=patch.envelope.release, curve=patch.envelope.curve)
    amp = float(db_to_amp(patch.gain_db)) * (velocity / 127.0) ** patch.velocity_curve
    y *= env
    y *= amp
    return y
