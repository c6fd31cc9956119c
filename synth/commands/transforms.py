"""``synth transforms [NAME]``: the transforms, or one transform's parameters and an example."""

from __future__ import annotations

import argparse

HELP = """examples:
  synth transforms                 # every transform, by family, with a line about each
  synth transforms shadow          # its parameters (kinds, units, ranges, defaults), an example
  synth transforms shadow --json

Use a transform as a [[transform]] table in an arrangement file (see 'synth new').
The same facts, for every transform at once: docs/reference.md."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transforms", help="list the arrangement transforms, or explain one",
                       description="List every transform an arrangement can use, or, with "
                       "NAME, what it does, its parameters (kind, unit, range, default) and "
                       "a [[transform]] table to start from.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME", help="the transform to explain")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _first_sentence(paragraphs) -> str:
    text = paragraphs[0] if paragraphs else ""
    return text.split(". ")[0].rstrip(".") + "." if text else ""


def run(args: argparse.Namespace) -> int:
    from ..catalog import transform_info
    from ..docgen import FAMILIES, param_range
    from ..transforms import REGISTRY
    from ._explain import fmt_value, print_json, table, wrap
    if args.name is None:
        infos = [transform_info(n) for n in sorted(REGISTRY)]
        if args.json:
            print_json([{"name": i["name"], "family": i["family"],
                         "summary": _first_sentence(i["doc"])} for i in infos])
            return 0
        lines = []
        for family in sorted({i["family"] for i in infos},
                             key=lambda f: ([f for f, _ in FAMILIES] + [f]).index(f)):
            lines.append(f"{family.capitalize()} transforms:")
            lines += table(("", ""), [(i["name"], _first_sentence(i["doc"]))
                                      for i in infos if i["family"] == family])[1:]
        lines.append("\nsynth transforms NAME: its parameters and an example")
        print("\n".join(lines))
        return 0
    info = transform_info(args.name)
    if args.json:
        print_json(info)
        return 0
    lines = [f"{info['name']} ({info['family']} transform)"]
    for para in info["doc"]:
        lines += wrap(para) + [""]
    if info["whole_score"]:
        lines += wrap("Acts on every part at once (it changes the shared bar grid): `parts` "
                      "is refused; `bars` is allowed.") + [""]
    if info["params"]:
        params = REGISTRY[args.name].params
        rows = [(p["name"], p["kind"], "required" if p["required"] else fmt_value(p["default"]),
                 param_range(params[p["name"]], quote=str), p["doc"]) for p in info["params"]]
        lines += table(("parameter", "kind", "default", "range / unit", "what it does"), rows,
                       caps=(18, 7, 14, 24)) + [""]
    else:
        lines += ["No parameters.", ""]
    lines += ["Example (in an arrangement file; uncomment a line to change a default):", ""]
    lines += ["  " + line for line in info["example"].splitlines()]
    print("\n".join(lines))
    return 0
