"""``synth pieces``: the pieces that ship with synth, and where its examples and docs are."""

from __future__ import annotations

import argparse
import os
import shutil

HELP = """examples:
  synth pieces
  synth render sonnerie-bells-in-the-ice -o ice.wav      # a bundled piece, by name
  synth info sources/sonnerie
  synth pieces --copy my-pieces/                          # editable copies (with sources)

A file in the current folder wins over a bundled piece of the same name."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pieces", help="list the bundled pieces (render them by name)",
                       description="List the arrangements and sources that ship with synth; "
                       "any command takes a piece's name in place of a file.  Also prints "
                       "where the installed examples and docs are.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--copy", metavar="DIR",
                   help="copy every piece (and its sources) into DIR to edit them")
    p.add_argument("--force", action="store_true", help="with --copy: overwrite files in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import SynthError
    from ..resources import DATA_NAMES, data_dir, install_hint, pieces
    from ._common import eprint
    from ._explain import print_json, table
    found = pieces()
    if not found:
        raise SynthError("no bundled pieces in this installation (synth/_data is missing); "
                         f"reinstall with: {install_hint()}")
    if args.copy:
        src = data_dir("arrangements")
        if os.path.exists(args.copy) and not args.force and any(
                os.path.exists(os.path.join(args.copy, os.path.relpath(p.path, src)))
                for p in found):
            raise SynthError(f"{args.copy}: pieces already there (use --force to overwrite)")
        shutil.copytree(src, args.copy, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        eprint(f"copied {len(found)} pieces to {args.copy}; render one with: "
               f"synth render {os.path.join(args.copy, found[0].path.name)}")
        return 0
    folders = {name: str(data_dir(name) or "") for name in DATA_NAMES}
    if args.json:
        print_json({"pieces": [{"name": p.name, "kind": p.kind, "title": p.title,
                                "path": str(p.path), "description": p.description}
                               for p in found], "folders": folders})
        return 0
    lines = ["Arrangements (synth render NAME -o out.wav; synth info NAME):"]
    lines += table(("", ""), [(p.name, p.title) for p in found if p.kind == "arrangement"],
                   caps=(34,))[1:]
    lines += ["", "Sources (the plain pieces the arrangements start from):"]
    lines += table(("", ""), [(p.name, p.title) for p in found if p.kind != "arrangement"],
                   caps=(34,))[1:]
    lines += ["", *(f"{name + ':':<14}{path}" for name, path in folders.items() if path)]
    print("\n".join(lines))
    return 0
