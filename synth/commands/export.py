"""``synth export``: score, arrangement, MIDI or MusicXML file -> type-1 MIDI file."""

from __future__ import annotations

import argparse
import os
import sys

from ..audio import atomic_output, check_writable
from ..errors import MidiError
from ..midi import midi_bytes
from ._common import add_seed_options, default_output, eprint, load_input

HELP = """examples:
  synth export arrangements/sonnerie-bells-in-the-ice.toml -o ice.mid
  synth export piece.toml --seed 7 -o piece7.mid --force
  synth export score.musicxml -o score.mid --ticks-per-beat 480

The file has a conductor track (tempo map, meter, key) and one track per part;
microtonal notes get a channel each with pitch bend (see docs/midi.md)."""

_SUFFIXES = (".mid", ".midi")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a score or arrangement as a type-1 MIDI file",
                       description="Write INPUT (score .toml, arrangement .toml after its "
                       "transforms, .mid, .musicxml) as a type-1 standard MIDI file.",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", metavar="OUT.mid",
                   help="output MIDI file ('-' for standard output; default: INPUT's name "
                   "with .mid)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--ticks-per-beat", type=int, default=960, metavar="N",
                   help="resolution in ticks per quarter note, 1..32767 (default 960)")
    add_seed_options(p)
    p.add_argument("--quiet", action="store_true", help="no warnings, no summary line")
    p.set_defaults(func=run)



def run(args: argparse.Namespace) -> int:
    out = args.output or default_output(args.input, ".mid")
    if out != "-" and os.path.splitext(out)[1].lower() not in _SUFFIXES:
        raise MidiError(f"output {out!r} must end in .mid or .midi")
    check_writable(out, force=args.force)        # fail before any work
    score = load_input(args, seed=args.seed, variation=args.variation)
    warn: list[str] = []
    data = midi_bytes(score, ticks_per_beat=args.ticks_per_beat, warn=warn)
    if not args.quiet:
        for message in warn:
            eprint(f"synth: warning: {out}: {message}")
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    with atomic_output(out, force=args.force, suffix=".mid") as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    if not args.quiet:
        eprint(f"wrote {out}: {len(score.parts)} part(s), {score.note_count} notes, "
               f"{score.duration_seconds:.2f} s")
    return 0
