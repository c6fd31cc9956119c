"""How much of synth's public API is annotated (the package ships ``py.typed``).

A function counts as *annotated* when its return and every parameter (but
``self``/``cls``) carry an annotation; ``__init__`` needs no return.  Counted:

* *package*: the public functions of public modules (no ``_`` in the module
  path or the name) and the public methods (plus ``__init__``/``__call__``
  written in the class body) of their public classes;
* *API*: the names ``synth/__init__.py`` exports and the names ``docs/api.md``
  imports or calls (``from synth.x import y``, ``synth.x.y(...)``), with the
  methods of the classes among them.

::

    python bench/annotations.py              # the two percentages
    python bench/annotations.py --missing    # and every function not annotated
    python bench/annotations.py --root /tmp/synth-before   # another checkout
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import re
import sys
from typing import Any, Callable, Iterator


def _functions_of_class(cls: type) -> Iterator[tuple[str, Callable]]:
    for name, member in vars(cls).items():
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        elif isinstance(member, property):
            member = member.fget
        if not inspect.isfunction(member):
            continue
        if member.__code__.co_filename == "<string>":      # made by @dataclass / NamedTuple
            continue
        if name.startswith("_") and name not in ("__init__", "__call__"):
            continue
        yield f"{cls.__qualname__}.{name}", member


def is_annotated(func: Callable, *, method: bool = False) -> bool:
    """True when ``func``'s return and every parameter but self/cls are annotated."""
    ann = getattr(func, "__annotations__", {})
    params = list(inspect.signature(func).parameters.values())   # as callers see it
    if method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    if any(p.name not in ann for p in params):
        return False
    return "return" in ann or func.__name__ == "__init__"


def public_modules(package: Any) -> Iterator[str]:
    yield package.__name__
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            yield info.name


def module_functions(module: Any) -> Iterator[tuple[str, Callable, bool]]:
    """(qualified name, function, is_method) of the public functions a module defines."""
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield f"{module.__name__}.{name}", obj, False
        elif inspect.isclass(obj):
            for qual, func in _functions_of_class(obj):
                yield f"{module.__name__}.{qual}", func, True


def api_names(root: str) -> set[str]:
    """``module.name`` of everything synth/__init__ exports and docs/api.md uses."""
    import synth

    names = {f"synth.{n}" for n in getattr(synth, "__all__", [])}
    doc = os.path.join(root, "docs", "api.md")
    if os.path.exists(doc):
        text = open(doc, encoding="utf-8").read()
        for mod, items in re.findall(r"from (synth(?:\.\w+)*) import ([\w, ()\n]+)", text):
            for item in re.findall(r"\w+", items):
                if item != "as":
                    names.add(f"{mod}.{item}")
        names.update(re.findall(r"\b(synth(?:\.\w+)+)\s*\(", text))
    return names


def resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def api_functions(root: str) -> dict[str, tuple[Callable, bool]]:
    out: dict[str, tuple[Callable, bool]] = {}
    for dotted in sorted(api_names(root)):
        obj = resolve(dotted)
        if inspect.isfunction(obj):
            out[f"{obj.__module__}.{obj.__qualname__}"] = (obj, False)
        elif inspect.isclass(obj) and obj.__module__.startswith("synth"):
            for qual, func in _functions_of_class(obj):
                out[f"{obj.__module__}.{qual}"] = (func, True)
    return out


def measure(root: str) -> dict[str, Any]:
    """Counts for the package and the API: ``{"package": (annotated, total, missing), ...}``."""
    sys.path.insert(0, root)
    import synth

    package: dict[str, tuple[Callable, bool]] = {}
    unimportable = []
    for name in public_modules(synth):
        try:
            module = importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - an optional dependency missing
            unimportable.append(f"{name} ({type(e).__name__})")
            continue
        for qual, func, method in module_functions(module):
            package[qual] = (func, method)
    result: dict[str, Any] = {"unimportable": unimportable}
    for label, funcs in (("package", package), ("api", api_functions(root))):
        missing = sorted(q for q, (f, m) in funcs.items() if not is_annotated(f, method=m))
        result[label] = (len(funcs) - len(missing), len(funcs), missing)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="source tree holding synth/ (default: this checkout)")
    ap.add_argument("--missing", action="store_true", help="list the functions not annotated")
    args = ap.parse_args(argv)
    result = measure(os.path.abspath(args.root))
    for label in ("api", "package"):
        done, total, missing = result[label]
        print(f"{label:8s} {done:4d} / {total:4d} public functions annotated "
              f"({100.0 * done / max(total, 1):.1f} %)")
        if args.missing:
            for q in missing:
                print(f"    {q}")
    if result["unimportable"]:
        print("not imported:", ", ".join(result["unimportable"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
