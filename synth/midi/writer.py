""":class:`~synth.score.Score` -> type-1 standard MIDI file.

Layout
------
* Track 0 (conductor): title, tempo map, time and key signatures, and the
  pitch-bend range (RPN 0) of the member channels used for microtones.
* One track per part, named after the part, with an instrument-name event
  holding the preset (so synth reads its own files back with their presets),
  and the part's gain and pan as channel volume (CC7 + CC39, 14-bit, GM2
  curve) and pan (CC10).
* What MIDI cannot carry (effects, patch overrides, gains above 0 dB) is
  listed in ``warn`` (:func:`lost_in_export`); tempo ramps become a staircase
  (:func:`tempo_events`).
* Times: ``tick = round(beat * ticks_per_beat)`` from absolute beats, so
  nothing accumulates; a file read by :func:`synth.midi.read_midi` at the
  same resolution is written back tick for tick.

Channels
--------
* Parts playing the ``drums`` preset use channel 10.
* Every other part gets a *home* channel (0..15 except 9) with a program
  change to the GM program of its preset (:func:`gm.program_for_preset`).
* A note whose pitch is fractional or that carries ``Note.bend`` (or that
  lies inside a longer note of the same key, which one channel cannot
  express) is written MPE-style: it gets a channel of its own from the *member pool* (the
  channels no part calls home), preceded by a program change if needed and a
  pitch bend to its offset from the nearest key; bend breakpoints follow as
  pitch-bend events.  Every pool channel gets the same bend range (RPN 0) at
  tick 0: 2 semitones, or more when some note needs it.  When more such notes
  sound at once than the pool has channels, the channel of the note that
  started earliest is shared and a warning says how many notes may be off
  pitch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MidiError
from ..score import Note, Score, TempoMap
from . import gm

if TYPE_CHECKING:
    import mido

    from ..score import MeterMap

__all__ = ["MIN_MIDI_BPM", "RAMP_STEP_BEATS", "score_to_midifile", "midi_bytes", "tempo_events",
           "lost_in_export"]

#: Slowest tempo a set-tempo event can hold (0xFFFFFF microseconds per beat).
MIN_MIDI_BPM = 60e6 / 0xFFFFFF
_MAX_BEND_RANGE = 96
#: Beats between the set-tempo events of a tempo ramp's staircase (a 32nd note).
RAMP_STEP_BEATS = 0.125


@dataclass
class _Ev:
    tick: int
    order: int          # sort within a tick: 0 setup, 1 note-off, 2 bend/program, 3 note-on
    seq: int
    msg: mido.Message


def _ticks(beat: float, tpb: int) -> int:
    return int(round(beat * tpb))


def _needs_channel_of_its_own(n: Note) -> bool:
    return n.pitch != round(n.pitch) or any(s != 0.0 for _, s in n.bend)


def _notes_needing_own_channel(score: Score, tpb: int) -> set[tuple[int, int]]:
    """(part index, note index) of the notes written on a channel of their own.

    Microtonal and bent notes (their bend must not detune other notes), and
    notes nested inside a longer note of the same key in the same part: on
    one channel the reader's first-in first-out pairing would give the inner
    note-off to the outer note.
    """
    own: set[tuple[int, int]] = set()
    for pi, part in enumerate(score.parts):
        if part.preset in gm.DRUM_PRESETS:
            continue
        sounding: dict[int, list[int]] = {}
        for ni, n in enumerate(part.notes):
            if _needs_channel_of_its_own(n):
                own.add((pi, ni))
                continue
            start = _ticks(n.start, tpb)
            end = max(_ticks(n.end, tpb), start + 1)
            ends = [e for e in sounding.get(int(round(n.pitch)), []) if e > start]
            if any(e > end for e in ends):
                own.add((pi, ni))
            else:
                sounding[int(round(n.pitch))] = ends + [end]
    return own


def _bend_value(semitones: float, bend_range: int) -> int:
    return max(-8192, min(8191, int(round(semitones / bend_range * 8192))))


def score_to_midifile(score: Score, *, ticks_per_beat: int = 960,
                      warn: list[str] | None = None) -> mido.MidiFile:
    """Build the type-1 :class:`mido.MidiFile` of ``score``.

    Parameters
    ----------
    score : Score
    ticks_per_beat : int
        Resolution, 1..32767 ticks per quarter note.
    warn : list of str, optional
        Receives one sentence per approximation made.

    Raises
    ------
    MidiError
        For a tempo MIDI cannot hold (slower than 3.58 bpm, or faster than
        60,000,000 bpm) or a bad resolution.
    """
    import mido     # here, not at the top: reading a file and rendering never need it (0.08 s)

    warn = [] if warn is None else warn
    if not (isinstance(ticks_per_beat, int) and 1 <= ticks_per_beat <= 0x7FFF):
        raise MidiError(f"ticks_per_beat must be an integer 1..32767, got {ticks_per_beat!r}")
    tpb = ticks_per_beat
    mf = mido.MidiFile(type=1, ticks_per_beat=tpb)

    conductor: list[_Ev] = []
    seq = 0

    def add(events, tick, order, msg):
        nonlocal seq
        events.append(_Ev(tick, order, seq, msg))
        seq += 1

    add(conductor, 0, 0, mido.MetaMessage("track_name", name=score.title))
    for tick, us in tempo_events(score.tempo, tpb, warn):
        add(conductor, tick, 0, mido.MetaMessage("set_tempo", tempo=us))
    for tick, num, den in time_signatures(score.meters, tpb):
        add(conductor, tick, 0,
            mido.MetaMessage("time_signature", numerator=num, denominator=den))
    for k in score.keys:
        if k.mode not in ("major", "minor"):
            warn.append(f"key {k} at beat {k.beat:g}: MIDI has only major and minor; "
                        f"key signature left out")
            continue
        tonic = k.tonic
        try:
            add(conductor, _ticks(k.beat, tpb), 0,
                mido.MetaMessage("key_signature", key=tonic + ("m" if k.mode == "minor" else "")))
        except (ValueError, KeyError):
            warn.append(f"key {k} at beat {k.beat:g} has no MIDI key signature; left out")
    own = _notes_needing_own_channel(score, tpb)
    # Home channels for parts that play plain notes.
    plain_channels = [c for c in range(16) if c != gm.DRUM_CHANNEL]
    home: dict[str, int] = {}
    next_home = 0
    for pi, part in enumerate(score.parts):
        if part.preset in gm.DRUM_PRESETS:
            home[part.name] = gm.DRUM_CHANNEL
        elif any((pi, ni) not in own for ni in range(len(part.notes))) or not part.notes:
            if next_home >= len(plain_channels):
                warn.append(f"more than {len(plain_channels)} pitched parts: part "
                            f"{part.name!r} shares channel "
                            f"{plain_channels[next_home % len(plain_channels)] + 1}")
            home[part.name] = plain_channels[next_home % len(plain_channels)]
            next_home += 1
    pool = [c for c in plain_channels if c not in home.values()]

    micro = [((pi, ni), score.parts[pi].notes[ni]) for pi, ni in sorted(own)]
    if micro and not pool:
        pool = plain_channels[-1:]
        warn.append("no MIDI channel left for microtonal notes; they share channel "
                    f"{pool[0] + 1} and may be off pitch")
    bend_range = 2
    for _, n in micro:
        need = max([abs(n.pitch - round(n.pitch))]
                   + [abs(n.pitch - round(n.pitch) + s) for _, s in n.bend])
        # Upward bends top out at 8191/8192 of the range: leave room for them.
        bend_range = max(bend_range, math.ceil(need * 8192 / 8191 - 1e-9))
    if bend_range > _MAX_BEND_RANGE:
        raise MidiError(f"a pitch bend of {bend_range} semitones exceeds the "
                        f"{_MAX_BEND_RANGE}-semitone range MIDI export supports")

    # Allocate pool channels to microtonal notes over time (MPE-style).
    alloc = _allocate(micro, pool, tpb, warn)
    # Bend range (RPN 0) on every pool channel in use, in the conductor track
    # so it precedes every note; RPN deselected afterwards (127/127).
    for pc in sorted(set(alloc.values())):
        for ctl, val in ((101, 0), (100, 0), (6, bend_range), (38, 0), (101, 127), (100, 127)):
            add(conductor, 0, 0, mido.Message("control_change", channel=pc, control=ctl,
                                              value=val))

    mf.tracks.append(_to_track(conductor))
    warn.extend(lost_in_export(score))
    for pi, part in enumerate(score.parts):
        events: list[_Ev] = []
        add(events, 0, 0, mido.MetaMessage("track_name", name=part.name))
        add(events, 0, 0, mido.MetaMessage("instrument_name", name=part.preset))
        program = gm.program_for_preset(part.preset)
        ch = home.get(part.name)
        mix = _mix_messages(part)
        if ch is not None and ch != gm.DRUM_CHANNEL:
            add(events, 0, 0, mido.Message("program_change", channel=ch, program=program))
        if ch is not None:
            for ctl, val in mix:
                add(events, 0, 0, mido.Message("control_change", channel=ch, control=ctl,
                                               value=val))
        for ni, n in enumerate(part.notes):
            start = _ticks(n.start, tpb)
            end = max(_ticks(n.end, tpb), start + 1)
            key = int(round(n.pitch))
            vel = int(n.velocity)
            if (pi, ni) in own:
                c = alloc[(pi, ni)]
                offset = n.pitch - key
                add(events, start, 2, mido.Message("program_change", channel=c, program=program))
                for ctl, val in mix:
                    add(events, start, 2, mido.Message("control_change", channel=c, control=ctl,
                                                       value=val))
                points = list(n.bend) or [(0.0, 0.0)]
                if points[0][0] > 0:
                    points.insert(0, (0.0, 0.0))
                for off, semis in points:
                    t = start + _ticks(off, tpb)
                    if t >= end:
                        break
                    add(events, t, 2, mido.Message(
                        "pitchwheel", channel=c,
                        pitch=_bend_value(offset + semis, bend_range)))
                add(events, start, 3, mido.Message("note_on", channel=c, note=key, velocity=vel))
                add(events, end, 1, mido.Message("note_off", channel=c, note=key, velocity=0))
            else:
                c = home[part.name]
                add(events, start, 3, mido.Message("note_on", channel=c, note=key, velocity=vel))
                add(events, end, 1, mido.Message("note_off", channel=c, note=key, velocity=0))
        mf.tracks.append(_to_track(events))
    return mf


def time_signatures(meters: MeterMap, tpb: int) -> list[tuple[int, int, int]]:
    """``(tick, numerator, denominator)`` of the meter map.

    A pickup bar (bar 0) is written as a bar in a time signature of its own
    length (a one-beat pickup in 3/4 is a 1/4 bar), followed by the first
    meter at the end of the pickup, as notation programs export an anacrusis;
    :func:`synth.midi.reader.build_meter_map` reads that back as a pickup.
    """
    out = []
    changes = meters.changes
    if meters.pickup:
        first = changes[0]
        den = first.denominator
        while (meters.pickup * den / 4) != round(meters.pickup * den / 4) and den < 64:
            den *= 2
        out.append((0, max(1, round(meters.pickup * den / 4)), den))
        out.append((_ticks(meters.pickup, tpb), first.numerator, first.denominator))
        changes = changes[1:]
    out += [(_ticks(m.beat, tpb), m.numerator, m.denominator) for m in changes]
    return out


def _mix_messages(part) -> list[tuple[int, int]]:
    """``(controller, value)``: channel volume CC7 + CC39 (14-bit) and pan CC10."""
    vol = gm.gain_db_to_volume(part.gain_db)
    return [(7, vol >> 7), (39, vol & 0x7F), (10, gm.pan_to_cc(part.pan))]


def lost_in_export(score: Score) -> list[str]:
    """One sentence per thing of ``score`` a MIDI file cannot carry.

    Effects (per part and master), patch overrides, part gains above the
    0 dB of full MIDI volume, and the master stage (normalisation, loudness
    target, limiter: a render setting, never in the file).
    """
    out = []
    loud = [f"{p.name!r} ({p.gain_db:+g} dB)" for p in score.parts
            if gm.volume_to_gain_db(gm.gain_db_to_volume(p.gain_db)) < p.gain_db - 0.01]
    if loud:
        out.append("part gain above MIDI's full volume (CC7 127 = 0 dB) written as 0 dB: "
                   + ", ".join(loud))
    patched = [p.name for p in score.parts if p.patch]
    if patched:
        out.append("patch overrides not written (MIDI has no place for them; the preset name "
                   "and GM program are): " + ", ".join(repr(n) for n in patched))
    fx = [f"{p.name!r} ({', '.join(str(e.get('type')) for e in p.effects)})"
          for p in score.parts if p.effects]
    if fx:
        out.append("part effects not written: " + ", ".join(fx))
    if score.master_effects:
        out.append("master effects not written: "
                   + ", ".join(str(e.get("type")) for e in score.master_effects))
    return out


def _check_us(us: int, bpm: float, beat: float) -> int:
    if us > 0xFFFFFF or us < 1:
        raise MidiError(f"tempo {bpm:g} bpm at beat {beat:g} cannot be written as "
                        f"MIDI (range {MIN_MIDI_BPM:.2f} .. 60000000 bpm)")
    return us


def tempo_events(tempo: TempoMap, tpb: int, warn: list[str] | None = None
                 ) -> list[tuple[int, int]]:
    """``(tick, microseconds per beat)`` set-tempo events of ``tempo``.

    A held tempo is one event, ``round(60e6 / bpm)``.  A ramp (linear or
    exponential) becomes a *staircase*: one event every :data:`RAMP_STEP_BEATS`
    beat (rounded to whole ticks, at least one tick), each holding the mean
    tempo of its step, with the microsecond rounding carried from step to
    step, so the file's seconds at every step boundary stay within a
    microsecond or so of the exact ramp (and the error does not grow along
    the ramp).  ``warn`` receives one sentence saying how many events the
    ramps became.
    """
    out: list[tuple[int, int]] = []
    changes = tempo.changes
    steps = 0
    step_ticks = max(1, round(RAMP_STEP_BEATS * tpb))
    for i, c in enumerate(changes):
        tick0 = _ticks(c.beat, tpb)
        if c.ramp == "step" or changes[i + 1].bpm == c.bpm:
            out.append((tick0, _check_us(round(60e6 / c.bpm), c.bpm, c.beat)))
            continue
        tick1 = _ticks(changes[i + 1].beat, tpb)
        edges = list(range(tick0, tick1, step_ticks)) + [tick1]
        target = np.asarray(tempo.seconds(np.asarray(edges, dtype=np.float64) / tpb))
        written = float(target[0])
        for a, b, t_end in zip(edges[:-1], edges[1:], target[1:]):
            if b <= a:
                continue
            us = round((float(t_end) - written) * 1e6 * tpb / (b - a))
            out.append((a, _check_us(us, tempo.bpm_at(a / tpb), a / tpb)))
            written += (b - a) / tpb * us / 1e6
            steps += 1
    if steps and warn is not None:
        ramps = sum(c.ramp != "step" for c in changes)
        warn.append(f"{ramps} tempo ramp(s) written as a staircase of {steps} set-tempo events "
                    f"(one every {step_ticks / tpb:g} beat); MIDI has no tempo ramps")
    return out


def _allocate(micro, pool: list[int], tpb: int, warn: list[str]) -> dict[tuple[int, int], int]:
    """Give each microtonal note a pool channel not in use during it."""
    busy_until = {c: -1 for c in pool}       # tick at which each channel frees up
    started = {c: -1 for c in pool}
    alloc: dict[tuple[int, int], int] = {}
    shared = 0
    for where, n in sorted(micro, key=lambda pn: (pn[1].start, pn[1].pitch)):
        start = _ticks(n.start, tpb)
        end = max(_ticks(n.end, tpb), start + 1)
        free = [c for c in pool if busy_until[c] <= start]
        if free:
            # Least recently released: a release tail on it has had longest to fade.
            c = min(free, key=lambda c: (busy_until[c], c))
        else:
            c = min(pool, key=lambda c: (started[c], c))
            shared += 1
        alloc[where] = c
        busy_until[c] = max(busy_until[c], end)
        started[c] = start
    if shared:
        warn.append(f"{shared} note(s) needing a channel of their own (microtones, bends, "
                    f"nested same-key notes) had to share one with another sounding note "
                    f"({len(pool)} channels free); their pitch or length may be off")
    return alloc


def _to_track(events: list[_Ev]) -> mido.MidiTrack:
    import mido

    track = mido.MidiTrack()
    last = 0
    for ev in sorted(events, key=lambda e: (e.tick, e.order, e.seq)):
        track.append(ev.msg.copy(time=ev.tick - last))
        last = ev.tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def midi_bytes(score: Score, *, ticks_per_beat: int = 960,
               warn: list[str] | None = None) -> bytes:
    """The type-1 standard MIDI file of ``score``, as bytes (see :func:`score_to_midifile`)."""
    import io
    buf = io.BytesIO()
    score_to_midifile(score, ticks_per_beat=ticks_per_beat, warn=warn).save(file=buf)
    return buf.getvalue()
