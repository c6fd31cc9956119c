"""The benchmark's reference workload: deterministic, and shaped as issue 7 asks.

The structure is measured by walking the MIDI messages here (with mido),
independently of ``bench/workload.py``'s own ``note_stats``; the two are then
compared, so a wrong polyphony in either one fails.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings

import mido
import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


@pytest.fixture(scope="module")
def workload():
    spec = importlib.util.spec_from_file_location("bench_workload",
                                                  os.path.join(BENCH, "workload.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_workload", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference(workload):
    return workload.midi_file_bytes(workload.reference_workload(180.0))


def _notes(mid: mido.MidiFile):
    """Per track: list of (on_seconds, off_seconds, key); plus programs per track."""
    sec_per_tick = None
    tracks, programs = [], []
    for track in mid.tracks:
        now, held, notes, progs = 0, {}, [], []
        for msg in track:
            now += msg.time
            if msg.type == "set_tempo":
                sec_per_tick = msg.tempo / 1e6 / mid.ticks_per_beat
            elif msg.type == "program_change":
                progs.append((msg.channel, msg.program))
            elif msg.type == "note_on" and msg.velocity:
                held[(msg.channel, msg.note)] = now
            elif msg.type in ("note_on", "note_off"):
                notes.append((held.pop((msg.channel, msg.note)), now, msg.note))
        tracks.append(notes)
        programs.append(progs)
    scale = sec_per_tick
    return [[(a * scale, b * scale, k) for a, b, k in t] for t in tracks], programs


def test_same_bytes_twice_and_seed_changes_them(workload, reference):
    assert workload.midi_file_bytes(workload.reference_workload(180.0)) == reference
    other = workload.midi_file_bytes(workload.reference_workload(180.0, seed=7))
    assert other != reference


def test_reference_structure(workload, reference):
    import io
    mid = mido.MidiFile(file=io.BytesIO(reference))
    assert mid.type == 1
    tracks, programs = _notes(mid)
    note_tracks = [i for i, t in enumerate(tracks) if t]
    assert len(note_tracks) == 8                    # 8 parts, one per track
    names = [mid.tracks[i].name for i in note_tracks]
    assert names == ["bass", "pad A", "pad B", "arpeggio", "lead", "bells",
                     "counter-melody", "plucks"]
    # each part: one GM program change, on its own non-percussion channel
    chans = set()
    for i in note_tracks:
        assert len(programs[i]) == 1
        chan, program = programs[i][0]
        assert chan != 9 and 0 <= program <= 127
        chans.add(chan)
    assert len(chans) == 8
    tempos = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert len(tempos) == 1 and mido.tempo2bpm(tempos[0]) == pytest.approx(96.0)

    all_notes = [n for i in note_tracks for n in tracks[i]]
    assert 4000 * 0.95 <= len(all_notes) <= 4000 * 1.05
    end = max(b for _, b, _ in all_notes)
    assert 180.0 <= end <= 180.0 * 1.02                  # ends with the last bar's tails
    # mean polyphony by sampling the held-key count on a 10 ms grid
    grid = np.arange(0.0, end, 0.01)
    held = np.zeros(len(grid))
    for a, b, _ in all_notes:
        held[np.searchsorted(grid, a):np.searchsorted(grid, b)] += 1
    assert 15.0 <= held.mean() <= 25.0
    stats = workload.note_stats(mid)
    assert stats.notes == len(all_notes) and stats.parts == 8
    assert stats.mean_polyphony == pytest.approx(held.mean(), rel=0.01)
    assert held.max() <= stats.max_polyphony <= held.max() + 1


def test_chords_arpeggio_and_no_key_overlap(workload, reference):
    import io
    tracks, _ = _notes(mido.MidiFile(file=io.BytesIO(reference)))
    by_name = dict(zip(["conductor", "bass", "pad A", "pad B", "arpeggio", "lead", "bells",
                        "counter-melody", "plucks"], tracks))
    for pad in ("pad A", "pad B"):               # 4-note chords: onsets come in fours
        _, counts = np.unique([round(a, 6) for a, _, _ in by_name[pad]], return_counts=True)
        assert set(counts) == {4}
    sixteenth = 60.0 / 96.0 / 4
    onsets = np.array(sorted(a for a, _, _ in by_name["arpeggio"]))
    assert np.allclose(np.diff(onsets), sixteenth, atol=1e-3)   # steady 16th notes
    for notes in tracks:                          # a key never overlaps itself in a part
        by_key = {}
        for a, b, k in sorted(notes):
            assert a >= by_key.get(k, -1.0) - 1e-9
            by_key[k] = b


def test_twenty_minute_and_double_versions(workload):
    long = workload.note_stats(workload.reference_workload(1200.0))
    short = workload.note_stats(workload.reference_workload(180.0))
    assert 1200.0 <= long.seconds <= 1210.0
    assert long.notes / short.notes == pytest.approx(1200 / 180, rel=0.05)
    assert long.mean_polyphony == pytest.approx(short.mean_polyphony, rel=0.1)
    double = workload.note_stats(workload.reference_workload(180.0, copies=2))
    assert double.parts == 16
    assert double.notes == pytest.approx(2 * short.notes, rel=0.02)
    assert double.seconds == pytest.approx(short.seconds, abs=1.0)


def test_dense_and_many_parts(workload):
    dense = workload.note_stats(workload.dense_workload(10_000, 60.0))
    assert dense.notes == 10_000 and dense.seconds <= 61.0
    parts = workload.note_stats(workload.many_parts_workload(300))
    assert parts.parts == 300 and parts.notes == 300 * 14


def test_synth_reads_the_reference_file(workload, reference):
    from synth.midi import read_midi

    with warnings.catch_warnings():
        warnings.simplefilter("error")               # the file needs no repairs
        score = read_midi(reference)
    assert [p.name for p in score.parts][:2] == ["bass", "pad A"]
    assert len(score.parts) == 8
    assert score.note_count == workload.note_stats(
        mido.MidiFile(file=__import__("io").BytesIO(reference))).notes
    assert score.duration_seconds == pytest.approx(181.9, abs=0.5)


def test_bad_length_is_refused(workload):
    with pytest.raises(ValueError, match=r"seconds=1\.0 is not a whole number of 4/4 bars"):
        workload.reference_workload(1.0)
