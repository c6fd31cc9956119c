"""The engine's side of ``synth engine`` (:mod:`synth.commands.engine`): the resident process.

:class:`Engine` holds the device, its open stream and the warm kernels
(:func:`warm_up`), and serves each connection in a thread: ``play`` (a
session playing on the stream; a new one takes over), ``stream`` (``synth
render -o - --master limit``: the WAV sent as it renders), ``status`` and
``shutdown``.  A request is loaded in the client's folder with its cache
settings, one load at a time (:meth:`Engine._client_context`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING

from ..errors import SynthError
from ._engine_client import CLIENT_ENV, PROTOCOL, Line, build_id

if TYPE_CHECKING:
    import argparse

__all__ = ["Engine", "MEMORY_SCORES", "warm_up", "log"]

#: Scores kept in the engine's memory (besides the composed-score cache on disk).
MEMORY_SCORES = 8


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
        self.streamed = 0
        self.stream = None
        self.stream_key = None
        self.stopping = threading.Event()
        idle = getattr(args, "idle_exit", 0) or 0
        self.idle_seconds = 60.0 * idle if idle > 0 else None
        self.last_active = time.monotonic()
        self.active_streams = 0
        self._count_lock = threading.Lock()

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
                if self._idle_too_long():
                    log(f"idle for {self.idle_seconds / 60:g} min: stopping")
                    break
                continue
            except OSError:
                if self.stopping.is_set():
                    break
                raise
            self.last_active = time.monotonic()
            threading.Thread(target=self._handle, args=(conn,), daemon=True,
                             name="synth-engine-client").start()
        session = self.current
        if session is not None:
            session.keys.quit.set()
            if session.thread is not None:
                session.thread.join(timeout=10)

    def _idle_too_long(self) -> bool:
        """True once nothing has played, streamed or asked for ``idle_seconds``."""
        if self.idle_seconds is None:
            return False
        now = time.monotonic()
        if self._playing_now() or self.active_streams:
            self.last_active = now          # playing (or streaming) is not idle
            return False
        return now - self.last_active > self.idle_seconds

    def _playing_now(self) -> bool:
        """True while a session's thread is playing a piece on the stream."""
        session = self.current
        return session is not None and session.thread is not None and session.thread.is_alive()

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
            elif op == "stream":
                self._stream(line, request)
            else:
                line.send(event="refused", reason=f"unknown request {op!r}")
        except TimeoutError:
            pass
        except Exception as e:  # noqa: BLE001 - the engine serves on
            log(f"internal error: {type(e).__name__}: {e}")
            line.send(event="internal", text=f"{type(e).__name__}: {e}")
        finally:
            conn.close()

    def status(self) -> dict:
        index, sr, latency = self.stream_key
        return {"event": "status", "pid": self.pid, "build": self.build,
                "uptime": time.time() - self.started, "device": self.device_name, "sr": sr,
                "latency": latency, "served": self.served, "streamed": self.streamed,
                "playing": self._playing_now(),
                "start_up": self.start_up_seconds}

    def _play(self, line: Line, request: dict) -> None:
        if self._refuse(line, request):
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
        args = _request_args(request)
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

    def _refuse(self, line: Line, request: dict) -> bool:
        """Refuse a request of another build (True if refused)."""
        if request.get("protocol") == PROTOCOL and request.get("build") == self.build:
            return False
        line.send(event="refused", reason=f"it runs synth {self.build}, this is "
                  f"{request.get('build')}; restart it: synth engine stop && synth engine start")
        return True

    def _stream(self, line: Line, request: dict) -> None:
        """``synth render -o - --master limit``: the WAV to the client as it renders."""
        with self._count_lock:
            self.active_streams += 1
        try:
            self._stream_wav(line, request)
        finally:
            with self._count_lock:
                self.active_streams -= 1
            self.last_active = time.monotonic()

    def _stream_wav(self, line: Line, request: dict) -> None:
        from ..audio import BIT_DEPTHS
        from ..render import RenderPlan, limited_chunks
        from ..render.output import stream_wav
        from .render import STREAM_CHUNK, load_for_render, master_settings

        if self._refuse(line, request):
            return
        line.send(event="accepted", pid=self.pid)
        self.streamed += 1
        args = _request_args(request)
        try:
            with self._client_context(request, line):
                master = master_settings(args)
                score, metadata = load_for_render(args)
                plan = RenderPlan(score, sr=args.sample_rate, seed=score.metadata.seed,
                                  max_seconds=args.max_seconds)
            blocks = limited_chunks(plan, master, STREAM_CHUNK, 1)
            try:
                stream_wav(_Sender(line), (b.audio for b in blocks), sr=plan.sr,
                           frames=plan.frames, subtype=BIT_DEPTHS[args.bit_depth],
                           metadata=metadata)
            finally:
                blocks.close()
        except SynthError as e:
            line.send(event="error", text=str(e))
            return
        except OSError:
            return                              # the client went away (its reader quit)
        line.send(event="done")

    @contextlib.contextmanager
    def _client_context(self, request: dict, line: Line):
        """Within it: the client's folder and cache settings, its messages sent to it."""
        with self.load_lock, _messages_to(line):
            saved = {k: os.environ.get(k) for k in CLIENT_ENV}
            try:
                os.chdir(request["cwd"])
                for k in CLIENT_ENV:
                    os.environ.pop(k, None)
                os.environ.update({k: v for k, v in request.get("env", {}).items()
                                   if k in CLIENT_ENV})
                yield
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                os.chdir("/")

    def _prepare(self, args, request: dict, session: _Session):
        """Load and plan the piece as the client would: its folder, its cache settings."""
        from ..render import RenderPlan
        from .play import choose_rate, output_device, prepare

        with self._client_context(request, session.line):
            score = prepare(args)
            index, info = output_device(self.sd, args.device)
            sr = choose_rate(args, info)
            plan = RenderPlan(score, sr=sr, seed=score.metadata.seed,
                              max_seconds=args.max_seconds)
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

        try:
            with _messages_to(line):
                stats = play_plan(self.sd, plan, master, device=self.stream_key[0], jobs=1,
                                  latency=args.latency, status=status, keys=session.keys,
                                  stream=self.stream, first_block=first_block)
        except SynthError as e:
            line.send(event="error", text=str(e))
            return
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


class _Sender:
    """A binary stream whose writes go to the client as ``data`` messages."""

    def __init__(self, line: Line):
        self.line = line

    def write(self, data: bytes) -> int:
        self.line.send_bytes(bytes(data))       # OSError when the client has gone
        return len(data)

    def flush(self) -> None:
        pass


@contextlib.contextmanager
def _messages_to(line: Line):
    """Within it, :func:`~synth.commands._common.eprint` in this thread sends its
    lines to the client (``line`` messages) instead of the engine's log."""
    from ._common import ERROR_LINES

    token = ERROR_LINES.set(lambda text: line.send(event="line", text=text))
    try:
        yield
    finally:
        ERROR_LINES.reset(token)


def _request_args(request: dict) -> argparse.Namespace:
    """The client's options, as its parser gave them (JSON made ``--bars`` a list)."""
    import argparse

    args = argparse.Namespace(**request["args"])
    if args.bars is not None:
        args.bars = tuple(args.bars)
    return args


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
    parts = [Part("warm", [Note(0, 0.25, 60, 100), Note(0.25, 0.25, 67, 90)], preset=name)
             for name in preset_names()]
    parts += [Part("warm", [Note(0, 0.25, 60, 100)], preset="saw", effects=({"type": name},))
              for name in EFFECTS]
    for part in parts:
        score = Score(parts=[part], tempo=TempoMap.constant(240.0))
        try:
            render(score, sr=sr, master=master)
        except SynthError:
            pass                            # a preset needing a sample file, say


def log(text: str) -> None:
    """A line of the engine's log (its standard error), time-stamped."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} synth engine: {text}", file=sys.stderr,
          flush=True)
