"""The Fairlight CMI voice: Mode 1 (32-segment wavetable) and Mode 4 (sample).

It follows the machine rather than the generic voice: an 8-bit waveform
stepped out at a pitch-proportional clock, then the envelope (a VCA after
the DAC), then the key-tracked output low-pass
(:func:`synth.dsp.fairlight.voice`), hence ``applies_envelope``.

Mode 4 plays a WAV file (``params.sample``), the built-in vowel, or a voice
of the built-in sample library (``params.voice``,
:mod:`synth.dsp.cmi_library`: its own root, rate, level and loop).
``params.card`` picks the channel card: ``"classic"`` (a clock-tracking
4-pole filter at ``params.brightness``, the smooth CMI envelope) or
``"cmi01a"``, MAME's model of the CMI-01A (src/mame/fairlight/cmi01a.cpp,
``update_filters()``): the SSM2045 at the filter latch
(:func:`synth.dsp.fairlight.ssm2045_cutoff`), the 8-bit envelope counter
with its level-dependent speed and zero-crossing gating
(:func:`synth.dsp.fairlight.channel_card_envelope`, this source's
``envelope`` hook).  The cutoff steps by octave register by default, as the
hardware does (the software may rewrite the latch per note, unconfirmed):
``params.tracking = "note"`` follows every note instead.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import seeds
from ..dsp import cmi_library, fairlight, modulation, vowel
from ..errors import PatchError
from ..params import Param
from ..units import midi_to_hz
from .registry import CONTROL_SAMPLES, NoteContext, Source, Steps, register_source
from .spectral import check_pages, cycle_spectrum, harmonic_spectrum

if TYPE_CHECKING:
    from ..patch import Patch

__all__ = ["MODE4_MAX_SAMPLES", "FAIRLIGHT_SERIES", "CARDS", "builtin_sample", "card_filter",
           "voice_clock", "card_envelope"]

#: A Mode-4 sample is cut to one voice's memory: 128 segments x 128 bytes.
MODE4_MAX_SAMPLES = 128 * 128
FAIRLIGHT_SERIES = ("I", "II")
#: Channel-card models (see the module docstring).
CARDS = ("classic", "cmi01a")
#: Mode 1 stores one drawn cycle of this many samples.
MODE1_CYCLE = 128
#: The band-limited Mode-1 tables of this process's notes (bounded: 48 MB, least
#: recently used out): the notes of a patch at nearby pitches share them.
_TABLES = fairlight.WavetableCache(48 << 20)


@lru_cache(maxsize=64)
def _mode1_table(pages: tuple, cycle: tuple) -> np.ndarray:
    if cycle:
        c = np.asarray(cycle, dtype=np.float64)
        c = c - c.mean()
        peak = np.max(np.abs(c))
        table = (c / peak * 127.0 / 128.0 if peak > 0 else c)[None, :]
    else:
        table = fairlight.mode1_table_from_harmonics(np.asarray(pages, dtype=np.float64))
    table = fairlight.quantize_8bit(table)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=None)
def _library_words(name: str) -> np.ndarray:
    """A library voice's 8-bit words as the DAC's values (/ 128: on the grid), read-only."""
    words = cmi_library.voice(name).data / 128.0
    words.setflags(write=False)
    return words


@lru_cache(maxsize=8)
def builtin_sample(rate_hz: float) -> np.ndarray:
    """The built-in Mode-4 sample (:func:`synth.dsp.vowel.breathy_vowel`) at ``rate_hz``, read-only."""
    noise = seeds.rng(0, "voice", "builtin-mode4-sample").standard_normal(MODE4_MAX_SAMPLES)
    # the vowel fills the memory: it ends on the fade (it fell from -20 dBFS to silence)
    y = fairlight.memory_end_fade(vowel.breathy_vowel(rate_hz, noise), rate_hz)
    y.setflags(write=False)
    return y


@lru_cache(maxsize=16)
def _user_sample(path: str, mtime: float, rate_hz: float) -> np.ndarray:
    from ..audio import read_sample   # the only soundfile user
    rate = int(round(rate_hz))

    def frames_needed(file_sr: int) -> int:
        # the MODE4_MAX_SAMPLES kept after resampling, plus the resampling filter's reach:
        # a long file costs what its first 16 K samples cost
        g = np.gcd(rate, file_sr)
        up, down = rate // g, file_sr // g
        return -(-MODE4_MAX_SAMPLES * down // up) + 10 * max(up, down) // up + 2

    # refuses a FIFO or device, a sample rate under 1000 Hz and NaN/inf samples, naming the file
    mono, file_sr = read_sample(path, max_frames=frames_needed)
    try:                                        # "recorded" into the machine at its rate
        y, _ = fairlight.sample_to_memory(mono, source_rate_hz=file_sr, series=None, rate_hz=rate,
                                          max_words=MODE4_MAX_SAMPLES, normalize=True)
    except ValueError:                          # the one refusal left: a silent recording
        raise PatchError(f"params.sample {path!r} is silent") from None
    y.setflags(write=False)
    return y


def _mode4_sample(patch: "Patch", rate_hz: float) -> np.ndarray:
    path = patch.param("sample")
    if not path:
        return builtin_sample(rate_hz)
    try:
        mtime = os.stat(path).st_mtime
    except OSError as e:
        raise PatchError(f"patch {patch.name!r}: 'params.sample' {path!r} cannot be read: "
                         f"{e.strerror}") from None
    return _user_sample(os.path.abspath(path), mtime, rate_hz)


def card_filter(patch: "Patch") -> dict:
    """Output-filter arguments of :func:`synth.dsp.fairlight.voice` for the patch's card."""
    if patch.param("card") == "cmi01a":
        return {"latch": patch.param("latch"), "tracking": patch.param("tracking")}
    return {"brightness": patch.param("brightness")}


def voice_clock(patch: "Patch", freq_hz: float, voice_name: str | None = None) -> float:
    """The DAC clock (Hz) of a note at ``freq_hz``, after the series' clock law."""
    series = fairlight.SERIES[patch.param("series")]
    if voice_name is None and patch.param("mode") == 1:
        clock = fairlight.mode1_clock(freq_hz)
    else:
        name = voice_name or patch.param("voice")
        if name:
            spec = cmi_library.VOICES[name]
            root, rate = spec.root_hz, spec.rate_hz
        else:
            root = float(midi_to_hz(patch.param("root")))
            rate = patch.param("rate_hz") or series.max_rate_hz
        clock = fairlight.mode4_clock(freq_hz, root_freq=root, rate_hz=rate)
    if series.clock_law == "iix":
        clock = fairlight.quantize_clock(clock)
    return float(clock)


def card_envelope(patch: "Patch", n: int, *, sr: float, gate: int, clock: float, start: int,
                  attack: float, damping: float, held_damping: float | None = None) -> np.ndarray:
    """The CMI envelope on the patch's card: the CMI-01A counter or the smooth one."""
    if patch.param("card") == "cmi01a":
        return fairlight.channel_card_envelope(
            n, sr=sr, gate_samples=gate, attack=attack, damping=damping, held_damping=held_damping,
            zero_crossing_samples=fairlight.ZERO_CROSSING_TICKS * sr / clock, start=start)
    return modulation.cmi_envelope(n, sr=sr, gate_samples=gate, attack=attack, damping=damping,
                                   held_damping=held_damping, start=start)


def _envelope(note: NoteContext, a: int, m: int):
    """The CMI-01A counter for a 'cmi' envelope on card 'cmi01a' (it needs the clock)."""
    patch = note.patch
    env = patch.envelope
    if patch.param("card") != "cmi01a" or env.kind != "cmi":
        return None
    return card_envelope(patch, m, sr=note.sr, gate=note.gate,
                         clock=voice_clock(patch, note.note_hz), start=a, attack=env.attack,
                         damping=env.release, held_damping=env.held_damping or None)


def _render(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch, sr = note.patch, note.sr
    series = fairlight.SERIES[patch.param("series")]
    # a moving pitch stays a control-rate curve: the clock law runs once a control step
    freq, step = (freq.values, CONTROL_SAMPLES) if isinstance(freq, Steps) else (freq, 1)
    if patch.param("mode") == 1:          # its VCA and output filter state carried
        stored = _mode1_table(patch.param("pages"), patch.param("cycle"))
        loops = fairlight.mode1_loops(note.note_hz, patch.param("segment_seconds"))
        y, note.source_state = fairlight.voice(
            stored, freq, sr=sr, n=m, mode=1, series=series, loops=loops, tables=_TABLES,
            envelope=envelope, state=note.source_state, step=step, quantized=True,
            **card_filter(patch))
        return y
    name = patch.param("voice")
    if name:                              # a voice of the built-in library
        spec, stored = cmi_library.VOICES[name], cmi_library.voice(name)
        y, note.source_state = fairlight.voice(
            _library_words(name), freq, sr=sr, n=m, mode=4, series=series, root_freq=spec.root_hz,
            rate_hz=spec.rate_hz, envelope=envelope, gain=10.0 ** (-spec.level_db / 20.0),
            loop=stored.loop, state=note.source_state, step=step, quantized=True,
            **card_filter(patch))
        return y
    rate = patch.param("rate_hz") or series.max_rate_hz
    y, note.source_state = fairlight.voice(
        _mode4_sample(patch, float(rate)), freq, sr=sr, n=m, mode=4, series=series,
        root_freq=float(midi_to_hz(patch.param("root"))), rate_hz=rate, envelope=envelope,
        state=note.source_state, step=step, **card_filter(patch))
    return y


def _check(patch: "Patch") -> None:
    cycle = patch.param("cycle")
    if cycle and len(cycle) != MODE1_CYCLE:
        raise PatchError(f"'params.cycle' of a Fairlight voice must have {MODE1_CYCLE} values, "
                         f"got {len(cycle)}")


def _spectrum(patch: "Patch") -> tuple[np.ndarray, np.ndarray] | None:
    if patch.param("cycle"):
        return cycle_spectrum(patch.param("cycle"))
    if patch.param("mode") == 1:
        return harmonic_spectrum(np.mean(np.asarray(patch.param("pages")), axis=0))
    # a library voice's measured peaks (cmi_library.partials) are not used
    # here yet: with them the tubular bell's hum and tube modes lower Bells in
    # the Ice's windowed roughness CV from 0.39 to 0.29, under its tension
    # plan's 0.3; the arrangements are being re-orchestrated (issue 14)
    return None


register_source(Source(
    "fairlight", "the Fairlight CMI voice: 8-bit wavetable (Mode 1) or sample (Mode 4) "
    "at a per-voice clock",
    params={
        "mode": Param("choice", 1, choices=(1, 4), doc="1 = 32-segment wavetable, 4 = one-shot sample"),
        "series": Param("choice", "II", choices=FAIRLIGHT_SERIES,
                        doc="I: ~24 kHz, ideal clock; II: ~30 kHz, IIx clock law"),
        "pages": Param("custom", ((1.0, 0.5, 0.33, 0.25, 0.2),), check_fn=check_pages,
                       doc="Mode 1 harmonic pages (rows = segments, <= 32 x 32)"),
        "cycle": Param("floats", (), -10, 10, min_len=0, max_len=MODE1_CYCLE,
                       doc="Mode 1: one drawn 128-sample cycle instead of pages"),
        "segment_seconds": Param("float", 0.08, 0.005, 10, unit="seconds",
                                 doc="Mode 1: time each segment sounds"),
        "sample": Param("path", "", doc="Mode 4: WAV file, relative to the score or arrangement "
                        "file naming it (else the working directory); '' = a built-in "
                        "synthetic sample; mixed to mono, resampled to the series' rate, "
                        "cut to 16384 samples (one voice's memory)"),
        "root": Param("float", 60.0, 0, 127, doc="Mode 4: MIDI pitch of the sample at its own speed"),
        "rate_hz": Param("float", 0.0, 1000, 100000, unit="Hz", off=0.0,
                         doc="Mode 4: recording rate (0 = the series' maximum)"),
        "brightness": Param("float", 0.5, 0.05, 2,
                            doc="output filter cutoff / (clock / 2) (card 'classic')"),
        "voice": Param("choice", "", choices=("", *cmi_library.VOICES),
                       doc="Mode 4: a voice of the built-in sample library (its own root, rate, "
                       "level and loop); '' = params.sample"),
        "card": Param("choice", "classic", choices=CARDS,
                      doc="channel card: 'classic' = clock-tracking 4-pole and the smooth CMI "
                      "envelope; 'cmi01a' = MAME's CMI-01A (SSM2045 filter at the latch, 8-bit "
                      "envelope counter, zero-crossing gating)"),
        "latch": Param("float", 200.0, 0, 255,
                       doc="card 'cmi01a': filter latch (fc = 6410 Hz x 1.02162^(octave x 32 + "
                       "latch - 256), at most 14 kHz)"),
        "tracking": Param("choice", "octave", choices=fairlight.TRACKING,
                          doc="card 'cmi01a': the cutoff steps by octave register (the "
                          "hardware) or follows every note"),
    },
    render=_render, stepped_pitch=True, applies_envelope=True, envelope=_envelope,
    segmentable=lambda p: True,
    check=_check, spectrum=_spectrum))
