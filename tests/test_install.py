"""A self-sufficient install: a wheel built from the checkout, installed (not editable)
into a fresh virtualenv outside the checkout, works from an empty folder: the bundled
pieces render by name, the CLI explains presets, transforms and effects, and
`synth new` points to files that exist in the installed package.

The wheel is built once, without build isolation and without the package index (the
test extra brings a setuptools that builds wheels itself: no network); the venv reuses the
test interpreter's third-party packages through a path file, so nothing is
downloaded and the test stays well under a minute.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: what the build needs from the checkout (copied, so the build never writes into it)
BUILD_INPUTS = ("synth", "arrangements", "examples", "docs", "pyproject.toml", "README.md",
                "build_data.py", "MANIFEST.in")


def _run(cmd, cwd, timeout=120, env=None):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} -> {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def _can_build_wheels() -> bool:
    """setuptools >= 70.1 (bdist_wheel built in), or an older one with the wheel package."""
    try:
        import setuptools
    except ImportError:
        return False
    version = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
    if version >= (70, 1):
        return True
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return version >= (68, 0)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "*.egg-info", "_data"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    # without build isolation, so the test needs no network: the test extra brings a
    # setuptools that builds wheels itself
    assert _can_build_wheels(), ("this interpreter cannot build wheels offline: "
                                 "pip install 'setuptools>=70.1' (the test extra has it)")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-q", "-w", out, src], cwd=src, timeout=300)
    (whl,) = out.glob("*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> pathlib.Path:
    env_dir = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir], cwd=env_dir.parent)
    py = env_dir / "bin" / "python"
    purelib = pathlib.Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                 "['purelib'])"], cwd=env_dir).stdout.strip())
    # the wheel first, before the parent's packages are visible: pip would otherwise find
    # the synth installed in the test interpreter (CI installs it non-editable) and skip it
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index",
          "--ignore-installed", "--disable-pip-version-check", "-q", wheel],
         cwd=env_dir.parent, timeout=300)
    # numpy, scipy, soundfile, ... from the test interpreter, after the venv's own packages
    # (plain paths: the parent's own .pth files, such as an editable synth, are not run)
    parents = [p for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]]
               if os.path.isdir(p)]
    (purelib / "zz_parent_site.pth").write_text("\n".join(dict.fromkeys(parents)) + "\n")
    return env_dir


def test_wheel_carries_the_pieces_examples_and_docs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ("arrangements/sonnerie-bells-in-the-ice.toml", "arrangements/sources/sonnerie.toml",
                "arrangements/README.md", "examples/first-score.toml", "docs/reference.md",
                "docs/tutorial.md", "docs/sound-design.md"):
        assert f"synth/_data/{rel}" in names, rel
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "Name: synth-liquidsky" in zipfile.ZipFile(wheel).read(meta).decode()


def test_installed_synth_works_from_any_folder(venv, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    synth = venv / "bin" / "synth"

    def run(*args, timeout=120):
        return _run([synth, *args], cwd=work, timeout=timeout, env=env)

    where = _run([venv / "bin" / "python", "-c", "import synth; print(synth.__file__)"],
                 cwd=work, env=env).stdout.strip()
    assert where.startswith(str(venv)), f"imported {where}, not the installed package"

    listing = run("pieces").stdout
    assert "sonnerie-bells-in-the-ice" in listing and "sources/sonnerie" in listing
    folders = json.loads(run("pieces", "--json").stdout)["folders"]
    for name, path in folders.items():
        assert path.startswith(str(venv)), (name, path)
    assert (pathlib.Path(folders["docs"]) / "tutorial.md").is_file()

    run("render", "sonnerie-bells-in-the-ice", "-o", "ice.wav", "--bars", "1-4",
        "--sample-rate", "22050", "--quiet", timeout=180)
    assert (work / "ice.wav").stat().st_size > 10_000

    assert "source: fairlight" in run("presets", "cmi_bell").stdout
    assert "[[transform]]" in run("transforms", "shadow").stdout
    assert "rt60" in run("effects", "reverb").stdout

    run("new", "x")
    header = (work / "x.toml").read_text(encoding="utf-8")
    tutorial = header.split("Walk-through: ", 1)[1].split()[0]
    assert pathlib.Path(tutorial).is_file() and tutorial.startswith(str(venv))
    run("render", "x.toml", "--sample-rate", "22050", "--quiet", timeout=180)
    assert (work / "x.wav").stat().st_size > 10_000
    run("new", "w", "--from", "sources/laurel-waltz")
    assert (work / "laurel-waltz.toml").is_file()

    bad = subprocess.run([synth, "render", "sonnerie-bells-in-the-ic", "-o", "y.wav"], cwd=work,
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "did you mean 'sonnerie-bells-in-the-ice'" in bad.stderr
