"""MIDI in and out: write a score as a standard MIDI file, read it back, render it.

:func:`synth.midi.write_midi` writes a type-1 file (a conductor track with
tempo, meter and key, then one track per part); :func:`synth.midi.read_midi`
reads any standard MIDI file into a :class:`synth.Score` (repairing what it
can, with a warning for each repair).  Microtonal notes survive the round
trip: each gets a channel of its own with a pitch bend, and comes back as
the nearest key plus a ``Note.bend`` held from its start.

    python examples/05_midi_in_out.py [OUTPUT_DIR]
"""

import sys
import tempfile
import warnings
from pathlib import Path

import synth
from synth import Metadata, Note, Part, Score, TempoMap
from synth.midi import read_midi, write_midi


def main(out_dir: Path) -> None:
    # a short phrase with a quarter-tone-sharp A (69.5) and a chord
    notes = (Note(0, 1, 62, 90), Note(1, 1, 65, 80), Note(2, 2, 69.5, 85),
             Note(4, 2, 62, 70), Note(4, 2, 65, 70), Note(4, 2, 69, 70))
    score = Score(parts=(Part("tune", notes, preset="square"),
                         Part("bass", (Note(0, 6, 38, 70),), preset="saw")),
                  tempo=TempoMap.constant(90.0), metadata=Metadata(title="MIDI round trip"))

    mid = out_dir / "05-round-trip.mid"
    write_midi(score, mid)
    print(f"wrote {mid.name}: {mid.stat().st_size} bytes")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", synth.SynthWarning)
        back = read_midi(mid)
    for w in caught:
        print("warning:", w.message)
    print(f"read back: {len(back.parts)} parts, {back.note_count} notes, "
          f"{back.duration_seconds:.2f} s at {back.tempo.bpm_at(0):g} bpm")
    for part in back.parts:
        # a microtone comes back as the key plus a pitch bend held from the note's start
        sounding = [n.pitch + (n.bend[0][1] if n.bend and n.bend[0][0] == 0 else 0.0)
                    for n in part.notes]
        print(f"  {part.name} ({part.preset}): sounding pitches "
              + ", ".join(f"{p:g}" for p in sounding))

    wav = out_dir / "05-from-midi.wav"
    result = synth.render_to_file(back, wav, sr=22050, force=True)
    print(f"rendered {wav.name}: {result.seconds:.2f} s")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="synth-ex05-"))
    out.mkdir(parents=True, exist_ok=True)
    main(out)
