"""Imports flow only downward (see ../shared/design/STYLE.md).

Every module of the package sits in a layer; a module may import from its
own layer or below, never above — lazy imports inside functions included.
A new module must be placed in the map, which is the point: its place is a
design decision.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "synth"

LAYERS = [
    {"errors", "units", "files", "resources", "version", "defaults"},
    {"dsp", "seeds", "audio", "loudness", "params", "cache"},
    {"score", "patch", "tuning", "sound_sources"},
    {"notation", "voice", "fx", "analysis", "transforms", "midi", "musicxml", "scorefile",
     "presets", "tension"},
    {"render", "sources"},
    {"arrangement", "docgen", "plot", "catalog"},
    {"loader"},
    {"batch"},
    {"cli", "commands", "__init__", "__main__"},
]
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def top_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return rel.parts[0]


def imported_modules(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    package_parts = path.relative_to(PACKAGE).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.split(".")[0] == "synth":
                    parts = node.module.split(".")[1:]
                    yield node.lineno, parts[0] if parts else "__init__"
                continue
            base = list(package_parts[:len(package_parts) - (node.level - 1)])
            target = base + (node.module.split(".") if node.module else [])
            if target:
                yield node.lineno, target[0]
            else:               # "from . import x": a module, or a name of the package root
                for alias in node.names:
                    is_module = ((PACKAGE / alias.name).is_dir()
                                 or (PACKAGE / f"{alias.name}.py").exists())
                    yield node.lineno, alias.name if is_module else "__init__"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "synth" and len(parts) > 1:
                    yield node.lineno, parts[1]


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_downward(path):
    own = top_name(path)
    assert own in LAYER_OF, f"place synth/{own} in a layer of tests/test_layering.py"
    for lineno, target in imported_modules(path):
        if target == own:
            continue
        assert target in LAYER_OF, f"{path.name}:{lineno}: imports unknown module synth.{target}"
        assert LAYER_OF[target] <= LAYER_OF[own], (
            f"synth/{path.relative_to(PACKAGE)}:{lineno} imports synth.{target} "
            f"(layer {LAYER_OF[target]}) from layer {LAYER_OF[own]}: imports must flow downward")


def test_dsp_kernels_import_nothing_of_the_project_but_units_and_errors():
    for path in (PACKAGE / "dsp").rglob("*.py"):
        for lineno, target in imported_modules(path):
            assert target in {"dsp", "units", "errors"}, f"{path.name}:{lineno} imports synth.{target}"


def test_only_audio_uses_soundfile():
    for path in MODULES:
        if path.name == "audio.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "soundfile" for n in names), path


#: Inside the render package, each module imports only the ones before it:
#: plain data, then the single-process mix, then the processes that share it,
#: then the master stage, then the outputs; the package root re-exports.
RENDER_ORDER = ["plan", "lanes", "parallel", "master", "output", "__init__"]


def resolved_imports(path: pathlib.Path):
    """``(lineno, module parts under synth, imported names)`` of every import of the package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package_parts = path.relative_to(PACKAGE).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "synth":
                    continue
                target = parts[1:]
            else:
                base = list(package_parts[:len(package_parts) - (node.level - 1)])
                target = base + (node.module.split(".") if node.module else [])
            yield node.lineno, target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "synth":
                    yield node.lineno, parts[1:], []


RENDER_MODULES = sorted((PACKAGE / "render").glob("*.py"))


def test_the_render_package_is_exactly_the_modules_in_its_order():
    assert sorted(p.stem for p in RENDER_MODULES) == sorted(RENDER_ORDER)


@pytest.mark.parametrize("path", RENDER_MODULES, ids=lambda p: p.name)
def test_render_modules_import_only_the_ones_below_them(path):
    own = RENDER_ORDER.index(path.stem)
    for lineno, target, names in resolved_imports(path):
        if target[:1] != ["render"]:
            continue
        # "from . import lanes" names the module in the imported names
        used = [target[1]] if len(target) > 1 else [n for n in names if n in RENDER_ORDER]
        for module in used:
            assert RENDER_ORDER.index(module) < own, (
                f"synth/render/{path.name}:{lineno} imports render.{module}: inside synth/render "
                f"the order is {' < '.join(RENDER_ORDER)}")


#: Cross-module imports of private names that remain: (importing module,
#: imported module, name).  Empty since issue 16's third stop; never grow it.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str, str]] = set()


def _module_name(parts) -> str:
    """Path-like name of a module of the package: "render/plan", "audio", "dsp/oscillators"."""
    parts = list(parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return "/".join(parts) or "__init__"


def test_no_module_imports_private_names_of_another():
    found = set()
    for path in MODULES:
        own = _module_name(path.relative_to(PACKAGE).with_suffix("").parts)
        for lineno, target, names in resolved_imports(path):
            module = _module_name(target)
            for name in names:
                if name.startswith("_") and not name.startswith("__") and module != own:
                    found.add((own, module, name))
                    assert (own, module, name) in KNOWN_PRIVATE_IMPORTS, (
                        f"synth/{path.relative_to(PACKAGE)}:{lineno} imports the private "
                        f"{name} of synth.{module.replace('/', '.')}: make it public or move it")


#: modules over the limit whose reason arrives with work in progress elsewhere
LONG_PENDING: set[str] = set()


def test_a_module_over_500_lines_says_why_at_its_top():
    """Issue 16: no module over 500 lines without a reason written at its top."""
    long = []
    for path in MODULES:
        rel = str(path.relative_to(PACKAGE))
        text = path.read_text()
        if text.count("\n") <= 500 or rel in LONG_PENDING:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "Why over 500 lines:" not in doc[:1500]:
            long.append(f"{rel} ({text.count(chr(10))} lines)")
    assert long == []


#: the order inside dsp/, bottom to top: a kernel module imports only from layers below it
DSP_LAYERS = [
    {"jit", "mix", "limiter", "cmi_kit", "vowel"},
    {"filters", "envelopes"},
    {"oscillators"},
    {"additive", "fm", "modulation", "effects", "drums", "cmi_library", "subtractive",
     "fairlight"},
]
DSP_LAYER_OF = {name: i for i, layer in enumerate(DSP_LAYERS) for name in layer}


def test_dsp_modules_import_only_the_layers_below_them_inside_dsp():
    modules = sorted(p for p in (PACKAGE / "dsp").glob("*.py") if p.name != "__init__.py")
    assert {p.stem for p in modules} == set(DSP_LAYER_OF), "place each dsp module in DSP_LAYERS"
    wrong = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.ImportFrom) and node.level == 1):
                continue
            targets = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            for target in targets:
                if DSP_LAYER_OF[target] >= DSP_LAYER_OF[path.stem]:
                    wrong.append(f"dsp/{path.name}:{node.lineno} imports dsp.{target}")
    assert wrong == []


def _runtime_imports(path: pathlib.Path):
    """:func:`resolved_imports` without the ones under ``if TYPE_CHECKING:`` (annotations only)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    blocks = [b for b in ast.walk(tree) if isinstance(b, ast.If)
              and "TYPE_CHECKING" in (getattr(b.test, "id", None), getattr(b.test, "attr", None))]
    typing_only = {node.lineno for block in blocks for stmt in block.body
                   for node in ast.walk(stmt) if hasattr(node, "lineno")}
    for lineno, target, names in resolved_imports(path):
        if lineno not in typing_only:
            yield lineno, target, names


def _is_module(parts) -> bool:
    base = PACKAGE.joinpath(*parts) if parts else PACKAGE
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports when the program runs (lazy imports included).

    ``from PKG import name`` imports the submodule ``PKG.name`` when there is
    one, else the package's ``__init__``.
    """
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        own = _module_name(path.relative_to(PACKAGE).with_suffix("").parts)
        edges = graph.setdefault(own, set())
        for _, target, names in _runtime_imports(path):
            subs = [target + [n] for n in names if _is_module(target + [n])]
            for t in subs or [target]:
                module = _module_name(t)
                if module != own:
                    edges.add(module)
    return graph


def test_no_two_modules_import_each_other_even_lazily():
    """A lazy import inside a function still ties two modules together: the one
    below must not need the one above or beside it (catalog <-> docgen was such a
    pair: the catalog borrowed docgen's docstring reader)."""
    graph = import_graph()
    cycles = []

    def reach(start):
        seen, stack = set(), [start]
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    for module in sorted(graph):
        if module in reach(module):
            cycles.append(module)
    assert cycles == [], f"modules on an import cycle: {cycles}"


def test_the_master_stage_takes_raw_blocks_and_does_not_make_them():
    """render/master is the stage (gains, limiter, loudness) on raw blocks; the
    output puts the mix through it.  It used to pull the mix itself from the
    lanes and the worker processes (master -> parallel), so the stage knew
    about --jobs."""
    path = PACKAGE / "render" / "master.py"
    pulled = [f"render/master.py:{lineno} imports render.{target[1]}"
              for lineno, target, _ in resolved_imports(path)
              if target[:1] == ["render"] and len(target) > 1 and target[1] in ("lanes", "parallel")]
    assert pulled == []
