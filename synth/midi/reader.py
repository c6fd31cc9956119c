"""Standard MIDI file -> :class:`~synth.score.Score`.

The bytes first go through :func:`synth.midi.repair.repair_smf` (which
repairs or refuses malformed files and lists each track's clean events),
then this module turns those events into a score (decoding them as mido
would, with mido's names and values, without building mido's message
objects: that parse and mido's import were about 0.2 s of rendering a
3-minute file):

* absolute ticks -> beats (``tick / ticks_per_beat``), never summed deltas;
* tempo events from any track form the tempo map (120 bpm until the first);
* time and key signatures -> :class:`~synth.score.MeterMap` /
  :class:`~synth.score.KeyChange` (a meter change off the bar line is
  dropped with a warning);
* notes are paired first-in first-out per (track, channel, key); a note-on
  with velocity 0 is a note-off; stray note-offs are ignored; notes never
  released end with their track (warning); zero-length notes last one tick;
* pitch bend -> ``Note.bend`` breakpoints in semitones, scaled by the
  channel's bend range (RPN 0; default +-2 semitones);
* program changes -> presets (:mod:`synth.midi.gm`); channel 10 -> ``drums``;
* format 2 files: the tracks (patterns) are played one after another.
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from dataclasses import dataclass, field

import numpy as np

from ..errors import MidiError, ScoreError
from ..files import read_bytes
from .. import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
from ..patch import PRESETS
from ..score import KeyChange, MeterChange, MeterMap, Metadata, Note, Part, Score, TempoMap
from . import gm
from .repair import MAX_FILE_BYTES, RepairResult, repair_smf

__all__ = ["MAX_GAP_SECONDS", "DEFAULT_BEND_RANGE", "read_midi_report", "build_meter_map"]

#: A silence longer than this between note events (or before the first) is
#: taken as a corrupt delta time and the file is refused.
MAX_GAP_SECONDS = 3600.0
#: Pitch-bend range in semitones until an RPN 0 message sets another.
DEFAULT_BEND_RANGE = 2.0
_MAX_LISTED = 3


#: mido's message names of the channel messages the reader uses, by status nibble.
_CHANNEL_TYPES = {0x8: "note_off", 0x9: "note_on", 0xB: "control_change",
                  0xC: "program_change", 0xE: "pitchwheel"}

#: Key names of a key signature (sharps, or flats when negative; 1 = minor), as mido names them.
_KEYS = {(sf, 0): name for sf, name in zip(range(-7, 8), (
    "Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"))}
_KEYS.update({(sf, 1): name for sf, name in zip(range(-7, 8), (
    "Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m",
    "A#m"))})


class _Message:
    """A channel message, with the attributes of mido's message of the same type."""

    __slots__ = ("type", "channel", "note", "velocity", "pitch", "program", "control", "value")

    def __init__(self, event: bytes):
        status = event[0]
        self.type = _CHANNEL_TYPES[status >> 4]
        self.channel = status & 0x0F
        if self.type == "pitchwheel":
            self.pitch = (event[1] | (event[2] << 7)) - 8192
        elif self.type == "program_change":
            self.program = event[1]
        elif self.type == "control_change":
            self.control, self.value = event[1], event[2]
        else:
            self.note, self.velocity = event[1], event[2]


def _meta_body(event: bytes) -> bytes:
    """The data of a meta event ``FF type length data`` (a variable-length ``length``)."""
    pos = 2
    while event[pos] & 0x80:
        pos += 1
    return event[pos + 1:]


@dataclass
class _OpenNote:
    start: int
    key: int
    velocity: int
    track: int
    channel: int
    program: int
    volume: int | None = None         # 14-bit channel volume at the note-on, if ever set
    pan: int | None = None            # CC10 at the note-on, if ever set
    bends: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class _ChannelState:
    program: int = 0
    bend: float = 0.0                 # semitones
    bend_range: float = DEFAULT_BEND_RANGE
    rpn: tuple[int, int] = (127, 127)  # (MSB, LSB); 127/127 = none selected
    range_semitones: int = 2
    range_cents: int = 0
    volume: int | None = None          # 14-bit: CC7 * 128 + CC39
    pan: int | None = None


def build_meter_map(changes: list[MeterChange], warn: list[str],
                    pickup: float = 0.0) -> MeterMap:
    """A MeterMap of ``changes``, dropping (with a message) those off the bar line.

    A first bar in a meter of its own, shorter than the meter that follows
    it and lasting one bar (a 1/4 bar before 3/4: how notation programs
    export an anacrusis), is read as a **pickup** (bar 0) of the meter that
    follows.  ``pickup`` (beats) gives one explicitly instead.
    """
    kept: list[MeterChange] = []
    by_beat: dict[float, MeterChange] = {}
    for c in changes:
        by_beat[c.beat] = c            # last one at a beat wins
    ordered = sorted(by_beat.values(), key=lambda c: c.beat)
    if (not pickup and len(ordered) >= 2 and ordered[0].beat == 0.0
            and ordered[1].beat == float(ordered[0].bar_beats)
            and ordered[0].bar_beats < ordered[1].bar_beats):
        pickup = ordered[1].beat
        ordered = [MeterChange(0.0, ordered[1].numerator, ordered[1].denominator)] + ordered[2:]
    for c in ordered:
        try:
            MeterMap(kept + [c], pickup=pickup)
        except ScoreError as e:
            warn.append(f"time signature {c} at beat {c.beat:g} dropped: {e}")
            continue
        kept.append(c)
    try:
        return MeterMap(kept, pickup=pickup)
    except ScoreError as e:
        warn.append(f"pickup bar of {pickup:g} beats dropped: {e}")
        return MeterMap(kept)


def _tempo_map(rep: RepairResult, offsets: list[int], warn: list[str]) -> TempoMap:
    tpb = rep.ticks_per_beat
    if rep.smpte_tempo is not None:
        if any(t.tempos for t in rep.tracks):
            warn.append("tempo events ignored (SMPTE-timed file)")
        return TempoMap([(0.0, 60e6 / rep.smpte_tempo)])
    events = sorted(((off + tick, us) for off, t in zip(offsets, rep.tracks)
                     for tick, us in t.tempos), key=lambda e: e[0])
    changes = [(tick / tpb, 60e6 / us) for tick, us in events]
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0.0, 120.0))
    return TempoMap(changes)


def _key_change(beat: float, key: str) -> KeyChange:
    minor = key.endswith("m")
    return KeyChange(beat, key[:-1] if minor else key, "minor" if minor else "major")


def _fmt_seconds(s: float) -> str:
    h, rem = divmod(int(s), 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}"


def read_midi_report(path_or_bytes: str | os.PathLike[str] | bytes, *, source: str | None = None,
                     max_seconds: float | None = None) -> tuple[Score, list[str]]:
    """Read a standard MIDI file; return the score and the repair/warning messages.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike or bytes
        The file, or its content.
    source : str, optional
        Name used in messages (default: the path).
    max_seconds : float, optional
        Refuse files whose notes last longer, before building any note.

    Returns
    -------
    score : Score
    messages : list of str
        What was repaired or changed, one sentence each.

    Raises
    ------
    MidiError
        If the file cannot be read or repaired (the message says why).
    """
    data, path = read_bytes(path_or_bytes, limit=MAX_FILE_BYTES, error_type=MidiError,
                            kind="MIDI files")
    source = source or path
    try:
        return _read(data, source, max_seconds)
    except MidiError as e:
        raise e.with_source(source) if source else e from None


def _read(data: bytes, source: str | None, max_seconds: float | None):
    rep = repair_smf(data)
    warn = list(rep.messages)
    tpb = rep.ticks_per_beat
    ntracks = len(rep.tracks)
    if rep.format == 2:
        offsets = [int(x) for x in np.concatenate(
            [[0], np.cumsum([t.end_tick for t in rep.tracks])[:-1]])]
        if ntracks > 1:
            warn.append(f"format 2 file: its {ntracks} patterns are played one after another")
    else:
        offsets = [0] * ntracks
    tempo = _tempo_map(rep, offsets, warn)

    # Duration check before anything proportional to the notes is built.
    last_note = max((off + t.last_note_tick for off, t in zip(offsets, rep.tracks)
                     if t.last_note_tick >= 0), default=0)
    if max_seconds is not None:
        seconds = tempo.seconds(last_note / tpb)
        if seconds > max_seconds:
            raise MidiError(f"lasts {seconds:.1f} s, more than the limit of "
                            f"{max_seconds:g} s (--max-seconds)")

    # Merge all tracks in time order: channel state (program, bend, RPN) is
    # shared by every track on the port.
    merged: list[tuple[int, int, _Message]] = []
    track_names: dict[int, str] = {}
    instruments: dict[int, str] = {}
    copyright_text = ""
    meters: list[MeterChange] = []
    keys: list[KeyChange] = []
    for ti, summary in enumerate(rep.tracks):
        offset = offsets[ti]
        for event_tick, event in summary.events:
            tick = offset + event_tick
            status = event[0]
            if status == 0xFF:
                kind = event[1]
                if kind == 0x03 and ti not in track_names:          # track name
                    name = _meta_body(event).decode("latin1").strip()
                    if name:
                        track_names[ti] = name
                elif kind == 0x04 and ti not in instruments:        # instrument name
                    instruments[ti] = _meta_body(event).decode("latin1").strip()
                elif kind == 0x02 and not copyright_text:           # copyright
                    copyright_text = _meta_body(event).decode("latin1").strip()
                elif kind == 0x58:                                  # time signature
                    body = _meta_body(event)
                    try:
                        meters.append(MeterChange(tick / tpb, body[0], 2 ** body[1]))
                    except ScoreError as e:
                        warn.append(f"track {ti + 1}: time signature at tick {tick} dropped: {e}")
                elif kind == 0x59:                                  # key signature
                    body = _meta_body(event)
                    sharps = body[0] - 256 if body[0] > 127 else body[0]
                    try:
                        keys.append(_key_change(tick / tpb, _KEYS[sharps, body[1]]))
                    except ScoreError as e:
                        warn.append(f"track {ti + 1}: key signature at tick {tick} dropped: {e}")
            elif status >> 4 in _CHANNEL_TYPES:
                merged.append((tick, ti, _Message(event)))
    merged.sort(key=lambda e: e[0])   # stable: file order kept within a tick

    _check_gaps(merged, tempo, tpb)

    states = [_ChannelState() for _ in range(16)]
    fifo: dict[tuple[int, int, int], deque[_OpenNote]] = defaultdict(deque)
    sounding: list[list[_OpenNote]] = [[] for _ in range(16)]
    done: list[tuple[_OpenNote, int]] = []
    stray = 0
    # note-offs with no sounding note, by key: (tick, count).  A note-on of that key at
    # the same tick pairs with one as a zero-length note: music21 writes grace notes
    # that way (off before on), and FluidSynth and mido play them as such
    early: dict[tuple[int, int, int], tuple[int, int]] = {}
    early_paired = 0
    for tick, ti, msg in merged:
        ch = msg.channel
        st = states[ch]
        kind = msg.type
        if kind == "note_on" and msg.velocity > 0:
            rec = _OpenNote(tick, msg.note, msg.velocity, ti, ch, st.program, st.volume, st.pan)
            if st.bend:
                rec.bends.append((tick, st.bend))
            key = (ti, ch, msg.note)
            off = early.get(key)
            if off is not None and off[0] == tick and off[1] > 0:
                early[key] = (tick, off[1] - 1)
                early_paired += 1
                done.append((rec, tick))
                continue
            fifo[key].append(rec)
            sounding[ch].append(rec)
        elif kind in ("note_on", "note_off"):
            key = (ti, ch, msg.note)
            queue = fifo.get(key)
            if not queue:
                off = early.get(key)
                if off is not None and off[0] != tick:
                    stray += off[1]
                    off = None
                early[key] = (tick, (off[1] if off else 0) + 1)
                continue
            rec = queue.popleft()
            sounding[ch].remove(rec)
            done.append((rec, tick))
        elif kind == "pitchwheel":
            st.bend = msg.pitch / 8192.0 * st.bend_range
            for rec in sounding[ch]:
                rec.bends.append((tick, st.bend))
        elif kind == "program_change":
            st.program = msg.program
        elif kind == "control_change":
            _control(st, msg.control, msg.value)

    stray += sum(count for _, count in early.values())
    if early_paired:
        warn.append(f"{early_paired} note-off(s) written just before their note-on at the "
                    "same tick paired with it as zero-length notes")
    if stray:
        warn.append(f"{stray} note-off(s) without a sounding note ignored")
    # Notes never released end with their track (or with the track's last
    # note event, if the end-of-track is absurdly far after it).
    unreleased = [rec for q in fifo.values() for rec in q]
    if unreleased:
        examples = []
        for rec in sorted(unreleased, key=lambda r: (r.start, r.key)):
            summ = rep.tracks[rec.track]
            end = offsets[rec.track] + summ.end_tick
            last = offsets[rec.track] + max(summ.last_note_tick, 0)
            if tempo.seconds(end / tpb) - tempo.seconds(last / tpb) > MAX_GAP_SECONDS:
                end = last
            done.append((rec, end))
            if len(examples) < _MAX_LISTED:
                examples.append(f"track {rec.track + 1} key {rec.key} at beat {rec.start / tpb:g}")
        more = "" if len(unreleased) <= _MAX_LISTED else ", ..."
        warn.append(f"{len(unreleased)} note(s) never released, closed at the end of their "
                    f"track ({'; '.join(examples)}{more})")

    parts, zero = _build_parts(done, tpb, rep.format, track_names, instruments, warn)
    if zero:
        warn.append(f"{zero} zero-length note(s) given a length of one tick")
    if parts and not any(p.notes for p in parts):
        parts = []
    meter_map = build_meter_map(meters, warn)
    title = ""
    if rep.format == 1 and 0 in track_names and not any(rec.track == 0 for rec, _ in done):
        title = track_names[0]
    if not title and source:
        title = os.path.splitext(os.path.basename(source))[0]
    provenance = {"source": os.path.basename(source)} if source else {}
    if copyright_text:
        provenance["license"] = copyright_text
    score = Score(parts=tuple(parts), tempo=tempo, meters=meter_map, keys=tuple(keys),
                  metadata=Metadata(title=title or "Untitled", provenance=provenance))
    if max_seconds is not None and score.duration_seconds > max_seconds:
        raise MidiError(f"lasts {score.duration_seconds:.1f} s, more than the limit of "
                        f"{max_seconds:g} s (--max-seconds)")
    return score, warn


def _control(st: _ChannelState, control: int, value: int) -> None:
    """Track RPN selection and data entry for the pitch-bend range."""
    if control == 101:
        st.rpn = (value, st.rpn[1])
    elif control == 100:
        st.rpn = (st.rpn[0], value)
    elif control in (99, 98):          # NRPN selected: data entry is not ours
        st.rpn = (127, 127)
    elif control in (6, 38) and st.rpn == (0, 0):
        if control == 6:
            st.range_semitones = value
        else:
            st.range_cents = value
        st.bend_range = st.range_semitones + st.range_cents / 100.0
    elif control == 7:                 # channel volume MSB (resets the LSB)
        st.volume = value << 7
    elif control == 39:                # channel volume LSB
        st.volume = ((st.volume if st.volume is not None else 100 << 7) & ~0x7F) | value
    elif control == 10:
        st.pan = value
    elif control == 121:               # reset all controllers
        st.bend = 0.0
        if st.volume is not None:
            st.volume = 100 << 7
        if st.pan is not None:
            st.pan = 64


def _check_gaps(merged, tempo: TempoMap, tpb: int) -> None:
    """Refuse a file whose note events have a silence of more than an hour."""
    ticks = [(tick, ti) for tick, ti, msg in merged if msg.type in ("note_on", "note_off")]
    if not ticks:
        return
    arr = np.array([0] + [t for t, _ in ticks], dtype=np.float64)
    secs = np.asarray(tempo.seconds(arr / tpb))
    gaps = np.diff(secs)
    i = int(np.argmax(gaps))
    if gaps[i] > MAX_GAP_SECONDS:
        tick, ti = ticks[i]
        raise MidiError(f"track {ti + 1}: {_fmt_seconds(gaps[i])} (h:mm:ss) of silence before "
                        f"the note event at tick {tick}; a delta time that long is taken as "
                        f"corruption (limit {MAX_GAP_SECONDS / 3600:g} h)")


def _build_parts(done, tpb: int, fmt: int, track_names: dict[int, str],
                 instruments: dict[int, str], warn: list[str] | None = None
                 ) -> tuple[list[Part], int]:
    """Group closed notes into parts: one per (track, drums or program).

    A part's gain and pan are the channel volume (CC7/CC39) and pan (CC10)
    in force at its first note; later changes are not followed (a warning
    names the parts whose level or pan changes).
    """
    groups: dict[tuple, list[Note]] = defaultdict(list)
    mixes: dict[tuple, set] = defaultdict(set)
    first: dict[tuple, tuple] = {}
    zero = 0
    for rec, end in sorted(done, key=lambda d: (d[0].start, d[0].key)):
        drum = rec.channel == gm.DRUM_CHANNEL
        if end <= rec.start:
            zero += 1
            end = rec.start + 1
        if fmt == 0:
            key = (rec.track, rec.channel, -1 if drum else rec.program)
        else:
            key = (rec.track, -1 if drum else 0, -1 if drum else rec.program)
        bend = () if drum else _bend_points(rec, end, tpb)
        pitch = float(rec.key)
        if len(bend) == 1 and bend[0][0] == 0.0 and abs(bend[0][1]) <= 0.5:
            # a bend held through the whole note, within a quarter-tone either
            # way of the key: a microtonal pitch (as synth export writes one)
            pitch, bend = pitch + bend[0][1], ()
            if not 0.0 <= pitch <= 127.0:
                pitch, bend = float(rec.key), ((0.0, pitch - rec.key),)
        groups[key].append(Note(start=rec.start / tpb, duration=(end - rec.start) / tpb,
                                pitch=pitch, velocity=int(rec.velocity), bend=bend))
        first.setdefault(key, (rec.volume, rec.pan))
        mixes[key].add((rec.volume, rec.pan))
    per_track = defaultdict(int)
    for key in groups:
        per_track[key[0]] += 1
    parts: list[Part] = []
    used: set[str] = set()
    for key in sorted(groups):
        track, chan_or_drum, program = key
        drum = program == -1
        if drum:
            preset, desc = gm.DRUM_PRESET, "percussion (channel 10)"
            if instruments.get(track) in gm.DRUM_PRESETS:    # a kit named on export
                preset = instruments[track]
        else:
            preset = gm.preset_for_program(program)
            desc = f"GM program {program + 1} ({gm.family_name(program)})"
            inst = instruments.get(track)
            # An instrument name that is one of synth's presets (as export writes
            # it) wins over the GM program; DAW names ("Grand Piano") are not.
            if ((inst in gm.KNOWN_PRESETS or inst in PRESETS) and inst not in gm.DRUM_PRESETS
                    and per_track[track] == 1):
                preset = inst
        base = track_names.get(track, f"track {track + 1}")
        if per_track[track] > 1:
            if fmt == 0:
                base = f"{base} ch{chan_or_drum + 1}"
            else:
                base = f"{base} ({preset})"
        name, n = base, 2
        while name in used:
            name, n = f"{base} {n}", n + 1
        used.add(name)
        volume, pan = first[key]
        if len(mixes[key]) > 1 and warn is not None:
            warn.append(f"part {name!r}: channel volume or pan changes while it plays; "
                        "the values at its first note are kept")
        parts.append(Part(name=name, notes=tuple(groups[key]), preset=preset,
                          description=desc,
                          gain_db=0.0 if volume is None else gm.volume_to_gain_db(volume),
                          pan=0.0 if pan is None else gm.cc_to_pan(pan)))
    return parts, zero


def _bend_points(rec: _OpenNote, end: int, tpb: int) -> tuple[tuple[float, float], ...]:
    """Breakpoints (beat offset, semitones) of the bends heard while ``rec`` is held."""
    points: list[tuple[float, float]] = []
    for tick, semis in rec.bends:
        if tick >= end:
            break
        off = (tick - rec.start) / tpb
        if points and points[-1][0] == off:
            points[-1] = (off, semis)
        elif not points or points[-1][1] != semis:
            points.append((off, semis))
    if all(s == 0.0 for _, s in points):
        return ()
    if points[0][0] > 0:
        points.insert(0, (0.0, 0.0))
    return tuple(points)
