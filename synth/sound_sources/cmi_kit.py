"""The ``cmi_kit`` source: the sampled Fairlight percussion kit, the note picking the hit.

A complete instrument (``whole_note``), like the ``drums`` kit: the GM drum
note chooses a hit of :mod:`synth.dsp.cmi_kit` (a voice of the built-in
sample library at a fixed pitch, with its own hold and damping), played
through the Fairlight voice in Mode 4 on the patch's channel card; the
voice scales it by velocity and gain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..dsp import cmi_kit, cmi_library, fairlight
from ..params import Param
from ..units import db_to_amp, midi_to_hz
from .fairlight import CARDS, FAIRLIGHT_SERIES, card_envelope, card_filter, voice_clock
from .registry import Source, register_source

if TYPE_CHECKING:
    from ..patch import Patch


def _hit(pitch: float | None) -> tuple[str, float, float, float, float]:
    """(library voice, playback Hz, linear gain, hold s, damping s) of a kit note."""
    hit = None if pitch is None else cmi_kit.hit_for_note(pitch)
    if hit is None:                      # not in the kit: the tuned drum at the note's pitch
        return (cmi_kit.GENERIC_VOICE, float(midi_to_hz(45.0 if pitch is None else pitch)), 1.0,
                0.25, 0.3)
    root = cmi_library.VOICES[hit.voice].root_hz
    return (hit.voice, root * 2.0 ** (hit.semitones / 12.0), float(db_to_amp(hit.gain_db)),
            hit.hold, hit.damping)


def _samples(seconds: float, sr: float) -> int:
    return int(round(max(0.0, float(seconds)) * sr))


def _length(patch: "Patch", gate_samples: int, sr: float, pitch: float | None) -> int:
    """Samples of the hit: its hold plus its damping tail (the longest hit without a pitch)."""
    if pitch is None:
        return max(_length(patch, gate_samples, sr, note) for note in cmi_kit.KIT)
    _, _, _, hold, damping = _hit(pitch)
    return _samples(hold, sr) + _samples(damping * 80.0 / 60.0, sr) + 1


def _whole(patch: "Patch", pitch: float, sr: float, n: int, rng: np.random.Generator) -> np.ndarray:
    name, freq, gain, hold, damping = _hit(pitch)
    spec, stored = cmi_library.VOICES[name], cmi_library.voice(name)
    clock = voice_clock(patch, freq, name)
    env = card_envelope(patch, n, sr=sr, gate=_samples(hold, sr), clock=clock, start=0,
                        attack=0.0, damping=damping)
    y, _ = fairlight.voice(stored.data / 128.0, freq, sr=sr, n=n, mode=4,
                           series=fairlight.SERIES[patch.param("series")], root_freq=spec.root_hz,
                           rate_hz=spec.rate_hz, envelope=env * gain,
                           gain=10.0 ** (-spec.level_db / 20.0), loop=stored.loop,
                           **card_filter(patch))
    return y


register_source(Source(
    "cmi_kit", "the sampled Fairlight percussion kit (GM drum note chooses the hit)",
    params={
        "series": Param("choice", "II", choices=FAIRLIGHT_SERIES,
                        doc="I: ideal clock; II: IIx clock law"),
        "card": Param("choice", "cmi01a", choices=CARDS,
                      doc="channel card (see the fairlight source): 'cmi01a' or 'classic'"),
        "latch": Param("float", 235.0, 0, 255, doc="card 'cmi01a': filter latch"),
        "tracking": Param("choice", "octave", choices=fairlight.TRACKING,
                          doc="card 'cmi01a': cutoff by octave register or per note"),
        "brightness": Param("float", 0.5, 0.05, 2,
                            doc="card 'classic': output filter cutoff / (clock / 2)"),
    },
    whole_note=_whole, note_length=_length, pitched=False,
    spectrum_exact=False))
