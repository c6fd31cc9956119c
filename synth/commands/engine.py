"""``synth engine``: a resident synth that ``synth play`` hands pieces to.

A fresh ``synth play`` process spends most of its first second setting up
(importing NumPy and numba, numba's CPU target, loading the compiled kernels
from their cache, opening the audio stream) before the piece itself costs
anything.  As SuperCollider's sclang hands its patterns to a running
scsynth, and FluidSynth and Csound run as servers, ``synth engine start``
keeps one process with all of that ready.  ``synth play`` then only parses
its options and sends them over a Unix socket; the engine loads the piece
(from its memory or the composed-score cache), plans it and plays its first
block on the stream it holds open.

Protocol: one JSON object per line on a Unix stream socket,
``engine.sock`` in :func:`~synth.commands._engine_client.engine_dir`
(the client's side, light to import, is in :mod:`synth.commands._engine_client`;
the resident process in :mod:`synth.commands._engine_server`).

* client -> engine, first line: ``{"op": "play", "protocol", "build",
  "args", "cwd", "env", "show"}`` (``"status"`` and ``"shutdown"`` take no
  more).  ``build`` is the synth version and a fingerprint of the installed
  files (:func:`synth.version.code_fingerprint`): an engine of another build
  (another version, or a checkout edited since it started) answers
  ``refused`` and the client plays in its own process.
* engine -> client: ``accepted``, then ``line`` (a message for the user's
  standard error: the "playing ..." line, warnings), ``progress`` (frames
  played, for the status line), ``length`` and ``first_block`` (for the status line
  and ``--stats``), then ``done`` (the statistics) or ``error``
  (a :class:`~synth.errors.SynthError`: the client prints it as
  ``synth: error: ...`` and exits 2) or ``internal``.
* client -> engine while playing: ``pause``, ``resume``, ``stop``.  A
  closed connection (the client ended, Ctrl-C) stops the playing as well.
* ``{"op": "stream", ...}`` (``synth render -o - --master limit``): after
  ``accepted``, ``data`` messages, each followed by that many bytes of the
  WAV stream (the bytes of rendering in the client's process), then
  ``done``, or ``error`` before the first byte.

One piece plays at a time: a new ``synth play`` stops the one playing (its
client says so and exits 0) and starts at once.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import TYPE_CHECKING

from ..errors import SynthError
from ._engine_client import ask, build_id, engine_dir, log_path, socket_path
from ._engine_server import Engine, log

if TYPE_CHECKING:
    import argparse

#: Seconds ``synth engine start`` waits for the engine to answer.
START_TIMEOUT = 120.0
#: Minutes an engine waits with nothing to play before it stops and lets go of
#: the device (an engine forgotten in a terminal, or orphaned by a killed test
#: run, should not hold the audio output for ever).
DEFAULT_IDLE_MINUTES = 60.0

HELP = """examples:
  synth engine start          # in the background; ready in a few seconds
  synth play piece.toml       # now handed to the engine: the first block plays at once
  synth engine status
  synth engine stop
  synth engine run            # in the foreground (Ctrl-C stops it), its log on standard error
  synth engine start --idle-exit 0   # never stop by itself (default: after 60 idle minutes)
the engine keeps the audio stream of --device at --sample-rate (default: the
device's own rate) open; a synth play asking for another device, rate or
latency gets a new stream (about half a second with JACK)."""


def register(sub: argparse._SubParsersAction) -> None:
    import argparse

    p = sub.add_parser("engine", help="a resident synth that plays pieces at once for "
                       "synth play (start, stop, status)",
                       description="Run a resident synth engine: numba, the compiled kernels "
                       "and an audio stream kept ready, so that synth play starts playing "
                       "at once (it renders in its own process when no engine runs). "
                       "The socket is engine.sock in $SYNTH_ENGINE_DIR, else "
                       "$XDG_RUNTIME_DIR/synth, else ~/.cache/synth.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("start", "stop", "status", "run"),
                   help="start in the background, stop, report, or run in the foreground")
    p.add_argument("--device", metavar="NAME|N",
                   help="output device to keep open (default: the default output)")
    p.add_argument("--sample-rate", type=int, metavar="HZ",
                   help="rate of the stream kept open (default: the device's own)")
    p.add_argument("--latency", type=float, default=0.2, metavar="S",
                   help="device buffer of the stream kept open, in seconds (default 0.2, "
                   "as synth play)")
    p.add_argument("--idle-exit", type=float, default=DEFAULT_IDLE_MINUTES, metavar="MIN",
                   help="stop after this many minutes with nothing played or streamed, "
                   "letting go of the audio device (default %(default)g; 0: never)")
    p.add_argument("--quiet", action="store_true", help="no messages but errors")
    p.set_defaults(func=run)


# ---------------------------------------------------------------- the command

def run(args: argparse.Namespace) -> int:
    if args.action == "status":
        return _status(args)
    if args.action == "stop":
        return _stop(args)
    if args.action == "start":
        return _start(args)
    return _run(args)


def _status(args) -> int:
    answer = ask("status")
    if answer is None:
        print(f"no engine running ({socket_path()})")
        return 3
    build = build_id()
    same = "" if answer["build"] == build else (f"; another build ({answer['build']}, this is "
                                                f"{build}): synth play does not use it")
    up = answer["start_up"]
    print(f"engine running: pid {answer['pid']}, up {answer['uptime']:.0f} s, "
          f"{answer['device']} at {answer['sr']} Hz (latency {answer['latency']} s), "
          f"{answer['served']} piece(s) played, {answer['streamed']} streamed (render -o -)"
          f"{', playing now' if answer['playing'] else ''}; "
          f"started in {up['device'] + up['kernels']:.1f} s ({up['cpu']:.1f} s CPU){same}")
    return 0


def _stop(args) -> int:
    answer = ask("shutdown")
    if answer is None:
        if not args.quiet:
            print(f"no engine running ({socket_path()})")
        return 0
    pid = answer.get("pid")
    for _ in range(200):                    # up to 10 s for it to let go of the device
        if not os.path.exists(socket_path()):
            break
        time.sleep(0.05)
    if not args.quiet:
        print(f"engine stopped (pid {pid})")
    return 0


def _start(args) -> int:
    import subprocess

    answer = ask("status")
    if answer is not None:
        raise SynthError(f"an engine is already running (pid {answer['pid']}); "
                         "synth engine stop ends it")
    folder = engine_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    argv = [sys.executable, "-m", "synth", "engine", "run"]
    for flag, value in (("--device", args.device), ("--sample-rate", args.sample_rate),
                        ("--latency", args.latency), ("--idle-exit", args.idle_exit)):
        if value is not None:
            argv += [flag, str(value)]
    t0 = time.perf_counter()
    with open(log_path(), "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, cwd="/")
    while time.perf_counter() - t0 < START_TIMEOUT:
        if proc.poll() is not None:
            raise SynthError(f"the engine did not start: {_last_line(log_path())}")
        answer = ask("status")
        if answer is not None and answer.get("pid") == proc.pid:
            if not args.quiet:
                up = answer["start_up"]
                print(f"engine started: pid {proc.pid}, {answer['device']} at {answer['sr']} "
                      f"Hz, ready in {time.perf_counter() - t0:.1f} s ({up['cpu']:.1f} s CPU); "
                      f"log: {log_path()}")
            return 0
        time.sleep(0.1)
    proc.terminate()
    raise SynthError(f"the engine did not answer within {START_TIMEOUT:.0f} s (log: {log_path()})")


def _last_line(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        return lines[-1] if lines else "no message"
    except OSError:
        return "no log"


def _run(args) -> int:
    from ._common import keep_freed_memory

    keep_freed_memory()
    path = socket_path()
    if ask("status") is not None:
        raise SynthError("an engine is already running; synth engine stop ends it")
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    engine = Engine(args)
    up = engine.start_up()
    os.chdir("/")                           # a client's relative paths are its own folder's
    try:
        os.unlink(path)                     # a stale socket (no engine answered on it)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)                   # the user's own engine
    ours = os.stat(path).st_ino
    server.listen(8)
    if not args.quiet:
        log(f"ready: pid {engine.pid}, synth {engine.build}, {engine.device_name} at "
             f"{engine.stream_key[1]} Hz; device {up['device']:.2f} s, kernels "
             f"{up['kernels']:.2f} s, {up['cpu']:.2f} s CPU since start; socket {path}")
    try:
        engine.serve(server)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        try:
            if os.stat(path).st_ino == ours:   # not a newer engine's
                os.unlink(path)
        except OSError:
            pass
        if engine.stream is not None:
            engine.stream.close(ignore_errors=True)
        if not args.quiet:
            log("stopped")
    return 0
