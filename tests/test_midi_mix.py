"""MIDI export keeps the mix (CC7/CC39 volume, CC10 pan) and says what it drops."""

import pathlib

import mido
import numpy as np
import pytest

import synth
from synth.analysis import mean_roughness
from synth.midi import midi_bytes, read_midi_report
from synth.midi import gm
from synth.score import Note, Part, Score

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "arrangements").glob("*.toml")) + sorted(
    (ROOT / "arrangements" / "sources").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_export_then_import_keeps_gains_pans_and_roughness(path):
    score = synth.load(path)
    warn: list[str] = []
    back, _ = read_midi_report(midi_bytes(score, warn=warn))
    assert [p.name for p in back.parts] == [p.name for p in score.parts]
    for a, b in zip(score.parts, back.parts):
        assert abs(a.gain_db - b.gain_db) <= 0.5, (a.name, a.gain_db, b.gain_db)
        assert abs(a.pan - b.pan) <= 0.02, (a.name, a.pan, b.pan)
        assert a.preset == b.preset
    r0, r1 = mean_roughness(score), mean_roughness(back)
    assert abs(r1 - r0) <= 0.05 * r0, (r0, r1)
    # what the file cannot hold is listed
    if any(p.effects for p in score.parts):
        assert any(w.startswith("part effects not written:") for w in warn)
    if any(p.patch for p in score.parts):
        assert any(w.startswith("patch overrides not written") for w in warn)


def test_volume_and_pan_curves_round_trip():
    for db in (0.0, -0.1, -3.0, -12.5, -24.0, -48.0, -60.0):
        assert abs(gm.volume_to_gain_db(gm.gain_db_to_volume(db)) - db) < 0.02
    assert gm.gain_db_to_volume(0.0) == 127 * 128
    assert gm.volume_to_gain_db(100 * 128) == pytest.approx(40 * np.log10(100 / 127))
    for pan in np.linspace(-1, 1, 41):
        assert abs(gm.cc_to_pan(gm.pan_to_cc(pan)) - pan) <= 1 / 126
    assert (gm.pan_to_cc(-1.0), gm.pan_to_cc(0.0), gm.pan_to_cc(1.0)) == (0, 64, 127)


def test_cc7_cc39_cc10_are_written_on_the_home_channel_and_before_microtones():
    score = Score(parts=(Part("a", (Note(0, 1, 60), Note(1, 1, 60.5)), preset="sine",
                              gain_db=-6.0, pan=-0.5),))
    mf = mido.MidiFile(file=__import__("io").BytesIO(midi_bytes(score)))
    ccs = [(m.channel, m.control, m.value) for m in mf.tracks[1] if m.type == "control_change"]
    vol = gm.gain_db_to_volume(-6.0)
    home = [c for c in ccs if c[0] == 0]
    assert home == [(0, 7, vol >> 7), (0, 39, vol & 127), (0, 10, 32)]
    pool = [c for c in ccs if c[0] != 0]
    assert [c[1:] for c in pool] == [(7, vol >> 7), (39, vol & 127), (10, 32)]


def test_export_warns_about_what_midi_cannot_carry():
    score = Score(parts=(Part("lead", (Note(0, 1, 60),), preset="saw", gain_db=6.0,
                              patch={"envelope.release": 2.0},
                              effects=({"type": "reverb", "mix": 0.3},)),),
                  master_effects=({"type": "delay", "beats": 0.5},))
    warn: list[str] = []
    back, _ = read_midi_report(midi_bytes(score, warn=warn))
    assert warn == [
        "part gain above MIDI's full volume (CC7 127 = 0 dB) written as 0 dB: 'lead' (+6 dB)",
        "patch overrides not written (MIDI has no place for them; the preset name and GM "
        "program are): 'lead'",
        "part effects not written: 'lead' (reverb)",
        "master effects not written: delay",
    ]
    assert back.parts[0].gain_db == pytest.approx(0.0)


def test_files_without_cc7_read_at_0_db_and_a_changing_volume_is_reported():
    mf = mido.MidiFile(type=1)
    tr = mido.MidiTrack()
    tr += [mido.Message("note_on", note=60, velocity=80), mido.Message("note_off", note=60, time=480),
           mido.Message("control_change", control=7, value=64),
           mido.Message("note_on", note=62, velocity=80), mido.Message("note_off", note=62, time=480)]
    mf.tracks.append(tr)
    import io
    buf = io.BytesIO()
    mf.save(file=buf)
    score, warn = read_midi_report(buf.getvalue())
    assert score.parts[0].gain_db == 0.0 and score.parts[0].pan == 0.0
    assert any("channel volume or pan changes while it plays" in w for w in warn)
