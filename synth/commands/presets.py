"""``synth presets``: list the presets, or render an audition of each."""

from __future__ import annotations

import argparse

import os

from ..errors import AudioFileError
from ..patch import get_preset, preset_names
from ..presets import audition_score
from ..render import DEFAULT_SR, render_to_file
from ._common import eprint

#: Headings of the listing, by source family.
_GROUPS = (
    ("Fairlight CMI voices (8-bit, per-voice clock, 8 voices)", ("fairlight",)),
    ("Basic and subtractive", ("sine", "saw", "square", "triangle", "pulse", "unison", "sync",
                               "naive_saw", "naive_square", "naive_triangle")),
    ("Additive, bells and FM", ("additive", "drawn", "partials", "fm2", "fm3", "ring")),
    ("Noise and percussion", ("noise", "pink", "drums")),
)


def register(sub) -> None:
    p = sub.add_parser("presets", help="list the instrument presets (or render auditions)",
                       description="List every preset with its sound source and a line about "
                                   "it, grouped by kind; with --render, write a short audition "
                                   "WAV of each (a few notes and a chord; drums a pattern).",
                       epilog="examples:\n  synth presets\n"
                              "  synth presets --render auditions/ --sample-rate 44100",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--render", metavar="DIR",
                   help="write DIR/<preset>.wav for every preset (DIR is created)")
    p.add_argument("--force", action="store_true", help="overwrite existing audition files")
    p.add_argument("--sample-rate", type=int, default=DEFAULT_SR, metavar="HZ",
                   help=f"sample rate of the auditions (default {DEFAULT_SR})")
    p.add_argument("--only", metavar="NAME", action="append",
                   help="render only this preset (repeatable)")
    p.set_defaults(func=run)


def _listing() -> list[str]:
    names = preset_names()
    width = max(len(n) for n in names)
    lines, seen = [], set()
    for heading, sources in _GROUPS:
        group = [n for n in names if get_preset(n).source in sources]
        if group:
            lines.append(f"{heading}:")
            lines += [f"  {n:<{width}}  {get_preset(n).source:<10} {get_preset(n).description}"
                      for n in group]
            seen.update(group)
    rest = [n for n in names if n not in seen]
    if rest:
        lines.append("Other:")
        lines += [f"  {n:<{width}}  {get_preset(n).source:<10} {get_preset(n).description}"
                  for n in rest]
    return lines


def run(args) -> int:
    if not args.render:
        print("\n".join(_listing()))
        return 0
    names = args.only or preset_names()
    for name in names:
        get_preset(name)                                   # unknown name: exit 2 before writing
    os.makedirs(args.render, exist_ok=True)
    targets = [(name, os.path.join(args.render, f"{name}.wav")) for name in names]
    if not args.force:
        existing = [path for _, path in targets if os.path.exists(path)]
        if existing:
            raise AudioFileError(f"{existing[0]}: file exists (use --force to overwrite)")
    for name, path in targets:
        result = render_to_file(audition_score(name), path, sr=args.sample_rate, force=args.force,
                                subtype="PCM_16", metadata={"title": f"{name} audition",
                                                            "software": "synth presets"})
        eprint(f"wrote {path} ({result.seconds:.1f} s)")
    return 0
