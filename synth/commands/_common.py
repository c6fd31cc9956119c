"""Helpers shared by the subcommands (CLI layer: may print).

Light to import (no NumPy, no renderer): the ``synth play`` client that hands
a piece to a running engine imports this and nothing heavy.
"""

from __future__ import annotations

import contextvars
import os
import sys
import time
import warnings

from ..errors import SynthWarning, printable

#: Where :func:`eprint` sends its lines in this thread: None for standard
#: error; the engine sets a function that hands them to its client.
ERROR_LINES: contextvars.ContextVar = contextvars.ContextVar("synth_error_lines", default=None)


def default_output(input_path: str, suffix: str) -> str:
    """INPUT's file name with ``suffix``, in the current folder (``song.mid`` -> ``song.wav``)."""
    return os.path.splitext(os.path.basename(input_path))[0] + suffix


def input_files(path) -> list[str]:
    """The files a render of ``path`` reads, which no output may replace: the
    file itself and, for an arrangement, its source."""
    from ..resources import resolve_input
    from ..sources import arrangement_source

    p = resolve_input(path)
    # only the arrangement's [arrangement] table: the load that follows
    # validates the whole file (and words its errors) once
    source = arrangement_source(p) if os.path.exists(p) else None
    return [p] if source is None else [p, source]


def eprint(*args) -> None:
    """A message line for the user: standard error, or (in the engine) the client's."""
    sink = ERROR_LINES.get()
    if sink is None:
        print(*args, file=sys.stderr)
    else:
        sink(" ".join(str(a) for a in args))


def load_input(args, **kwargs):
    """Load ``args.input`` reporting repairs as ``synth: warning:`` lines."""
    from ..loader import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SynthWarning)
        score = load(args.input, cache=not getattr(args, "no_cache", False), **kwargs)
    for w in caught:
        if issubclass(w.category, SynthWarning) and not getattr(args, "quiet", False):
            eprint(f"synth: warning: {printable(args.input, 300)}: {printable(w.message)}")
        elif not issubclass(w.category, SynthWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return score


def _seed(text: str) -> int:
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a whole number >= 0, got {value}")
    return value


def add_seed_options(p) -> None:
    p.add_argument("--seed", type=_seed, metavar="N",
                   help="seed for seeded transforms and voices (default: the file's own)")
    p.add_argument("--variation", type=_seed, default=0, metavar="N",
                   help="a different but reproducible variation of the default seed")
    p.add_argument("--no-cache", action="store_true",
                   help="compose the piece again instead of reading it from the composed-"
                   "score cache (also: SYNTH_NO_CACHE=1; the cache is in $SYNTH_CACHE_DIR, "
                   "else ~/.cache/synth/scores)")


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, sr: int, enabled: bool):
        self.sr = sr
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 30)
        speed = (done / self.sr) / max(now - self.t0, 1e-9)
        sys.stderr.write(f"\r{stage:6s} {done / self.sr:7.1f} s / {total / self.sr:.1f} s "
                         f"[{bar:30s}] {speed:5.1f}x realtime")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def keep_freed_memory() -> None:
    """Ask glibc to reuse freed blocks instead of returning them to the kernel.

    A render allocates and frees many note-sized arrays (hundreds of KB each).
    By default glibc serves each from a fresh ``mmap`` and unmaps it on free,
    so every note pays system calls and page faults: measured, 1.3 s of
    system time on the 180 s benchmark file, 0.1 s with this.  Peak memory
    is unchanged (the same blocks are reused).  No effect outside glibc.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 128 << 20)
        libc.mallopt(m_top_pad, 16 << 20)
    except (OSError, AttributeError):
        pass
