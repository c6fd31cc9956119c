"""Render defaults and limits, importable without NumPy.

The command line's option parsers (and the light ``synth play`` client that
hands a piece to a running engine, see :mod:`synth.commands.engine`) need
them before anything heavy is imported; :mod:`synth.render` re-exports them.
"""

from __future__ import annotations

__all__ = ["SR_MIN", "SR_MAX", "DEFAULT_SR", "DEFAULT_CHUNK", "DEFAULT_MAX_SECONDS"]

#: Sample rates a render accepts, in Hz.
SR_MIN, SR_MAX = 22_050, 96_000
#: Sample rate of a render when none is given, in Hz.
DEFAULT_SR = 44_100
#: Frames per rendered block (the output does not depend on it).
DEFAULT_CHUNK = 1 << 16
#: Longest render accepted unless raised (``--max-seconds``), in seconds.
DEFAULT_MAX_SECONDS = 3600.0
