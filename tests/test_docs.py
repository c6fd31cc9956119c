"""Every ```sh and ```python block of README.md and docs/*.md runs, and the
generated reference is up to date.

Blocks of one page run in order in one fresh temporary folder (so a tutorial
can build on its earlier steps), with the repository's ``examples`` and
``arrangements`` folders linked into it.  Python blocks share one namespace
per page.  In shell blocks ``synth`` is ``python -m synth`` and ``python`` is
the interpreter running the tests.

A block that must not run (it installs the package, say) carries a visible
marker on the line right before its fence::

    <!-- not-run: installs the package -->

The markers are counted: :data:`NOT_RUN` lists how many each page has, so a
new one is a visible change to this file too.
"""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from synth import docgen
from synth.patch import PRESETS
from synth.transforms import REGISTRY

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
RUN_LANGS = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python"}
MARKER = re.compile(r"<!--\s*not-run:\s*(?P<reason>[^>]*?)\s*-->")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)[^\n]*$")

#: expected number of not-run blocks per page (relative path): the README's two
#: install commands (.ci/run runs them in a fresh virtualenv) and its listening
#: loop (opens the audio device); batch.md's Slurm script, GNU parallel and
#: dask-cluster examples (need what the tests lack)
NOT_RUN = {"README.md": 3, "docs/batch.md": 3}


def code_blocks(text: str):
    """``(line, lang, code, not_run_reason)`` of every fenced block of ``text``."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, fence, lang = i, m["fence"], m["lang"].lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        code = "\n".join(lines[i + 1:j]) + "\n"
        prev = lines[start - 1] if start > 0 else ""
        marker = MARKER.search(prev)
        yield start + 1, lang, code, (marker["reason"] if marker else None)
        i = j + 1


def runnable(page):
    return [b for b in code_blocks(page.read_text(encoding="utf-8")) if b[1] in RUN_LANGS]


def _workdir(tmp_path: pathlib.Path) -> pathlib.Path:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("examples", "arrangements"):
        (work / name).symlink_to(ROOT / name, target_is_directory=True)
    return work


def _run_sh(code: str, work: pathlib.Path, where: str) -> None:
    bindir = tmp_bin(work)
    prologue = (f'synth() {{ {shlex.quote(sys.executable)} -m synth "$@"; }}\n'
                f'export PATH={shlex.quote(str(bindir))}:"$PATH"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", prologue + code], cwd=work,
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, (f"{where}: shell block failed (exit {run.returncode})\n"
                                 f"--- block\n{code}--- stdout\n{run.stdout}--- stderr\n{run.stderr}")


def tmp_bin(work: pathlib.Path) -> pathlib.Path:
    """A folder whose ``python`` is the interpreter running the tests."""
    bindir = work.parent / "bin"
    if not bindir.exists():
        bindir.mkdir()
        (bindir / "python").symlink_to(sys.executable)
    return bindir


@pytest.fixture
def own_registries():
    """A page may register presets or transforms: keep them out of the other tests."""
    saved = [(table, dict(table)) for table in (PRESETS, REGISTRY)]
    yield
    for table, copy in saved:
        table.clear()
        table.update(copy)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(page, tmp_path, monkeypatch, own_registries):
    blocks = runnable(page)
    rel = str(page.relative_to(ROOT))
    skipped = [(line, reason) for line, _, _, reason in blocks if reason is not None]
    assert all(reason for _, reason in skipped), f"{rel}: a not-run marker needs a reason"
    assert len(skipped) == NOT_RUN.get(rel, 0), (
        f"{rel}: {len(skipped)} not-run block(s) at lines {[l for l, _ in skipped]}, "
        f"expected {NOT_RUN.get(rel, 0)} (update NOT_RUN in tests/test_docs.py)")
    work = _workdir(tmp_path)
    monkeypatch.chdir(work)
    namespace = {"__name__": "__doc__"}
    for line, lang, code, reason in blocks:
        if reason is not None:
            continue
        where = f"{rel}:{line}"
        if RUN_LANGS[lang] == "sh":
            _run_sh(code, work, where)
        else:
            try:
                exec(compile(code, where, "exec"), namespace)
            except Exception as exc:     # noqa: BLE001 - report which block failed
                raise AssertionError(f"{where}: python block failed: "
                                     f"{type(exc).__name__}: {exc}\n--- block\n{code}") from exc


def test_tutorial_and_api_pages_have_code():
    for name in ("tutorial.md", "api.md"):
        blocks = runnable(ROOT / "docs" / name)
        assert len(blocks) >= 5, name
        assert all(reason is None for *_, reason in blocks), name


def test_marker_and_fence_parsing():
    text = ("x\n<!-- not-run: installs -->\n```sh\npip install .\n```\n\n```python\nprint(1)\n"
            "```\n```toml\na = 1\n```\n")
    blocks = list(code_blocks(text))
    assert [(b[0], b[1], b[3]) for b in blocks] == [(3, "sh", "installs"), (7, "python", None),
                                                    (10, "toml", None)]
    assert blocks[1][2] == "print(1)\n"


def test_reference_is_generated_from_the_code():
    committed = (ROOT / docgen.DEFAULT_PATH).read_text(encoding="utf-8")
    assert committed == docgen.reference_markdown(), (
        f"{docgen.DEFAULT_PATH} is stale: regenerate it with `{docgen.REGENERATE}` "
        "(from the repository root) and commit it")


def test_reference_lists_every_transform_parameter_and_preset():
    text = docgen.reference_markdown()
    for name, sp in REGISTRY.items():
        section = text.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0]
        for param in sp.params:
            assert f"| `{param}` |" in section, (name, param)
    for name in PRESETS:
        assert f"| `{name}` |" in text, name
