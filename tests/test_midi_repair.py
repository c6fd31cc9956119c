"""The malformed-file table of docs/midi.md: one test per row.

Files are built byte by byte with struct, so each defect is exactly the one
named.  Every case asserts the outcome: a score whose notes are the ones
before/around the defect (with a message saying what was repaired), or a
MidiError whose message names the problem.
"""

from __future__ import annotations

import struct
import warnings

import pytest

from synth.errors import MidiError, SynthWarning
from synth.midi import read_midi, read_midi_report
from synth.midi import repair as repair_mod


# ---------------------------------------------------------------- byte builders

from midi_bytes import EOT, chunk, ev, header, note, smf, vlq  # noqa: E402,F401

TWO_NOTES = note(0, 60, 480) + note(0, 62, 480)        # C4 beat 0..1, D4 beat 1..2


def notes_of(score):
    return [(n.start, n.duration, n.pitch) for p in score.parts for n in p.notes]


def read(data):
    return read_midi_report(data, source="t.mid")


# ---------------------------------------------------------------- refused

@pytest.mark.parametrize("data, match", [
    (b"RIFF1234WAVEfmt ", r"not a standard MIDI file \(starts with b'RIFF'"),
    (b"", r"not a standard MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01", r"truncated header: 10 bytes"),
    (header(length=4) + b"\x00\x00" + chunk(b"MTrk", EOT),
     r"header chunk length 4 is less than 6"),
    (header(fmt=3) + chunk(b"MTrk", EOT), r"unknown MIDI file format 3"),
    (header(division=0) + chunk(b"MTrk", EOT), r"ticks per beat is 0"),
    (header(division=(256 - 23) << 8 | 40) + chunk(b"MTrk", EOT),
     r"SMPTE division with 23 frames per second"),
    (header(division=(256 - 25) << 8 | 0) + chunk(b"MTrk", EOT), r"0 ticks per frame"),
    (header(), r"no track \(MTrk chunk\)"),
])
def test_refused_header_cases(data, match):
    with pytest.raises(MidiError, match=match):
        read(data)


def test_error_names_the_file(tmp_path):
    path = tmp_path / "broken.mid"
    path.write_bytes(header(division=0) + chunk(b"MTrk", EOT))
    with pytest.raises(MidiError, match=r"^.*broken\.mid: ticks per beat is 0"):
        read_midi(path)


def test_file_too_large_refused(monkeypatch):
    monkeypatch.setattr(repair_mod, "MAX_FILE_BYTES", 100)
    data = smf(TWO_NOTES * 20 + EOT)
    with pytest.raises(MidiError, match=r"larger than the 100-byte limit"):
        read(data)


def test_too_many_events_refused(monkeypatch):
    monkeypatch.setattr(repair_mod, "MAX_EVENTS", 50)
    data = smf(b"".join(note(0, 40 + i % 40, 10) for i in range(40)) + EOT)
    with pytest.raises(MidiError, match=r"more than 50 events"):
        read(data)


def test_ten_hour_delta_before_a_note_refused():
    ten_hours_ticks = 10 * 3600 * 2 * 480        # 120 bpm: 2 beats per second
    data = smf(note(0, 60, 480) + note(ten_hours_ticks, 62, 480) + EOT)
    with pytest.raises(MidiError, match=r"track 1: 10:00:00 \(h:mm:ss\) of silence before the "
                                        r"note event at tick 34560480"):
        read(data)


def test_max_seconds_refused_before_messages_are_decoded(monkeypatch):
    # 200 beats at 120 bpm = 100 s; the limit is checked from the repair pass's
    # summary, before the reader decodes a single message.
    data = smf(note(0, 60, 480) + note(199 * 480 - 480, 62, 480) + EOT)
    import synth.midi.reader as reader_mod

    class Boom:
        def __init__(self, *a, **k):
            raise AssertionError("no message should be decoded")

    monkeypatch.setattr(reader_mod, "_Message", Boom)
    with pytest.raises(MidiError, match=r"lasts 100\.0 s, more than the limit of 60 s"):
        read_midi_report(data, max_seconds=60)


def test_max_seconds_counts_tempo_changes():
    # 4 beats at 120 bpm (2 s) then 4 beats at 30 bpm (8 s): 10 s in total.
    conductor = ev(0, 0xFF, 0x51, 3, *(500000).to_bytes(3, "big")) + \
        ev(4 * 480, 0xFF, 0x51, 3, *(2000000).to_bytes(3, "big")) + EOT
    data = smf(conductor, note(0, 60, 8 * 480) + EOT)
    read_midi_report(data, max_seconds=10.01)
    with pytest.raises(MidiError, match=r"lasts 10\.0 s"):
        read_midi_report(data, max_seconds=9.9)


# ---------------------------------------------------------------- recovered

def test_smpte_division_converted_to_seconds():
    # 25 fps x 40 ticks per frame = 1000 ticks per second; a tempo event must
    # not change that (SMPTE timing ignores tempo).
    division = (256 - 25) << 8 | 40
    track = ev(0, 0xFF, 0x51, 3, 0x0F, 0x42, 0x40) + note(1000, 60, 500) + EOT
    score, msgs = read(smf(track, division=division))
    [n] = score.parts[0].notes
    assert score.tempo.seconds(n.start) == pytest.approx(1.0, abs=1e-12)
    assert score.tempo.seconds(n.end) == pytest.approx(1.5, abs=1e-12)
    assert any("SMPTE time division (25 fps x 40 ticks)" in m for m in msgs)
    assert "tempo events ignored (SMPTE-timed file)" in msgs


def test_smpte_29_97_drop_frame_rate():
    division = (256 - 29) << 8 | 10              # 29.97 fps x 10 ticks
    score, _ = read(smf(note(2997, 60, 10) + EOT, division=division))
    [n] = score.parts[0].notes
    assert score.tempo.seconds(n.start) == pytest.approx(10.0, rel=1e-6)


def test_long_header_extra_bytes_skipped():
    data = header(length=8, extra=b"\x00\x00") + chunk(b"MTrk", TWO_NOTES + EOT)
    score, msgs = read(data)
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any("header chunk length 8 (expected 6)" in m for m in msgs)


@pytest.mark.parametrize("length", [0, 5, 7, 1 << 30])
def test_wrong_header_length_followed_by_a_track(length):
    data = header(length=length) + chunk(b"MTrk", TWO_NOTES + EOT)
    score, msgs = read(data)
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any(f"header chunk length {length} is wrong" in m for m in msgs)


def test_garbage_before_header_skipped():
    score, msgs = read(b"\x00junk!" + smf(TWO_NOTES + EOT))
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any("6 bytes before the MThd header skipped" in m for m in msgs)


def test_riff_rmid_wrapper_unwrapped():
    inner = smf(TWO_NOTES + EOT)
    data = b"RIFF" + struct.pack("<I", len(inner) + 12) + b"RMIDdata" + \
        struct.pack("<I", len(inner)) + inner
    score, _ = read(data)
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]


def test_garbage_after_header_skipped():
    data = header() + b"\x01\x02\xfe\xff\x00garbage" + chunk(b"MTrk", TWO_NOTES + EOT)
    score, msgs = read(data)
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any("12 bytes of garbage at byte 14 skipped" in m for m in msgs)


def test_unknown_chunk_skipped():
    data = header(ntracks=1) + chunk(b"XFIH", b"\x01\x02\x03") + chunk(b"MTrk", TWO_NOTES + EOT)
    score, msgs = read(data)
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any("unknown chunk 'XFIH' (3 bytes) at byte 14 skipped" in m for m in msgs)


def test_unknown_chunk_with_bad_length_skipped_to_next_track():
    data = header() + chunk(b"XFIH", b"\x01\x02\x03", length=1000) + \
        chunk(b"MTrk", TWO_NOTES + EOT)
    score, msgs = read(data)
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any("unknown chunk 'XFIH' at byte 14 with a bad length" in m for m in msgs)


def test_truncated_track_keeps_events_before_the_cut():
    body = TWO_NOTES + note(0, 64, 480) + EOT
    full = smf(body)
    cut = full[:len(full) - len(EOT) - 2]        # in the middle of the last note-off
    score, msgs = read(cut)
    assert [p for _, _, p in notes_of(score)] == [60.0, 62.0, 64.0]
    assert any("truncated (chunk declares" in m for m in msgs)
    # the E4 was never released: closed at the end of the (repaired) track
    assert any("1 note(s) never released" in m for m in msgs)


def test_chunk_length_too_long():
    t1 = TWO_NOTES + EOT
    t2 = note(0, 72, 240) + EOT
    data = header(ntracks=2) + chunk(b"MTrk", t1, length=len(t1) + 5) + chunk(b"MTrk", t2)
    score, msgs = read(data)
    assert sorted(p for _, _, p in notes_of(score)) == [60.0, 62.0, 72.0]
    assert any("track 1: chunk length" in m and "too long" in m for m in msgs)


def test_chunk_length_too_short():
    t1 = TWO_NOTES + EOT
    t2 = note(0, 72, 240) + EOT
    data = header(ntracks=2) + chunk(b"MTrk", t1, length=len(t1) - 6) + chunk(b"MTrk", t2)
    score, msgs = read(data)
    assert sorted(p for _, _, p in notes_of(score)) == [60.0, 62.0, 72.0]
    assert any("track 1: chunk length" in m and "too short" in m for m in msgs)


def test_missing_end_of_track():
    data = header(ntracks=2) + chunk(b"MTrk", TWO_NOTES) + chunk(b"MTrk", note(0, 72, 240))
    score, msgs = read(data)
    assert sorted(p for _, _, p in notes_of(score)) == [60.0, 62.0, 72.0]
    assert sum("missing end-of-track" in m for m in msgs) == 2


def test_bytes_after_end_of_track_ignored():
    data = smf(TWO_NOTES + EOT + b"\x00\x90\x40\x40")
    score, msgs = read(data)
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any("4 bytes after end-of-track ignored" in m for m in msgs)


def test_meta_length_past_the_end_drops_rest_of_track():
    bad_meta = ev(0, 0xFF, 0x03) + vlq(5000) + b"Name"
    score, msgs = read(smf(TWO_NOTES + bad_meta))
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert any("meta event 0x03 at byte" in m and "declares 5000 bytes, past the end" in m
               for m in msgs)


@pytest.mark.parametrize("meta, match", [
    (ev(0, 0xFF, 0x51, 2, 0x07, 0xA1), r"set-tempo event at byte \d+ has 2 data bytes "
                                       r"instead of 3; dropped"),
    (ev(0, 0xFF, 0x51, 3, 0, 0, 0), r"set-tempo of 0 microseconds per beat"),
    (ev(0, 0xFF, 0x58, 2, 3, 2), r"time-signature event at byte \d+ has 2 data bytes"),
    (ev(0, 0xFF, 0x59, 2, 9, 0), r"key-signature \(9, 0\) at byte \d+ is not a key"),
    (ev(0, 0xFF, 0x59, 2, 1, 5), r"key-signature \(1, 5\) at byte \d+ is not a key"),
])
def test_malformed_meta_event_dropped(meta, match):
    score, msgs = read(smf(meta + TWO_NOTES + EOT))
    assert notes_of(score) == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]
    assert score.tempo.bpm_at(0) == 120.0
    assert any(__import__("re").search(match, m) for m in msgs), msgs


def test_unsupported_meta_and_sysex_skipped_silently_with_time_kept():
    # An SMPTE offset with an invalid rate byte (mido would raise) and a sysex.
    body = ev(0, 0xFF, 0x54, 5, 0xE0, 0, 0, 0, 0) + ev(240, 0xF0, 3, 0x7E, 0x7F, 0xF7) + \
        note(240, 60, 480) + EOT
    score, msgs = read(smf(body))
    assert notes_of(score) == [(1.0, 1.0, 60.0)]
    assert msgs == []


def test_running_status_read():
    body = ev(0, 0x90, 60, 100) + ev(0, 64, 100) + ev(480, 60, 0) + ev(0, 64, 0) + EOT
    score, msgs = read(smf(body))
    assert sorted(notes_of(score)) == [(0.0, 1.0, 60.0), (0.0, 1.0, 64.0)]
    assert msgs == []


def test_data_byte_without_status_drops_rest_of_track():
    # Running status needs a status byte before it in the track.
    body = ev(0, 0x40, 0x40) + note(0, 62, 480) + EOT
    score, msgs = read(smf(note(0, 60, 480) + EOT, body))
    assert notes_of(score) == [(0.0, 1.0, 60.0)]
    assert any("data byte 0x40 without a status" in m and "rest of the track dropped" in m
               for m in msgs)


def test_channel_message_cut_short_by_a_status_byte():
    # note-on missing its velocity, interrupted by the next note-on's status
    body = b"\x00\x90\x3c" + b"\x90\x3e\x64" + ev(480, 0x80, 0x3E, 0) + EOT
    score, msgs = read(smf(body))
    assert notes_of(score) == [(0.0, 1.0, 62.0)]
    assert any("channel message 0x90 at byte 22 cut short by byte 0x90; dropped" in m
               for m in msgs)


def test_overlong_delta_drops_rest_of_track():
    body = note(0, 60, 480) + b"\x81\x81\x81\x81\x01\x90\x3e\x40" + EOT
    score, msgs = read(smf(body))
    assert notes_of(score) == [(0.0, 1.0, 60.0)]
    assert any("delta time longer than 4 bytes" in m for m in msgs)


def test_system_common_status_drops_rest_of_track():
    body = note(0, 60, 480) + ev(0, 0xF2, 0x10, 0x10) + note(0, 62, 480) + EOT
    score, msgs = read(smf(body))
    assert notes_of(score) == [(0.0, 1.0, 60.0)]
    assert any("system-common status 0xF2" in m for m in msgs)


def test_realtime_byte_dropped_and_timing_kept():
    body = ev(0, 0x90, 60, 100) + ev(240, 0xF8) + ev(240, 0x80, 60, 0) + EOT
    score, msgs = read(smf(body))
    assert notes_of(score) == [(0.0, 1.0, 60.0)]
    assert any("real-time byte 0xF8" in m for m in msgs)


def test_track_count_mismatch_reported():
    data = header(ntracks=3) + chunk(b"MTrk", TWO_NOTES + EOT)
    score, msgs = read(data)
    assert len(notes_of(score)) == 2
    assert any("header declares 3 track(s), file holds 1" in m for m in msgs)


def test_format_0_with_two_tracks_read_as_format_1():
    data = header(fmt=0, ntracks=2) + chunk(b"MTrk", note(0, 60, 480) + EOT) + \
        chunk(b"MTrk", note(0, 72, 480) + EOT)
    score, msgs = read(data)
    assert sorted(p for _, _, p in notes_of(score)) == [60.0, 72.0]
    assert any("format 0 file with 2 tracks read as format 1" in m for m in msgs)


def test_trailing_bytes_shorter_than_a_chunk_ignored():
    score, msgs = read(smf(TWO_NOTES + EOT) + b"\x00\x00\x00")
    assert len(notes_of(score)) == 2
    assert any("3 trailing bytes" in m for m in msgs)


def test_ten_hour_delta_on_end_of_track_does_not_stretch_notes():
    ten_hours_ticks = 10 * 3600 * 2 * 480
    body = ev(0, 0x90, 60, 100) + ev(480, 0x90, 62, 100) + ev(480, 0x80, 62, 0) + \
        ev(ten_hours_ticks, 0xFF, 0x2F, 0)       # C4 is never released
    score, msgs = read(smf(body))
    c4 = [n for n in score.parts[0].notes if n.pitch == 60][0]
    assert c4.end == 2.0                          # closed at the track's last note event
    assert score.duration_seconds == pytest.approx(1.0)
    assert any("never released" in m for m in msgs)


def test_time_signature_off_the_bar_line_dropped():
    conductor = ev(0, 0xFF, 0x58, 4, 3, 2, 24, 8) + ev(480 * 4, 0xFF, 0x58, 4, 4, 2, 24, 8) + EOT
    score, msgs = read(smf(conductor, TWO_NOTES + EOT))
    assert [str(c) for c in score.meters.changes] == ["3/4"]
    assert any("time signature 4/4 at beat 4 dropped" in m for m in msgs)


def test_time_signature_with_impossible_denominator_dropped():
    conductor = ev(0, 0xFF, 0x58, 4, 3, 9, 24, 8) + EOT       # 3/512
    score, msgs = read(smf(conductor, TWO_NOTES + EOT))
    assert [str(c) for c in score.meters.changes] == ["4/4"]
    assert any("time signature at tick 0 dropped" in m for m in msgs)


def test_repairs_arrive_as_synth_warnings(tmp_path):
    path = tmp_path / "song.mid"
    path.write_bytes(header(ntracks=1) + chunk(b"MTrk", TWO_NOTES))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = read_midi(path)
    texts = [str(w.message) for w in caught if issubclass(w.category, SynthWarning)]
    assert len(score.parts[0].notes) == 2
    assert texts == ["track 1: missing end-of-track; added after the last event"]
