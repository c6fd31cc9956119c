"""One note -> samples: a patch played at a pitch, velocity and gate length.

The voice is a pure function of its arguments (the random generator comes in
from the renderer's seed stream), so a note sounds the same wherever it sits
in the piece and however the piece is cut into blocks.

Signal flow of a note (see :class:`synth.patch.Patch`)::

    pitch (+ glide from the previous note, pitch envelope, bend, LFO vibrato)
      -> source (the patch's Source from :mod:`synth.sound_sources`)
      -> filter (key-tracked cutoff, filter envelope, LFO)
      -> amplitude envelope x velocity x gain (x LFO tremolo)

This module is the generic pipeline: it never tests a source by name.  A
source says what differs (its render function, its own length rule, whether
it applies the envelope itself as the Fairlight's VCA does, whether it is a
complete instrument such as the drum kit, whether it continues piece by
piece); see :class:`synth.sound_sources.Source`.

Everything derivable from the patch alone (wavetables, filter designs, the
Mode-1 tables, Mode-4 samples) is cached, so a note costs its samples plus a
few hundred microseconds.

Why over 500 lines: the note's whole pipeline (lengths, pitch curve, LFOs,
envelopes, filter runs, the piece loop) and the small caches that keep its
per-note Python cost down (a render runs it for every note) share the note's
state; split across modules they would pass it back and forth.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterator

import numpy as np

from .dsp import envelopes, filters, modulation, oscillators, subtractive
from .dsp.drums import DRUM_KIT, drum_for_note
from .patch import Patch
from .sound_sources import CONTROL_SAMPLES, Steps, bakes_filter, get_source
from .sound_sources.fairlight import MODE4_MAX_SAMPLES
from .units import db_to_amp, gain_amp, midi_to_hz, pitch_hz

__all__ = ["note_length", "render_note", "render_note_pieces", "STEAL_FADE_SECONDS", "DRUM_KIT",
           "drum_for_note", "MODE4_MAX_SAMPLES", "CONTROL_SAMPLES", "bakes_filter"]

#: A stolen note fades out over this long, ending where the stealing note starts.
STEAL_FADE_SECONDS = 0.004
#: Cutoff modulation moves in steps of 1/8 octave (150 cents), so a sweep
#: needs few coefficient sets (cheap) while each step stays inaudible.
_CUTOFF_STEPS_PER_OCTAVE = 8.0
_MIDDLE_C_HZ = 261.6255653005986
#: A fixed filter is baked into a wavetable only for notes within this many
#: cents of their pitch (see _Note._baked_filter).
_BAKE_MAX_CENTS = 25.0


def _samples(seconds: float, sr: float) -> int:
    return int(round(max(0.0, float(seconds)) * sr))


# ---------------------------------------------------------------- lengths and envelopes

def note_length(patch: Patch, gate_samples: int, *, sr: float, pitch: float | None = None) -> int:
    """Samples a note of ``gate_samples`` lasts including its release (ends at exactly 0).

    ``pitch`` matters only for a source with its own length rule (the
    ``drums`` kit: each drum has its own length; without a pitch, the
    longest); :func:`render_note` returns exactly
    ``note_length(patch, gate_samples, sr=sr, pitch=pitch)`` samples.
    """
    source = get_source(patch.source)
    if source.note_length is not None:
        return source.note_length(patch, gate_samples, sr, pitch)
    env = patch.envelope
    if env.kind == "cmi":
        return modulation.cmi_envelope_length(gate_samples, sr=sr, damping=env.release)
    if env.kind == "multi":
        if env.one_shot:
            return modulation.multi_segment_length(env.times, sr=sr)
        return int(gate_samples) + _samples(env.release, sr) + 1
    return int(gate_samples) + _adsr_shape(env, float(sr))[3] + 1     # envelopes.adsr_length


# ---------------------------------------------------------------- cached designs

@lru_cache(maxsize=512)
def _sos(kind: str, cutoff: float, sr: float, q: float, order: int) -> np.ndarray:
    return filters.design_filter(kind, cutoff, sr=sr, q=q, order=order)


#: Vibrato curves up to this many control steps (95 s at 44.1 kHz) are cached.
_VIBRATO_CACHE_STEPS = 1 << 17


@lru_cache(maxsize=32)
def _sine_vibrato(lfo, sr: float, ctrl_n: int) -> np.ndarray:
    """A sine LFO's pitch offset (semitones) at each control step of a note, from its start.

    What ``_Note._lfo(times, control=True) * cents / 100`` gives for a sine
    (no random state): notes of one patch and length share it.
    """
    out = _sine_lfo(lfo, sr, np.arange(ctrl_n) * CONTROL_SAMPLES) * (lfo.to_pitch_cents / 100.0)
    out.setflags(write=False)
    return out


def _sine_lfo(lfo, sr: float, times: np.ndarray) -> np.ndarray:
    """A sine LFO at sample ``times`` of a note, faded in over its delay."""
    return _fade_in(lfo, sr, times, np.sin((2.0 * np.pi * lfo.rate_hz / sr) * times))


_LFO_CURVE_SAMPLES = 1 << 19     #: a note's sine LFO samples kept per patch (~12 s, 4 MiB)


@lru_cache(maxsize=8)
def _sine_lfo_curve(lfo, sr: float) -> np.ndarray:
    """:func:`_sine_lfo` at a note's samples ``0 .. _LFO_CURVE_SAMPLES - 1``, read-only: shared
    by a patch's notes (each starts its LFO), same values; it was 11 % of Seven Bells."""
    out = _sine_lfo(lfo, sr, np.arange(_LFO_CURVE_SAMPLES))
    out.setflags(write=False)
    return out


def _fade_in(lfo, sr: float, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """LFO ``values`` at sample ``times`` of a note, scaled by the linear fade-in of its delay."""
    if lfo.delay > 0:
        values = values * np.minimum(times / (lfo.delay * sr), 1.0)
    return values


@lru_cache(maxsize=1024)
def _static_design(f, note_hz: float, sr: float) -> np.ndarray:
    """The design of filter ``f`` held still, key-tracked for a note at ``note_hz`` (shared)."""
    cutoff = f.cutoff * (note_hz / _MIDDLE_C_HZ) ** f.key_track
    return _sos(f.type, float(np.clip(cutoff, 10.0, 0.45 * sr)), float(sr), float(f.resonance),
                2 if f.slope == 12 else 4)


@lru_cache(maxsize=1024)
def _static_tone(f, note_hz: float, sr: float) -> tuple:
    """:func:`_static_design` as the ``tone`` key of a baked wavetable (see ``_Note._baked_filter``)."""
    return tuple(map(tuple, _static_design(f, note_hz, sr).tolist())), note_hz, sr


@lru_cache(maxsize=1024)
def _step_designs(kind: str, steps: tuple, sr: float, q: float, order: int) -> np.ndarray:
    """Designs of a swept filter's runs, one per cutoff step (1/8 octave from 1 Hz).

    Returns
    -------
    np.ndarray [shape=(runs, sections, 6)]
        Shared by the notes that sweep alike: never written.
    """
    return np.array([_sos(kind, float(np.clip(2.0 ** (np.int64(step) / _CUTOFF_STEPS_PER_OCTAVE),
                                              10.0, 0.45 * sr)), sr, q, order)
                     for step in steps])


# ---------------------------------------------------------------- the note

def _bend_at(bend, n: int, times: np.ndarray) -> np.ndarray:
    """Bend in semitones at sample ``times``: from a per-sample curve or breakpoints."""
    if isinstance(bend, tuple):
        offsets, semis = (np.asarray(v, dtype=np.float64) for v in bend)
        held = np.concatenate([[0.0], semis])
        return held[np.searchsorted(offsets, times, side="right")]
    return _fit(bend, n)[times]


@lru_cache(maxsize=64)
def _adsr_shape(env, sr: float) -> tuple:
    """``envelopes.adsr_segments`` of ``env`` from start 0 at peak 1 (checked), by envelope."""
    return envelopes.adsr_segments(sr=sr, gate_samples=0, attack=env.attack, decay=env.decay,
                                   sustain=env.sustain, release=env.release, curve=env.curve)


def _adsr_segments(env, sr: float, gate: int, start: int, peak: float) -> tuple:
    """What ``envelopes.adsr_segments`` gives for ``env`` (an ADSR) at these values."""
    _, a, d, r, _, _, sustain, exp = _adsr_shape(env, float(sr))
    return int(start), a, d, r, int(gate), float(peak), sustain * float(peak), exp


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
    return _whole_note(patch, n, full, pitch=pitch, velocity=velocity, gate_samples=gate_samples,
                       sr=sr, rng=rng, bend_semitones=bend_semitones, prev_pitch=prev_pitch,
                       stolen_at=stolen_at)


def _whole_note(patch: Patch, n: int, full: int, *, pitch, velocity, gate_samples, sr, rng,
                bend_semitones, prev_pitch, stolen_at) -> np.ndarray:
    """:func:`render_note` once its lengths are known (``n`` samples of ``full``)."""
    if rng is None:
        rng = np.random.default_rng(0)
    source = get_source(patch.source)
    if source.whole_note is not None:           # a complete instrument (the drum kit)
        amp = float(db_to_amp(patch.gain_db)) * (velocity / 127.0) ** patch.velocity_curve
        y = source.whole_note(patch, pitch, sr, full, rng)[:n] * amp
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


def _segmentable(patch: Patch) -> bool:
    return get_source(patch.source).segmentable(patch)


def render_note_pieces(patch: Patch, *, pitch: float, velocity: int, gate_samples: int,
                       sr: float, rng: np.random.Generator | None = None,
                       bend_semitones: Any = None, prev_pitch: float | None = None,
                       stolen_at: int | None = None,
                       piece_samples: int = SEGMENT_SAMPLES) -> Iterator[np.ndarray]:
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
        yield _whole_note(patch, n, full, **kwargs)
        return
    yield from _Note(patch, n=n, full=full, piece=int(piece_samples), **kwargs).pieces()


class _Note:
    """One note, rendered in one piece or piece by piece with every stage's state carried.

    Signal flow: pitch curve (control rate) -> source -> filter -> envelope x
    velocity x gain (a source with ``applies_envelope``, the Fairlight,
    applies it inside, before its output filter).  Sources that cannot
    continue a piece (FM, sync, ring, drawn cycles, pulse stacks, Mode 4) are
    only ever asked for one piece (see :attr:`synth.sound_sources.Source.segmentable`).

    This object is the ``note`` a source's ``render`` sees
    (:class:`synth.sound_sources.NoteContext`).
    """

    def __init__(self, patch, *, n, full, piece, pitch, velocity, gate_samples, sr, rng,
                 bend_semitones, prev_pitch, stolen_at):
        self.patch, self.n, self.full, self.sr = patch, n, full, sr
        self.source = get_source(patch.source)
        # pieces start on the control grid, so each one picks up the pitch curve exactly
        self.piece = n if piece >= n else (piece - piece % CONTROL_SAMPLES or CONTROL_SAMPLES)
        self.gate = int(gate_samples)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.amp = gain_amp(patch.gain_db) * (velocity / 127.0) ** patch.velocity_curve
        lfo = patch.lfo
        # the pitch curve at control rate, for the whole note (n / 32 values)
        ctrl_n = -(-n // CONTROL_SAMPLES)
        self.lfo_state = None
        base = pitch + 12 * patch.octave + patch.detune_cents / 100.0
        self.note_hz = pitch_hz(base)
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
            offsets += _bend_at(bend_semitones, n, np.arange(ctrl_n) * CONTROL_SAMPLES)
            moving = True
        self.per_sample_lfo = bool(lfo.active and (lfo.to_amp or lfo.to_width
                                                   or lfo.to_cutoff_octaves))
        if lfo.active and lfo.to_pitch_cents:
            if lfo.shape == "sine" and ctrl_n <= _VIBRATO_CACHE_STEPS:
                vibrato = _sine_vibrato(lfo, float(sr), ctrl_n)     # the same for every note
            else:
                vibrato = (self._lfo(np.arange(ctrl_n) * CONTROL_SAMPLES, control=True)
                           * (lfo.to_pitch_cents / 100.0))
            offsets += vibrato
            moving = True
        self.freq_ctrl = midi_to_hz(base + offsets) if moving else None
        self.max_freq = float(np.max(self.freq_ctrl)) if moving else self.note_hz
        self.tone = self._baked_filter(offsets if moving else None)
        self.phase = 0.0
        self.filter_state = None
        self.source_state: Any = None
        self.source_gain = 1.0                  # applied with the envelope
        if self.source.prepare is not None:
            self.source_state, self.source_gain = self.source.prepare(patch, self.rng)

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
        :data:`synth.sound_sources.BAKE_MAX_Q` (the response then moves < 0.1 dB; tested).
        """
        if not bakes_filter(self.patch):
            return None
        if offsets is not None and float(np.max(np.abs(offsets))) * 100.0 > _BAKE_MAX_CENTS:
            return None
        return _static_tone(self.patch.filter, self.note_hz, float(self.sr))

    def _static_sos(self):
        return _static_design(self.patch.filter, self.note_hz, float(self.sr))

    def _lfo(self, times, control=False):
        lfo = self.patch.lfo
        if lfo.shape == "sine":     # per sample: times = a .. a + m - 1, read-only
            if not control and times[-1] < _LFO_CURVE_SAMPLES:
                return _sine_lfo_curve(lfo, float(self.sr))[times[0]:times[-1] + 1]
            return _sine_lfo(lfo, self.sr, times)
        rate_sr = self.sr / CONTROL_SAMPLES if control else self.sr
        values, state = modulation.lfo(lfo.shape, lfo.rate_hz, sr=rate_sr, n=len(times),
                                       rng=self.rng, state=None if control else self.lfo_state)
        if not control:
            self.lfo_state = state
        return _fade_in(lfo, self.sr, times, values)

    def _envelope(self, a, m, scale=1.0):
        """Amplitude envelope for samples ``a .. a + m - 1``, times ``scale``."""
        env = self.patch.envelope
        if self.source.envelope is not None:         # the source's own (the CMI-01A counter)
            own = self.source.envelope(self, a, m)
            if own is not None:
                return own * scale
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

    def phases(self, freq: Any, m: int) -> np.ndarray:
        """Phase ramp (cycles) of ``m`` samples at ``freq`` Hz, continuing the note's phase."""
        ph, self.phase = oscillators.phase_ramp(freq, sr=self.sr, n=m, phase=self.phase)
        return ph

    def stepped(self, steps: Steps, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Phase runs of the pitch curve ``steps`` (see oscillators.stepped_phase)."""
        starts, inc, self.phase = oscillators.stepped_phase(
            steps.values, sr=self.sr, n=m, step=CONTROL_SAMPLES, phase=self.phase)
        return starts, inc

    def _source(self, a: int, m: int, freq: Any, lfo_values: np.ndarray | None,
                envelope: np.ndarray) -> np.ndarray:
        source = self.source
        if isinstance(freq, Steps) and not source.stepped_pitch:
            freq = freq.per_sample()
        return source.render(self, a, m, freq, lfo_values,
                             envelope if source.applies_envelope else None)

    def _filter_runs(self, a, m, lfo_values):
        """The voice filter over samples ``a .. a + m - 1``: designs and the run bounds.

        Returns ``(designs [shape=(runs, sections, 6)], bounds [shape=(runs + 1,)])``
        for :func:`synth.dsp.subtractive.render_piece`.
        """
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
        if octaves is None:
            return self._static_sos()[None], np.array([0, m], dtype=np.int64)
        steps = np.round((np.log2(cutoff) + octaves) * _CUTOFF_STEPS_PER_OCTAVE).astype(np.int64)
        change = np.flatnonzero(np.diff(steps)) + 1
        bounds = np.concatenate([[0], change * CONTROL_SAMPLES, [m]])
        # notes of one patch at one pitch sweep through the same steps: designs cached
        designs = _step_designs(f.type, tuple(steps[np.concatenate([[0], change])].tolist()),
                                float(sr), float(f.resonance), order)
        return designs, bounds

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
                freq = Steps(self.freq_ctrl[c0:c0 + -(-m // CONTROL_SAMPLES)], m)
            lfo_values = self._lfo(np.arange(a, a + m)) if self.per_sample_lfo else None
            # the envelope carries the note's gain (velocity, patch, unison
            # normalisation): one multiply a sample applies them all
            scale = self.amp * self.source_gain
            env = adsr = None
            tremolo = lfo_values is not None and patch.lfo.to_amp
            if (self.source.applies_envelope or self.source.envelope is not None
                    or patch.envelope.kind != "adsr" or tremolo):
                env = self._envelope(a, m, scale)
                if tremolo:
                    env = env * modulation.tremolo(lfo_values, patch.lfo.to_amp)
            else:                       # computed in the compiled loop
                adsr = _adsr_segments(patch.envelope, self.sr, self.gate, a, scale)
            y = self._source(a, m, freq, lfo_values, env)
            designs = bounds = None
            if patch.filter.active and self.tone is None:   # else baked into the table
                designs, bounds = self._filter_runs(a, m, lfo_values)
                if self.filter_state is None:
                    self.filter_state = np.zeros((designs.shape[1], 2))
            # source -> filter -> envelope in one compiled pass (the Fairlight's
            # source applies its envelope itself, before the filter)
            y = subtractive.render_piece(m, y, designs, bounds, self.filter_state,
                                         envelope=None if self.source.applies_envelope else env,
                                         adsr=adsr)
            if a + m == n:
                y = _finish(y, m, m + (self.full - n), self.sr)
            a += m
            yield y
