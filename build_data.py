"""Build step: ship the pieces, examples and docs inside the wheel, as package data.

``arrangements/``, ``examples/`` and ``docs/`` stay at the top of the
repository, where people look for them; this ``build_py`` (named in
``pyproject.toml`` under ``[tool.setuptools] cmdclass``) copies them into
``synth/_data/`` of the build, so ``pip install .`` (or a wheel) carries them
and ``synth render sonnerie-bells-in-the-ice`` works from any folder
(:mod:`synth.resources` finds them).  An editable install reads the
repository's own folders instead, so nothing is copied for it.
"""

from __future__ import annotations

import os
import shutil

from setuptools.command.build_py import build_py as _build_py

#: repository folders copied to synth/_data/ (keep in step with synth.resources.DATA_NAMES)
DATA = ("arrangements", "examples", "docs")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class build_py(_build_py):
    """setuptools' build_py, then the data folders copied into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        root = os.path.dirname(os.path.abspath(__file__))
        for name in DATA:
            target = os.path.join(self.build_lib, "synth", "_data", name)
            if os.path.isdir(target):
                shutil.rmtree(target)
            shutil.copytree(os.path.join(root, name), target, ignore=_IGNORE)
