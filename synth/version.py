"""The version of synth and the identity of this installation, in the bottom layer
so every module (the batch library as well as the CLI) can tag its output with it.

Light to import (the standard library's ``os`` and ``hashlib`` only): the
``synth play`` client checks with :func:`code_fingerprint` that a running
engine is this same build before handing it a piece.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

#: The name to install synth by (``pip install synth-liquidsky``); "synth" on the
#: public package index is an unrelated project.  The import name and command are "synth".
DISTRIBUTION = "synth-liquidsky"

_CODE: str | None = None


def install_hint(extra: str | None = None) -> str:
    """The pip command that installs synth (with an optional extra): for messages."""
    return f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install {DISTRIBUTION}"


def code_fingerprint(*, fresh: bool = False) -> str:
    """The version and each package file's path, size and mtime, hashed.

    Computed once a process (a few milliseconds), unless ``fresh``: the
    ``synth play`` client compares a fresh one with the running engine's, so
    that an engine started before the checkout was edited (or another
    installation's) is not used.  The composed-score cache names its
    entries with it too.
    """
    global _CODE
    if _CODE is None or fresh:
        _CODE = tree_fingerprint(os.path.dirname(os.path.abspath(__file__)))
    return _CODE


def tree_fingerprint(root: str) -> str:
    """The version and each file's path (relative to ``root``), size and mtime, hashed.

    Compiled files, ``__pycache__`` and what editors leave beside the files
    they edit (``.x.swp``, ``#x#``, ``x~``) are not part of the package and
    are skipped, so an open editor does not make a running engine look stale.
    """
    import hashlib

    h = hashlib.sha256(__version__.encode())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo", "~")) or name.startswith((".", "#")):
                continue
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            h.update(f"{os.path.relpath(path, root)}\0{st.st_size}\0{st.st_mtime_ns}\n"
                     .encode())
    return h.hexdigest()
