"""Which modules of synth one CLI render touches (issue 16: "at most 15").

Runs ``synth render INPUT -o OUT`` in this process under a profile hook and
counts the package's modules three ways:

* *called*: modules any of whose code ran during ``cli.main`` (functions, and
  the top-level code of modules imported lazily on the way);
* *on the path*: the interior nodes of the module call graph of the render
  once started up, i.e. modules whose functions call into another synth
  module (import-time code left out), as opposed to *leaves* (kernels, units,
  errors) that are called but call no other synth module;
* *imported*: ``sys.modules`` at the end.

``--root`` picks the source tree, so a checkout of an older commit can be
measured in the same way::

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
    ap.add_argument("--edges", action="store_true",
                    help="print the module call graph (caller -> callees)")
    args = ap.parse_args(argv)

    root = os.path.abspath(args.root)
    os.environ["SYNTH_NO_CACHE"] = "1"    # compose the piece: a cached score would skip the load
    sys.path.insert(0, root)
    from synth import cli

    called: dict[str, int] = {}
    edges: dict[tuple[str, str], int] = {}
    modules: dict[str, str | None] = {}       # code file -> module (cached: the hook is hot)

    def mod_of(filename):
        try:
            return modules[filename]
        except KeyError:
            modules[filename] = m = module_of(filename, root)
            return m

    def hook(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        mod = mod_of(code.co_filename)
        if mod is None:
            return
        called[mod] = called.get(mod, 0) + 1
        if code.co_name == "<module>":
            return                            # import-time code: not a hop of the render
        caller = frame.f_back                 # nearest synth frame, through library frames
        while caller is not None:
            cmod = mod_of(caller.f_code.co_filename)
            if cmod is not None:
                break
            caller = caller.f_back
        if caller is None or cmod == mod or caller.f_code.co_name == "<module>":
            return
        edges[(cmod, mod)] = edges.get((cmod, mod), 0) + 1

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
    interior = sorted({a for a, _ in edges})
    reached = {b for _, b in edges} | set(interior)
    leaves = sorted(reached - set(interior))
    print(f"modules called: {len(called)}; imported: {len(imported)}")
    print(f"modules on the path (call into another synth module): {len(interior)}; "
          f"leaves (called, call no synth module): {len(leaves)}")
    print(f"  path: {', '.join(interior)}")
    print(f"  leaves: {', '.join(leaves)}")
    render_mods = sorted(m for m in called if m.startswith("synth.render"))
    print(f"render modules called: {len(render_mods)} ({', '.join(render_mods)})")
    if args.list:
        for m in sorted(called):
            print(f"  {m:34s} {called[m]:8d} calls")
    if args.edges:
        for a in interior:
            outs = sorted(b for x, b in edges if x == a)
            print(f"  {a} -> {', '.join(outs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
