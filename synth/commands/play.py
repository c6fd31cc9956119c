"""``synth play``: render in blocks and play them as they come (PortAudio via sounddevice).

The streaming master (``--master limit``: a fixed gain from a pre-scan of the
notes and a true-peak look-ahead limiter, see
:func:`synth.render.limited_chunks`) lets the first block go to
the audio device as soon as it is rendered.  A thread renders ahead into a
queue of about :data:`AHEAD_SECONDS` of audio; the main thread writes the
blocks to a blocking PortAudio stream (PortAudio's own thread plays them
without needing Python), and counts the underruns PortAudio reports.

When a ``synth engine`` is running (:mod:`synth.commands.engine`), this
process only hands it the piece and shows what it says: the engine has
NumPy, numba, the kernels and the audio stream ready, so its first block
plays at once.  This module is light to import for that reason (NumPy and
the renderer are imported only when the piece is played here).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

from ..defaults import SR_MAX, SR_MIN
from ..errors import SynthError
from ..version import install_hint
from ._common import eprint
from ._playing import Controls, Keys, stats_line, time_line, underrun_warning

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping
    from typing import Any
    from ..render import MasterSettings, RenderPlan
    from ..score import Score

HELP = """examples:
  synth play arrangements/laurel-waltz-nightmare-march.toml
  synth play arrangements/sonnerie-bells-in-the-ice.toml --from 120
  synth play piece.toml --bars 5-12 --seed 3
  synth play --list-devices
  synth engine start && synth play piece.toml     # plays at once: see synth engine --help
keys (on a terminal): space pauses and resumes, q stops."""

#: Audio rendered ahead of the device, in seconds (blocks queued).
AHEAD_SECONDS = 4.0
#: Frames per rendered block: small, so the first block is out quickly.
BLOCK = 4096


def register(sub: argparse._SubParsersAction) -> None:
    import argparse

    from ._options import add_render_options

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
    p.add_argument("--verbose", action="store_true",
                   help="say whether a running engine plays the piece, or this process "
                   "(and why)")
    p.add_argument("--no-engine", action="store_true",
                   help="render and play in this process even when a synth engine runs")
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
    import queue

    import numpy as np

    from ..render import limited_chunks

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


def run(args: argparse.Namespace) -> int:
    if args.list_devices:
        list_devices(import_sounddevice())
        return 0
    if not args.input:
        raise SynthError("synth play needs an INPUT file (or --list-devices)")
    if args.from_bar is not None and args.bars:
        raise SynthError("give --from or --bars, not both")
    from ._engine_client import play_through_engine

    status = play_through_engine(args)
    if status is not None:
        return status
    return play_here(args)


def play_here(args: argparse.Namespace) -> int:
    """``synth play`` rendering in this process (no engine, or not one to use)."""
    from ..render import RenderPlan
    from ._common import keep_freed_memory

    keep_freed_memory()

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


def playing_line(args, score: Score, info: Mapping[str, Any], sr: int, seconds: float) -> str:
    """The line ``synth play`` starts with: what plays, where, how long."""
    where = f" from bar {args.from_bar}" if args.from_bar else (
        f" bars {args.bars[0]}-{args.bars[1]}" if args.bars else "")
    return (f"playing {score.title or os.path.basename(args.input)}{where} on "
            f"{info['name']} ({sr} Hz, {seconds:.1f} s, seed {score.metadata.seed})")


def _play(args, sd, device, info, sr, score, plan, opening: OpenDevice, jobs: int) -> int:
    from ..render import MasterSettings

    master = MasterSettings(ceiling_db=args.ceiling, limit=True)
    show = not args.quiet and sys.stderr.isatty()
    total = plan.seconds
    if not args.quiet:
        eprint(playing_line(args, score, info, sr, total))

    last = [0.0]

    def status(frames):
        now = time.perf_counter()
        if show and now - last[0] > 0.25:
            last[0] = now
            sys.stderr.write(time_line(frames, sr, total))
            sys.stderr.flush()

    keys = Keys() if show else None
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
        print(stats_line(stats, sr), flush=True)
    warning = underrun_warning(stats)
    if warning and not args.quiet:
        eprint(warning)
    return 0
