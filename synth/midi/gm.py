"""General MIDI programs -> synth preset names, and back.

GM groups its 128 programs into 16 families of 8 (piano, chromatic
percussion, organ, ...).  Each family maps to the synth preset closest in
character; a few programs whose sound differs from their family's (choir
voices, the "calliope" lead, woodblock, ...) have their own entry.  Channel
10 is not a program at all: it is the percussion channel and plays the
sampled Fairlight kit ``cmi_drums`` (or the synthetic ``drums`` kit when the
track's instrument name says so, as export writes it).  GM drum notes also
have names (:data:`synth.units.DRUM_NOTES`: ``kick``, ``snare``, ...) that
score files accept as pitches.  The table is reproduced in ``docs/midi.md``.

Programs are 0-based here (as on the wire and in mido); GM documents count
them from 1.
"""

from __future__ import annotations

import math

__all__ = [
    "DRUM_CHANNEL",
    "DRUM_PRESET",
    "DRUM_PRESETS",
    "FAMILIES",
    "PROGRAM_OVERRIDES",
    "preset_for_program",
    "program_for_preset",
    "family_name",
    "KNOWN_PRESETS",
    "VOLUME_UNITY",
    "gain_db_to_volume",
    "volume_to_gain_db",
    "pan_to_cc",
    "cc_to_pan",
]

#: 14-bit channel volume (CC7 MSB * 128 + CC39 LSB) that means 0 dB: CC7 127.
VOLUME_UNITY = 127 * 128


def gain_db_to_volume(gain_db: float) -> int:
    """14-bit channel volume (CC7 * 128 + CC39) for a part gain in dB.

    The curve is the GM2 recommendation, ``gain_db = 40 * log10(cc7 / 127)``,
    carried to 14 bits so quiet parts keep their level (rounding is within
    0.02 dB down to -60 dB).  0 dB is CC7 127 with LSB 0, the loudest value
    written: louder gains are written as 0 dB (the caller warns); the
    quietest written is 1 (about -168 dB).
    """
    v = round(VOLUME_UNITY * 10.0 ** (gain_db / 40.0))
    return max(1, min(VOLUME_UNITY, v))


def volume_to_gain_db(volume14: int) -> float:
    """Part gain in dB of a 14-bit channel volume (inverse of :func:`gain_db_to_volume`)."""
    return 40.0 * math.log10(max(volume14, 1) / VOLUME_UNITY)


def pan_to_cc(pan: float) -> int:
    """CC10 value (0 left, 64 centre, 127 right) of a pan position -1..1."""
    return max(0, min(127, round(64 + (64 if pan < 0 else 63) * pan)))


def cc_to_pan(value: int) -> float:
    """Pan position -1..1 of a CC10 value (inverse of :func:`pan_to_cc`, within 1/128)."""
    return (value - 64) / (64 if value < 64 else 63)

#: 0-based MIDI channel of GM percussion ("channel 10").
DRUM_CHANNEL = 9
#: Preset that plays percussion parts read from channel 10 (note number selects the drum).
DRUM_PRESET = "cmi_drums"
#: Kits written to channel 10 on export (the GM drum map picks the drum in both).
DRUM_PRESETS = frozenset({"cmi_drums", "drums"})

#: (family name, preset) for programs 8*i .. 8*i+7.
FAMILIES: tuple[tuple[str, str], ...] = (
    ("piano", "pluck"),
    ("chromatic percussion", "bell"),
    ("organ", "organ"),
    ("guitar", "pluck"),
    ("bass", "bass"),
    ("strings", "strings"),
    ("ensemble", "strings"),
    ("brass", "brass_stab"),
    ("reed", "reed"),
    ("pipe", "calliope"),
    ("synth lead", "lead"),
    ("synth pad", "pad"),
    ("synth effects", "pad"),
    ("ethnic", "pluck"),
    ("percussive", "pluck"),
    ("sound effects", "noise"),
)

#: Single programs (0-based) whose preset differs from their family's.
PROGRAM_OVERRIDES: dict[int, str] = {
    20: "reed",              # reed organ
    21: "reed",              # accordion
    22: "reed",              # harmonica
    23: "reed",              # tango accordion
    45: "pluck",             # pizzicato strings
    46: "pluck",             # orchestral harp
    47: "sub_drone",         # timpani
    52: "choir",             # choir aahs
    53: "cmi_choir",         # voice oohs
    54: "cmi_voice",         # synth voice
    55: "brass_stab",        # orchestra hit
    80: "square",            # lead 1 (square)
    81: "saw",               # lead 2 (sawtooth)
    82: "calliope",          # lead 3 (calliope)
    91: "choir",             # pad 4 (choir)
    92: "glass_harmonica",   # pad 5 (bowed glass)
    98: "cmi_bell",          # fx 3 (crystal)
    109: "reed",             # bagpipe
    110: "strings",          # fiddle
    111: "reed",             # shanai
    112: "bell",             # tinkle bell
    115: "clock_tick",       # woodblock
    121: "noise_wind",       # breath noise
    122: "noise_wind",       # seashore
}

# Preset -> the GM program written on export (first program that maps to it,
# or a hand-picked representative where that reads better in a DAW).
_EXPORT_PROGRAM = {
    "sine": 80, "square": 80, "saw": 81, "triangle": 80, "pulse": 80, "noise": 120,
    "bass": 38, "pad": 88, "lead": 84, "pluck": 0, "organ": 16, "calliope": 82,
    "reed": 21, "brass_stab": 61, "strings": 48, "choir": 52, "bell": 14,
    "glass_harmonica": 92, "sub_drone": 47, "noise_wind": 121, "clock_tick": 115,
    "cmi_bell": 98, "cmi_choir": 53, "cmi_voice": 54,
}


def family_name(program: int) -> str:
    """GM family of 0-based ``program`` (e.g. ``"guitar"`` for 25)."""
    return FAMILIES[(int(program) & 0x7F) // 8][0]


def preset_for_program(program: int) -> str:
    """Preset name for 0-based GM ``program`` (0..127)."""
    program = int(program) & 0x7F
    return PROGRAM_OVERRIDES.get(program, FAMILIES[program // 8][1])


def program_for_preset(preset: str) -> int:
    """0-based GM program written on export for ``preset``.

    Unknown presets (user patches) fall back to 0; the inverse holds for
    every preset in the table: ``preset_for_program(program_for_preset(p))``
    is ``p`` for every preset with an entry except the plain waveforms
    (sine, triangle, pulse), which have no GM equivalent.
    """
    return _EXPORT_PROGRAM.get(preset, 0)


#: Every preset name this module knows (the reader trusts an instrument-name
#: event only if it is one of these, as written by :func:`synth.midi.write_midi`).
KNOWN_PRESETS = frozenset(_EXPORT_PROGRAM) | DRUM_PRESETS
