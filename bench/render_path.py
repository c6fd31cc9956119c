"""Which modules of synth one CLI render touches (issue 16: "at most 15").

Runs ``synth render INPUT -o OUT`` in this process under a profile hook
(composed-score cache off, ``--jobs 1``) and counts the package's modules:

* *called*: modules any of whose code ran during ``cli.main`` (functions, and
  the top-level code of modules imported lazily on the way);
* *on the path*: the interior nodes of the module call graph of the render
  once started up, i.e. modules whose functions call into another synth
  module (import-time code left out), as opposed to *leaves* (kernels, units,
  errors) that are called but call no other synth module;
* *imported*: ``sys.modules`` at the end;
* **issue 16's measure** ("following one render of Nightmare March from the
  CLI to the WAV touches 27 modules in 19 hops"): the modules whose functions
  run inside the command, i.e. below ``synth.commands.render.run`` (plus
  ``synth.cli``, which calls it), so the start-up (imports, the argument
  parser) is left out; and its *hops*, the module-to-module calls it takes to
  reach every one of those modules that calls on: the edges of a
  breadth-first tree from ``synth.cli`` over the modules on that path
  (= their number - 1).  On the commit the issue was written against
  (f749bd6, where ``render.py`` had the issue's 954 lines) this gives exactly
  27 modules in 19 hops for Nightmare March bars 1-8 at 22.05 kHz.

``--edges`` prints the module call graph of the command, each edge marked
as a call through an import when the caller's module imports the callee's
(or a package that re-exports it; ``if TYPE_CHECKING:`` imports do not
count): the import graph that tests/test_layering.py checks.  Any other edge
is marked ``(no import)``: the caller was handed the function or an object
as a value (a generator, a sort key, a ``check=`` function, a progress
object, the CLI's parser registrar, a method of a Patch or a Score), so the
edge says nothing about the layering.

``--root`` picks the source tree, so a checkout of an older commit can be
measured in the same way::

    python bench/render_path.py arrangements/laurel-waltz-nightmare-march.toml
    python bench/render_path.py --root /tmp/synth-f749bd6 /tmp/synth-f749bd6/arrangements/laurel-waltz-nightmare-march.toml
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, field

#: The command whose inside issue 16's measure counts.
COMMAND = ("synth.commands.render", "run")


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


@dataclass
class Trace:
    """What one traced render touched."""

    exit_code: int = 0
    called: dict[str, int] = field(default_factory=dict)           # module -> calls (all of cli.main)
    edges: dict[tuple[str, str], int] = field(default_factory=dict)  # after start-up, import time left out
    command_edges: dict[tuple[str, str], int] = field(default_factory=dict)  # inside COMMAND
    command_modules: set[str] = field(default_factory=set)
    imported: list[str] = field(default_factory=list)


def trace_render(input_path: str, root: str, *, sample_rate: str = "22050", bars: str = "1-8") -> Trace:
    """Render ``input_path`` through ``synth.cli.main`` of the tree at ``root``, traced."""
    os.environ["SYNTH_NO_CACHE"] = "1"    # compose the piece: a cached score would skip the load
    if root not in sys.path:
        sys.path.insert(0, root)
    from synth import cli

    t = Trace()
    modules: dict[str, str | None] = {}       # code file -> module (cached: the hook is hot)
    inside: list = []                         # the COMMAND frame while it runs
    importing: list = []                      # module bodies running (a lazy import)

    def mod_of(filename):
        try:
            return modules[filename]
        except KeyError:
            modules[filename] = m = module_of(filename, root)
            return m

    def hook(frame, event, arg):
        if event == "return":
            if inside and frame is inside[0]:
                inside.clear()
            elif importing and frame is importing[-1]:
                importing.pop()
            return
        if event != "call":
            return
        code = frame.f_code
        mod = mod_of(code.co_filename)
        if mod is None:
            return
        t.called[mod] = t.called.get(mod, 0) + 1
        if code.co_name == "<module>":
            importing.append(frame)
            return                            # import-time code: not a hop of the render ...
        if importing:
            return                            # ... nor what it calls (registrations, tables)
        if not inside and (mod, code.co_name) == COMMAND:
            inside.append(frame)
        caller = frame.f_back                 # nearest synth frame, through library frames
        while caller is not None:
            cmod = mod_of(caller.f_code.co_filename)
            if cmod is not None:
                break
            caller = caller.f_back
        if inside:
            t.command_modules.add(mod)
        if caller is None or cmod == mod or caller.f_code.co_name == "<module>":
            return
        t.edges[(cmod, mod)] = t.edges.get((cmod, mod), 0) + 1
        if inside:
            t.command_modules.add(cmod)
            t.command_edges[(cmod, mod)] = t.command_edges.get((cmod, mod), 0) + 1

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.wav")
        sys.setprofile(hook)
        try:
            t.exit_code = cli.main(["render", input_path, "-o", out, "--quiet", "--sample-rate",
                                    sample_rate, "--bars", bars, "--jobs", "1"])
        finally:
            sys.setprofile(None)
    t.imported = sorted(m for m in sys.modules if m == "synth" or m.startswith("synth."))
    return t


def issue16_measure(t: Trace) -> tuple[list[str], list[str], int]:
    """Issue 16's figures: (modules inside the command, those that call on, hops).

    The hops are the edges of a breadth-first tree from ``synth.cli`` over the
    command's call graph that reach the modules calling on (every such module
    is reached through others that call on, so hops = their number - 1).
    """
    modules = sorted(t.command_modules)
    interior = sorted({a for a, _ in t.command_edges})
    adjacent: dict[str, list[str]] = {}
    for a, b in sorted(t.command_edges):
        adjacent.setdefault(a, []).append(b)
    seen, queue, hops = {"synth.cli"}, deque(["synth.cli"]), 0
    while queue:
        a = queue.popleft()
        for b in adjacent.get(a, ()):
            if b not in seen and b in interior:
                seen.add(b)
                hops += 1
                queue.append(b)
    return modules, interior, hops


def imports_of(root: str) -> dict[str, set[str]]:
    """Every module of the package -> the package modules it imports (lazy imports included)."""
    package = os.path.join(root, "synth")
    out: dict[str, set[str]] = {}
    for dirpath, _, files in os.walk(package):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            mod = module_of(path, root)
            is_package = name == "__init__.py"
            here = mod.split(".") if is_package else mod.split(".")[:-1]
            found = out.setdefault(mod, set())
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), filename=path)
            typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block)
                           for stmt in block.body for n in ast.walk(stmt)}
            for node in ast.walk(tree):
                if id(node) in typing_only:
                    continue                  # not imported when the program runs
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names if a.name.split(".")[0] == "synth")
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = here[:len(here) - (node.level - 1)]
                        target = ".".join(base + (node.module.split(".") if node.module else []))
                    elif (node.module or "").split(".")[0] == "synth":
                        target = node.module
                    else:
                        continue
                    found.add(target)
                    found.update(f"{target}.{a.name}" for a in node.names)   # submodules imported by name
    return out


def _is_type_checking(node) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def through_import(caller: str, callee: str, imports: dict[str, set[str]]) -> bool:
    """Whether ``caller`` imports ``callee`` or a package above it (which re-exports it)."""
    parts = callee.split(".")
    return any(".".join(parts[:k]) in imports.get(caller, ()) for k in range(2, len(parts) + 1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="source tree holding synth/ (default: this checkout)")
    ap.add_argument("--sample-rate", default="22050")
    ap.add_argument("--bars", default="1-8", help="excerpt rendered (default %(default)s)")
    ap.add_argument("--list", action="store_true", help="print the modules called")
    ap.add_argument("--edges", action="store_true",
                    help="print the command's module call graph (caller -> callees), marking "
                         "the edges that go through no import")
    args = ap.parse_args(argv)

    root = os.path.abspath(args.root)
    t = trace_render(args.input, root, sample_rate=args.sample_rate, bars=args.bars)
    print(f"root {root}: exit {t.exit_code}")
    interior = sorted({a for a, _ in t.edges})
    reached = {b for _, b in t.edges} | set(interior)
    leaves = sorted(reached - set(interior))
    print(f"modules called: {len(t.called)}; imported: {len(t.imported)}")
    print(f"modules on the path (call into another synth module): {len(interior)}; "
          f"leaves (called, call no synth module): {len(leaves)}")
    print(f"  path: {', '.join(interior)}")
    print(f"  leaves: {', '.join(leaves)}")
    render_mods = sorted(m for m in t.called if m.startswith("synth.render"))
    print(f"render modules called: {len(render_mods)} ({', '.join(render_mods)})")
    modules, calling_on, hops = issue16_measure(t)
    print(f"issue 16's measure: {len(modules)} modules in {hops} hops "
          f"(inside {'.'.join(COMMAND)}, plus synth.cli; {len(calling_on)} call on)")
    print(f"  modules: {', '.join(m.replace('synth.', '') for m in modules)}")
    if args.list:
        for m in sorted(t.called):
            print(f"  {m:34s} {t.called[m]:8d} calls")
    if args.edges:
        imports = imports_of(root)
        handed = []
        for a in sorted({a for a, _ in t.command_edges}):
            outs = sorted(b for x, b in t.command_edges if x == a)
            print(f"  {a} -> " + ", ".join(
                b if through_import(a, b, imports) else f"{b} (no import)" for b in outs))
            handed += [(a, b) for b in outs if not through_import(a, b, imports)]
        print(f"edges: {len(t.command_edges)}, of which {len(handed)} with no import (the caller "
              "was handed the function or object)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
