"""``synth presets [NAME]``: list the presets, explain one, or render an audition of each."""

from __future__ import annotations

import argparse

import os

from ..errors import AudioFileError
from .. import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
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


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list the instrument presets, explain one (NAME), "
                       "or render auditions",
                       description="List every preset with its sound source and a line about "
                                   "it, grouped by kind.  With NAME: every patch key of that "
                                   "preset with its value, unit and range, its sound source "
                                   "and a summary of its partial spectrum.  With --render, "
                                   "write a short audition WAV of each (a few notes and a "
                                   "chord; drums a pattern).",
                       epilog="examples:\n  synth presets\n  synth presets cmi_bell\n"
                              "  synth presets cmi_bell --json\n"
                              "  synth presets --render auditions/ --sample-rate 44100\n\n"
                              "Override any key in a part of a score or arrangement:\n"
                              "  [parts.bells.patch]\n  envelope.release = 2.0\n"
                              "Every key and effect, with examples: docs/sound-design.md",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="explain this preset: its keys, values, ranges and spectrum")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
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


def _explain(name: str) -> list[str]:
    from ..catalog import preset_info
    from ._explain import fmt_value, table, wrap
    info = preset_info(name)
    spec = info["spectrum"]
    loudest = ", ".join(f"{r:g} ({a:.2f})" for r, a in spec["partials"])
    lines = [f"{info['name']}: {info['description']}",
             f"source: {info['source']} ({info['source_doc']})"]
    if spec["model"] == "unpitched":
        lines += ["spectrum: unpitched (noise or drums): no partial series", ""]
    else:
        lines += [f"spectrum: {spec['count']} partials, "
                  f"{'harmonic' if spec['harmonic'] else 'inharmonic'}, centroid "
                  f"{spec['centroid']:.2f} x the note frequency"
                  + (" (approximate model)" if spec["model"] == "approximate" else ""),
                  *wrap(f"partials (ratio to the note, amplitude): {loudest}", "  "), ""]
    rows = [(k["key"], fmt_value(k["value"]),
             " ".join(x for x in (k["range"], k["unit"]) if x), k["doc"]) for k in info["keys"]]
    lines += table(("key", "value", "range / unit", "what it does"), rows, caps=(24, 12, 20))
    lines += ["", f"Override a key in a part: [parts.NAME.patch] then e.g. "
              f"envelope.release = 2.0 (preset = \"{name}\").",
              "Effects: synth effects; every key with examples: docs/sound-design.md"]
    return lines


def run(args: argparse.Namespace) -> int:
    if args.name and not args.render:
        if args.json:
            from ..catalog import preset_info
            from ._explain import print_json
            print_json(preset_info(args.name))
        else:
            print("\n".join(_explain(args.name)))
        return 0
    if not args.render:
        if args.json:
            from ._explain import print_json
            print_json([{"name": n, "source": get_preset(n).source,
                         "description": get_preset(n).description} for n in preset_names()])
        else:
            print("\n".join(_listing()))
        return 0
    names = args.only or ([args.name] if args.name else preset_names())
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
