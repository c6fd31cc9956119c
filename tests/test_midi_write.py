"""MIDI export: layout, channels, MPE-style microtones, and the round trip."""

from __future__ import annotations

import io
import warnings

import mido
import pytest

from synth.errors import MidiError, SynthWarning
from synth.midi import midi_bytes, read_midi_report, write_midi
from synth.score import KeyChange, MeterChange, MeterMap, Metadata, Note, Part, Score, TempoMap


def events_by_track(data: bytes):
    """Per track: list of (absolute tick, message) from mido."""
    mf = mido.MidiFile(file=io.BytesIO(data))
    out = []
    for tr in mf.tracks:
        tick, evs = 0, []
        for msg in tr:
            tick += msg.time
            evs.append((tick, msg))
        out.append(evs)
    return mf, out


def note_events(data: bytes):
    """Sorted (tick, on/off, channel, key, velocity-if-on) over the whole file."""
    _, tracks = events_by_track(data)
    out = []
    for evs in tracks:
        for tick, m in evs:
            if m.type == "note_on" and m.velocity > 0:
                out.append((tick, "on", m.channel, m.note, m.velocity))
            elif m.type in ("note_on", "note_off"):
                out.append((tick, "off", m.channel, m.note, 0))
    return sorted(out)


def tempo_events(data: bytes):
    _, tracks = events_by_track(data)
    return sorted((t, m.tempo) for evs in tracks for t, m in evs if m.type == "set_tempo")


def build(*tracks, tpb=384):
    mf = mido.MidiFile(type=1, ticks_per_beat=tpb)
    for events in tracks:
        mf.tracks.append(mido.MidiTrack(events))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def test_round_trip_preserves_notes_ticks_and_tempo():
    # Odd tick positions, overlaps, a drum track, several tempo changes.
    conductor = [mido.MetaMessage("track_name", name="RT"),
                 mido.MetaMessage("set_tempo", tempo=500000),
                 mido.MetaMessage("time_signature", numerator=7, denominator=8),
                 mido.MetaMessage("set_tempo", tempo=433333, time=1001),
                 mido.MetaMessage("set_tempo", tempo=60000, time=2999)]
    melody = [mido.MetaMessage("track_name", name="Melody"),
              mido.Message("program_change", program=73),
              mido.Message("note_on", note=61, velocity=77, time=3),
              mido.Message("note_on", note=61, velocity=33, time=101),   # same-pitch overlap
              mido.Message("note_off", note=61, time=97),
              mido.Message("note_on", note=127, velocity=1, time=5),
              mido.Message("note_off", note=61, time=1234),
              mido.Message("note_off", note=127, time=7)]
    drums = [mido.MetaMessage("track_name", name="Kit"),
             mido.Message("note_on", channel=9, note=36, velocity=120, time=0),
             mido.Message("note_off", channel=9, note=36, time=17),
             mido.Message("note_on", channel=9, note=0, velocity=64, time=4000),
             mido.Message("note_off", channel=9, note=0, time=1)]
    original = build(conductor, melody, drums)
    score, msgs = read_midi_report(original)
    assert msgs == []
    again = midi_bytes(score, ticks_per_beat=384)

    def strip_channel(evs):
        return [(t, kind, ch == 9, key, vel) for t, kind, ch, key, vel in evs]

    assert strip_channel(note_events(again)) == strip_channel(note_events(original))
    assert tempo_events(again) == tempo_events(original)
    score2, _ = read_midi_report(again)
    assert [(p.name, p.preset) for p in score2.parts] == [(p.name, p.preset)
                                                          for p in score.parts]
    assert score2.meters == score.meters and score2.title == "RT"


def test_layout_conductor_then_one_track_per_part():
    score = Score(parts=(Part("Lead", (Note(0, 1, 72, 90),), preset="lead"),
                         Part("Bass", (Note(0, 2, 36, 100),), preset="bass"),
                         Part("Kit", (Note(1, 0.25, 38, 110),), preset="drums")),
                  tempo=TempoMap([(0, 90), (4, 180)]),
                  meters=MeterMap([MeterChange(0, 6, 8)]),
                  keys=(KeyChange(0, "Bb", "major"),),
                  metadata=Metadata(title="Layout"))
    mf, tracks = events_by_track(midi_bytes(score, ticks_per_beat=960))
    assert mf.type == 1 and len(mf.tracks) == 4
    conductor = [m for _, m in tracks[0]]
    assert [m.type for m in conductor] == ["track_name", "set_tempo", "time_signature",
                                           "key_signature", "set_tempo", "end_of_track"]
    assert [(t, m.tempo) for t, m in tracks[0] if m.type == "set_tempo"] == [
        (0, 666667), (3840, 333333)]
    assert [m.name for _, m in (tracks[1][0], tracks[2][0], tracks[3][0])] == [
        "Lead", "Bass", "Kit"]
    channels = [{m.channel for _, m in tr if not m.is_meta} for tr in tracks[1:]]
    assert channels[2] == {9}
    assert len(channels[0]) == len(channels[1]) == 1 and channels[0] != channels[1]
    programs = [[m.program for _, m in tr if m.type == "program_change"] for tr in tracks[1:]]
    assert programs == [[84], [38], []]        # GM 85 lead, GM 39 synth bass, none for drums


def test_microtones_get_their_own_channels_and_bends():
    # Two simultaneous quarter-tones and a bend: three notes at once, each on
    # its own channel; offset from the nearest key written as pitch bend.
    notes = (Note(0, 1, 60.5, 80), Note(0, 1, 64.25, 80),
             Note(0, 2, 67.0, 80, bend=((0.0, 0.0), (1.0, -1.5))))
    score = Score(parts=(Part("Micro", notes, preset="sine"),))
    data = midi_bytes(score, ticks_per_beat=480)
    _, tracks = events_by_track(data)
    track = tracks[1]
    ons = [(m.channel, m.note) for _, m in track if m.type == "note_on" and m.velocity]
    assert sorted(n for _, n in ons) == [60, 64, 67]   # 60.5 rounds to even: key 60
    assert len({c for c, _ in ons}) == 3 and 9 not in {c for c, _ in ons}
    bends = {}
    for t, m in track:
        if m.type == "pitchwheel":
            bends.setdefault(m.channel, []).append((t, m.pitch))
    ch_of = {n: c for c, n in ons}
    assert bends[ch_of[60]] == [(0, 2048)]              # +0.5 of +-2 semitones
    assert bends[ch_of[64]] == [(0, 1024)]              # +0.25
    assert bends[ch_of[67]] == [(0, 0), (480, -6144)]   # -1.5 from beat 1
    # RPN 0 sets +-2 on each of those channels before the notes.
    rpn = [(m.channel, m.control, m.value) for _, m in tracks[0] if m.type == "control_change"]
    for c in ch_of.values():
        assert [(ctl, v) for ch, ctl, v in rpn if ch == c][:4] == [(101, 0), (100, 0), (6, 2),
                                                                  (38, 0)]
    back, _ = read_midi_report(data)
    # a bend held through a note, within a quarter-tone of its key, reads back
    # as the fractional pitch it was written from; a moving bend stays a bend
    got = sorted((n.pitch, n.bend) for n in back.parts[0].notes)
    assert got == [(60.5, ()), (64.25, ()), (67.0, ((0.0, 0.0), (1.0, -1.5)))]
    assert [p.name for p in back.parts] == ["Micro"]


def test_wide_bend_raises_the_bend_range():
    score = Score(parts=(Part("Slide", (Note(0, 1, 60, 80, bend=((0.5, 7.0),)),)),))
    data = midi_bytes(score, ticks_per_beat=480)
    _, tracks = events_by_track(data)
    rpn = [(m.control, m.value) for _, m in tracks[0] if m.type == "control_change"]
    # +7 semitones needs more than a +-7 range (the top value is 8191/8192 of it)
    assert rpn[:4] == [(101, 0), (100, 0), (6, 8), (38, 0)]
    back, _ = read_midi_report(data)
    assert back.parts[0].notes[0].bend == ((0.0, 0.0), (0.5, 7.0))


def test_more_microtonal_notes_than_channels_warns():
    chord = tuple(Note(0, 1, 40.5 + 2 * i, 80) for i in range(16))
    score = Score(parts=(Part("Cluster", chord),))
    warn: list[str] = []
    midi_bytes(score, warn=warn)
    assert warn == ["1 note(s) needing a channel of their own (microtones, bends, nested "
                    "same-key notes) had to share one with another sounding note (15 channels "
                    "free); their pitch or length may be off"]


def test_nested_same_key_notes_survive_the_round_trip():
    # B lies inside A (same key): on one channel, FIFO pairing would end A at
    # B's note-off.  The writer gives B a channel of its own.
    notes = (Note(0, 4, 60, 90), Note(1, 1, 60, 50), Note(2, 4, 60, 70))
    score = Score(parts=(Part("Drone", notes),))
    back, msgs = read_midi_report(midi_bytes(score, ticks_per_beat=480))
    assert [(n.start, n.duration, n.velocity) for n in back.parts[0].notes] == [
        (0.0, 4.0, 90), (1.0, 1.0, 50), (2.0, 4.0, 70)]
    assert [p.name for p in back.parts] == ["Drone"] and msgs == []


def test_one_bpm_cannot_be_written():
    score = Score(parts=(Part("P", (Note(0, 1, 60),)),), tempo=TempoMap.constant(1.0))
    with pytest.raises(MidiError, match=r"tempo 1 bpm at beat 0 cannot be written as MIDI "
                                        r"\(range 3\.58"):
        midi_bytes(score)


def test_1000_bpm_written_exactly():
    score = Score(parts=(Part("P", (Note(0, 1, 60),)),), tempo=TempoMap.constant(1000.0))
    assert tempo_events(midi_bytes(score)) == [(0, 60000)]


def test_bad_resolution_refused():
    with pytest.raises(MidiError, match=r"ticks_per_beat must be an integer 1\.\.32767, got 0"):
        midi_bytes(Score(), ticks_per_beat=0)


def test_write_midi_to_path_and_modal_key_warning(tmp_path):
    score = Score(parts=(Part("P", (Note(0, 1, 62),)),), keys=(KeyChange(0, "D", "dorian"),))
    path = tmp_path / "out.mid"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_midi(score, path)
    assert [str(w.message) for w in caught if w.category is SynthWarning] == [
        "key D dorian at beat 0: MIDI has only major and minor; key signature left out"]
    back, _ = read_midi_report(path)
    assert [(n.start, n.pitch) for n in back.parts[0].notes] == [(0.0, 62.0)]


def test_write_midi_unwritable_path(tmp_path):
    with pytest.raises(MidiError, match=r"cannot write"):
        write_midi(Score(), tmp_path / "no" / "such" / "dir.mid")
