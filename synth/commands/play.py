"""``synth play``: render in blocks and play them as they come (PortAudio via sounddevice).

The streaming master (``--master limit``: a fixed gain from a pre-scan of the
notes and a true-peak look-ahead limiter, see
:func:`synth.render.limited_chunks`) lets the first block go to
the audio device as soon as it is rendered.  A thread renders ahead into a
queue of about :data:`AHEAD_SECONDS` of audio; the main thread writes the
blocks to a blocking PortAudio stream (PortAudio's own thread plays them
without needing Python), and counts the underruns PortAudio reports.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SynthError
from ..render import SR_MAX, SR_MIN, MasterSettings, RenderPlan, limited_chunks
from ..resources import install_hint
from ._common import eprint

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping
    from typing import Any
    from ..score import Score

HELP = """examples:
  synth play arrangements/laurel-waltz-nightmare-march.toml
  synth play arrangements/sonnerie-bells-in-the-ice.toml --from 120
  synth play piece.toml --bars 5-12 --seed 3
  synth play --list-devices
keys (on a terminal): space pauses and resumes, q stops."""

#: Audio rendered ahead of the device, in seconds (blocks queued).
AHEAD_SECONDS = 4.0
#: Frames per rendered block: small, so the first block is out quickly.
BLOCK = 4096


def register(sub: argparse._SubParsersAction) -> None:
    import argparse

    from .render import add_render_options

    p = sub.add_parser("play", help="play a score, arrangement or MIDI file as it renders",
                       description="Render INPUT in blocks and play them on the default audio "
                       "output (or --device) as they come, through a streaming master "
                       "(a fixed gain from a pre-scan of the notes and a true-peak "
                       f"look-ahead limiter). Needs PortAudio and the 'play' extra "
                       f"({install_hint('play')}).", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", nargs="?")
    add_render_options(p, sample_rate_default=None)
    p.add_argument("--from", dest="from_bar", type=int, metavar="BAR",
                   help="start at bar BAR (to the end)")
    p.add_argument("--device", metavar="NAME|N",
                   help="output device: a number or part of a name from --list-devices")
    p.add_argument("--latency", type=float, default=0.2, metavar="S",
                   help="device buffer in seconds (default 0.2)")
    p.add_argument("--list-devices", action="store_true", help="list the audio devices and exit")
    p.add_argument("--stats", action="store_true",
                   help="print a machine-readable line at the end (start-up to first block, "
                   "underruns)")
    p.add_argument("--quiet", action="store_true", help="no status line, no warnings")
    # one process: a piece renders 10-40x faster than it plays, and forking
    # render workers costs start-up time (default --jobs 1 here, unlike render)
    p.set_defaults(func=run, jobs=1)


def import_sounddevice() -> Any:
    """The sounddevice module, or a SynthError (exit 2) saying what to install."""
    try:
        import sounddevice
    except ImportError:
        raise SynthError(f"playing needs the sounddevice package: {install_hint('play')}") from None
    except OSError:     # sounddevice is there, the PortAudio library is not
        raise SynthError("playing needs the PortAudio library: install it with your package "
                         "manager (Debian/Ubuntu: apt-get install libportaudio2; Fedora: dnf "
                         "install portaudio; macOS: brew install portaudio)") from None
    return sounddevice


def output_device(sd: Any, device: str | None) -> tuple[int, Mapping[str, Any]]:
    """``(index, info)`` of the output device, or a SynthError naming what is missing."""
    if device is not None and device.isdigit():
        device = int(device)
    try:
        info = sd.query_devices(device, "output")
    except ValueError as e:
        raise SynthError(f"no audio output device {device!r} ({e}); "
                         "see synth play --list-devices") from None
    except sd.PortAudioError:
        raise SynthError("no audio output device found (PortAudio sees none: is a sound "
                         "server or card there? see synth play --list-devices)") from None
    return info["index"], info


def list_devices(sd: Any) -> None:
    print(sd.query_devices())


def choose_rate(args: argparse.Namespace, info: Mapping[str, Any]) -> int:
    if args.sample_rate:
        return args.sample_rate
    rate = int(round(info.get("default_samplerate") or 44100))
    return rate if SR_MIN <= rate <= SR_MAX else 44100


def prepare(args: argparse.Namespace) -> Score:
    """The score to play: ``--bars`` or ``--from`` applied."""
    from .render import load_for_render

    if args.from_bar is not None and args.bars:
        raise SynthError("give --from or --bars, not both")
    score, _ = load_for_render(args)
    if args.from_bar is not None:
        last = max(score.bar_count, args.from_bar)
        score = score.excerpt(args.from_bar, last)
    return score


class Controls:
    """Pause and quit flags that :func:`play_plan` obeys."""

    def __init__(self):
        self.paused = threading.Event()
        self.quit = threading.Event()


class _Keys(Controls):
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


def play_plan(sd: Any, plan: RenderPlan, master: MasterSettings, *, device: int | str | None,
              jobs: int, latency: float, status: Callable[..., Any] | None = None,
              keys: Controls | None = None, first_block: Any = None, stream: Any = None) -> dict:
    """Render ``plan`` and play it as it comes; returns timing and underrun figures.

    ``status(frames)`` is called after each block, ``first_block()`` once the
    first block is in PortAudio's hands; ``keys`` pauses or stops playing.
    ``stream``: an open, stopped ``sounddevice.OutputStream`` at ``plan.sr``
    to play on, or a function returning one (or None), called once the first
    block is rendered (opening a stream takes a sound server like JACK half
    a second: :class:`OpenDevice` does it while the piece loads and its first
    block renders; ``synth watch`` keeps one for every version).  It is
    stopped at the end (aborted, dropping what the device still holds, when
    ``keys`` quit) and left open.  None: one is opened here and closed at
    the end.
    """
    own = True
    ahead = max(2, int(AHEAD_SECONDS * plan.sr / BLOCK))
    blocks: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    failure: list[BaseException] = []
    source = limited_chunks(plan, master, BLOCK, jobs)
    if jobs > 1:
        # The first block starts the render's worker processes (forked).
        # PortAudio must not be open then: a forked child would inherit its
        # connection to the sound server (JACK waits for such a "client"
        # forever and stalls).  So PortAudio is shut down around the fork.
        sd._terminate()
        try:
            first = next(source)[1]
        finally:
            sd._initialize()
    else:
        first = next(source)[1]

    def put(item) -> bool:
        while not stop.is_set():
            try:
                blocks.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            block = first
            while block is not None:
                if block.shape[1] and not put(np.ascontiguousarray(block.T, dtype=np.float32)):
                    return                      # stopped: the player is gone
                block = next(source, (None, None))[1]
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            failure.append(e)
        finally:
            source.close()                      # ends the render's worker processes
            put(None)

    producer = threading.Thread(target=produce, name="synth-render", daemon=True)
    producer.start()
    stats = {"first_block_at": None, "underruns": 0, "frames": 0}
    given, stream = stream, None
    try:
        stream = given() if callable(given) else given
        own = stream is None
        if own:
            stream = sd.OutputStream(samplerate=plan.sr, channels=2, dtype="float32",
                                     device=device, latency=latency)
        started = False
        while True:
            if keys is not None and keys.quit.is_set():
                break
            if keys is not None and keys.paused.is_set():
                if started and stream.active:
                    stream.stop()
                time.sleep(0.05)
                continue
            block = blocks.get()
            if block is None:
                break
            if not started or not stream.active:
                stream.start()
                started = True
            if stats["first_block_at"] is None:
                stats["first_block_at"] = time.time()
                stats["first_block_cpu"] = time.process_time()   # every thread's, so far
            if stream.write(block):
                stats["underruns"] += 1
            if not stats["frames"] and first_block:
                first_block()
            stats["frames"] += len(block)
            if status:
                status(stats["frames"])
        if failure:
            raise failure[0]
        if started and not (keys is not None and keys.quit.is_set()):
            # let the device play what it holds
            time.sleep(min(stream.latency + 0.05, 2.0))
    finally:
        stop.set()
        producer.join()
        if stream is not None and own:
            stream.close(ignore_errors=True)
        elif stream is not None:
            quit_ = keys is not None and keys.quit.is_set()
            (stream.abort if quit_ else stream.stop)(ignore_errors=True)
    return stats


class OpenDevice:
    """PortAudio started, the output device found and its stream opened, in a thread.

    Starting PortAudio and opening a stream is mostly waiting for the sound
    server (about a second with JACK), which the piece's loading and first
    block need not wait for: ``synth play`` starts this first, loads and
    plans meanwhile, and meets it at :meth:`device` (the sample rate is the
    device's) and :meth:`stream`.  Errors (no ``play`` extra, no PortAudio,
    no such device) are raised there, in the main thread, as before.
    """

    def __init__(self, args, *, open_stream: bool):
        self.args, self.open_stream = args, open_stream
        self._found = threading.Event()
        self._error: BaseException | None = None
        self._stream = None
        self._thread = threading.Thread(target=self._run, name="synth-device", daemon=True)
        self._thread.start()

    def _run(self):
        try:
            self.sd = import_sounddevice()
            self.index, self.info = output_device(self.sd, self.args.device)
            self.sr = choose_rate(self.args, self.info)
            try:
                self.sd.check_output_settings(device=self.index, samplerate=self.sr,
                                              channels=2, dtype="float32")
            except Exception as e:  # noqa: BLE001 - PortAudio's reasons vary
                raise SynthError(f"the output device {self.info['name']!r} cannot play stereo "
                                 f"at {self.sr} Hz ({e}); try --sample-rate") from None
            self._found.set()
            if self.open_stream:
                self._stream = self.sd.OutputStream(samplerate=self.sr, channels=2,
                                                    dtype="float32", device=self.index,
                                                    latency=self.args.latency)
        except BaseException as e:  # noqa: BLE001 - raised in the main thread
            self._error = e
        finally:
            self._found.set()

    def device(self):
        """``(sounddevice module, device index, device info, sample rate)``; or its error."""
        self._found.wait()
        if self._error is not None and not hasattr(self, "sr"):
            raise self._error
        return self.sd, self.index, self.info, self.sr

    def stream(self):
        """The opened stream (None when not asked for); or the error opening it."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._stream

    def close(self):
        """Wait for the thread (PortAudio must not be torn down under it); close the stream."""
        self._thread.join()
        if self._stream is not None:
            self._stream.close(ignore_errors=True)
            self._stream = None


def _process_start() -> float:
    """Wall-clock time the process started (Linux /proc), else now."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


def run(args: argparse.Namespace) -> int:
    if args.list_devices:
        list_devices(import_sounddevice())
        return 0
    if not args.input:
        raise SynthError("synth play needs an INPUT file (or --list-devices)")
    jobs = max(1, args.jobs)
    # PortAudio, the device and (one process: nothing forks later) the stream, meanwhile
    opening = OpenDevice(args, open_stream=jobs == 1)
    try:
        score = prepare(args)
        sd, device, info, sr = opening.device()
        plan = RenderPlan(score, sr=sr, seed=score.metadata.seed, max_seconds=args.max_seconds)
    except BaseException:
        opening.close()
        raise
    try:
        return _play(args, sd, device, info, sr, score, plan, opening, jobs)
    finally:
        opening.close()


def _play(args, sd, device, info, sr, score, plan, opening: OpenDevice, jobs: int) -> int:
    master = MasterSettings(ceiling_db=args.ceiling, limit=True)
    show = not args.quiet and sys.stderr.isatty()
    total = plan.seconds
    where = f" from bar {args.from_bar}" if args.from_bar else (
        f" bars {args.bars[0]}-{args.bars[1]}" if args.bars else "")
    if not args.quiet:
        eprint(f"playing {score.title or os.path.basename(args.input)}{where} on "
               f"{info['name']} ({sr} Hz, {total:.1f} s, seed {score.metadata.seed})")

    last = [0.0]

    def status(frames):
        now = time.perf_counter()
        if show and now - last[0] > 0.25:
            last[0] = now
            t = frames / sr
            sys.stderr.write(f"\r{int(t // 60)}:{t % 60:04.1f} / {int(total // 60)}:"
                             f"{total % 60:04.1f}")
            sys.stderr.flush()

    keys = _Keys() if show else None
    try:
        stats = play_plan(sd, plan, master, device=device, jobs=jobs,
                          latency=args.latency, status=status, keys=keys,
                          stream=opening.stream)
    finally:
        if keys is not None:
            keys.quit.set()
            keys.close()
        if show:
            sys.stderr.write("\n")
    if args.stats:
        first = stats["first_block_at"]
        print(f"stats: first_block_after_start={first - _process_start() if first else -1:.3f} "
              f"first_block_wall={first or -1:.6f} "
              f"first_block_cpu={stats.get('first_block_cpu', -1):.3f} "
              f"underruns={stats['underruns']} frames={stats['frames']} sr={sr}", flush=True)
    if stats["underruns"] and not args.quiet:
        eprint(f"synth: warning: {stats['underruns']} underrun(s): the render fell behind the "
               "device (try --jobs, --latency or a lower --sample-rate)")
    return 0
