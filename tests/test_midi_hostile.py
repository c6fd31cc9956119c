"""Malformed MIDI that real files contain (issue 15): running status after a sysex,
data bytes above 127, a note-off written before its note-on at the same tick."""

from __future__ import annotations


from synth.midi import read_midi_report

from midi_bytes import EOT, ev, smf


def notes_of(score):
    return sorted((n.start, n.duration, n.pitch, n.velocity) for p in score.parts
                  for n in p.notes)


def test_running_status_resumes_after_a_sysex():
    # eight notes; a sysex after the first note-on, the rest in running status
    body = ev(0, 0x90, 60, 100) + ev(0, 0xF0, 3, 0x7E, 0x7F, 0xF7)
    body += ev(480, 60, 0)                                    # running 0x90: note-off
    for k in range(1, 8):
        body += ev(0, 60 + k, 100) + ev(480, 60 + k, 0)
    score, msgs = read_midi_report(smf(body + EOT), source="t.mid")
    got = notes_of(score)
    assert [p for _, _, p, _ in got] == list(range(60, 68))
    assert [s for s, _, _, _ in got] == [float(k) for k in range(8)]
    assert all(d == 1.0 for _, d, _, _ in got)
    assert not any("dropped" in m for m in msgs)


def test_running_status_resumes_after_a_meta_event():
    body = ev(0, 0x90, 60, 100) + ev(0, 0xFF, 0x01, 2, 0x68, 0x69) + ev(480, 60, 0)
    body += ev(0, 62, 90) + ev(480, 62, 0)
    score, _ = read_midi_report(smf(body + EOT), source="t.mid")
    assert [(s, d, p) for s, d, p, _ in notes_of(score)] == [(0.0, 1.0, 60.0), (1.0, 1.0, 62.0)]


def test_a_data_byte_above_127_is_clamped_and_the_note_kept():
    body = ev(0, 0x90, 60, 0xC8) + ev(480, 0x80, 60, 0) + ev(0, 0x90, 62, 80)
    body += ev(480, 0x80, 62, 0)
    score, msgs = read_midi_report(smf(body + EOT), source="t.mid")
    assert notes_of(score) == [(0.0, 1.0, 60.0, 127), (1.0, 1.0, 62.0, 80)]
    assert any("data byte 0xC8 above 127; clamped to 127" in m for m in msgs)


def test_a_status_byte_that_cuts_a_message_short_is_still_a_status():
    # note-on missing its velocity, the next note-on follows at once: not a clamp
    body = b"\x00\x90\x3c" + b"\x90\x3e\x64" + ev(480, 0x80, 0x3E, 0) + EOT
    score, msgs = read_midi_report(smf(body), source="t.mid")
    assert [(s, d, p) for s, d, p, _ in notes_of(score)] == [(0.0, 1.0, 62.0)]
    assert any("cut short by byte 0x90; dropped" in m for m in msgs)


def test_note_off_before_note_on_at_the_same_tick_is_a_zero_length_note():
    # music21's grace notes: off then on at tick 240, then a normal note
    body = ev(0, 0x90, 72, 100) + ev(240, 0x80, 72, 0)
    body += ev(0, 0x80, 74, 0) + ev(0, 0x90, 74, 90)          # the grace note
    body += ev(0, 0x90, 76, 100) + ev(240, 0x80, 76, 0)
    score, msgs = read_midi_report(smf(body + EOT), source="t.mid")
    got = notes_of(score)
    assert [p for _, _, p, _ in got] == [72.0, 74.0, 76.0]
    grace = got[1]
    assert grace[0] == 0.5 and grace[1] <= 1 / 480 + 1e-12     # one tick at most
    assert got[2] == (0.5, 0.5, 76.0, 100)                      # the next note is unchanged
    assert any("paired with it as zero-length notes" in m for m in msgs)
    assert not any("never released" in m for m in msgs)


def test_a_stray_note_off_at_another_tick_is_still_ignored():
    body = ev(0, 0x80, 74, 0) + ev(240, 0x90, 74, 90) + ev(480, 0x80, 74, 0)
    score, msgs = read_midi_report(smf(body + EOT), source="t.mid")
    assert [(s, d, p) for s, d, p, _ in notes_of(score)] == [(0.5, 1.0, 74.0)]
    assert any("1 note-off(s) without a sounding note ignored" in m for m in msgs)
