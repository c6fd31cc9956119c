"""One note -> samples: a patch played at a pitch, velocity and gate length.

The voice is a pure function of its arguments (the random generator comes in
from the renderer's seed stream), so a note sounds the same wherever it sits
in the piece and however the piece is cut into blocks.

Signal flow of a note (see :class:`synth.patch.Patch`)::

    pitch (+ glide from the previous note, pitch envelope, bend, LFO vibrato)
      -> source (oscillator / additive / FM / sync / ring / noise)
      -> filter (key-tracked cutoff, filter envelope, LFO)
      -> amplitude envelope x velocity x gain (x LFO tremolo)

The Fairlight source follows the machine instead: 8-bit waveform stepped out
at a pitch-proportional clock, then the envelope (a VCA after the DAC), then
the key-tracked output low-pass (:func:`synth.dsp.fairlight.voice`).  The
``drums`` source is a kit: the note number picks a synthetic drum (GM map).

Everything derivable from the patch alone (wavetables, filter designs, the
Mode-1 tables, Mode-4 samples) is cached, so a note costs its samples plus a
few hundred microseconds.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from . import seeds
from .dsp import additive, envelopes, fairlight, filters, fm, modulation, oscillators
from .errors import PatchError
from .patch import Patch
from .units import db_to_amp, midi_to_hz

__all__ = ["note_length", "render_note", "render_note_pieces", "STEAL_FADE_SECONDS", "DRUM_KIT",
           "drum_for_note", "MODE4_MAX_SAMPLES"]

#: Pitch modulation (vibrato, glide, pitch envelope, bend) is evaluated every
#: this many samples and held in between (0.7 ms at 44.1 kHz).
CONTROL_SAMPLES = 32
#: A stolen note fades out over this long, ending where the stealing note starts.
STEAL_FADE_SECONDS = 0.004
#: A Mode-4 sample is cut to one voice's memory: 128 segments x 128 bytes.
MODE4_MAX_SAMPLES = 128 * 128
#: Cutoff modulation moves in steps of 1/8 octave (150 cents), so a sweep
#: needs few coefficient sets (cheap) while each step stays inaudible.
_CUTOFF_STEPS_PER_OCTAVE = 8.0
_MIDDLE_C_HZ = 261.6255653005986

# ---------------------------------------------------------------- the drum kit

#: GM drum note -> (drum kind, decay seconds, tuning Hz).  Notes not listed
#: play a generic noise hit tuned by the note.
DRUM_KIT: dict[int, tuple[str, float, float]] = {
    35: ("kick", 0.5, 44.0), 36: ("kick", 0.42, 52.0),
    37: ("stick", 0.08, 1100.0),
    38: ("snare", 0.25, 185.0), 40: ("snare", 0.3, 200.0),
    39: ("clap", 0.3, 1100.0),
    41: ("tom", 0.55, 82.0), 43: ("tom", 0.5, 98.0), 45: ("tom", 0.45, 110.0),
    47: ("tom", 0.42, 131.0), 48: ("tom", 0.4, 147.0), 50: ("tom", 0.38, 175.0),
    42: ("hat", 0.06, 1.0), 44: ("hat", 0.1, 1.0), 46: ("hat", 0.5, 1.0),
    49: ("crash", 1.8, 1.0), 57: ("crash", 1.6, 1.1),
    51: ("ride", 1.4, 1.0), 59: ("ride", 1.2, 1.05),
}
_GENERIC_DRUM = ("hit", 0.15, 0.0)
#: Frequencies (Hz) of the six detuned squares of the metal voices (the
#: inharmonic set of the TR-808's cymbal and hi-hat circuit).
_METAL_HZ = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


def drum_for_note(pitch: float) -> tuple[str, float, float]:
    """(kind, decay seconds, tuning) of the drum that plays MIDI note ``pitch``."""
    return DRUM_KIT.get(int(round(pitch)), _GENERIC_DRUM)


def _samples(seconds: float, sr: float) -> int:
    return int(round(max(0.0, float(seconds)) * sr))


def _drum_length(patch: Patch, pitch, sr: float) -> int:
    if pitch is None:
        decay = max(d for _, d, _ in DRUM_KIT.values())
    else:
        decay = drum_for_note(pitch)[1]
    return _samples(decay * patch.param("decay_scale"), sr) + 1


# ---------------------------------------------------------------- lengths and envelopes

def note_length(patch: Patch, gate_samples: int, *, sr: float, pitch: float | None = None) -> int:
    """Samples a note of ``gate_samples`` lasts including its release (ends at exactly 0).

    ``pitch`` matters only for the ``drums`` kit (each drum has its own
    length; without it, the longest); :func:`render_note` returns exactly
    ``note_length(patch, gate_samples, sr=sr, pitch=pitch)`` samples.
    """
    if patch.source == "drums":
        return _drum_length(patch, pitch, sr)
    env = patch.envelope
    if env.kind == "cmi":
        return modulation.cmi_envelope_length(gate_samples, sr=sr, damping=env.release)
    if env.kind == "multi":
        if env.one_shot:
            return modulation.multi_segment_length(env.times, sr=sr)
        return int(gate_samples) + _samples(env.release, sr) + 1
    return envelopes.adsr_length(gate_samples, env.release, sr=sr)


# ---------------------------------------------------------------- cached designs

@lru_cache(maxsize=512)
def _sos(kind: str, cutoff: float, sr: float, q: float, order: int) -> np.ndarray:
    return filters.design_filter(kind, cutoff, sr=sr, q=q, order=order)


@lru_cache(maxsize=256)
def _page_tables(pages: tuple, n_harmonics: int, size: int = 4096) -> np.ndarray:
    """One band-limited single-cycle table per page row, ``(segments, size + 1)``.

    Harmonic ``h`` is ``a_h sin(2 pi h phi)`` (as
    :func:`synth.dsp.additive.harmonic_pages`); every row is scaled by one
    factor so the loudest row peaks at 1.
    """
    amp = np.asarray(pages, dtype=np.float64)[:, :max(1, n_harmonics)]
    spec = np.zeros((amp.shape[0], size // 2 + 1), dtype=np.complex128)
    spec[:, 1:amp.shape[1] + 1] = -0.5j * amp * size        # sin = Im: coefficient -j/2
    tables = np.fft.irfft(spec, n=size, axis=1)
    peak = np.max(np.abs(tables))
    tables = tables / peak if peak > 0 else tables
    out = np.concatenate([tables, tables[:, :1]], axis=1)
    out.setflags(write=False)
    return out


def _damped_partials(ratios, amps, decays, freq: float, sr: float, n: int, block: int = 1024,
                     start: int = 0):
    """Sum of decaying sines at a fixed frequency, as one complex matrix product.

    ``sum_p a_p e^{(-d_p + i w_p) k}`` with ``k = B j + m`` factors into
    ``(a_p e^{(-d_p + i w_p) B j})`` (blocks x partials) times
    ``e^{(-d_p + i w_p) m}`` (partials x B): each factor is computed directly
    from its exponent (no recursion, so no error builds up).
    """
    r = np.asarray(ratios, dtype=np.float64)
    a = np.asarray(amps, dtype=np.float64)
    T = np.asarray(decays, dtype=np.float64)
    w = 2 * np.pi * r * freq / sr
    limit = oscillators.NYQUIST_FRACTION * 0.5 * sr
    fade = np.clip((limit - r * freq) / (0.1 * limit), 0.0, 1.0)
    keep = (fade > 0) & (a > 0)
    if not keep.any():
        return np.zeros(n)
    w, a, T = w[keep], (a * fade)[keep], T[keep]
    d = np.where(T > 0, 3.0 * np.log(10.0) / (np.where(T > 0, T, 1.0) * sr), 0.0)
    s = -d + 1j * w
    nb = -(-n // block)
    left = a[None, :] * np.exp(np.outer(np.arange(nb) * block + start, s))   # (nb, P)
    right = np.exp(np.outer(s, np.arange(block)))                          # (P, B)
    # Im(L R) = Re L Im R + Im L Re R: two real products are 4x faster than one
    # complex einsum.  einsum, not "@": BLAS would start threads that fight the
    # renderer for the cores.
    out = np.einsum("bp,pk->bk", np.ascontiguousarray(left.real), np.ascontiguousarray(right.imag))
    out += np.einsum("bp,pk->bk", np.ascontiguousarray(left.imag), np.ascontiguousarray(right.real))
    return out.ravel()[:n]


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
def _builtin_sample(rate_hz: float) -> np.ndarray:
    """A synthetic 'breathy voice' one-shot (no recording): harmonics of middle C
    under two vowel formants, with a slow vibrato, breath noise and a decay."""
    n = MODE4_MAX_SAMPLES
    t = np.arange(n) / rate_hz
    f0 = _MIDDLE_C_HZ * 2 ** (0.004 * np.sin(2 * np.pi * 5.2 * t))
    phase = np.cumsum(f0) / rate_hz
    y = np.zeros(n)
    for h in range(1, 40):
        fh = h * _MIDDLE_C_HZ
        if fh > 0.45 * rate_hz:
            break
        formants = (np.exp(-((fh - 650.0) / 220.0) ** 2) + 0.6 * np.exp(-((fh - 1100.0) / 300.0) ** 2)
                    + 0.15 * np.exp(-((fh - 2600.0) / 500.0) ** 2))
        y += (formants + 0.02) / h ** 0.5 * np.sin(2 * np.pi * h * phase)
    noise = seeds.rng(0, "voice", "builtin-mode4-sample").standard_normal(n)
    y += 0.04 * np.convolve(noise, np.ones(4) / 4, mode="same")
    y *= np.minimum(t / 0.04, 1.0) * np.exp(-t / 1.5)
    y = y / np.max(np.abs(y)) * 127 / 128
    y.setflags(write=False)
    return y


@lru_cache(maxsize=16)
def _user_sample(path: str, mtime: float, rate_hz: float) -> np.ndarray:
    from scipy.signal import resample_poly

    from .audio import read_audio   # the only soundfile user
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


def _mode4_sample(patch: Patch, rate_hz: float) -> np.ndarray:
    path = patch.param("sample")
    if not path:
        return _builtin_sample(rate_hz)
    try:
        mtime = os.stat(path).st_mtime
    except OSError as e:
        raise PatchError(f"patch {patch.name!r}: 'params.sample' {path!r} cannot be read: "
                         f"{e.strerror}") from None
    return _user_sample(os.path.abspath(path), mtime, rate_hz)


# ---------------------------------------------------------------- sources

#: Shapes whose notes at a fixed pitch take :func:`synth.dsp.oscillators.fixed_pitch`.
_FIXED_PITCH_SHAPES = ("saw", "square", "triangle", "sine")
#: Wavetable shapes a fixed filter can be baked into (see _Note._baked_filter),
#: for notes within _BAKE_MAX_CENTS of their pitch and resonance up to _BAKE_MAX_Q.
_BAKED_SHAPES = ("saw", "square", "triangle")
_BAKE_MAX_CENTS = 25.0
_BAKE_MAX_Q = 2.0


def _osc(shape: str):
    return getattr(oscillators, shape)


def _whole_source(patch: Patch, freq, max_freq: float, sr: float, n: int, rng):
    """The sources rendered in one piece only (see :class:`_Note` for the others)."""
    src = patch.source
    if src.startswith("naive_"):
        return _osc(src)(freq, sr=sr, n=n)[0]
    if src == "unison":                # stacks of shapes without a fixed-pitch path (pulse)
        shape, voices = patch.param("shape"), patch.param("voices")
        if shape != "pulse":
            osc = _osc(shape)
        else:
            w = patch.param("width")

            def osc(f, **kw):   # AC-coupled, as the pulse source
                y, ph = oscillators.pulse(f, width=w, **kw)
                return y - (2.0 * w - 1.0), ph
        stack, _ = oscillators.unison(osc, freq, sr=sr, n=n, voices=voices,
                                      detune_cents=patch.param("spread_cents"), rng=rng,
                                      max_freq=max_freq)
        return stack.sum(axis=0) / np.sqrt(voices)
    if src == "drawn":
        cycle = patch.param("cycle")
        y = additive.drawn_wave(cycle, freq, sr=sr, n=n, max_freq=max_freq)[0]
        return y / max(np.max(np.abs(cycle)), 1e-9)
    if src in ("fm2", "fm3"):
        floor, tau = patch.param("index_floor"), patch.param("index_time")
        shape = 1.0 if floor >= 1 else floor + (1 - floor) * np.exp(-np.arange(n) / (tau * sr))
        if src == "fm2":
            return fm.fm2(freq, sr=sr, n=n, ratio=patch.param("ratio"),
                          index=patch.param("index") * shape)[0]
        i1, i2 = patch.param("indices")
        return fm.fm3(freq, sr=sr, n=n, ratios=patch.param("ratios"),
                      indices=(i1 * shape, i2 * shape))[0]
    if src == "sync":
        r0, r1 = patch.param("ratio"), patch.param("ratio_end")
        ratio = r0 if not r1 else modulation.glide(n, sr=sr, from_pitch=r0, to_pitch=r1,
                                                   time=patch.param("sweep_time"))
        ratio = np.minimum(ratio, 0.45 * sr / max(max_freq, 1e-9))
        ratio = np.maximum(ratio, 1.0)
        return oscillators.hard_sync(freq, ratio, sr=sr, n=n)[0]
    if src == "ring":
        shape = patch.param("shape")
        ratio = patch.param("ratio")
        carrier = (_osc(shape)(freq, sr=sr, n=n)[0] if shape == "sine" else
                   _osc(shape)(freq, sr=sr, n=n, max_freq=max_freq * (1 + ratio))[0])
        mod = oscillators.sine(np.asarray(freq) * ratio, sr=sr, n=n)[0]
        return oscillators.ring_mod(carrier, mod, mix=patch.param("mix"))
    raise PatchError(f"patch {patch.name!r}: source {src!r} has no voice")  # pragma: no cover


# ---------------------------------------------------------------- drums

def _decay(n: int, c: float = 6.91) -> np.ndarray:
    """1 at the first sample falling exponentially (-60 dB scale) to exactly 0 at the last."""
    x = np.arange(n) / max(n - 1, 1)
    return (np.exp(-c * x) - np.exp(-c)) / (1.0 - np.exp(-c))


def _filtered(x, kind, cutoff, sr, q=0.7071, order=2):
    return filters.sosfilt(_sos(kind, float(min(cutoff, 0.45 * sr)), float(sr), float(q), order), x)


def _metal(n, sr, scale):
    y = np.zeros(n)
    for f in _METAL_HZ:
        y += oscillators.square(f * scale, sr=sr, n=n)[0]
    return y / len(_METAL_HZ)


def _drum(patch: Patch, pitch: float, sr: float, n: int, rng) -> np.ndarray:
    kind, _, tune_hz = drum_for_note(pitch)
    tune = 2.0 ** (patch.param("tune") / 12.0)
    t = np.arange(n) / sr
    env = _decay(n)
    if kind == "kick":
        f = tune * (tune_hz + 3.0 * tune_hz * np.exp(-t / 0.025))
        body = oscillators.sine(f, sr=sr, n=n)[0] * env
        click = _filtered(rng.uniform(-1, 1, n), "highpass", 2000.0, sr) * np.exp(-t / 0.003)
        return body + 0.3 * click
    if kind == "tom":
        f = tune * tune_hz * (1.0 + 0.5 * np.exp(-t / 0.06))
        body = oscillators.sine(f, sr=sr, n=n)[0]
        skin = _filtered(rng.uniform(-1, 1, n), "bandpass", 4 * tune_hz * tune, sr, q=1.0)
        return (body + 0.3 * skin * np.exp(-t / 0.03)) * env
    if kind == "snare":
        tone = (oscillators.sine(tune * tune_hz, sr=sr, n=n)[0]
                + 0.6 * oscillators.sine(tune * tune_hz * 1.78, sr=sr, n=n)[0]) * np.exp(-t / 0.04)
        rattle = _filtered(rng.uniform(-1, 1, n), "highpass", 1200.0 * tune, sr, order=4)
        return 0.5 * tone + 0.7 * rattle * env
    if kind == "stick":
        click = _filtered(rng.uniform(-1, 1, n), "bandpass", 1800.0 * tune, sr, q=2.0)
        return (0.8 * click + 0.6 * oscillators.sine(tune * tune_hz, sr=sr, n=n)[0]) * env
    if kind == "clap":
        noise = _filtered(rng.uniform(-1, 1, n), "bandpass", tune_hz * tune, sr, q=1.5) * 2.0
        bursts = sum(np.where((t >= d) & (t < d + 0.008), np.exp(-(t - d) / 0.004), 0.0)
                     for d in (0.0, 0.01, 0.02))
        tail = np.where(t >= 0.03, env, 0.0)
        return noise * (bursts + 0.8 * tail)
    if kind in ("hat", "crash", "ride"):
        metal = _metal(n, sr, tune * tune_hz)
        noise = rng.uniform(-1, 1, n)
        if kind == "hat":
            y = _filtered(0.7 * metal + 0.5 * noise, "highpass", 7000.0, sr, order=4)
        elif kind == "crash":
            y = _filtered(0.6 * metal + 0.6 * noise, "highpass", 4000.0, sr, order=4)
        else:
            y = _filtered(metal + 0.2 * noise, "bandpass", 5000.0, sr, q=0.9) \
                + 0.15 * oscillators.sine(3150.0 * tune, sr=sr, n=n)[0]
        return 1.5 * y * env
    centre = float(np.clip(midi_to_hz(pitch) * tune, 200.0, 8000.0))
    return _filtered(rng.uniform(-1, 1, n), "bandpass", centre, sr, q=2.0) * 2.0 * env


# ---------------------------------------------------------------- the note

def _bend_at(bend, n: int, times: np.ndarray) -> np.ndarray:
    """Bend in semitones at sample ``times``: from a per-sample curve or breakpoints."""
    if isinstance(bend, tuple):
        offsets, semis = (np.asarray(v, dtype=np.float64) for v in bend)
        held = np.concatenate([[0.0], semis])
        return held[np.searchsorted(offsets, times, side="right")]
    return _fit(bend, n)[times]


def _fit(curve: np.ndarray, n: int) -> np.ndarray:
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) >= n:
        return curve[:n]
    return np.concatenate([curve, np.full(n - len(curve), curve[-1] if len(curve) else 0.0)])


def render_note(patch: Patch, *, pitch: float, velocity: int, gate_samples: int, sr: float,
                rng: np.random.Generator | None = None,
                bend_semitones: np.ndarray | None = None,
                prev_pitch: float | None = None,
                stolen_at: int | None = None) -> np.ndarray:
    """Render one note, release tail included.

    Parameters
    ----------
    patch : Patch
    pitch : float
        MIDI pitch (fractional = microtonal; for ``drums`` the GM drum note).
    velocity : int
        1..127.
    gate_samples : int
        Samples the key is held (>= 1).
    sr : float
        Sample rate in Hz.
    rng : numpy.random.Generator, optional
        Randomness for noise sources, unison phases and sample-and-hold
        LFOs (from the render seed).
    bend_semitones : np.ndarray [shape=(n,)] or (offsets, semitones), optional
        Pitch offset in semitones over the note: per sample (``n`` = the
        returned length; a shorter array holds its last value), or as
        breakpoints, ``offsets`` in samples from the note's start (sorted),
        each value held until the next (0 before the first).  Breakpoints
        cost nothing per sample, so a long bent note stays cheap.
    prev_pitch : float, optional
        MIDI pitch of the part's previous note: with ``patch.glide > 0`` the
        note slides from it to ``pitch`` in ``glide`` seconds.
    stolen_at : int, optional
        The note's voice is stolen this many samples after its start: it is
        cut there, fading out over :data:`STEAL_FADE_SECONDS` to end at 0.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        Mono samples, ``n = note_length(patch, gate_samples, sr=sr, pitch=pitch)``
        (or ``max(stolen_at, 1)`` when shorter); the last one is exactly 0.
    """
    full = note_length(patch, gate_samples, sr=sr, pitch=pitch)
    n = full if stolen_at is None or stolen_at >= full else max(int(stolen_at), 1)
    if rng is None:
        rng = np.random.default_rng(0)
    if patch.source == "drums":
        amp = float(db_to_amp(patch.gain_db)) * (velocity / 127.0) ** patch.velocity_curve
        y = _drum(patch, pitch, sr, full, rng)[:n] * amp
        return _finish(y, n, full, sr)
    note = _Note(patch, n=n, full=full, piece=n, pitch=pitch, velocity=velocity,
                 gate_samples=gate_samples, sr=sr, rng=rng, bend_semitones=bend_semitones,
                 prev_pitch=prev_pitch, stolen_at=stolen_at)
    return next(note.pieces())


def _finish(y: np.ndarray, n: int, full: int, sr: float) -> np.ndarray:
    if n < full:                                   # stolen: fade to 0 at the cut
        fade = min(n, max(1, _samples(STEAL_FADE_SECONDS, sr)))
        y[n - fade:] *= np.linspace(1.0, 0.0, fade)
    y[-1] = 0.0                                    # filter ringing below -80 dB: end on 0
    return y


# ---------------------------------------------------------------- long notes, piece by piece

#: Notes longer than this are rendered in pieces of this many samples, the
#: state of every stage carried from piece to piece, so a nine-minute drone
#: needs the memory of six seconds.  A multiple of CONTROL_SAMPLES.
SEGMENT_SAMPLES = 1 << 18

#: The last piece of a note is never shorter than this (or half a piece), so
#: the fade of a stolen note (4 ms: 384 samples at 96 kHz) always fits in it.
_MIN_LAST_PIECE = 1024

#: Sources whose long notes can be rendered in pieces (the others, all
#: percussive or short by nature, are rendered whole).
_SEGMENTED_SOURCES = ("sine", "saw", "square", "triangle", "noise", "pink", "pulse", "unison",
                      "additive", "partials", "fairlight")


def _segmentable(patch: Patch) -> bool:
    if patch.source not in _SEGMENTED_SOURCES:
        return False
    if patch.source == "unison" and patch.param("shape") not in _FIXED_PITCH_SHAPES:
        return False
    return patch.source != "fairlight" or patch.param("mode") == 1


def render_note_pieces(patch: Patch, *, pitch: float, velocity: int, gate_samples: int,
                       sr: float, rng=None, bend_semitones=None, prev_pitch=None,
                       stolen_at=None, piece_samples: int = SEGMENT_SAMPLES):
    """:func:`render_note` as consecutive pieces, for bounded memory on long notes.

    Yields
    ------
    np.ndarray [shape=(m,)]
        Pieces of at most ``piece_samples`` samples whose concatenation is
        the note (``note_length`` samples, the last one exactly 0).  A note
        no longer than one piece, or whose source cannot be split, comes as
        one piece equal to :func:`render_note`'s output.
    """
    full = note_length(patch, gate_samples, sr=sr, pitch=pitch)
    n = full if stolen_at is None or stolen_at >= full else max(int(stolen_at), 1)
    kwargs = dict(pitch=pitch, velocity=velocity, gate_samples=gate_samples, sr=sr, rng=rng,
                  bend_semitones=bend_semitones, prev_pitch=prev_pitch, stolen_at=stolen_at)
    if n <= piece_samples or not _segmentable(patch):
        yield render_note(patch, **kwargs)
        return
    yield from _Note(patch, n=n, full=full, piece=int(piece_samples), **kwargs).pieces()


def bakes_filter(patch: Patch) -> bool:
    """Whether ``patch``'s filter can be baked into its wavetable.

    True for a filter that stays put (no envelope, no LFO on the cutoff)
    with resonance up to :data:`_BAKE_MAX_Q`, on a saw/square/triangle,
    unison or pulse source; a note then bakes it if its pitch also stays
    within :data:`_BAKE_MAX_CENTS` (see ``_Note._baked_filter``).
    """
    f, lfo, src = patch.filter, patch.lfo, patch.source
    table_source = (src in _BAKED_SHAPES or src == "pulse"
                    or (src == "unison" and patch.param("shape") in _BAKED_SHAPES))
    return bool(f.active and not f.env_amount and not (lfo.active and lfo.to_cutoff_octaves)
                and f.resonance <= _BAKE_MAX_Q and table_source)


class _Steps:
    """A piece's pitch curve: one frequency (Hz) per control step of ``CONTROL_SAMPLES``."""

    __slots__ = ("values", "n")

    def __init__(self, values, n):
        self.values, self.n = values, n

    def per_sample(self) -> np.ndarray:
        """The curve held sample by sample, shape (n,)."""
        return np.repeat(self.values, CONTROL_SAMPLES)[:self.n]


class _Note:
    """One note, rendered in one piece or piece by piece with every stage's state carried.

    Signal flow: pitch curve (control rate) -> source -> filter -> envelope x
    velocity x gain (the Fairlight applies its envelope inside, before its
    output filter).  Sources that cannot continue a piece (FM, sync, ring,
    drawn cycles, pulse stacks, Mode 4) are only ever asked for one piece
    (see :func:`_segmentable`).
    """

    def __init__(self, patch, *, n, full, piece, pitch, velocity, gate_samples, sr, rng,
                 bend_semitones, prev_pitch, stolen_at):
        self.patch, self.n, self.full, self.sr = patch, n, full, sr
        # pieces start on the control grid, so each one picks up the pitch curve exactly
        self.piece = n if piece >= n else (piece - piece % CONTROL_SAMPLES or CONTROL_SAMPLES)
        self.gate = int(gate_samples)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.amp = float(db_to_amp(patch.gain_db)) * (velocity / 127.0) ** patch.velocity_curve
        lfo = patch.lfo
        # the pitch curve at control rate, for the whole note (n / 32 values)
        ctrl_n = -(-n // CONTROL_SAMPLES)
        t_ctrl = np.arange(ctrl_n) * CONTROL_SAMPLES
        self.lfo_state = None
        base = pitch + 12 * patch.octave + patch.detune_cents / 100.0
        self.note_hz = float(midi_to_hz(base))
        offsets = np.zeros(ctrl_n)
        moving = False
        csr = sr / CONTROL_SAMPLES
        if patch.glide > 0 and prev_pitch is not None and prev_pitch != pitch:
            offsets += modulation.glide(ctrl_n, sr=csr, from_pitch=prev_pitch - pitch,
                                        to_pitch=0.0, time=patch.glide)
            moving = True
        if patch.pitch_env.semitones:
            pe = patch.pitch_env
            offsets += modulation.pitch_envelope(ctrl_n, sr=csr, semitones=pe.semitones,
                                                 time=pe.time, curve=pe.curve)
            moving = True
        if bend_semitones is not None:
            offsets += _bend_at(bend_semitones, n, t_ctrl)
            moving = True
        self.per_sample_lfo = bool(lfo.active and (lfo.to_amp or lfo.to_width
                                                   or lfo.to_cutoff_octaves))
        if lfo.active and lfo.to_pitch_cents:
            offsets += self._lfo(t_ctrl, control=True) * (lfo.to_pitch_cents / 100.0)
            moving = True
        self.freq_ctrl = midi_to_hz(base + offsets) if moving else None
        self.max_freq = float(np.max(self.freq_ctrl)) if moving else self.note_hz
        self.tone = self._baked_filter(offsets if moving else None)
        self.phase = 0.0
        self.filter_state = None
        self.source_state = None
        self.source_gain = 1.0
        if patch.source == "unison" and patch.param("shape") in _FIXED_PITCH_SHAPES:
            voices = patch.param("voices")
            self.source_gain = 1.0 / np.sqrt(voices)     # applied with the envelope
            self.ratios = 2.0 ** (oscillators.unison_offsets_cents(
                voices, patch.param("spread_cents")) / 1200.0)
            self.phases0 = self.rng.uniform(0.0, 1.0, len(self.ratios))

    def _baked_filter(self, offsets):
        """The filter to bake into the wavetable (``tone`` of oscillators.read_shape), or None.

        A filter that stays put (no envelope, no LFO on the cutoff) is linear
        and time-invariant, and a wavetable tone is a sum of harmonics: its
        filtered output is the same table with each harmonic scaled and
        shifted by the filter's response, so the per-sample filter costs
        nothing.  What that leaves out: the filter's start from rest (it rings
        for a few milliseconds under the attack), and the response's change
        as the pitch moves, hence only for notes within
        :data:`_BAKE_MAX_CENTS` of their pitch and a resonance up to
        :data:`_BAKE_MAX_Q` (the response then moves < 0.1 dB; tested).
        """
        if not bakes_filter(self.patch):
            return None
        if offsets is not None and float(np.max(np.abs(offsets))) * 100.0 > _BAKE_MAX_CENTS:
            return None
        sos = self._static_sos()
        return tuple(map(tuple, sos.tolist())), self.note_hz, float(self.sr)

    def _static_sos(self):
        f, sr = self.patch.filter, self.sr
        cutoff = f.cutoff * (self.note_hz / _MIDDLE_C_HZ) ** f.key_track
        return _sos(f.type, float(np.clip(cutoff, 10.0, 0.45 * sr)), float(sr), float(f.resonance),
                    2 if f.slope == 12 else 4)

    def _lfo(self, times, control=False):
        lfo = self.patch.lfo
        if lfo.shape == "sine":
            values = np.sin((2.0 * np.pi * lfo.rate_hz / self.sr) * times)
        else:
            rate_sr = self.sr / CONTROL_SAMPLES if control else self.sr
            values, state = modulation.lfo(lfo.shape, lfo.rate_hz, sr=rate_sr, n=len(times),
                                           rng=self.rng,
                                           state=None if control else self.lfo_state)
            if not control:
                self.lfo_state = state
        if lfo.delay > 0:
            values = values * np.minimum(times / (lfo.delay * self.sr), 1.0)
        return values

    def _envelope(self, a, m, scale=1.0):
        """Amplitude envelope for samples ``a .. a + m - 1``, times ``scale``."""
        env = self.patch.envelope
        if env.kind == "adsr":
            return envelopes.adsr(m, sr=self.sr, gate_samples=self.gate, attack=env.attack,
                                  decay=env.decay, sustain=env.sustain, release=env.release,
                                  curve=env.curve, start=a, peak=scale)
        out = self._shaped_envelope(a, m)
        out *= scale
        return out

    def _shaped_envelope(self, a, m):
        env, sr, gate = self.patch.envelope, self.sr, self.gate
        if env.kind == "cmi":
            return modulation.cmi_envelope(m, sr=sr, gate_samples=gate, attack=env.attack,
                                           damping=env.release,
                                           held_damping=env.held_damping or None, start=a)
        out = modulation.multi_segment(m, sr=sr, levels=env.levels, times=env.times,
                                       curves=env.curve, start=a)
        if env.one_shot or a + m <= gate:
            return out
        r = _samples(env.release, sr)
        at_gate = float(modulation.multi_segment(1, sr=sr, levels=env.levels, times=env.times,
                                                 curves=env.curve, start=gate)[0])
        k = np.arange(a, a + m)
        rel = k >= gate
        if r > 0:
            x = np.clip((k[rel] - gate) / r, 0.0, 1.0)
            out[rel] = at_gate * (1.0 - modulation.segment_progress(x, env.curve))
        else:
            out[rel] = 0.0
        return out

    def _phases(self, freq, m):
        ph, self.phase = oscillators.phase_ramp(freq, sr=self.sr, n=m, phase=self.phase)
        return ph

    def _stepped(self, steps, m):
        """Phase runs of the pitch curve ``steps`` (see oscillators.stepped_phase)."""
        starts, inc, self.phase = oscillators.stepped_phase(
            steps.values, sr=self.sr, n=m, step=CONTROL_SAMPLES, phase=self.phase)
        return starts, inc

    def _source(self, a, m, freq, lfo_values, envelope):
        patch, sr, src = self.patch, self.sr, self.patch.source
        fixed = not isinstance(freq, _Steps)
        if src in _FIXED_PITCH_SHAPES:
            if fixed:
                return oscillators.fixed_pitch(src, freq, sr=sr, n=m, max_freq=self.max_freq,
                                               start=a, tone=self.tone)
            ph = oscillators.expand_steps(*self._stepped(freq, m), step=CONTROL_SAMPLES, n=m)
            return oscillators.read_shape(src, ph, sr=sr, max_freq=self.max_freq, tone=self.tone)
        if src == "pulse":
            width = patch.param("width")
            if lfo_values is not None and patch.lfo.to_width:
                width = np.clip(width + lfo_values * patch.lfo.to_width, 0.01, 0.99)
            if fixed:
                ph, self.phase = oscillators.phase_ramp(freq, sr=sr, n=m, phase=self.phase)
            else:
                ph = oscillators.expand_steps(*self._stepped(freq, m), step=CONTROL_SAMPLES, n=m)
            y = oscillators.pulse_at(ph, width, sr=sr, max_freq=self.max_freq, tone=self.tone)
            return y - (2.0 * width - 1.0)
        if src == "unison" and patch.param("shape") in _FIXED_PITCH_SHAPES and not fixed:
            starts, inc = self._stepped(freq, m)
            return oscillators.stack_sum_stepped(
                patch.param("shape"), starts, inc, self.ratios, self.phases0,
                step=CONTROL_SAMPLES, n=m, sr=sr, max_freq=self.max_freq * float(self.ratios.max()),
                tone=self.tone)
        if not fixed:
            freq = freq.per_sample()
        if src == "noise":
            return oscillators.white_noise(m, self.rng)
        if src == "pink":
            y, self.source_state = oscillators.pink_noise(m, self.rng, state=self.source_state)
            return y
        if src == "unison" and patch.param("shape") in _FIXED_PITCH_SHAPES:
            top = self.max_freq * float(self.ratios.max())
            return oscillators.fixed_pitch(patch.param("shape"), freq * self.ratios, sr=sr, n=m,
                                           phase=self.phases0, max_freq=top, start=a,
                                           tone=self.tone).sum(axis=0)
        if src == "additive":
            return self._additive(a, m, freq)
        if src == "partials":
            amps = np.asarray(patch.param("amps"))
            norm = 1.0 / max(amps.sum(), 1e-9) * 2.0
            if fixed:
                return norm * _damped_partials(patch.param("ratios"), amps, patch.param("decays"),
                                               float(freq), sr, m, start=a)
            decays = np.where(np.asarray(patch.param("decays")) > 0, patch.param("decays"),
                              np.inf)
            y, self.phase = additive.partials(patch.param("ratios"), amps, decays, freq, sr=sr,
                                              n=m, phase=self.phase, start=a)
            return norm * y
        if src == "fairlight":      # its own VCA and output filter, state carried
            series = fairlight.SERIES[patch.param("series")]
            if patch.param("mode") == 1:
                stored = _mode1_table(patch.param("pages"), patch.param("cycle"))
                loops = fairlight.mode1_loops(self.note_hz, patch.param("segment_seconds"))
                y, self.source_state = fairlight.voice(
                    stored, freq, sr=sr, n=m, mode=1, series=series, loops=loops,
                    envelope=envelope, brightness=patch.param("brightness"),
                    state=self.source_state)
                return y
            rate = patch.param("rate_hz") or series.max_rate_hz
            y, _ = fairlight.voice(_mode4_sample(patch, float(rate)), freq, sr=sr, n=m, mode=4,
                                   series=series, root_freq=float(midi_to_hz(patch.param("root"))),
                                   rate_hz=rate, envelope=envelope,
                                   brightness=patch.param("brightness"))
            return y
        return _whole_source(patch, freq, self.max_freq, sr, m, self.rng)

    def _additive(self, a, m, freq):
        pages, seconds = self.patch.param("pages"), self.patch.param("segment_seconds")
        nh = min(len(pages[0]), oscillators.max_harmonics(self.max_freq, sr=self.sr))
        tables = _page_tables(pages, nh)
        ph = self._phases(freq, m)
        segs = tables.shape[0]
        if segs == 1:
            return oscillators.table_lookup(tables[0], ph)
        marks = np.round(np.arange(segs) * seconds * self.sr).astype(np.int64)
        out = np.empty(m)
        for s in range(segs - 1):
            lo, hi = max(int(marks[s]), a), min(int(marks[s + 1]), a + m)
            if hi > lo:
                x = (np.arange(lo, hi) - marks[s]) / max(marks[s + 1] - marks[s], 1)
                p = ph[lo - a:hi - a]
                first = oscillators.table_lookup(tables[s], p)
                out[lo - a:hi - a] = first + x * (oscillators.table_lookup(tables[s + 1], p) - first)
        last = max(int(marks[-1]), a)
        if last < a + m:
            out[last - a:] = oscillators.table_lookup(tables[-1], ph[last - a:])
        return out

    def _filter(self, y, a, m, lfo_values):
        patch, sr = self.patch, self.sr
        f = patch.filter
        order = 2 if f.slope == 12 else 4
        cutoff = f.cutoff * (self.note_hz / _MIDDLE_C_HZ) ** f.key_track
        # a moving cutoff is taken every CONTROL_SAMPLES, on the note's control
        # grid (pieces start on it, so they line up), and moves in 1/8-octave steps
        octaves = None
        c0, count = a // CONTROL_SAMPLES, -(-m // CONTROL_SAMPLES)
        if f.env_amount:
            fenv = envelopes.adsr(count, sr=sr / CONTROL_SAMPLES,
                                  gate_samples=-(-self.n // CONTROL_SAMPLES), attack=f.env_attack,
                                  decay=f.env_decay, sustain=f.env_sustain, release=0.0, start=c0)
            octaves = f.env_amount * fenv
        if lfo_values is not None and patch.lfo.to_cutoff_octaves:
            swing = lfo_values[::CONTROL_SAMPLES] * patch.lfo.to_cutoff_octaves
            octaves = swing if octaves is None else octaves + swing
        q = float(f.resonance)
        if octaves is None:
            bounds, designs = [0, m], [self._static_sos()]
        else:
            steps = np.round((np.log2(cutoff) + octaves) * _CUTOFF_STEPS_PER_OCTAVE).astype(np.int64)
            change = (np.flatnonzero(np.diff(steps)) + 1) * CONTROL_SAMPLES
            bounds = np.concatenate([[0], change, [m]])
            designs = [_sos(f.type, float(np.clip(2.0 ** (steps[lo // CONTROL_SAMPLES]
                                                          / _CUTOFF_STEPS_PER_OCTAVE),
                                                   10.0, 0.45 * sr)), float(sr), q, order)
                       for lo in bounds[:-1]]
        y, self.filter_state = filters.filter_runs(y, designs, bounds, self.filter_state)
        return y

    def pieces(self):
        patch, n = self.patch, self.n
        a = 0
        while a < n:
            m = min(self.piece, n - a)
            rest = n - (a + m)
            shortest = min(_MIN_LAST_PIECE, self.piece // 2)
            if 0 < rest < shortest:
                # no short last piece: a stolen note's fade must fit in it whole (the
                # cut stays on the control grid, so the pitch curve lines up)
                m -= -(-(shortest - rest) // CONTROL_SAMPLES) * CONTROL_SAMPLES
            if self.freq_ctrl is None:
                freq = self.note_hz
            else:   # per control step; _Steps expands it per sample only when asked
                c0 = a // CONTROL_SAMPLES
                freq = _Steps(self.freq_ctrl[c0:c0 + -(-m // CONTROL_SAMPLES)], m)
            lfo_values = self._lfo(np.arange(a, a + m)) if self.per_sample_lfo else None
            # the envelope carries the note's gain (velocity, patch, unison
            # normalisation): one multiply a sample applies them all
            env = self._envelope(a, m, self.amp * self.source_gain)
            if lfo_values is not None and patch.lfo.to_amp:
                env = env * modulation.tremolo(lfo_values, patch.lfo.to_amp)
            if patch.source == "fairlight":
                y = self._source(a, m, freq, lfo_values, env)
            else:
                y = self._source(a, m, freq, lfo_values, None)
            if patch.filter.active and self.tone is None:   # else baked into the table
                y = self._filter(y, a, m, lfo_values)
            if patch.source != "fairlight":
                y = y * env
            if a + m == n:
                y = _finish(y, m, m + (self.full - n), self.sr)
            a += m
            yield y
