"""The ``synth play`` side of the engine (:mod:`synth.commands.engine`): light to import.

Where the engine's socket is, the line protocol, and
:func:`play_through_engine`, which ``synth play`` calls first: it imports
nothing heavy (no NumPy, no renderer), so handing a piece to a running
engine costs the client little more than Python's start.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING

from ..errors import SynthError
from ._common import eprint

if TYPE_CHECKING:
    import argparse

__all__ = ["PROTOCOL", "CLIENT_ENV", "engine_dir", "socket_path", "log_path", "build_id", "Line",
           "connect", "ask", "play_through_engine", "stream_through_engine"]

#: Version of the line protocol (see :mod:`synth.commands.engine`).
PROTOCOL = 1
#: Environment variables of the client that the engine uses for its request
#: (which composed-score cache, whether to use it).
CLIENT_ENV = ("SYNTH_CACHE_DIR", "SYNTH_NO_CACHE", "SYNTH_CACHE_MAX_MB", "XDG_CACHE_HOME",
              "LOCALAPPDATA")


def engine_dir() -> str:
    """The engine's folder (its socket and log): ``$SYNTH_ENGINE_DIR``, else
    ``$XDG_RUNTIME_DIR/synth``, else ``$XDG_CACHE_HOME/synth`` (``~/.cache/synth``)."""
    if os.environ.get("SYNTH_ENGINE_DIR"):
        return os.environ["SYNTH_ENGINE_DIR"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "synth")
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "synth")


def socket_path() -> str:
    return os.path.join(engine_dir(), "engine.sock")


def log_path() -> str:
    return os.path.join(engine_dir(), "engine.log")


def build_id(*, fresh: bool = True) -> str:
    """This installation's build: the version and a fingerprint of its files."""
    from ..version import __version__, code_fingerprint

    return f"{__version__}+{code_fingerprint(fresh=fresh)[:16]}"


class Line:
    """JSON lines over a connected socket (sends from any thread)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buf = b""
        self._lock = threading.Lock()

    def send(self, **message) -> bool:
        data = (json.dumps(message) + "\n").encode()
        with self._lock:
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                return False            # the other side is gone

    def send_bytes(self, data: bytes) -> None:
        """``data`` as a ``data`` message and the bytes after it; OSError if the other side is gone."""
        with self._lock:
            self.sock.sendall((json.dumps({"event": "data", "bytes": len(data)}) + "\n").encode()
                              + data)

    def recv_bytes(self, n: int) -> bytes | None:
        """The ``n`` bytes after a ``data`` message; None at the end of the connection."""
        while len(self._buf) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self._buf)))
            except OSError:
                return None
            if not chunk:
                return None
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def recv(self, timeout: float | None = None) -> dict | None:
        """The next message; None at the end of the connection; TimeoutError if none came."""
        while b"\n" not in self._buf:
            if timeout is not None:
                ready, _, _ = select.select([self.sock], [], [], timeout)
                if not ready:
                    raise TimeoutError
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None


def connect(timeout: float = 2.0) -> socket.socket | None:
    """A connection to the running engine, or None when none answers."""
    path = socket_path()
    if not os.path.exists(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    sock.settimeout(None)
    return sock


def ask(op: str, timeout: float = 10.0) -> dict | None:
    """Send ``op`` (status, shutdown) and return the engine's answer, or None."""
    sock = connect()
    if sock is None:
        return None
    try:
        line = Line(sock)
        line.send(op=op, protocol=PROTOCOL)
        try:
            return line.recv(timeout)
        except TimeoutError:
            return None
    finally:
        sock.close()


# ---------------------------------------------------------------- the client

def play_through_engine(args: argparse.Namespace) -> int | None:
    """Hand ``synth play``'s piece to a running engine; its exit status, or None.

    None: no engine, or not one to use (another build, ``--no-engine``,
    ``--jobs`` above one): the caller plays the piece in its own process.
    ``--verbose`` says which, and why.
    """
    def say(text):
        if args.verbose:
            eprint(f"synth: {text}")

    if args.no_engine:
        say("--no-engine: rendering in this process")
        return None
    if args.jobs > 1:
        say(f"--jobs {args.jobs}: rendering in this process (the engine renders in one)")
        return None
    sock = connect()
    if sock is None:
        say(f"no engine running ({socket_path()}): rendering in this process "
            "(synth engine start keeps one ready)")
        return None
    try:
        return _client(args, Line(sock), say)
    finally:
        sock.close()


def _client(args, line: Line, say) -> int | None:
    from ._playing import Keys, stats_line, time_line

    show = not args.quiet and sys.stderr.isatty()
    _send_request(line, "play", args, show=show)
    answer = line.recv(timeout=30.0)
    if answer is None or answer.get("event") != "accepted":
        why = (answer or {}).get("reason", "it did not answer")
        say(f"the running engine is not used ({why}): rendering in this process")
        return None
    say(f"playing through the engine (pid {answer.get('pid')}, {socket_path()})")
    keyboard = keys = Keys() if show else None
    paused = False
    total = None
    client_cpu = None                       # this process's CPU time at the first block
    try:
        while True:
            if keys is not None:
                if keys.quit.is_set():
                    line.send(op="stop")
                    keys = None             # sent once; the engine answers with done
                elif keys.paused.is_set() != paused:
                    paused = keys.paused.is_set()
                    line.send(op="pause" if paused else "resume")
            try:
                message = line.recv(timeout=0.05)
            except TimeoutError:
                continue
            if message is None:
                return _engine_stopped("playing")
            event = message.get("event")
            if event in _SHARED_EVENTS:
                status = _shared_event(message)
                if status is not None:
                    return status
            elif event == "length":
                total = message["seconds"]
            elif event == "first_block":
                client_cpu = time.process_time()
            elif event == "progress" and show and total is not None:
                sys.stderr.write(time_line(message["frames"], message["sr"], total))
                sys.stderr.flush()
            elif event == "done":
                if show:
                    sys.stderr.write("\n")
                stats = message["stats"]
                if args.stats:
                    # CPU to the first block: the engine's for this piece, and this process's
                    cpu = client_cpu if client_cpu is not None else time.process_time()
                    engine_cpu = stats["first_block_cpu"]
                    stats = dict(stats, first_block_cpu=engine_cpu + cpu)
                    print(stats_line(stats, message["sr"], f" engine=1 client_cpu={cpu:.3f} "
                                     f"engine_cpu={engine_cpu:.3f}"), flush=True)
                return 0
    finally:
        if keyboard is not None:            # the terminal as it was
            keyboard.quit.set()
            keyboard.close()


def _send_request(line: Line, op: str, args: argparse.Namespace, **extra) -> None:
    """Ask the engine for ``op`` with this command's options, folder and cache settings."""
    line.send(op=op, protocol=PROTOCOL, build=build_id(),
              args={k: v for k, v in vars(args).items() if k != "func"}, cwd=os.getcwd(),
              env={k: os.environ[k] for k in CLIENT_ENV if k in os.environ}, **extra)


#: Events the engine sends while playing or streaming alike (see :func:`_shared_event`).
_SHARED_EVENTS = ("line", "error", "internal")


def _shared_event(message: dict) -> int | None:
    """Act on a message line, error or internal error from the engine.

    A message line is printed (None: go on); the piece's error is raised as
    the usual one-line SynthError (exit status 2); an internal error is
    printed with where the engine's log is, and gives exit status 1.
    """
    event = message["event"]
    if event == "error":
        raise SynthError(message["text"])
    if event == "internal":
        eprint(f"synth: internal error in the engine: {message['text']} (its log: {log_path()})")
        return 1
    eprint(message["text"])
    return None


def _engine_stopped(doing: str) -> int:
    """Say that the engine went away while ``doing`` (with where its log is): exit status 1."""
    eprint(f"synth: error: the engine stopped while {doing} (its log: {log_path()})")
    return 1


def stream_through_engine(args: argparse.Namespace) -> int | None:
    """``synth render -o - --master limit`` streamed by a running engine; the exit status, or None.

    The engine renders the piece (in one process) and sends the WAV as it
    comes; this process writes it to standard output.  The bytes are those
    of rendering here (the same plan, master and encoder).  None: no engine
    (or ``--no-engine``, or another build): the caller renders here.
    """
    if args.no_engine:
        return None
    sock = connect()
    if sock is None:
        return None
    try:
        line = Line(sock)
        _send_request(line, "stream", args)
        answer = line.recv(timeout=30.0)
        if answer is None or answer.get("event") != "accepted":
            return None
        out = sys.stdout.buffer
        while True:
            message = line.recv()
            if message is None:
                return _engine_stopped("rendering")
            event = message.get("event")
            if event == "data":
                data = line.recv_bytes(message["bytes"])
                if data is None:
                    return _engine_stopped("rendering")
                out.write(data)
                out.flush()
            elif event in _SHARED_EVENTS:
                status = _shared_event(message)
                if status is not None:
                    return status
            elif event == "done":
                return 0
    finally:
        sock.close()
