"""The files that ship with synth: the pieces, their sources, the examples and the docs.

In an installed package they live in ``synth/_data/`` (copied there by the
build step in ``build_data.py`` at the top of the repository, from the
repository's ``arrangements/``, ``examples/`` and ``docs/``); in a checkout
(or an editable install) they are read from the repository itself.

A bundled piece is named by its file name without ``.toml``:
``sonnerie-bells-in-the-ice``, or ``sources/sonnerie`` for a source, so
``synth render sonnerie-bells-in-the-ice -o out.wav`` works in any folder.
A file that exists always wins over a bundled piece of the same name.
"""

from __future__ import annotations

import difflib
import os
import pathlib
import tomllib
from dataclasses import dataclass

from .errors import SynthError
from .version import DISTRIBUTION, install_hint  # the play client imports them from there

__all__ = ["DISTRIBUTION", "install_hint", "DATA_NAMES", "data_dir", "Piece", "pieces", "find_piece", "resolve_input"]


#: the folders that ship with the package
DATA_NAMES = ("arrangements", "examples", "docs")

_HERE = pathlib.Path(__file__).resolve().parent


def data_dir(name: str) -> pathlib.Path | None:
    """The folder ``name`` (one of :data:`DATA_NAMES`) of this installation, or None.

    The copy inside the package (``synth/_data/NAME``, an installed wheel)
    is preferred; else the repository's own folder (a checkout).
    """
    if name not in DATA_NAMES:
        raise ValueError(f"unknown data folder {name!r}; expected one of {DATA_NAMES}")
    for candidate in (_HERE / "_data" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class Piece:
    """A bundled piece: ``name`` (``sources/sonnerie`` for a source), file, title, kind."""

    name: str
    path: pathlib.Path
    title: str
    kind: str            # "arrangement" or "source"
    description: str = ""


def _read_piece(name: str, path: pathlib.Path) -> Piece:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return Piece(name, path, "", "unreadable")
    if "arrangement" in data:
        head, kind = data["arrangement"], "arrangement"
    else:
        head, kind = data.get("score", {}), "source"
    text = " ".join(str(head.get("description", "")).split())
    return Piece(name, path, str(head.get("title", "")), kind, text)


def pieces() -> list[Piece]:
    """The bundled pieces: arrangements first, then their sources (each sorted by name)."""
    folder = data_dir("arrangements")
    if folder is None:
        return []
    out = [_read_piece(p.stem, p) for p in sorted(folder.glob("*.toml"))]
    out += [_read_piece(f"sources/{p.stem}", p) for p in sorted((folder / "sources").glob("*.toml"))]
    return out


def find_piece(name: str) -> Piece | None:
    """The bundled piece called ``name`` (``.toml`` optional; a source also by its stem)."""
    key = name[:-5] if name.lower().endswith(".toml") else name
    key = key.replace(os.sep, "/").removeprefix("arrangements/")
    found = {p.name: p for p in pieces()}
    if key in found:
        return found[key]
    stems = [p for p in found.values() if p.name == f"sources/{key}"]
    return stems[0] if stems else None


def resolve_input(path: str | os.PathLike[str]) -> str:
    """``path`` itself if it exists; else the file of the bundled piece it names.

    Raises
    ------
    SynthError
        When ``path`` neither exists nor names a bundled piece but looks like
        a piece name (no folder, ``.toml`` or no suffix): the message
        suggests the nearest piece and ``synth pieces``.
    """
    p = os.fspath(path)
    if os.path.exists(p) or p == "-":
        return p
    piece = find_piece(p)
    if piece is not None:
        return str(piece.path)
    stem, suffix = os.path.splitext(p)
    if suffix.lower() in ("", ".toml") and os.sep not in stem.replace("sources/", "", 1):
        names = [x.name for x in pieces()]
        close = difflib.get_close_matches(stem, names, n=1, cutoff=0.6)
        if close or suffix == "":
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SynthError(f"no such file, and no bundled piece of that name{hint}; "
                             "'synth pieces' lists the pieces", source=p)
    return p
