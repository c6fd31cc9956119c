"""Which modules of synth one CLI render touches (issue 16: "at most 15").

Runs ``synth render INPUT -o OUT`` in this process under a profile hook and
counts the package's modules two ways: those whose functions were *called*
during the command (from ``cli.main`` to the written WAV), and those merely
*imported* (``sys.modules``).  ``--root`` picks the source tree, so a
checkout of an older commit can be measured in the same way::

    python bench/render_path.py arrangements/laurel-waltz-nightmare-march.toml
    python bench/render_path.py --root /tmp/synth-before arrangements/laurel-waltz-nightmare-march.toml
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def module_of(filename: str, root: str) -> str | None:
    """``synth.render.plan`` for ``ROOT/synth/render/plan.py``; None outside the package."""
    package = os.path.join(root, "synth") + os.sep
    if not filename.startswith(package):
        return None
    rel = os.path.splitext(filename[len(os.path.join(root, "")):])[0]
    parts = rel.split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="source tree holding synth/ (default: this checkout)")
    ap.add_argument("--sample-rate", default="22050")
    ap.add_argument("--bars", default="1-8", help="excerpt rendered (default %(default)s)")
    ap.add_argument("--list", action="store_true", help="print the modules called")
    args = ap.parse_args(argv)

    root = os.path.abspath(args.root)
    sys.path.insert(0, root)
    from synth import cli

    called: dict[str, int] = {}

    def hook(frame, event, arg):
        if event != "call":
            return
        mod = module_of(frame.f_code.co_filename, root)
        if mod is not None:
            called[mod] = called.get(mod, 0) + 1

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.wav")
        sys.setprofile(hook)
        try:
            code = cli.main(["render", args.input, "-o", out, "--quiet", "--sample-rate",
                             args.sample_rate, "--bars", args.bars, "--jobs", "1"])
        finally:
            sys.setprofile(None)
    imported = sorted(m for m in sys.modules if m == "synth" or m.startswith("synth."))
    print(f"root {root}: exit {code}")
    print(f"modules called: {len(called)}; imported: {len(imported)}")
    render_mods = sorted(m for m in called if m.startswith("synth.render"))
    print(f"render modules called: {len(render_mods)} ({', '.join(render_mods)})")
    if args.list:
        for m in sorted(called):
            print(f"  {m:34s} {called[m]:8d} calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
