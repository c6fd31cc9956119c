"""Score + patches -> stereo audio, rendered in blocks with bounded memory.

The package, bottom to top (each module imports only those above it)::

    plan.py       RenderPlan: notes -> sample spans and lanes (plain data, re-iterable)
    lanes.py      the single-process streaming mix: lanes -> parts -> raw mix blocks
    parallel.py   the same lane blocks computed by forked workers (--jobs)
    master.py     MasterSettings; normaliser, soft limiter, loudness, streaming limiter
    output.py     raw_chunks(), limited_chunks(): the mix through the master, block by block;
                  render() in memory, render_to_file() through a spool; stems, WAV stream

Every note is rendered when it starts (whole, or a long note in pieces of
about six seconds with its state carried) and dropped when it has rung out;
notes are summed in lanes, lanes into parts and parts into the mix, always in
the same order, and effects carry their state through the pass: neither the
block size nor ``jobs`` changes a sample.  The render lasts until the last
release and the last effect tail have died away, not until the last note-off.
"""

from .plan import (DEFAULT_CHUNK, DEFAULT_MAX_SECONDS, DEFAULT_SR, SR_MAX, SR_MIN, RenderPlan)
from .master import MasterSettings, limit_gain, prescan_peak
from .output import RenderResult, limited_chunks, raw_chunks, render, render_to_file, stem_filename

__all__ = [
    "SR_MIN",
    "SR_MAX",
    "DEFAULT_SR",
    "DEFAULT_CHUNK",
    "DEFAULT_MAX_SECONDS",
    "MasterSettings",
    "RenderPlan",
    "RenderResult",
    "render",
    "render_to_file",
    "stem_filename",
    "raw_chunks",
    "limited_chunks",
    "limit_gain",
    "prescan_peak",
]
