"""Build a score in Python and render it.

A four-bar phrase in 3/4 -- a tune over a held fifth -- written note by note
with the score model (times in beats = quarter notes, pitches as MIDI
numbers or note names), then rendered to a WAV file.

    python examples/01_build_a_score.py [OUTPUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

import synth
from synth import Metadata, MeterChange, MeterMap, Note, Part, Score, TempoMap
from synth.audio import read_audio
from synth.units import parse_note_name


def build_score() -> Score:
    # (beat, length in beats, note name, velocity): D minor, 3/4
    tune = [(0, 1, "D5", 90), (1, 1, "F5", 80), (2, 1, "E5", 80),
            (3, 2, "D5", 90), (5, 1, "A4", 70),
            (6, 0.5, "Bb4", 80), (6.5, 0.5, "C5", 80), (7, 1, "D5", 85), (8, 1, "E5", 85),
            (9, 3, "D5", 95)]
    melody = Part("melody", tuple(Note(b, d, parse_note_name(n), v) for b, d, n, v in tune),
                  preset="triangle", pan=0.2)
    # a drone: D3 and A3 held for all four bars, a little quieter
    drone = Part("drone", (Note(0, 12, 50, 60), Note(0, 12, 57, 55)), preset="saw",
                 gain_db=-9.0, pan=-0.2, patch={"envelope.attack": 0.3, "envelope.release": 0.8})
    return Score(parts=(melody, drone), tempo=TempoMap.constant(132.0),
                 meters=MeterMap([MeterChange(0.0, 3, 4)]),
                 metadata=Metadata(title="Built in Python", composer="examples/01", seed=1))


def main(out_dir: Path) -> None:
    score = build_score()
    print(f"{score.title}: {len(score.parts)} parts, {score.note_count} notes, "
          f"{score.bar_count} bars, {score.duration_seconds:.2f} s")
    wav = out_dir / "01-built-in-python.wav"
    result = synth.render_to_file(score, wav, sr=22050, force=True)
    audio, sr = read_audio(wav)
    peak_db = 20 * np.log10(np.max(np.abs(audio)))
    print(f"wrote {wav}: {result.seconds:.2f} s at {sr} Hz, peak {peak_db:.2f} dBFS")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="synth-ex01-"))
    out.mkdir(parents=True, exist_ok=True)
    main(out)
