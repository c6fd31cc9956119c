"""Mutation fuzzing of valid MIDI files: a Score or a MidiError, nothing else.

Bit flips, truncations and byte insertions of a small but varied valid file
(tempo/meter/key, running status, bends with an RPN range, drums, sysex, two
tracks).  Every outcome must be a Score or a MidiError -- never another
exception -- within a time bound per example and a memory bound.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import warnings

import mido
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synth.errors import MidiError
from synth.midi import read_midi_report
from synth.score import Score

MAX_SECONDS_PER_FILE = 2.0
MAX_PEAK_BYTES = 32 * 1024 * 1024


def _seed_file() -> bytes:
    mf = mido.MidiFile(type=1, ticks_per_beat=96)
    conductor = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Fuzz"),
        mido.MetaMessage("set_tempo", tempo=500000),
        mido.MetaMessage("time_signature", numerator=3, denominator=4),
        mido.MetaMessage("key_signature", key="Eb"),
        mido.MetaMessage("set_tempo", tempo=300000, time=288),
    ])
    music = mido.MidiTrack([mido.MetaMessage("track_name", name="Lead"),
                            mido.Message("program_change", program=81)])
    for c, v in ((101, 0), (100, 0), (6, 12)):
        music.append(mido.Message("control_change", control=c, value=v))
    music.append(mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01]))
    for i in range(12):
        music.append(mido.Message("note_on", note=60 + i, velocity=90, time=24))
        music.append(mido.Message("pitchwheel", pitch=(i - 6) * 1000, time=12))
        music.append(mido.Message("note_off", note=60 + i, time=12))
        music.append(mido.Message("note_on", channel=9, note=36 + i % 3, velocity=100))
        music.append(mido.Message("note_on", channel=9, note=36 + i % 3, velocity=0, time=6))
    mf.tracks.extend([conductor, music])
    buf = io.BytesIO()
    mf.save(file=buf)   # mido writes running status: the mutations hit that too
    return buf.getvalue()


SEED = _seed_file()

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(SEED) * 8 - 1)),
    st.tuples(st.just("truncate"), st.integers(0, len(SEED))),
    st.tuples(st.just("insert"), st.integers(0, len(SEED)), st.binary(min_size=1, max_size=6)),
    st.tuples(st.just("set"), st.integers(0, len(SEED) - 1), st.integers(0, 255)),
)


def _mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for op in ops:
        if not buf:
            break
        if op[0] == "flip":
            bit = op[1] % (len(buf) * 8)
            buf[bit // 8] ^= 1 << (bit % 8)
        elif op[0] == "truncate":
            del buf[op[1] % (len(buf) + 1):]
        elif op[0] == "insert":
            at = op[1] % (len(buf) + 1)
            buf[at:at] = op[2]
        else:
            buf[op[1] % len(buf)] = op[2]
    return bytes(buf)


def test_seed_file_is_valid():
    score, msgs = read_midi_report(SEED)
    assert msgs == [] and score.note_count == 24


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=6))
def test_mutated_files_give_a_score_or_a_midi_error(ops):
    data = _mutate(SEED, ops)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result, _ = read_midi_report(data, max_seconds=3600)
        assert isinstance(result, Score)
    except MidiError as e:
        assert str(e)            # one line naming the problem
        assert "\n" not in str(e)
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS_PER_FILE
    assert peak < MAX_PEAK_BYTES
