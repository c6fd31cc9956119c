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
(the client's side, light to import, is in :mod:`synth.commands._engine_client`).

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

One piece plays at a time: a new ``synth play`` stops the one playing (its
client says so and exits 0) and starts at once.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING

from ..errors import SynthError
from ._engine_client import (CLIENT_ENV, PROTOCOL, Line, ask, build_id, engine_dir, log_path,
                             socket_path)

if TYPE_CHECKING:
    import argparse

#: Scores kept in the engine's memory (besides the composed-score cache on disk).
MEMORY_SCORES = 8
#: Seconds ``synth engine start`` waits for the engine to answer.
START_TIMEOUT = 120.0

HELP = """examples:
  synth engine start          # in the background; ready in a few seconds
  synth play piece.toml       # now handed to the engine: the first block plays at once
  synth engine status
  synth engine stop
  synth engine run            # in the foreground (Ctrl-C stops it), its log on standard error
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
    p.add_argument("--quiet", action="store_true", help="no messages but errors")
    p.set_defaults(func=run)


# ---------------------------------------------------------------- the engine

class _Session:
    """One ``synth play`` being served: its connection, controls and thread."""

    def __init__(self, line: Line):
        from ._playing import Controls

        self.line = line
        self.keys = Controls()
        self.replaced = False
        self.thread: threading.Thread | None = None


class Engine:
    """The resident process: device, stream, warm kernels; serves ``synth play``."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.started = time.time()
        self.pid = os.getpid()
        self.build = build_id(fresh=False)
        self.load_lock = threading.Lock()       # cwd and environment are per process
        self.play_lock = threading.Lock()       # one piece on the stream at a time
        self.current: _Session | None = None
        self.served = 0
        self.stream = None
        self.stream_key = None
        self.stopping = threading.Event()

    # -- start-up

    def start_up(self) -> dict:
        """Open the device, warm numba and the kernels; returns the seconds each took."""
        from ..cache import keep_in_memory
        from .play import choose_rate, import_sounddevice, output_device

        t0 = time.perf_counter()
        self.sd = import_sounddevice()
        index, info = output_device(self.sd, self.args.device)
        sr = choose_rate(self.args, info)
        self._open_stream(index, sr, self.args.latency)
        self.device_name = info["name"]
        t1 = time.perf_counter()
        warm_up(sr)
        t2 = time.perf_counter()
        keep_in_memory(MEMORY_SCORES)
        self.start_up_seconds = {"device": t1 - t0, "kernels": t2 - t1, "cpu": time.process_time()}
        return self.start_up_seconds

    def _open_stream(self, index: int, sr: int, latency: float) -> None:
        if self.stream is not None:
            self.stream.close(ignore_errors=True)
            self.stream = None
        self.stream = self.sd.OutputStream(samplerate=sr, channels=2, dtype="float32",
                                           device=index, latency=latency)
        self.stream_key = (index, sr, latency)

    # -- serving

    def serve(self, server: socket.socket) -> None:
        server.settimeout(0.5)
        while not self.stopping.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                if self.stopping.is_set():
                    break
                raise
            threading.Thread(target=self._handle, args=(conn,), daemon=True,
                             name="synth-engine-client").start()
        session = self.current
        if session is not None:
            session.keys.quit.set()
            if session.thread is not None:
                session.thread.join(timeout=10)

    def _handle(self, conn: socket.socket) -> None:
        line = Line(conn)
        try:
            request = line.recv(timeout=30.0)
            if request is None:
                return
            op = request.get("op")
            if op == "status":
                line.send(**self.status())
            elif op == "shutdown":
                line.send(event="stopping", pid=self.pid)
                self.stopping.set()
            elif op == "play":
                self._play(line, request)
            else:
                line.send(event="refused", reason=f"unknown request {op!r}")
        except TimeoutError:
            pass
        except Exception as e:  # noqa: BLE001 - the engine serves on
            _log(f"internal error: {type(e).__name__}: {e}")
            line.send(event="internal", text=f"{type(e).__name__}: {e}")
        finally:
            conn.close()

    def status(self) -> dict:
        index, sr, latency = self.stream_key
        return {"event": "status", "pid": self.pid, "build": self.build,
                "uptime": time.time() - self.started, "device": self.device_name, "sr": sr,
                "latency": latency, "served": self.served,
                "playing": self.current is not None and self.current.thread is not None
                and self.current.thread.is_alive(),
                "start_up": self.start_up_seconds}

    def _play(self, line: Line, request: dict) -> None:
        import argparse

        if request.get("protocol") != PROTOCOL or request.get("build") != self.build:
            line.send(event="refused", reason=f"it runs synth {self.build}, this is "
                      f"{request.get('build')}; restart it: synth engine stop && "
                      "synth engine start")
            return
        t0 = time.time()
        cpu0 = time.process_time()
        session = _Session(line)
        line.send(event="accepted", pid=self.pid)
        self.served += 1
        previous, self.current = self.current, session
        if previous is not None:            # the piece playing stops now (see synth watch)
            previous.replaced = True
            previous.keys.quit.set()
        args = argparse.Namespace(**request["args"])
        if args.bars is not None:
            args.bars = tuple(args.bars)
        threading.Thread(target=self._controls, args=(session,), daemon=True,
                         name="synth-engine-controls").start()
        try:
            prepared = self._prepare(args, request, session)
        except SynthError as e:
            line.send(event="error", text=str(e))
            return
        if prepared is None:
            return
        score, plan, info = prepared
        with self.play_lock:                # the previous piece has let go of the stream
            if session.keys.quit.is_set():
                line.send(event="done", stats=_no_stats(), sr=plan.sr)
                return
            session.thread = threading.current_thread()
            self._play_plan(args, session, score, plan, info, t0, cpu0, request.get("show"))

    def _prepare(self, args, request: dict, session: _Session):
        """Load and plan the piece as the client would: its folder, its cache settings."""
        from ..render import RenderPlan
        from ._common import ERROR_LINES
        from .play import choose_rate, output_device, prepare

        with self.load_lock:
            saved = {k: os.environ.get(k) for k in CLIENT_ENV}
            token = ERROR_LINES.set(lambda text: session.line.send(event="line", text=text))
            try:
                os.chdir(request["cwd"])
                for k in CLIENT_ENV:
                    os.environ.pop(k, None)
                os.environ.update({k: v for k, v in request.get("env", {}).items()
                                   if k in CLIENT_ENV})
                score = prepare(args)
                index, info = output_device(self.sd, args.device)
                sr = choose_rate(args, info)
                plan = RenderPlan(score, sr=sr, seed=score.metadata.seed,
                                  max_seconds=args.max_seconds)
            finally:
                ERROR_LINES.reset(token)
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                os.chdir("/")
        if session.keys.quit.is_set():
            session.line.send(event="done", stats=_no_stats(), sr=sr)
            return None
        key = (index, sr, args.latency)
        if key != self.stream_key:
            with self.play_lock:
                self._open_stream(index, sr, args.latency)
        return score, plan, info

    def _controls(self, session: _Session) -> None:
        """The client's pause, resume and stop; its going away stops the piece."""
        while True:
            message = session.line.recv()
            if message is None or message.get("op") == "stop":
                session.keys.quit.set()
                return
            if message.get("op") == "pause":
                session.keys.paused.set()
            elif message.get("op") == "resume":
                session.keys.paused.clear()

    def _play_plan(self, args, session: _Session, score, plan, info, t0: float, cpu0: float,
                   show: bool) -> None:
        from ..render import MasterSettings
        from ._common import ERROR_LINES
        from ._playing import underrun_warning
        from .play import play_plan, playing_line

        line = session.line
        master = MasterSettings(ceiling_db=args.ceiling, limit=True)
        if not args.quiet:
            line.send(event="line", text=playing_line(args, score, info, plan.sr, plan.seconds))
        line.send(event="length", seconds=plan.seconds)
        last = [0.0]

        def status(frames):
            now = time.perf_counter()
            if show and now - last[0] > 0.25:
                last[0] = now
                line.send(event="progress", frames=frames, sr=plan.sr)

        def first_block():
            line.send(event="first_block", wall=time.time(), cpu=time.process_time() - cpu0)

        token = ERROR_LINES.set(lambda text: line.send(event="line", text=text))
        try:
            stats = play_plan(self.sd, plan, master, device=self.stream_key[0], jobs=1,
                              latency=args.latency, status=status, keys=session.keys,
                              stream=self.stream, first_block=first_block)
        except SynthError as e:
            line.send(event="error", text=str(e))
            return
        finally:
            ERROR_LINES.reset(token)
        if session.replaced and not args.quiet:
            line.send(event="line", text="synth: stopped: another synth play took over")
        stats = {"first_block_at": stats["first_block_at"],
                 # the engine's CPU for this request, to its first block
                 "first_block_cpu": stats.get("first_block_cpu", cpu0) - cpu0,
                 "underruns": stats["underruns"], "frames": stats["frames"],
                 "request_to_first_block": (stats["first_block_at"] or t0) - t0}
        warning = underrun_warning(stats)
        if warning and not args.quiet:
            line.send(event="line", text=warning)
        line.send(event="done", stats=stats, sr=plan.sr)


def _no_stats() -> dict:
    return {"first_block_at": None, "first_block_cpu": -1.0, "underruns": 0, "frames": 0}


def warm_up(sr: int) -> None:
    """Load every kernel a piece may use: one short note of each preset, and
    each effect type, through the streaming master (a few seconds, once)."""
    from ..dsp import jit
    from ..fx import EFFECTS
    from ..patch import preset_names
    from ..render import MasterSettings, render
    from ..score import Note, Part, Score, TempoMap

    jit.preload()
    master = MasterSettings(limit=True)
    for name in preset_names():
        score = Score(parts=[Part("warm", [Note(0, 0.25, 60, 100), Note(0.25, 0.25, 67, 90)],
                                  preset=name)], tempo=TempoMap.constant(240.0))
        try:
            render(score, sr=sr, master=master)
        except SynthError:
            pass                            # a preset needing a sample file, say
    for name in EFFECTS:
        score = Score(parts=[Part("warm", [Note(0, 0.25, 60, 100)], preset="saw",
                                  effects=({"type": name},))], tempo=TempoMap.constant(240.0))
        try:
            render(score, sr=sr, master=master)
        except SynthError:
            pass


def _log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} synth engine: {text}", file=sys.stderr,
          flush=True)


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
          f"{answer['served']} piece(s) played{', playing now' if answer['playing'] else ''}; "
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
                        ("--latency", args.latency)):
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
        _log(f"ready: pid {engine.pid}, synth {engine.build}, {engine.device_name} at "
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
            _log("stopped")
    return 0
