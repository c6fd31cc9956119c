"""The preset table: named patches spanning the palette.

Importing this module registers every preset in :data:`synth.patch.PRESETS`
(the package imports it, so ``synth.get_preset("cmi_bell")`` just works).
Each entry has a one-line description (shown by ``synth presets``) and a
comment on its design.  The character aimed at is the Fairlight's: brittle,
metallic 8-bit voices, bells, reeds, calliope organs and drones; the
``cmi_*`` presets play through the Fairlight voice kernel (8-bit waveform,
per-voice clock, Mode-1 harmonic pages, output low-pass, 8 voices).

Names other code relies on (MIDI program mapping, arrangements): sine, saw,
square, triangle, pulse, noise, bass, pad, lead, pluck, organ, calliope,
reed, brass_stab, strings, choir, bell, glass_harmonica, sub_drone,
noise_wind, clock_tick, cmi_bell, cmi_choir, cmi_voice, drums, cmi_drums.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .patch import Envelope, Filter, Lfo, Patch, PitchEnv, register_preset

if TYPE_CHECKING:
    from .score import Score

__all__ = ["PRESET_TABLE", "REQUIRED_PRESETS", "CMI_PRESETS", "audition_score"]

#: Preset names that other parts of synth (and users' files) rely on.
REQUIRED_PRESETS = (
    "sine", "saw", "square", "triangle", "pulse", "noise", "bass", "pad", "lead", "pluck",
    "organ", "calliope", "reed", "brass_stab", "strings", "choir", "bell", "glass_harmonica",
    "sub_drone", "noise_wind", "clock_tick", "cmi_bell", "cmi_choir", "cmi_voice", "drums",
    "cmi_drums",
)


def _pages(base, decay_per_segment=None, segments: int = 1, grow=None):
    """Harmonic pages: ``base[h] * exp(-decay[h] * s) (+ grow[h] * s/(S-1))`` per segment ``s``."""
    base = np.asarray(base, dtype=np.float64)
    s = np.arange(segments)[:, None]
    amp = np.repeat(base[None, :], segments, axis=0)
    if decay_per_segment is not None:
        amp = amp * np.exp(-np.asarray(decay_per_segment)[None, :] * s)
    if grow is not None and segments > 1:
        amp = amp + np.asarray(grow)[None, :] * s / (segments - 1)
    return tuple(tuple(round(float(v), 5) for v in row) for row in amp)


def _formant_weights(harmonics: int, centres_h, widths_h, gains) -> np.ndarray:
    """Harmonic amplitudes under Gaussian 'formants' placed on harmonic numbers."""
    h = np.arange(1, harmonics + 1, dtype=np.float64)
    w = np.zeros(harmonics)
    for c, b, g in zip(centres_h, widths_h, gains):
        w += g * np.exp(-((h - c) / b) ** 2)
    return w + 0.3 / h           # a glottal-like 1/h floor keeps the fundamental


_H = np.arange(1, 33, dtype=np.float64)

# Mode-1 bell: 24 harmonics, bright at the strike; upper harmonics die faster
# (a struck bar's high modes are the most damped), over 16 segments.
_CMI_BELL_PAGES = _pages(np.where(np.isin(np.arange(1, 25), [1, 2, 3, 5, 7, 9, 11, 13, 17, 19]),
                                  [1.0, 0.6, 0.5, 0.0, 0.45, 0.0, 0.4, 0.0, 0.3, 0.0, 0.28, 0.0,
                                   0.22, 0.0, 0.0, 0.0, 0.18, 0.0, 0.15, 0.0, 0.0, 0.0, 0.0, 0.0],
                                  0.0),
                         decay_per_segment=0.05 * np.arange(1, 25), segments=16)
# Choir "ooh" -> "aah": formants drift from harmonics 2/4 to 3/5 across 12 segments.
_CMI_CHOIR_PAGES = tuple(
    tuple(round(float(v), 5) for v in _formant_weights(
        20, (2.0 + s / 11, 4.0 + s / 11 * 1.5, 9.0), (0.9, 1.2, 2.0), (1.0, 0.55, 0.12)))
    for s in range(12))
# "Synth voice": a nasal 'ee' (low first formant, high second), static.
_CMI_VOICE_PAGES = (tuple(round(float(v), 5) for v in _formant_weights(
    28, (1.2, 9.0, 12.0), (0.6, 1.8, 2.5), (0.8, 0.7, 0.3))),)
# Drawbar organ 8' 4' 2 2/3' 2' 1 3/5' 1 1/3' 1': harmonics 1 2 3 4 5 6 8.
_ORGAN = (1.0, 0.7, 0.45, 0.5, 0.2, 0.3, 0.0, 0.25)


PRESET_TABLE: tuple[Patch, ...] = (
    # ---- basic band-limited shapes: short click-free envelopes, honest spectra
    Patch("sine", "sine", Envelope(0.005, 0.05, 0.9, 0.08), gain_db=-3.0,
          description="pure sine tone with a short, click-free envelope"),
    Patch("saw", "saw", Envelope(0.005, 0.1, 0.75, 0.12),
          description="band-limited sawtooth: bright, buzzy"),
    Patch("square", "square", Envelope(0.005, 0.1, 0.75, 0.12),
          description="band-limited square: hollow, clarinet-like"),
    Patch("triangle", "triangle", Envelope(0.005, 0.1, 0.8, 0.12), gain_db=-3.0,
          description="band-limited triangle: soft, flute-like"),
    # Pulse with a slow PWM LFO: the width swings 0.5 +- 0.3, the classic animated square.
    Patch("pulse", "pulse", Envelope(0.005, 0.15, 0.7, 0.15), params={"width": 0.5},
          lfo=Lfo("triangle", 0.7, to_width=0.3),
          description="band-limited pulse with slow pulse-width modulation"),
    Patch("noise", "noise", Envelope(0.002, 0.15, 0.3, 0.2), gain_db=-12.0,
          description="white noise burst (pitch ignored)"),
    # ---- subtractive instruments
    # Saw + square-ish sub through a 24 dB low-pass with a short filter "pluck"
    # (2 octaves): round but articulate; key tracking keeps high notes open.
    Patch("bass", "saw", Envelope(0.003, 0.3, 0.7, 0.08, "exp"), gain_db=-5.0,
          filter=Filter("lowpass", 24, 420.0, 1.2, key_track=0.5, env_amount=2.0,
                        env_attack=0.002, env_decay=0.18, env_sustain=0.15),
          description="filtered saw bass with a short filter pluck"),
    # Two detuned saws (unison with random phases), soft 12 dB low-pass,
    # slow attack and release: a warm bed without the cost of a big stack.
    Patch("pad", "unison", Envelope(0.45, 0.5, 0.8, 1.2, "exp"), gain_db=-10.0,
          params={"shape": "saw", "voices": 2, "spread_cents": 12.0},
          filter=Filter("lowpass", 12, 1500.0, 0.8, key_track=0.4),
          lfo=Lfo("sine", 4.5, delay=0.6, to_pitch_cents=4.0),
          description="warm detuned-saw pad, slow attack and release"),
    # Narrow-ish pulse, delayed vibrato and a short glide: a monophonic-style lead.
    Patch("lead", "pulse", Envelope(0.01, 0.2, 0.8, 0.15), gain_db=-7.0,
          params={"width": 0.32}, glide=0.04,
          filter=Filter("lowpass", 24, 3200.0, 1.4, key_track=0.6),
          lfo=Lfo("sine", 5.5, delay=0.35, to_pitch_cents=14.0),
          description="pulse lead with delayed vibrato and a touch of glide"),
    # Saw whose 24 dB filter snaps shut (2.5 octaves in 0.12 s) under an
    # exponential amplitude decay: harp, guitar, harpsichord territory.
    Patch("pluck", "saw", Envelope(0.002, 0.5, 0.0, 0.25, "exp"), gain_db=-4.0,
          filter=Filter("lowpass", 24, 700.0, 0.9, key_track=0.8, env_amount=2.5,
                        env_attack=0.0, env_decay=0.12, env_sustain=0.0),
          description="plucked string: saw with a fast-closing filter"),
    # Drawbar registration (8' 4' 2 2/3' 2' 1 3/5' 1 1/3' 1') as one additive
    # page: stable, gapless organ tone; fast key click attack.
    Patch("organ", "additive", Envelope(0.008, 0.05, 1.0, 0.06), gain_db=-6.0,
          params={"pages": (_ORGAN,)},
          description="drawbar organ: additive 8' 4' 2 2/3' 2' 1 3/5' 1 1/3' 1'"),
    # Steam calliope: a nearly pure whistle tone (strong fundamental, weak 2nd
    # and 3rd), a wide fast wobble and a breathy tremolo, slightly sharp.
    Patch("calliope", "additive", Envelope(0.03, 0.1, 0.9, 0.1), gain_db=-5.0,
          params={"pages": ((1.0, 0.28, 0.12, 0.05),)}, detune_cents=0.0,
          lfo=Lfo("sine", 6.5, to_pitch_cents=18.0, to_amp=0.15),
          description="steam calliope: whistle tone with a wide, fast wobble"),
    # Narrow pulse (odd and even harmonics, nasal) through a key-tracked
    # low-pass that keeps a fixed brightness per note: double-reed colour.
    Patch("reed", "pulse", Envelope(0.04, 0.1, 0.85, 0.1), gain_db=-9.0,
          params={"width": 0.18},
          filter=Filter("lowpass", 24, 1800.0, 1.1, key_track=0.8),
          lfo=Lfo("sine", 5.0, delay=0.3, to_pitch_cents=6.0),
          description="reed: narrow pulse, key-tracked low-pass, gentle vibrato"),
    # Brass stab: saw stack, filter blooms open (3 octaves) then settles, a
    # -1 semitone pitch blip at the start, short tail.
    Patch("brass_stab", "unison", Envelope(0.01, 0.25, 0.5, 0.12), gain_db=-8.0,
          params={"shape": "saw", "voices": 3, "spread_cents": 10.0},
          filter=Filter("lowpass", 24, 500.0, 1.0, key_track=0.5, env_amount=3.0,
                        env_attack=0.04, env_decay=0.3, env_sustain=0.35),
          pitch_env=PitchEnv(-1.0, 0.05, "exp"),
          description="brass stab: saws with a blooming filter and a pitch blip"),
    # Strings: four detuned saws, a darker filter, slow bow attack, delayed vibrato.
    Patch("strings", "unison", Envelope(0.25, 0.3, 0.85, 0.6, "exp"), gain_db=-10.0,
          params={"shape": "saw", "voices": 4, "spread_cents": 12.0},
          filter=Filter("lowpass", 12, 2600.0, 0.7, key_track=0.5),
          lfo=Lfo("sine", 5.2, delay=0.4, to_pitch_cents=7.0),
          description="string ensemble: detuned saws, bowed attack, vibrato"),
    # Choir: additive "aah" (formant-weighted harmonics) morphing from "ooh",
    # slow attack, choral vibrato.
    Patch("choir", "additive", Envelope(0.3, 0.3, 0.9, 0.8, "exp"), gain_db=-6.0,
          params={"pages": _CMI_CHOIR_PAGES, "segment_seconds": 0.1},
          lfo=Lfo("sine", 5.0, delay=0.2, to_pitch_cents=9.0),
          description="additive choir: 'ooh' opening to 'aah', choral vibrato"),
    # Church-bell partials (hum 0.5, prime 1, tierce 1.183, quint 1.506,
    # nominal 2, ...), each with its own decay; the prime is the loudest so
    # the bell sounds at the written pitch.  A 4 ms attack: a 1 ms one
    # clicked (a burst of highs 6-14 dB over the ring, C3-C5).
    Patch("bell", "partials", Envelope(0.004, 0.0, 1.0, 1.5, "exp"), gain_db=-4.0,
          params={"ratios": (0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011, 4.166),
                  "amps": (0.35, 1.0, 0.45, 0.3, 0.55, 0.2, 0.22, 0.15, 0.08),
                  "decays": (7.0, 5.0, 3.5, 3.0, 2.5, 1.8, 1.6, 1.2, 0.8)},
          description="tuned bell: inharmonic church-bell partials, each decaying"),
    # Glass harmonica: almost pure partials (a rubbed glass), slow swell,
    # soft beating tremolo, long ring.
    Patch("glass_harmonica", "partials", Envelope(0.12, 0.2, 0.9, 1.4, "exp"), gain_db=-7.0,
          params={"ratios": (1.0, 2.002, 3.01, 4.2), "amps": (1.0, 0.2, 0.07, 0.03),
                  "decays": (0.0, 0.0, 0.0, 0.0)},
          lfo=Lfo("sine", 4.2, to_amp=0.18),
          description="glass harmonica: pure, swelling, gently beating"),
    # Sub drone: an octave down, sine with a touch of 2nd/3rd harmonic, very
    # slow swell and release, a barely moving pitch.
    Patch("sub_drone", "additive", Envelope(1.5, 1.0, 1.0, 3.0, "exp"), gain_db=-3.0, octave=-1,
          params={"pages": ((1.0, 0.3, 0.1),)},
          lfo=Lfo("sine", 0.15, to_pitch_cents=3.0),
          description="sub drone an octave down: slow swell, near-sine"),
    # Wind: pink noise through a resonant band-pass centred on the note, its
    # centre wandering by an octave with a slow LFO.
    Patch("noise_wind", "pink", Envelope(1.0, 0.5, 0.9, 2.0, "exp"), gain_db=-2.0,
          filter=Filter("bandpass", 24, 700.0, 3.0, key_track=1.0),
          lfo=Lfo("sine", 0.12, to_cutoff_octaves=1.0),
          description="wind: pink noise in a wandering resonant band (the note sets the band)"),
    # Clock tick: a woodblock-like FM strike (ratio 3.5, index decaying fast)
    # through a high-pass, one-shot 40 ms.
    Patch("clock_tick", "fm2", Envelope(kind="multi", levels=(0.0, 1.0, 0.0), times=(0.0005, 0.045),
                                        curve="exp"),
          gain_db=-4.0, params={"ratio": 3.5, "index": 4.0, "index_floor": 0.1, "index_time": 0.008},
          filter=Filter("highpass", 12, 600.0),
          description="clock tick: short FM woodblock strike (one-shot)"),
    # ---- the Fairlight voices (8-bit, per-voice clock, 8-voice limit)
    # All but cmi_sample play through MAME's model of the CMI-01A channel
    # card (params.card = "cmi01a"): the SSM2045 output filter at the filter
    # latch, stepping by octave register, the 8-bit envelope counter and
    # zero-crossing gating.  A high latch (220-250) leaves the filter open
    # enough for the DAC images to be heard, as on the records.
    #
    # Mode 4: sampled voices of the built-in library (synth.dsp.cmi_library),
    # each stepped out at a clock proportional to the played pitch: below the
    # voice's root the clock drops and its images fall into the audible band,
    # half-way between the harmonics (inharmonic, moving with the pitch).
    Patch("cmi_choir", "fairlight", Envelope(0.08, release=0.9, kind="cmi"), gain_db=-1.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "choir_aah", "card": "cmi01a",
                                "latch": 235},
          description="Fairlight choir: sampled breathy 'aah' (8-bit, looped), Mode 4"),
    Patch("cmi_ooh", "fairlight", Envelope(0.1, release=1.0, kind="cmi"), gain_db=-1.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "male_ooh", "card": "cmi01a",
                                "latch": 225},
          description="Fairlight male 'ooh': a quiet recording, its 8-bit hiss turned up"),
    # Tubular bell sampled at 12.1 kHz to hold 1.35 s of ring in 16 KB: its
    # images sit in the 5-12 kHz band around the root.
    Patch("cmi_bell", "fairlight", Envelope(0.0, release=1.6, kind="cmi"), gain_db=-2.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "tubular_bell", "card": "cmi01a",
                                "latch": 240},
          description="Fairlight bell: sampled tubular bell at a low rate, gritty ring"),
    Patch("cmi_glass", "fairlight", Envelope(0.0, release=1.0, kind="cmi"), gain_db=-3.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "glass", "card": "cmi01a",
                                "latch": 240},
          description="Fairlight struck glass: sparse modes, bright and brittle"),
    Patch("cmi_plate", "fairlight", Envelope(0.0, release=0.8, kind="cmi"), gain_db=-1.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "metal_plate", "card": "cmi01a",
                                "latch": 245},
          description="Fairlight metal plate: dense inharmonic clang"),
    Patch("cmi_strings", "fairlight", Envelope(0.12, release=0.7, kind="cmi"), gain_db=-3.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "bowed_string", "card": "cmi01a",
                                "latch": 230},
          description="Fairlight strings: a sampled bowed low string, looped, Mode 4"),
    Patch("cmi_pluck", "fairlight", Envelope(0.0, release=0.4, kind="cmi"), gain_db=-3.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "plucked_string", "card": "cmi01a",
                                "latch": 235},
          description="Fairlight pluck: a sampled plucked string"),
    Patch("cmi_breath", "fairlight", Envelope(0.25, release=1.2, kind="cmi"), gain_db=-2.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "breath", "card": "cmi01a",
                                "latch": 250},
          description="Fairlight breath: quietly recorded wind noise, 8-bit hiss and all"),
    Patch("cmi_ha", "fairlight", Envelope(0.0, release=0.3, kind="cmi"), gain_db=-2.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "vocal_ha", "card": "cmi01a",
                                "latch": 235},
          description="Fairlight vocal 'ha': a sampled sung stab"),
    Patch("cmi_tom", "fairlight", Envelope(0.0, release=0.4, kind="cmi"), gain_db=-2.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "tuned_drum", "card": "cmi01a",
                                "latch": 235},
          description="Fairlight tuned drum: membrane modes, playable as a melody"),
    Patch("cmi_gong", "fairlight", Envelope(0.0, release=2.0, kind="cmi"), gain_db=-2.0,
          max_voices=8, params={"mode": 4, "series": "II", "voice": "gong", "card": "cmi01a",
                                "latch": 240},
          description="Fairlight gong: low modes with a late bloom, sampled at 10 kHz"),
    # The percussion kit: the GM drum note picks a sampled hit
    # (synth.dsp.cmi_kit): bass drum, snare with rattling wires, toms,
    # woodblocks, cymbals, hats, gong; every hit is a one-shot.
    Patch("cmi_drums", "cmi_kit", Envelope(0.0, 0.0, 1.0, 0.0), gain_db=-1.0, max_voices=16,
          params={"series": "II", "card": "cmi01a", "latch": 235},
          description="Fairlight drum kit: sampled hits by GM drum note (channel 10)"),
    # Mode 1: waveform voices from the harmonic pages, through the same card
    # (cmi_organ keeps the classic clock-tracking filter: a clean reference).
    # Mode-1 'synth voice': a static nasal 'ee' with many harmonics: the
    # brittle, metallic vocal of early-80s records.
    Patch("cmi_voice", "fairlight", Envelope(0.06, release=0.5, kind="cmi"), gain_db=-5.0,
          max_voices=8, lfo=Lfo("sine", 5.5, delay=0.3, to_pitch_cents=8.0),
          params={"mode": 1, "series": "II", "pages": _CMI_VOICE_PAGES, "card": "cmi01a",
                  "latch": 215},
          description="Fairlight synth voice: nasal 8-bit 'ee', bright and brittle"),
    # Mode-1 bell (the earlier cmi_bell): 16 harmonic pages, upper harmonics
    # dying first; the envelope decays while held.
    Patch("cmi_bell_pages", "fairlight", Envelope(0.002, release=1.6, kind="cmi", held_damping=2.5),
          gain_db=-4.0, max_voices=8,
          params={"mode": 1, "series": "II", "pages": _CMI_BELL_PAGES, "segment_seconds": 0.09,
                  "card": "cmi01a", "latch": 210},
          description="Fairlight Mode-1 bell: 8-bit harmonic pages fading to a pure tone"),
    # Mode-1 choir (the earlier cmi_choir): formant pages drifting 'ooh' ->
    # 'aah', slow attack, vibrato, Series I.
    Patch("cmi_choir_pages", "fairlight", Envelope(0.25, release=0.9, kind="cmi"), gain_db=-5.0,
          max_voices=8, lfo=Lfo("sine", 5.0, delay=0.25, to_pitch_cents=10.0),
          params={"mode": 1, "series": "I", "pages": _CMI_CHOIR_PAGES, "segment_seconds": 0.12,
                  "card": "cmi01a", "latch": 200},
          description="Fairlight Mode-1 choir: 8-bit formant pages, slow attack, vibrato"),
    Patch("cmi_organ", "fairlight", Envelope(0.005, release=0.15, kind="cmi"), gain_db=-6.0,
          max_voices=8, params={"mode": 1, "series": "I", "pages": (_ORGAN,)},
          description="Fairlight organ: drawbar cycle in 8 bits, Series I"),
    # Mode 4 with your own sample: a one-shot stepped out at the pitch-scaled
    # clock.  The default is a built-in synthetic breathy vowel (no recording
    # shipped); set params.sample to your own WAV (resampled to the series'
    # rate, cut to 16 KB of voice memory, fading out where memory ends).
    Patch("cmi_sample", "fairlight", Envelope(0.002, release=0.3, kind="cmi"), gain_db=-4.0,
          max_voices=8, params={"mode": 4, "series": "II", "root": 60.0},
          description="Fairlight Mode 4: a one-shot sample (params.sample = your WAV)"),
    # ---- more colours
    Patch("fm_bell", "fm2", Envelope(0.001, 2.5, 0.0, 1.2, "exp"), gain_db=-6.0,
          params={"ratio": 3.5, "index": 5.0, "index_floor": 0.15, "index_time": 0.6},
          description="FM bell: ratio 3.5, index falling from 5 (metallic strike)"),
    # Hard sync: the slave sweeps up to a non-integer ratio (an integer one
    # would be a plain saw that many octaves up, with no fundamental).
    Patch("sync_lead", "sync", Envelope(0.005, 0.3, 0.7, 0.15), gain_db=-9.0,
          params={"ratio": 1.5, "ratio_end": 3.3, "sweep_time": 0.4},
          filter=Filter("lowpass", 12, 5000.0, 0.8, key_track=0.5),
          description="hard-sync lead: slave ratio sweeping 1.5 -> 3.3 at each note"),
    Patch("supersaw", "unison", Envelope(0.02, 0.3, 0.8, 0.4), gain_db=-11.0,
          params={"shape": "saw", "voices": 7, "spread_cents": 28.0},
          description="supersaw: seven detuned saws with random phases"),
    Patch("ring_bell", "ring", Envelope(0.001, 1.2, 0.0, 0.6, "exp"), gain_db=-6.0,
          params={"shape": "triangle", "ratio": 2.76, "mix": 0.8},
          description="ring-modulated triangle: clangorous, inharmonic"),
    # Drum kit: the note picks the drum (GM map); every drum is one-shot.
    Patch("drums", "drums", Envelope(0.0, 0.0, 1.0, 0.0), gain_db=-6.0, velocity_curve=1.5,
          description="synthetic drum kit: note number selects the drum (GM map)"),
)

for _patch in PRESET_TABLE:
    register_preset(_patch)

#: The presets that play through the Fairlight voice kernel.
CMI_PRESETS = tuple(p.name for p in PRESET_TABLE if p.source == "fairlight")


# ---------------------------------------------------------------- auditions

#: Register (MIDI pitch of the phrase's root) for presets that want one.
_AUDITION_ROOT = {"bass": 36, "sub_drone": 48, "pluck": 55, "bell": 72, "fm_bell": 72,
                  "cmi_bell": 67, "cmi_bell_pages": 72, "glass_harmonica": 72, "ring_bell": 69,
                  "clock_tick": 84, "calliope": 67, "lead": 67, "sync_lead": 64,
                  # sampled voices: around and below their roots, where the grit is
                  "cmi_choir": 45, "cmi_ooh": 40, "cmi_strings": 40, "cmi_pluck": 43,
                  "cmi_glass": 67, "cmi_plate": 45, "cmi_ha": 45, "cmi_tom": 40, "cmi_gong": 36}


def audition_score(name: str, *, bpm: float = 120.0) -> Score:
    """A short phrase that shows off preset ``name``: four rising notes and a chord.

    The ``drums`` kit plays two bars of kick, snare, hats, toms and a crash
    (``cmi_drums`` adds woodblocks and a gong); sampled voices play around
    and below their roots, where the Mode-4 grit is;
    ``noise``/``noise_wind`` one long swell; ``clock_tick`` eight ticks.

    Returns
    -------
    synth.score.Score
        One part called ``name`` playing the preset, at ``bpm``.
    """
    from .patch import get_preset
    from .score import Metadata, Note, Part, Score, TempoMap

    patch = get_preset(name)                           # PatchError for an unknown name
    if name == "drums" or (patch.source == "fairlight" and patch.param("voice") == "kit"):
        notes = []
        for i in range(16):                            # two 4/4 bars of eighth notes
            beat = i * 0.5
            notes.append(Note(beat, 0.25, 42 if i % 4 != 3 else 46, 70 + 20 * (i % 2 == 0)))
            if i % 4 == 0:
                notes.append(Note(beat, 0.25, 36, 115))
            if i % 4 == 2:
                notes.append(Note(beat, 0.25, 38, 105))
        notes += [Note(7.0, 0.25, 45, 100), Note(7.25, 0.25, 43, 100), Note(7.5, 0.25, 41, 105),
                  Note(8.0, 1.0, 49, 110), Note(8.0, 1.0, 36, 120)]
        if name != "drums":                            # the sampled kit's own colours
            notes += [Note(9.0, 0.25, 76, 100), Note(9.25, 0.25, 77, 100),
                      Note(9.5, 0.25, 76, 90), Note(10.0, 2.0, 52, 110)]
    elif name in ("noise", "noise_wind"):
        notes = [Note(0.0, 6.0, 64, 100)]
    elif name == "clock_tick":
        notes = [Note(i * 0.5, 0.1, 84 if i % 2 == 0 else 79, 100) for i in range(8)]
    else:
        root = _AUDITION_ROOT.get(name, 60)
        notes = [Note(i * 0.5, 0.5, root + step, 96) for i, step in enumerate((0, 4, 7, 12))]
        notes += [Note(2.0, 2.0, root + step, 90) for step in (0, 3, 7, 10)]
    part = Part(name, tuple(notes), preset=name)
    return Score(parts=(part,), tempo=TempoMap.constant(bpm),
                 metadata=Metadata(title=f"synth preset audition: {name}"))
