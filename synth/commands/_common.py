"""Helpers shared by the subcommands (CLI layer: may print)."""

from __future__ import annotations

import os
import sys
import time
import warnings

from ..errors import SynthWarning, printable
from ..loader import load


def default_output(input_path: str, suffix: str) -> str:
    """INPUT's file name with ``suffix``, in the current folder (``song.mid`` -> ``song.wav``)."""
    return os.path.splitext(os.path.basename(input_path))[0] + suffix


def input_files(path) -> list[str]:
    """The files a render of ``path`` reads, which no output may replace: the
    file itself and, for an arrangement, its source."""
    from ..resources import resolve_input
    from ..sources import is_arrangement

    p = resolve_input(path)
    files = [p]
    if os.path.exists(p) and is_arrangement(p):
        from ..arrangement import read_arrangement
        from ..errors import SynthError
        try:
            files.append(read_arrangement(p).source_path)
        except SynthError:
            pass                 # reported when the arrangement is loaded
    return files


def eprint(*args) -> None:
    print(*args, file=sys.stderr)


def load_input(args, **kwargs):
    """Load ``args.input`` reporting repairs as ``synth: warning:`` lines."""
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
