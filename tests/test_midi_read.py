"""Reading well-formed (and edge-case) MIDI files built in memory with mido."""

from __future__ import annotations

import io

import mido
import pytest

from synth.midi import read_midi_report
from synth.midi.gm import preset_for_program


def midifile(*tracks, tpb=480, type=1) -> bytes:
    """Bytes of a MIDI file; each track is a list of (delta, message)."""
    mf = mido.MidiFile(type=type, ticks_per_beat=tpb)
    for events in tracks:
        tr = mido.MidiTrack()
        for msg in events:
            tr.append(msg)
        mf.tracks.append(tr)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def on(key, t=0, vel=100, ch=0):
    return mido.Message("note_on", note=key, velocity=vel, channel=ch, time=t)


def off(key, t=0, ch=0, use_vel0=False):
    if use_vel0:
        return mido.Message("note_on", note=key, velocity=0, channel=ch, time=t)
    return mido.Message("note_off", note=key, velocity=64, channel=ch, time=t)


def tempo(bpm_us, t=0):
    return mido.MetaMessage("set_tempo", tempo=bpm_us, time=t)


def read(data):
    return read_midi_report(data, source="t.mid")


def all_notes(score):
    return sorted((n.start, n.duration, n.pitch, n.velocity) for p in score.parts for n in p.notes)


def test_128_simultaneous_notes():
    track = [on(k) for k in range(128)] + [off(k, t=480 if k == 0 else 0) for k in range(128)]
    score, msgs = read(midifile(track))
    notes = all_notes(score)
    assert [n[2] for n in notes] == [float(k) for k in range(128)]
    assert {(n[0], n[1]) for n in notes} == {(0.0, 1.0)}
    assert msgs == []


def test_lowest_and_highest_pitch():
    score, _ = read(midifile([on(0), off(0, 240), on(127), off(127, 240)]))
    assert all_notes(score) == [(0.0, 0.5, 0.0, 100), (0.5, 0.5, 127.0, 100)]


def test_slowest_midi_tempo():
    # 0xFFFFFF us per beat = 3.5763 bpm, the slowest a set-tempo can hold
    # (1 bpm is not representable in a MIDI file; see test_midi_write).
    score, _ = read(midifile([tempo(0xFFFFFF), on(60), off(60, 480)]))
    assert score.tempo.bpm_at(0) == pytest.approx(60e6 / 0xFFFFFF)
    assert score.duration_seconds == pytest.approx(16.777215)


def test_1000_bpm():
    score, _ = read(midifile([tempo(60000), on(60), off(60, 480 * 10)]))
    assert score.tempo.bpm_at(0) == pytest.approx(1000.0)
    assert score.duration_seconds == pytest.approx(0.6)


def test_note_on_velocity_zero_is_note_off():
    score, msgs = read(midifile([on(60), off(60, 240, use_vel0=True), on(62), off(62, 240)]))
    assert all_notes(score) == [(0.0, 0.5, 60.0, 100), (0.5, 0.5, 62.0, 100)]
    assert msgs == []


def test_same_pitch_overlap_pairs_first_in_first_out():
    # A: on@0 vel 90, B: on@240 vel 50, off@480 closes A, off@960 closes B
    track = [on(60, vel=90), on(60, 240, vel=50), off(60, 240), off(60, 480)]
    score, _ = read(midifile(track))
    assert all_notes(score) == [(0.0, 1.0, 60.0, 90), (0.5, 1.5, 60.0, 50)]


def test_stray_note_off_ignored():
    score, msgs = read(midifile([off(64), on(60, 0), off(60, 480), off(60, 0)]))
    assert all_notes(score) == [(0.0, 1.0, 60.0, 100)]
    assert "2 note-off(s) without a sounding note ignored" in msgs


def test_never_released_note_closed_at_end_of_track_with_warning():
    track = [on(60), on(62, 480), off(62, 480), mido.MetaMessage("end_of_track", time=480)]
    score, msgs = read(midifile(track))
    assert all_notes(score) == [(0.0, 3.0, 60.0, 100), (1.0, 1.0, 62.0, 100)]
    assert any("1 note(s) never released, closed at the end of their track "
               "(track 1 key 60 at beat 0)" in m for m in msgs)


def test_zero_length_note_lasts_one_tick():
    score, msgs = read(midifile([on(60, 480), off(60, 0)]))
    [n] = score.parts[0].notes
    assert (n.start, n.duration) == (1.0, 1 / 480)
    assert "1 zero-length note(s) given a length of one tick" in msgs


def test_pitch_bend_default_range_in_semitones():
    # +4096 of 8192 with the default +-2 range = +1 semitone; -8192 = -2.
    track = [on(60), mido.Message("pitchwheel", pitch=4096, time=240),
             mido.Message("pitchwheel", pitch=-8192, time=120), off(60, 120)]
    score, _ = read(midifile(track))
    [n] = score.parts[0].notes
    assert n.bend == ((0.0, 0.0), (0.5, 1.0), (0.75, -2.0))


def test_pitch_bend_uses_rpn_range_and_applies_from_note_start():
    # RPN 0 = 12 semitones + 50 cents; the bend is set before the note starts.
    rpn = [mido.Message("control_change", control=c, value=v)
           for c, v in ((101, 0), (100, 0), (6, 12), (38, 50))]
    track = rpn + [mido.Message("pitchwheel", pitch=-4096), on(60, 0), off(60, 480)]
    score, _ = read(midifile(track))
    [n] = score.parts[0].notes
    assert n.bend == ((0.0, -6.25),)            # -4096/8192 * 12.5 semitones
    assert n.pitch == 60.0


def test_nrpn_data_entry_does_not_change_the_bend_range():
    ctl = [mido.Message("control_change", control=c, value=v)
           for c, v in ((99, 0), (98, 0), (6, 24))]
    track = ctl + [mido.Message("pitchwheel", pitch=4096), on(60), off(60, 480)]
    score, _ = read(midifile(track))
    assert score.parts[0].notes[0].bend == ((0.0, 1.0),)


@pytest.mark.parametrize("program, preset", [(0, "pluck"), (33, "bass"), (48, "strings"),
                                             (52, "choir"), (81, "saw"), (89, "pad"),
                                             (19, "organ"), (115, "clock_tick")])
def test_program_change_selects_preset(program, preset):
    track = [mido.MetaMessage("track_name", name="Inst"),
             mido.Message("program_change", program=program), on(60), off(60, 480)]
    score, _ = read(midifile(track))
    [part] = score.parts
    assert (part.name, part.preset) == ("Inst", preset)
    assert preset_for_program(program) == preset


def test_no_program_change_means_gm_piano():
    score, _ = read(midifile([on(60), off(60, 480)]))
    assert score.parts[0].preset == "pluck"


def test_channel_10_is_drums_with_key_numbers_kept_and_bends_ignored():
    track = [mido.Message("program_change", program=40, channel=9),
             mido.Message("pitchwheel", pitch=8000, channel=9),
             on(36, ch=9), off(36, 120, ch=9), on(38, 360, ch=9), off(38, 120, ch=9)]
    score, _ = read(midifile(track))
    [part] = score.parts
    assert part.preset == "cmi_drums"                    # the sampled Fairlight kit
    assert [(n.start, n.pitch, n.bend) for n in part.notes] == [(0.0, 36.0, ()), (1.0, 38.0, ())]
    # a track whose instrument name is the synthetic kit (as export writes it) keeps it
    named = [mido.MetaMessage("instrument_name", name="drums"), *track]
    score, _ = read(midifile(named))
    assert score.parts[0].preset == "drums"


def test_type_1_parts_names_tempo_meter_key_from_any_track():
    conductor = [mido.MetaMessage("track_name", name="My Song"),
                 mido.MetaMessage("time_signature", numerator=3, denominator=4),
                 mido.MetaMessage("key_signature", key="F#m")]
    lead = [mido.MetaMessage("track_name", name="Lead"),
            tempo(400000, 0),                       # a tempo in a non-conductor track
            on(72), off(72, 480), tempo(1000000, 960), on(74), off(74, 480)]
    bass = [mido.MetaMessage("track_name", name="Bass"),
            mido.Message("program_change", program=34, channel=1),
            on(36, ch=1), off(36, 1440, ch=1)]
    score, msgs = read(midifile(conductor, lead, bass))
    assert score.title == "My Song"
    assert [p.name for p in score.parts] == ["Lead", "Bass"]
    assert [p.preset for p in score.parts] == ["pluck", "bass"]
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0.0, 150.0), (3.0, 60.0)]
    assert [str(m) for m in score.meters.changes] == ["3/4"]
    assert [(k.tonic, k.mode) for k in score.keys] == [("F#", "minor")]
    lead_notes = score.part("Lead").notes
    assert [n.start for n in lead_notes] == [0.0, 3.0]
    # 3 beats at 150 bpm = 1.2 s
    assert score.tempo.seconds(lead_notes[1].start) == pytest.approx(1.2)
    assert msgs == []


def test_type_0_split_into_parts_by_channel():
    track = [mido.MetaMessage("track_name", name="Piece"),
             mido.Message("program_change", program=0, channel=0),
             mido.Message("program_change", program=0, channel=1),
             on(72, ch=0), on(48, ch=1), off(72, 480, ch=0), off(48, 0, ch=1)]
    score, _ = read(midifile(track, type=0))
    assert [(p.name, [n.pitch for n in p.notes]) for p in score.parts] == [
        ("Piece ch1", [72.0]), ("Piece ch2", [48.0])]


def test_program_change_mid_track_splits_the_part():
    track = [mido.MetaMessage("track_name", name="Keys"),
             on(60), off(60, 480), mido.Message("program_change", program=16),
             on(62), off(62, 480)]
    score, _ = read(midifile(track))
    assert [(p.name, p.preset, [n.pitch for n in p.notes]) for p in score.parts] == [
        ("Keys (pluck)", "pluck", [60.0]), ("Keys (organ)", "organ", [62.0])]


def test_format_2_patterns_play_one_after_another():
    pattern_a = [on(60), off(60, 480), mido.MetaMessage("end_of_track", time=480)]   # 2 beats
    pattern_b = [on(67), off(67, 480)]
    score, msgs = read(midifile(pattern_a, pattern_b, type=2))
    assert all_notes(score) == [(0.0, 1.0, 60.0, 100), (2.0, 1.0, 67.0, 100)]
    assert any("format 2 file: its 2 patterns are played one after another" in m for m in msgs)


def test_file_without_notes_gives_an_empty_score():
    score, _ = read(midifile([tempo(500000)]))
    assert score.parts == () and score.note_count == 0


def test_read_from_path_names_the_title_after_the_file(tmp_path):
    path = tmp_path / "tune.mid"
    path.write_bytes(midifile([on(60), off(60, 480)]))
    score, _ = read_midi_report(path)
    assert score.title == "tune"
    assert score.metadata.provenance["source"] == "tune.mid"


@pytest.mark.parametrize("instrument, preset", [("Grand Piano", "pluck"), ("saw", "saw"),
                                                ("my_patch", "my_patch"), ("drums", "pluck")])
def test_instrument_name_that_is_a_synth_preset_wins(monkeypatch, instrument, preset):
    import synth.patch
    monkeypatch.setitem(synth.patch.PRESETS, "my_patch", object())
    track = [mido.MetaMessage("instrument_name", name=instrument), on(60), off(60, 480)]
    score, _ = read(midifile(track))
    assert score.parts[0].preset == preset


def test_events_are_decoded_as_mido_decodes_them():
    # the reader decodes the repaired events itself; mido, parsing the same clean
    # file, is the oracle: same kinds, channels and values, same meta texts and keys
    from synth.midi import reader
    from synth.midi.repair import repair_smf

    keys = [(sf, mode) for sf in range(-7, 8) for mode in (0, 1)]
    names = dict(reader._KEYS)
    conductor = [mido.MetaMessage("track_name", name=" Caf\u00e9 \u00bd "),
                 mido.MetaMessage("copyright", text="\u00a9 1723"),
                 mido.MetaMessage("time_signature", numerator=7, denominator=8),
                 mido.MetaMessage("instrument_name", name="Viol\u00e9")]
    conductor += [mido.MetaMessage("key_signature", key=names[k], time=10) for k in keys]
    notes = []
    for ch in (0, 9, 15):
        notes += [mido.Message("program_change", program=ch * 8 + 1, channel=ch, time=3),
                  mido.Message("control_change", control=101, value=0, channel=ch),
                  mido.Message("control_change", control=6, value=127, channel=ch),
                  mido.Message("pitchwheel", pitch=-8192, channel=ch, time=1),
                  mido.Message("pitchwheel", pitch=8191, channel=ch),
                  mido.Message("pitchwheel", pitch=0, channel=ch),
                  mido.Message("note_on", note=0, velocity=127, channel=ch),
                  mido.Message("note_on", note=127, velocity=1, channel=ch, time=5),
                  mido.Message("polytouch", note=60, value=3, channel=ch),
                  mido.Message("aftertouch", value=4, channel=ch),
                  mido.Message("note_off", note=0, velocity=64, channel=ch, time=7),
                  mido.Message("note_on", note=127, velocity=0, channel=ch)]
    rep = repair_smf(midifile(conductor, notes))
    parsed = mido.MidiFile(file=io.BytesIO(rep.data))
    fields = {"note_on": ("note", "velocity"), "note_off": ("note", "velocity"),
              "pitchwheel": ("pitch",), "program_change": ("program",),
              "control_change": ("control", "value")}
    for summary, track in zip(rep.tracks, parsed.tracks):
        tick, expected = 0, []
        for msg in track:
            tick += msg.time
            if msg.type != "end_of_track":
                expected.append((tick, msg))
        assert [t for t, _ in summary.events] == [t for t, _ in expected]
        for (_, event), (_, msg) in zip(summary.events, expected):
            if msg.is_meta:
                body = reader._meta_body(event)
                if msg.type in ("track_name", "instrument_name"):
                    assert body.decode("latin1") == msg.name
                elif msg.type == "copyright":
                    assert body.decode("latin1") == msg.text
                elif msg.type == "time_signature":
                    assert (body[0], 2 ** body[1]) == (msg.numerator, msg.denominator)
                elif msg.type == "key_signature":
                    sharps = body[0] - 256 if body[0] > 127 else body[0]
                    assert reader._KEYS[sharps, body[1]] == msg.key
            elif msg.type in fields:
                got = reader._Message(event)
                assert (got.type, got.channel) == (msg.type, msg.channel)
                assert [getattr(got, f) for f in fields[msg.type]] == [
                    getattr(msg, f) for f in fields[msg.type]]
            else:
                assert event[0] >> 4 not in reader._CHANNEL_TYPES      # read past
    assert len(parsed.tracks[0]) > 30 and len(parsed.tracks[1]) == 37
