"""Options shared by the rendering commands, importable without NumPy.

``synth play`` builds its parser from these before it knows whether a
running engine will do the work (:mod:`synth.commands.engine`): nothing
here imports NumPy or the renderer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..defaults import DEFAULT_MAX_SECONDS, DEFAULT_SR
from ._common import add_seed_options

if TYPE_CHECKING:
    import argparse

__all__ = ["add_render_options", "add_master_option", "bar_range"]


def add_render_options(p: argparse.ArgumentParser, *,
                       sample_rate_default: int = DEFAULT_SR) -> None:
    """The options that choose what is rendered, shared by render, play and watch."""
    p.add_argument("--sample-rate", type=int, default=sample_rate_default, metavar="HZ",
                   help=f"sample rate, 22050..96000 (default {DEFAULT_SR})"
                   if sample_rate_default else "sample rate, 22050..96000 "
                   "(default: the output device's, else 44100)")
    add_seed_options(p)
    p.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, metavar="S",
                   help="refuse renders longer than S seconds (default 3600)")
    p.add_argument("--preset", metavar="NAME", help="play every part with this preset")
    p.add_argument("--bars", metavar="A-B", type=bar_range,
                   help="render only bars A to B (inclusive), e.g. --bars 5-12")
    p.add_argument("--ceiling", type=float, default=-1.0, metavar="DB",
                   help="peak ceiling in dBFS / dBTP (default -1)")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="processes sharing the notes (default: all cores, but one for "
                   "synth play and for synth watch without -o; one where processes "
                   "cannot be forked, as on Windows; the output is bit-identical for any N)")


def add_master_option(p: argparse.ArgumentParser, *, default: str) -> None:
    p.add_argument("--master", choices=("normalize", "limit"), default=default,
                   help="normalize: the whole mix's peak at the ceiling (needs the whole "
                   "render first); limit: a fixed gain from a pre-scan of the notes and a "
                   "true-peak look-ahead limiter, streaming (first audio at once; "
                   f"default {default})")


def bar_range(text: str) -> tuple[int, int]:
    import argparse
    try:
        a, dash, b = text.partition("-")
        first, last = int(a), int(b if dash else a)    # "17-" is an error, not bar 17
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A-B (bar numbers), got {text!r}") from None
    if first < 1 or last < first:
        raise argparse.ArgumentTypeError(f"bar range {text!r}: bars start at 1 and B >= A")
    return first, last
