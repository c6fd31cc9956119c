"""``synth effects [NAME]``: the effect types, or one effect's parameters and an example."""

from __future__ import annotations

import argparse

HELP = """examples:
  synth effects                 # every effect type with a line about it
  synth effects reverb          # its parameters (units, ranges, defaults) and an example
  synth effects reverb --json

Effects go in a part's table of a score or arrangement file, applied in order:
  effects = [{type = "delay", beats = 0.75}, {type = "reverb", rt60 = 2.5, mix = 0.3}]
Every effect and patch key, with examples: docs/sound-design.md"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("effects", help="list the effect types, or explain one",
                       description="List the effects a part can use, or, with NAME, its "
                       "parameters (unit, range, default) and an example.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME", help="the effect to explain")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..catalog import effect_info
    from ..fx import EFFECTS
    from ._explain import fmt_value, print_json, table
    if args.name is None:
        infos = [effect_info(n) for n in sorted(EFFECTS)]
        if args.json:
            print_json(infos)
            return 0
        lines = ["Effects (a part's `effects = [{type = NAME, ...}]`, applied in order):"]
        lines += table(("", "", ""), [(i["name"], ", ".join(p["name"] for p in i["params"]),
                                       i["doc"]) for i in infos], caps=(10, 48))[1:]
        lines.append("\nsynth effects NAME: its parameters and an example")
        print("\n".join(lines))
        return 0
    info = effect_info(args.name)
    if args.json:
        print_json(info)
        return 0
    rows = [(p["name"], "-" if p["default"] is None else fmt_value(p["default"]),
             p["range"], p["unit"], p["doc"]) for p in info["params"]]
    lines = [f"{info['name']}: {info['doc']}", ""]
    lines += table(("parameter", "default", "range", "unit", "what it does"), rows,
                   caps=(12, 10, 18, 8))
    lines += ["", "Example (a part's table in a score or arrangement file):", "",
              "  " + info["example"]]
    print("\n".join(lines))
    return 0
