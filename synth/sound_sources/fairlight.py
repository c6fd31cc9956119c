"""The Fairlight CMI voice: Mode 1 (32-segment wavetable) and Mode 4 (one-shot sample).

It follows the machine rather than the generic voice: an 8-bit waveform
stepped out at a pitch-proportional clock, then the envelope (a VCA after
the DAC), then the key-tracked output low-pass
(:func:`synth.dsp.fairlight.voice`), hence ``applies_envelope``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import seeds
from ..dsp import fairlight, vowel
from ..errors import PatchError
from ..params import Param
from ..units import midi_to_hz
from .registry import NoteContext, Source, register_source
from .spectral import check_pages, cycle_spectrum, harmonic_spectrum

if TYPE_CHECKING:
    from ..patch import Patch

__all__ = ["MODE4_MAX_SAMPLES", "FAIRLIGHT_SERIES", "builtin_sample"]

#: A Mode-4 sample is cut to one voice's memory: 128 segments x 128 bytes.
MODE4_MAX_SAMPLES = 128 * 128
FAIRLIGHT_SERIES = ("I", "II")
#: Mode 1 stores one drawn cycle of this many samples.
MODE1_CYCLE = 128


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


@lru_cache(maxsize=8)
def builtin_sample(rate_hz: float) -> np.ndarray:
    """The built-in Mode-4 sample (:func:`synth.dsp.vowel.breathy_vowel`) at ``rate_hz``, read-only."""
    noise = seeds.rng(0, "voice", "builtin-mode4-sample").standard_normal(MODE4_MAX_SAMPLES)
    y = vowel.breathy_vowel(rate_hz, noise)
    y.setflags(write=False)
    return y


@lru_cache(maxsize=16)
def _user_sample(path: str, mtime: float, rate_hz: float) -> np.ndarray:
    from scipy.signal import resample_poly

    from ..audio import read_audio   # the only soundfile user
    data, file_sr = read_audio(path)
    mono = data.mean(axis=0)
    if int(round(rate_hz)) != file_sr:          # "recorded" into the machine at its rate
        g = np.gcd(int(round(rate_hz)), int(file_sr))
        mono = resample_poly(mono, int(round(rate_hz)) // g, int(file_sr) // g)
    mono = mono[:MODE4_MAX_SAMPLES]
    peak = np.max(np.abs(mono)) if len(mono) else 0.0
    if peak == 0:
        raise PatchError(f"params.sample {path!r} is silent")
    y = mono / peak * 127 / 128
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


def _render(note: NoteContext, a: int, m: int, freq: Any, lfo_values, envelope) -> np.ndarray:
    patch, sr = note.patch, note.sr
    series = fairlight.SERIES[patch.param("series")]
    if patch.param("mode") == 1:          # its VCA and output filter state carried
        stored = _mode1_table(patch.param("pages"), patch.param("cycle"))
        loops = fairlight.mode1_loops(note.note_hz, patch.param("segment_seconds"))
        y, note.source_state = fairlight.voice(
            stored, freq, sr=sr, n=m, mode=1, series=series, loops=loops,
            envelope=envelope, brightness=patch.param("brightness"), state=note.source_state)
        return y
    rate = patch.param("rate_hz") or series.max_rate_hz
    y, _ = fairlight.voice(_mode4_sample(patch, float(rate)), freq, sr=sr, n=m, mode=4,
                           series=series, root_freq=float(midi_to_hz(patch.param("root"))),
                           rate_hz=rate, envelope=envelope, brightness=patch.param("brightness"))
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
        "brightness": Param("float", 0.5, 0.05, 2, doc="output filter cutoff / (clock / 2)"),
    },
    render=_render, applies_envelope=True,
    segmentable=lambda p: p.param("mode") == 1,
    cost=lambda p: 10.0 if p.param("mode") == 1 else 21.0,
    check=_check, spectrum=_spectrum))
