"""Deterministic reference MIDI workloads for the performance benchmark (issue 7).

=========================================  =====================================
:func:`reference_workload`                 the 8-part reference piece (180 s at
                                           96 bpm, ~4000 notes, mean polyphony
                                           ~20); any length, or twice the parts
:func:`dense_workload`                     exactly ``n_notes`` short notes,
                                           crowded into a short span
:func:`many_parts_workload`                ``n_parts`` tracks of a few notes
:func:`midi_file_bytes`                    MidiFile -> the bytes of a .mid file
:func:`note_stats`                         notes, parts, programs, duration and
                                           mean polyphony of a MidiFile
:func:`write_all`                          every workload into a folder
=========================================  =====================================

Every workload is a type-1 MIDI file: track 0 is the conductor (tempo, 4/4,
key of D minor); each further track is one part on its own channel (never the
percussion channel) and starts with a GM program change.  All randomness
comes from :func:`synth.seeds.rng` with a path naming the workload and the
part, so a workload is the same bytes on every run and every machine.

Usage::

    python bench/workload.py OUTDIR      # writes every workload, prints stats
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import dataclass

import mido
import numpy as np

from synth import seeds

__all__ = [
    "BPM",
    "TICKS_PER_BEAT",
    "DEFAULT_SEED",
    "PARTS",
    "WORKLOADS",
    "NoteStats",
    "reference_workload",
    "dense_workload",
    "many_parts_workload",
    "midi_file_bytes",
    "note_stats",
    "write_all",
    "main",
]

BPM = 96.0
TICKS_PER_BEAT = 480
DEFAULT_SEED = 2024
BEATS_PER_BAR = 4

#: (part name, 0-based GM program, MIDI channel) of the reference piece.  The
#: programs fall in the GM families that synth maps to bass, pad, saw, lead,
#: bell, reed and pluck presets (see synth.midi.gm).
PARTS: tuple[tuple[str, int, int], ...] = (
    ("bass", 38, 0),              # synth bass 1
    ("pad A", 89, 1),             # pad 2 (warm)
    ("pad B", 94, 2),             # pad 7 (halo)
    ("arpeggio", 81, 3),          # lead 2 (sawtooth)
    ("lead", 84, 4),              # lead 5 (charang)
    ("bells", 14, 5),             # tubular bells
    ("counter-melody", 71, 6),    # clarinet
    ("plucks", 24, 7),            # nylon guitar
)

# Eight-bar progression in D minor: (root as MIDI pitch class offset from C,
# chord tones as semitones above the root).
_MINOR, _MAJOR, _DOM7 = (0, 3, 7, 10), (0, 4, 7, 11), (0, 4, 7, 10)
_PROGRESSION = ((2, _MINOR), (10, _MAJOR), (5, _MAJOR), (0, _DOM7),
                (7, _MINOR), (10, _MAJOR), (0, _DOM7), (9, _DOM7))
_SCALE = (2, 4, 5, 7, 9, 10, 12 + 1)       # D natural minor with C#, as pitch classes


# --------------------------------------------------------------------------- notes

@dataclass(frozen=True)
class _Note:
    start: float       # beats
    gate: float        # beats the key is held
    key: int           # MIDI key
    velocity: int


def _chord(bar: int) -> tuple[int, tuple[int, ...]]:
    return _PROGRESSION[bar % len(_PROGRESSION)]


def _chord_keys(bar: int, low: int, high: int) -> list[int]:
    """Every key in [low, high] that is a tone of bar ``bar``'s chord."""
    root, tones = _chord(bar)
    pcs = {(root + t) % 12 for t in tones}
    return [k for k in range(low, high + 1) if k % 12 in pcs]


def _scale_keys(low: int, high: int) -> list[int]:
    pcs = {p % 12 for p in _SCALE}
    return [k for k in range(low, high + 1) if k % 12 in pcs]


def _voicing(bar: int, low: int) -> list[int]:
    """Four chord tones stacked from the first one at or above ``low``."""
    keys = _chord_keys(bar, low, low + 36)
    return keys[:4]


def _bass(rng, bars):
    out = []
    for bar in range(bars):
        root, tones = _chord(bar)
        tonic = 36 + (root - 36) % 12
        for beat in range(BEATS_PER_BAR):
            fifth = tonic + 7 if tonic + 7 <= 50 else tonic - 5
            key = tonic if beat % 2 == 0 else int(rng.choice([tonic, fifth, tonic + 12]))
            t = bar * BEATS_PER_BAR + beat
            if rng.random() < 0.25:     # an eighth-note pickup on the off-beat
                out.append(_Note(t, 0.45, key, int(rng.integers(80, 101))))
                out.append(_Note(t + 0.5, 0.45, int(rng.choice([tonic, fifth])),
                                 int(rng.integers(70, 91))))
            else:
                out.append(_Note(t, 0.9, key, int(rng.integers(85, 106))))
    return out


def _pad(rng, bars, chords_per_bar, low):
    out = []
    span = BEATS_PER_BAR / chords_per_bar
    for bar in range(bars):
        for c in range(chords_per_bar):
            start = bar * BEATS_PER_BAR + c * span
            base = low + int(rng.integers(0, 5))
            for key in _voicing(bar, base):
                out.append(_Note(start, span - 0.05, key, int(rng.integers(50, 71))))
    return out


def _arpeggio(rng, bars):
    out = []
    for bar in range(bars):
        keys = _chord_keys(bar, 62, 86)[:8]
        pattern = keys + keys[-2:0:-1]                     # up and down
        shift = int(rng.integers(0, len(pattern)))
        for i in range(16):
            key = pattern[(i + shift) % len(pattern)]
            out.append(_Note(bar * BEATS_PER_BAR + i / 4, 1.0, key,
                             int(rng.integers(60, 96))))
    return out


# Lead rhythms: one bar each, (onset, length) in beats.
_LEAD_RHYTHMS = (
    ((0, .5), (.5, .5), (1, .5), (1.5, .5), (2, 1), (3, .5), (3.5, .5)),
    ((0, 1), (1, .5), (1.5, .25), (1.75, .25), (2, .5), (2.5, .5), (3, 1)),
    ((0, .25), (.25, .25), (.5, .5), (1, .5), (1.5, .5), (2, .5), (2.5, .5), (3, .5), (3.5, .5)),
    ((0, 1.5), (1.5, .5), (2, .5), (2.5, .5), (3, .5), (3.5, .5)),
)


def _melody(rng, bars, low, high, rhythms, legato):
    out = []
    scale = _scale_keys(low, high)
    pos = len(scale) // 2
    for bar in range(bars):
        rhythm = rhythms[int(rng.integers(0, len(rhythms)))]
        for onset, length in rhythm:
            pos = int(np.clip(pos + rng.integers(-2, 3), 0, len(scale) - 1))
            out.append(_Note(bar * BEATS_PER_BAR + onset, length * legato, scale[pos],
                             int(rng.integers(70, 111))))
    return out


_COUNTER_RHYTHMS = (((0, 1), (1, 1), (2, 1), (3, 1)), ((0, 2), (2, 1), (3, 1)),
                    ((0, 1), (1, 1), (2, .5), (2.5, .5), (3, 1)))


def _bells(rng, bars):
    out = []
    for bar in range(bars):
        keys = _chord_keys(bar, 72, 96)
        for onset in (0.0, 1.5, 3.0):
            out.append(_Note(bar * BEATS_PER_BAR + onset, 4.0,
                             int(rng.choice(keys)), int(rng.integers(55, 90))))
    return out


def _plucks(rng, bars):
    out = []
    for bar in range(bars):
        keys = _chord_keys(bar, 55, 79)
        for i in range(8):
            out.append(_Note(bar * BEATS_PER_BAR + i / 2, 1.25, int(rng.choice(keys)),
                             int(rng.integers(60, 100))))
    return out


def _part_notes(name: str, rng, bars: int) -> list[_Note]:
    if name.startswith("bass"):
        return _bass(rng, bars)
    if name.startswith("pad A"):
        return _pad(rng, bars, 1, 52)
    if name.startswith("pad B"):
        return _pad(rng, bars, 2, 62)
    if name.startswith("arpeggio"):
        return _arpeggio(rng, bars)
    if name.startswith("lead"):
        return _melody(rng, bars, 67, 91, _LEAD_RHYTHMS, 0.9)
    if name.startswith("bells"):
        return _bells(rng, bars)
    if name.startswith("counter"):
        return _melody(rng, bars, 57, 76, _COUNTER_RHYTHMS, 0.95)
    if name.startswith("plucks"):
        return _plucks(rng, bars)
    raise ValueError(f"no generator for part {name!r}")


# --------------------------------------------------------------------------- files

def _ticks(beats: float) -> int:
    return int(round(beats * TICKS_PER_BEAT))


def _no_same_key_overlap(notes: list[_Note]) -> list[tuple[int, int, int, int]]:
    """Notes as (on_tick, off_tick, key, velocity), cut so a key never overlaps itself.

    A MIDI channel cannot hold one key twice; synthesizers disagree about
    what a second note-on of a sounding key means, so the workload avoids it.
    """
    events = sorted((_ticks(n.start), _ticks(n.start + n.gate), n.key, n.velocity)
                    for n in notes)
    last_on: dict[int, int] = {}
    out: list[list[int]] = []
    for on, off, key, vel in events:
        j = last_on.get(key)
        if j is not None and out[j][1] > on:
            if out[j][0] == on:            # same key twice at once: keep the first
                continue
            out[j][1] = on
        last_on[key] = len(out)
        out.append([on, off, key, vel])
    return [tuple(e) for e in out]


def _track(name: str, program: int, channel: int,
           notes: list[tuple[int, int, int, int]]) -> mido.MidiTrack:
    timed = []           # (tick, order, message): note-offs before note-ons at a tick
    for on, off, key, vel in notes:
        timed.append((on, 1, mido.Message("note_on", channel=channel, note=key, velocity=vel)))
        timed.append((off, 0, mido.Message("note_off", channel=channel, note=key, velocity=0)))
    timed.sort(key=lambda e: (e[0], e[1], e[2].note))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    now = 0
    for tick, _, msg in timed:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _conductor(title: str) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=title, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.MetaMessage("key_signature", key="Dm", time=0))
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _midi_file(title: str, tracks: list[mido.MidiTrack]) -> mido.MidiFile:
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(_conductor(title))
    mid.tracks.extend(tracks)
    return mid


def _bars_for(seconds: float) -> int:
    bars = seconds * BPM / 60.0 / BEATS_PER_BAR
    if bars < 1 or abs(bars - round(bars)) > 1e-9:
        raise ValueError(f"seconds={seconds!r} is not a whole number of 4/4 bars at {BPM:g} bpm")
    return int(round(bars))


def reference_workload(seconds: float = 180.0, *, copies: int = 1,
                       seed: int = DEFAULT_SEED) -> mido.MidiFile:
    """The reference piece: 8 parts in D minor at 96 bpm, 4/4.

    Parameters
    ----------
    seconds : float
        Length in seconds; a whole number of bars (180 s = 72 bars,
        1200 s = 480 bars).
    copies : int
        1: the 8 parts.  2: each part twice, the second copy an independent
        seeded line an octave higher (same span, twice the notes and twice
        the polyphony), for the scaling check.
    seed : int

    Returns
    -------
    mido.MidiFile
        Type 1, ``1 + 8 * copies`` tracks.
    """
    bars = _bars_for(seconds)
    tracks = []
    for name, program, channel in PARTS:
        for copy in range(copies):
            part_name = name if copy == 0 else f"{name} {copy + 1}"
            rng = seeds.rng(seed, "bench", "reference", part_name, bars)
            notes = _part_notes(name, rng, bars)
            if copy:
                notes = [_Note(n.start, n.gate, min(n.key + 12 * copy, 108), n.velocity)
                         for n in notes]
            tracks.append(_track(part_name, program, channel, _no_same_key_overlap(notes)))
    title = f"synth bench reference {seconds:g} s" + (f" x{copies}" if copies > 1 else "")
    return _midi_file(title, tracks)


def dense_workload(n_notes: int = 10_000, seconds: float = 60.0, *,
                   seed: int = DEFAULT_SEED) -> mido.MidiFile:
    """``n_notes`` short notes spread over the 8 reference parts within ``seconds``.

    Onsets fall on a 1/16-beat grid (at most one per slot per part), gates
    are 1/4, 1/2 or 3/4 beat, keys are chord tones of the reference
    progression, so the file is crowded (mean polyphony ~40 at the defaults)
    but still musical enough for a GM synthesizer.
    """
    bars = _bars_for(seconds)
    slots = bars * BEATS_PER_BAR * 16
    per_part = [n_notes // len(PARTS) + (1 if i < n_notes % len(PARTS) else 0)
                for i in range(len(PARTS))]
    if max(per_part) > slots:
        raise ValueError(f"{n_notes} notes do not fit in {seconds:g} s")
    tracks = []
    for (name, program, channel), count in zip(PARTS, per_part):
        rng = seeds.rng(seed, "bench", "dense", name, n_notes, bars)
        onsets = np.sort(rng.choice(slots, size=count, replace=False)) / 16.0
        notes = []
        for t in onsets:
            bar = int(t // BEATS_PER_BAR)
            keys = _chord_keys(bar, 48, 84)
            notes.append(_Note(float(t), float(rng.choice([0.25, 0.5, 0.75])),
                               int(rng.choice(keys)), int(rng.integers(50, 110))))
        # keep exactly `count` notes: chord tones of one bar are distinct keys
        # and onsets are distinct, so cutting overlaps never drops a note
        tracks.append(_track(name, program, channel, _no_same_key_overlap(notes)))
    return _midi_file(f"synth bench dense {n_notes} notes", tracks)


def many_parts_workload(n_parts: int = 300, notes_per_part: int = 14, seconds: float = 180.0, *,
                        seed: int = DEFAULT_SEED) -> mido.MidiFile:
    """``n_parts`` tracks of ``notes_per_part`` notes each over ``seconds``.

    Track i plays on channel ``i % 15`` (skipping the percussion channel);
    each channel keeps one reference program, so every track's program change
    agrees with the others on its channel.  Gates are 0.5..2.5 beats
    (mean 1.5, close to the reference piece's mean note length).
    """
    bars = _bars_for(seconds)
    beats = bars * BEATS_PER_BAR
    channels = [c for c in range(16) if c != 9]
    tracks = []
    for i in range(n_parts):
        channel = channels[i % len(channels)]
        program = PARTS[channel % len(PARTS)][1]
        name = f"part {i + 1:03d}"
        rng = seeds.rng(seed, "bench", "parts", i, n_parts, bars)
        onsets = np.sort(rng.choice(beats * 2, size=notes_per_part, replace=False)) / 2.0
        notes = []
        for t in onsets:
            keys = _chord_keys(int(t // BEATS_PER_BAR), 48, 84)
            notes.append(_Note(float(t), float(rng.uniform(0.5, 2.5)),
                               int(rng.choice(keys)), int(rng.integers(50, 110))))
        tracks.append(_track(name, program, channel, _no_same_key_overlap(notes)))
    return _midi_file(f"synth bench {n_parts} parts", tracks)


def midi_file_bytes(mid: mido.MidiFile) -> bytes:
    """The bytes of ``mid`` as a standard MIDI file."""
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- stats

@dataclass(frozen=True)
class NoteStats:
    """What a workload contains, measured from its MIDI events.

    Attributes
    ----------
    notes : int
        Note-on/note-off pairs.
    parts : int
        Tracks holding at least one note.
    programs : tuple of int
        The first program change of each of those tracks (-1 if none).
    seconds : float
        From the start to the last note-off.
    note_seconds : float
        Sum of the notes' gate lengths in seconds.
    mean_polyphony : float
        Time average of the number of held keys: ``note_seconds / seconds``.
    max_polyphony : int
        Most keys held at once.
    """

    notes: int
    parts: int
    programs: tuple[int, ...]
    seconds: float
    note_seconds: float
    mean_polyphony: float
    max_polyphony: int


def note_stats(mid: mido.MidiFile) -> NoteStats:
    """Measure ``mid``: counts, length and polyphony (one tempo, as written here)."""
    tempo = None
    intervals = []                     # (on_tick, off_tick)
    programs = []
    for track in mid.tracks:
        now, program, held, count = 0, -1, {}, 0
        for msg in track:
            now += msg.time
            if msg.type == "set_tempo":
                if tempo is not None and msg.tempo != tempo:
                    raise ValueError("note_stats handles one tempo only")
                tempo = msg.tempo
            elif msg.type == "program_change" and program < 0:
                program = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                held.setdefault((msg.channel, msg.note), []).append(now)
            elif msg.type in ("note_off", "note_on"):
                ons = held.get((msg.channel, msg.note))
                if ons:
                    intervals.append((ons.pop(0), now))
                    count += 1
        if count:
            programs.append(program)
    sec_per_tick = (tempo or 500_000) / 1e6 / mid.ticks_per_beat
    on = np.array([a for a, _ in intervals], dtype=np.int64)
    off = np.array([b for _, b in intervals], dtype=np.int64)
    seconds = float(off.max()) * sec_per_tick if len(off) else 0.0
    note_seconds = float((off - on).sum()) * sec_per_tick
    ticks = np.concatenate([on, off])
    steps = np.concatenate([np.ones(len(on), np.int64), -np.ones(len(off), np.int64)])
    order = np.lexsort((steps, ticks))          # offs (-1) before ons at the same tick
    max_poly = int(np.cumsum(steps[order]).max()) if len(order) else 0
    return NoteStats(len(intervals), len(programs), tuple(programs), seconds, note_seconds,
                     note_seconds / seconds if seconds else 0.0, max_poly)


# --------------------------------------------------------------------------- CLI

#: file name -> function building that workload
WORKLOADS = {
    "reference-180s.mid": lambda: reference_workload(180.0),
    "reference-20min.mid": lambda: reference_workload(1200.0),
    "reference-180s-x2.mid": lambda: reference_workload(180.0, copies=2),
    "dense-10000.mid": lambda: dense_workload(10_000, 60.0),
    "parts-300.mid": lambda: many_parts_workload(300),
}


def write_all(outdir) -> dict[str, NoteStats]:
    """Write every workload of :data:`WORKLOADS` into ``outdir`` (created if missing)."""
    os.makedirs(outdir, exist_ok=True)
    stats = {}
    for filename, build in WORKLOADS.items():
        mid = build()
        with open(os.path.join(outdir, filename), "wb") as f:
            f.write(midi_file_bytes(mid))
        stats[filename] = note_stats(mid)
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Write the benchmark's MIDI workloads into OUTDIR.")
    ap.add_argument("outdir")
    args = ap.parse_args(argv)
    stats = write_all(args.outdir)
    print(f"{'file':24s} {'notes':>6s} {'parts':>5s} {'seconds':>8s} "
          f"{'mean poly':>9s} {'max poly':>8s}")
    for name, s in stats.items():
        print(f"{name:24s} {s.notes:6d} {s.parts:5d} {s.seconds:8.1f} "
              f"{s.mean_polyphony:9.1f} {s.max_polyphony:8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
