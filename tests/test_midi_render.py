"""End to end: a multi-part MIDI file with tempo changes, rendered and measured.

The file is built with mido; expected onsets come from its ticks and tempo
events by a plain loop written here (not from synth's TempoMap); expected
frequencies from 440 * 2**((key + bend - 69) / 12).  From the rendered audio
(every part played by the ``sine`` preset, as ``synth render --preset sine``
does) each part's stem is analysed: onsets are rising edges of the analytic
envelope, pitch is the slope of the unwrapped analytic phase over the note's
sustain.  Every note longer than 100 ms must match within 5 ms and 5 cents.
"""

from __future__ import annotations

import dataclasses
import io

import mido
import numpy as np
import pytest
from scipy.signal import hilbert

from synth.midi import read_midi_report

render_mod = pytest.importorskip("synth.render")

SR = 22050
TPB = 480
# (tick, microseconds per beat): 120 bpm, 90 bpm from beat 4, 150 bpm from beat
# 7.5 (in the middle of a melody note).
TEMPOS = [(0, 500000), (4 * TPB, 666667), (int(7.5 * TPB), 400000)]
# (start beat, length in beats, key, bend in semitones)
MELODY = [(0, 0.75, 69, 0), (1, 0.75, 72, 0), (2, 0.5, 76, 0), (3, 0.75, 74, 0),
          (4, 0.75, 71, 0), (5, 1, 67, 0), (6.5, 2, 64, 0), (9, 0.75, 65, 0.5),
          (10, 0.2, 60, 0), (11, 1, 62, 0)]
BASS = [(0, 1.5, 45, 0), (2, 1.5, 40, 0), (4, 1.5, 43, 0), (6, 1, 38, 0), (8, 2.5, 41, 0),
        (11, 1.5, 36, 0)]


def tick_seconds(tick: int) -> float:
    """Seconds at ``tick`` under TEMPOS (independent of synth)."""
    seconds, prev_tick, prev_us = 0.0, 0, TEMPOS[0][1]
    for t, us in TEMPOS[1:]:
        if t >= tick:
            break
        seconds += (t - prev_tick) * prev_us / 1e6 / TPB
        prev_tick, prev_us = t, us
    return seconds + (tick - prev_tick) * prev_us / 1e6 / TPB


def build_file() -> bytes:
    mf = mido.MidiFile(type=1, ticks_per_beat=TPB)
    conductor = [mido.MetaMessage("track_name", name="Measured")]
    for tick, us in TEMPOS:
        conductor.append((tick, mido.MetaMessage("set_tempo", tempo=us)))
    conductor = [conductor[0]] + conductor[1:]

    def track(name, notes, channel, program):
        events = [(0, mido.MetaMessage("track_name", name=name)),
                  (0, mido.Message("program_change", channel=channel, program=program))]
        for start, length, key, bend in notes:
            on, off = round(start * TPB), round((start + length) * TPB)
            if bend:
                events.append((on, mido.Message("pitchwheel", channel=channel,
                                                pitch=round(bend / 2 * 8192))))
            events.append((on, mido.Message("note_on", channel=channel, note=key, velocity=100)))
            events.append((off, mido.Message("note_off", channel=channel, note=key)))
            if bend:
                events.append((off, mido.Message("pitchwheel", channel=channel, pitch=0)))
        return events

    def to_track(events):
        tr, last = mido.MidiTrack(), 0
        for tick, msg in events:
            tr.append(msg.copy(time=tick - last))
            last = tick
        return tr

    mf.tracks.append(to_track([(0, conductor[0])] + conductor[1:]))
    mf.tracks.append(to_track(track("Melody", MELODY, 0, 80)))
    mf.tracks.append(to_track(track("Bass", BASS, 1, 33)))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def detect_onsets(x: np.ndarray, sr: int) -> np.ndarray:
    """Seconds at which |x| first exceeds 5 % of its peak after >= 15 ms below it.

    Causal on purpose (the analytic envelope of a low note rises a few ms
    before the note does); silence is assumed before the first sample.
    """
    above = np.abs(x) > 0.05 * np.abs(x).max()
    quiet = int(0.015 * sr)   # > the dips of |x| at zero crossings (< 1 ms)
    padded = np.concatenate([np.zeros(quiet, bool), above])
    below_run = np.concatenate([[0], np.cumsum(~padded)])
    edges = np.flatnonzero(padded[1:] & ~padded[:-1]) + 1
    keep = [i - quiet for i in edges if below_run[i] - below_run[i - quiet] == quiet]
    return np.array(keep) / sr


def measure_freq(x: np.ndarray, sr: int, t0: float, t1: float) -> float:
    """Mean frequency in Hz over [t0, t1] from the slope of the analytic phase."""
    phase = np.unwrap(np.angle(hilbert(x)))
    a, b = int(t0 * sr), int(t1 * sr)
    t = np.arange(a, b) / sr
    slope = np.polyfit(t, phase[a:b], 1)[0]
    return slope / (2 * np.pi)


@pytest.fixture(scope="module")
def rendered():
    score, msgs = read_midi_report(build_file(), source="measured.mid")
    assert msgs == []
    sine = score.with_parts(dataclasses.replace(p, preset="sine", patch={}) for p in score.parts)
    result = render_mod.render(sine, sr=SR, seed=0, stems=True)
    return score, result.audio, result.stems


def test_file_reads_as_two_parts_with_the_tempo_map(rendered):
    score, _, _ = rendered
    assert [(p.name, p.preset) for p in score.parts] == [("Melody", "square"), ("Bass", "bass")]
    assert [(c.beat, round(60e6 / c.bpm)) for c in score.tempo.changes] == [
        (t / TPB, us) for t, us in TEMPOS]


@pytest.mark.parametrize("name, notes", [("Melody", MELODY), ("Bass", BASS)])
def test_onsets_and_pitches_match_the_file(rendered, name, notes):
    _, audio, stems = rendered
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) <= 1.0
    x = stems[name].sum(axis=0)
    onsets = detect_onsets(x, SR)
    assert len(onsets) == len(notes)
    checked = 0
    for (start, length, key, bend), measured_onset in zip(notes, onsets):
        t_on = tick_seconds(round(start * TPB))
        t_off = tick_seconds(round((start + length) * TPB))
        if t_off - t_on <= 0.1:
            continue
        assert abs(measured_onset - t_on) < 0.005, (name, start, measured_onset, t_on)
        expected_hz = 440.0 * 2 ** ((key + bend - 69) / 12)
        f = measure_freq(x, SR, t_on + 0.015, t_off - 0.01)
        cents = 1200 * np.log2(f / expected_hz)
        assert abs(cents) < 5, (name, start, key, f, expected_hz, cents)
        checked += 1
    assert checked == sum(1 for s, l, *_ in notes
                          if tick_seconds(round((s + l) * TPB)) - tick_seconds(round(s * TPB))
                          > 0.1)
