"""Write a transform of your own, register it, use it beside the built-in ones.

A transform is a pure function ``Score -> Score``.  Registering it with
:func:`synth.transforms.register` gives it validated parameters (kinds,
defaults, ranges: a typo in an arrangement file becomes an error naming the
key), the `parts`/`bars` selection, and its own seeded random streams, so it
works in arrangement files (`name = "grace"`) exactly like the built-ins.

This one adds seeded grace notes: before a chosen note, a short, soft note
``interval`` semitones away.

    python examples/03_custom_transform.py [OUTPUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import synth
from synth import Note, Part, Score, TempoMap
from synth.transforms import Param, Pipeline, make, register


@register("grace", "texture", {
    "probability": Param("float", 0.5, lo=0.0, hi=1.0, doc="chance that a note gets a grace note"),
    "interval": Param("float", -1.0, lo=-12.0, hi=12.0, unit="semitones",
                      doc="pitch of the grace note relative to its main note"),
    "length": Param("float", 0.125, lo=0.01, hi=1.0, unit="beats",
                    doc="length of the grace note (taken from before the main note)"),
})
def grace(score, sel, streams, *, probability, interval, length):
    """Seeded grace notes: a short note before some of the selected notes."""
    span = sel.span(score)
    chosen = set(sel.part_names(score))
    parts = []
    for part in score.parts:
        if part.name not in chosen:
            parts.append(part)
            continue
        rng = streams(part.name)                 # an independent stream per part
        mask = sel.mask(part.notes, span)
        notes = list(part.notes)
        for note, selected in zip(part.notes, mask):
            if selected and note.start >= length and rng.random() < probability:
                notes.append(Note(note.start - length, length, note.pitch + interval,
                                  max(1, note.velocity // 2)))
        parts.append(part.with_notes(notes))
    return score.with_parts(parts)


def main(out_dir: Path) -> None:
    line = tuple(Note(1 + i, 1, p, 90) for i, p in enumerate([62, 65, 69, 67, 65, 64, 62, 61]))
    score = Score(parts=(Part("bells", line, preset="triangle"),), tempo=TempoMap.constant(100.0))

    pipeline = Pipeline((
        make("grace", probability=0.6, interval=-1),     # ours
        make("detune", drift_cents=10),                  # built in
    ))
    for seed in (1, 2):
        arranged = pipeline(score, seed=seed)
        graces = arranged.note_count - score.note_count
        wav = out_dir / f"03-grace-seed{seed}.wav"
        synth.render_to_file(arranged, wav, sr=22050, force=True)
        print(f"seed {seed}: {graces} grace notes added -> {wav.name}")

    # the registry validates our parameters like any other transform's
    try:
        make("grace", probabilty=0.5)
    except synth.TransformError as e:
        print("typo caught:", e)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="synth-ex03-"))
    out.mkdir(parents=True, exist_ok=True)
    main(out)
