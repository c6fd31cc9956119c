"""``synth plot``: a picture of a score -- piano roll, roughness, spectrogram."""

from __future__ import annotations

import argparse
import os

from ..render import DEFAULT_MAX_SECONDS
from ._common import add_seed_options, default_output, eprint, load_input

HELP = """examples:
  synth plot examples/first-score.toml -o first.png
  synth plot arrangements/sonnerie-bells-in-the-ice.toml --seed 7 -o ice7.png --width 2400 --height 1200
  synth plot song.mid -o song.png --no-audio      # piano roll and roughness only (fast)

Needs matplotlib: pip install 'synth-liquidsky[plot]'."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw a piano roll, roughness curve and spectrogram as PNG",
                       description="Draw INPUT (score, arrangement after its transforms, MIDI, "
                       "MusicXML) as a PNG: a piano roll with one colour per part, the roughness "
                       "curve below it, and a spectrogram of the render (at 22050 Hz) below that.",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", metavar="OUT.png",
                   help="output PNG (default: INPUT's name with .png)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--width", type=int, default=1600, metavar="PX",
                   help="picture width in pixels (default 1600)")
    p.add_argument("--height", type=int, default=1000, metavar="PX",
                   help="picture height in pixels (default 1000)")
    add_seed_options(p)
    p.add_argument("--no-audio", action="store_true",
                   help="do not render: no spectrogram (much faster for long pieces)")
    p.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, metavar="S",
                   help="refuse renders longer than S seconds (default 3600)")
    p.add_argument("--quiet", action="store_true", help="no warnings, no summary line")
    p.set_defaults(func=run)



def run(args: argparse.Namespace) -> int:
    from ..audio import check_writable
    from ..errors import SynthError
    from ..plot import plot_score, require_matplotlib
    from .analyze import partials_for

    out = args.output or default_output(args.input, ".png")
    if os.path.splitext(out)[1].lower() != ".png":
        raise SynthError(f"output {out!r} must end in .png")
    require_matplotlib()                         # a missing matplotlib fails before any work
    check_writable(out, force=args.force)
    score = load_input(args, seed=args.seed, variation=args.variation,
                       max_seconds=args.max_seconds)
    tension = None
    from ..loader import is_arrangement
    if is_arrangement(args.input):           # the plan's requested tension over the roughness
        from ..arrangement import read_arrangement, requested_tension
        tension = requested_tension(read_arrangement(args.input))
    info = plot_score(score, out, width=args.width, height=args.height, force=args.force,
                      audio=not args.no_audio, seed=score.metadata.seed,
                      partials_for=partials_for, max_seconds=args.max_seconds, tension=tension)
    if not args.quiet:
        eprint(f"wrote {out}: {args.width}x{args.height} px, {', '.join(info['panels'])}, "
               f"{info['seconds']:.2f} s, seed {score.metadata.seed}")
    return 0
