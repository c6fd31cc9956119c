"""A percussion kit played from the built-in sample library through Mode 4.

The CMI had no drum machine: its percussion was sampled hits (bass drum,
snare, woodblock, cymbals, gongs) played on the keyboard or from Page R.
This kit maps General MIDI drum notes (channel 10) to voices of
:mod:`synth.dsp.cmi_library`, each played at a fixed pitch relative to its
recorded root (toms are one tuned drum at six pitches, hats a cymbal sped
up and cut short), with its own hold and damping so a closed hat is short
and a gong rings.  Notes without an entry play the tuned drum at the note's
own pitch.

Public API
----------
KitHit : one entry (voice, semitones from its root, gain, hold, damping)
KIT : dict of GM note -> KitHit
hit_for_note(note) -> KitHit
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KitHit", "KIT", "hit_for_note", "GENERIC_VOICE", "reference_table"]


@dataclass(frozen=True)
class KitHit:
    """How one drum note plays.

    Attributes
    ----------
    name : str
        What the hit is (for docs and listings).
    voice : str
        Library voice (:data:`synth.dsp.cmi_library.VOICES`).
    semitones : float
        Playback pitch relative to the voice's recorded root (the DAC clock
        is ``2 ** (semitones / 12)`` times the recording rate).
    gain_db : float
        Level of the hit in the kit's mix.
    hold : float
        Seconds the hit sounds at full level before its damping starts (the
        written note length does not matter: drums are one-shots).
    damping : float
        Seconds to fall 60 dB after the hold.
    """

    name: str
    voice: str
    semitones: float
    gain_db: float
    hold: float
    damping: float


#: Voice played (at the note's own pitch) by notes the kit does not list.
GENERIC_VOICE = "tuned_drum"

KIT: dict[int, KitHit] = {
    35: KitHit("acoustic bass drum", "bass_drum", -2.0, 0.0, 0.35, 0.25),
    36: KitHit("bass drum", "bass_drum", 0.0, 0.0, 0.3, 0.22),
    37: KitHit("side stick", "woodblock", 7.0, -8.0, 0.03, 0.05),
    38: KitHit("snare", "snare", 0.0, -2.0, 0.15, 0.2),
    39: KitHit("hand clap", "vocal_ha", 19.0, -8.0, 0.04, 0.08),
    40: KitHit("electric snare", "snare", 2.0, -2.0, 0.12, 0.15),
    41: KitHit("low floor tom", "tuned_drum", -5.0, -3.0, 0.3, 0.35),
    43: KitHit("high floor tom", "tuned_drum", -2.0, -3.0, 0.28, 0.32),
    45: KitHit("low tom", "tuned_drum", 0.0, -3.0, 0.25, 0.3),
    47: KitHit("low-mid tom", "tuned_drum", 3.0, -3.0, 0.22, 0.28),
    48: KitHit("hi-mid tom", "tuned_drum", 5.0, -3.0, 0.2, 0.26),
    50: KitHit("high tom", "tuned_drum", 8.0, -3.0, 0.18, 0.24),
    42: KitHit("closed hi-hat", "cymbal", 12.0, -12.0, 0.02, 0.06),
    44: KitHit("pedal hi-hat", "cymbal", 10.0, -14.0, 0.02, 0.05),
    46: KitHit("open hi-hat", "cymbal", 12.0, -11.0, 0.15, 0.25),
    49: KitHit("crash cymbal", "cymbal", 0.0, -6.0, 0.4, 0.6),
    57: KitHit("crash cymbal 2", "cymbal", 1.0, -6.0, 0.4, 0.6),
    51: KitHit("ride cymbal", "cymbal", 5.0, -10.0, 0.25, 0.5),
    59: KitHit("ride cymbal 2", "cymbal", 6.0, -10.0, 0.25, 0.5),
    52: KitHit("gong (GM: Chinese cymbal)", "gong", 0.0, -3.0, 1.2, 1.0),
    53: KitHit("ride bell", "glass", 0.0, -9.0, 0.2, 0.5),
    55: KitHit("splash cymbal", "cymbal", 7.0, -8.0, 0.15, 0.35),
    56: KitHit("cowbell", "metal_plate", 24.0, -10.0, 0.08, 0.15),
    76: KitHit("high woodblock", "woodblock", 0.0, -4.0, 0.08, 0.06),
    77: KitHit("low woodblock", "woodblock", -5.0, -4.0, 0.1, 0.08),
}


def hit_for_note(note: float) -> KitHit | None:
    """The kit's entry for GM drum ``note`` (rounded), or ``None`` (play :data:`GENERIC_VOICE`)."""
    return KIT.get(int(round(note)))


def reference_table() -> list[str]:
    """Markdown table of the kit (for ``docs/reference.md``): one row per GM note."""
    rows = ["| GM note | hit | library voice | pitch | level | hold / damping |",
            "|---|---|---|---|---|---|"]
    for note in sorted(KIT):
        h = KIT[note]
        rows.append(f"| {note} | {h.name} | `{h.voice}` | {h.semitones:+g} semitones | "
                    f"{h.gain_db:g} dB | {h.hold:g} s / {h.damping:g} s |")
    return rows + [f"| other | the note's own pitch | `{GENERIC_VOICE}` | the note | 0 dB | "
                   "0.25 s / 0.3 s |", ""]
