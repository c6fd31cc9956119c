"""What ``synth play`` shows and obeys, whichever process renders: light to import.

The keys of a terminal (space, q), the status line, the ``--stats`` line: the
same for ``synth play`` rendering in its own process and for its client of a
running engine (:mod:`synth.commands._engine_client`), which imports nothing
heavy.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["Controls", "Keys", "process_start", "time_line", "stats_line", "underrun_warning"]


class Controls:
    """Pause and quit flags that :func:`play_plan` obeys."""

    def __init__(self):
        self.paused = threading.Event()
        self.quit = threading.Event()


class Keys(Controls):
    """Space and q from a terminal, read without echo in a thread (POSIX only)."""

    def __init__(self):
        super().__init__()
        self._old = None
        try:
            import termios
            import tty

            if not sys.stdin.isatty():
                return
            fd = sys.stdin.fileno()
            self._old = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except (ImportError, OSError, ValueError):
            self._old = None
            return
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while not self.quit.is_set():
            ch = sys.stdin.read(1)
            if ch in ("q", "Q", ""):
                self.quit.set()
            elif ch == " ":
                if self.paused.is_set():
                    self.paused.clear()
                else:
                    self.paused.set()

    def close(self):
        if self._old is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._old)


def process_start() -> float:
    """Wall-clock time the process started (Linux /proc), else now."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


def time_line(frames: int, sr: int, total: float) -> str:
    """The status line's text: time played / length."""
    t = frames / sr
    return f"\r{int(t // 60)}:{t % 60:04.1f} / {int(total // 60)}:{total % 60:04.1f}"


def stats_line(stats: Mapping[str, Any], sr: int, extra: str = "") -> str:
    """``--stats``: the machine-readable line (bench/bench_play.py reads it)."""
    first = stats["first_block_at"]
    return (f"stats: first_block_after_start={first - process_start() if first else -1:.3f} "
            f"first_block_wall={first or -1:.6f} "
            f"first_block_cpu={stats.get('first_block_cpu', -1):.3f} "
            f"underruns={stats['underruns']} frames={stats['frames']} sr={sr}{extra}")


def underrun_warning(stats: Mapping[str, Any]) -> str | None:
    if not stats["underruns"]:
        return None
    return (f"synth: warning: {stats['underruns']} underrun(s): the render fell behind the "
            "device (try --jobs, --latency or a lower --sample-rate)")
