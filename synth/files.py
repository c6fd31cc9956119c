"""Reading input files whole, within a size limit, and only if they are regular files.

Every input synth reads (score files, arrangements, MIDI, MusicXML, tuning
files, Mode-4 samples) goes through :func:`open_regular`: the file is opened
without blocking (a FIFO would otherwise wait forever for a writer) and
refused unless it is a regular file, checked on the opened descriptor so a
symlink to ``/dev/zero`` or a directory is refused too.  Its size is checked
before anything is read.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import SynthError

__all__ = ["read_bytes", "open_regular", "check_regular", "recording_reads", "MAX_TEXT_BYTES",
           "os_reason", "TomlFile", "read_toml", "toml_once"]

#: The files opened by :func:`open_regular` while :func:`recording_reads` is active
#: (in this thread or task): ``(absolute path, size, mtime_ns)`` at opening.
_READS: contextvars.ContextVar[list | None] = contextvars.ContextVar("synth_reads", default=None)


@contextlib.contextmanager
def recording_reads() -> Iterator[list[tuple[str, int, int]]]:
    """Record every file :func:`open_regular` opens inside the ``with`` block.

    Yields the list it fills: ``(absolute path, size in bytes, mtime in ns)``
    of each file as it was when opened, in order (the composed-score cache,
    :mod:`synth.cache`, keeps the files a load read and checks them later).
    """
    log: list[tuple[str, int, int]] = []
    token = _READS.set(log)
    try:
        yield log
    finally:
        _READS.reset(token)

#: largest score file or arrangement read (bytes): ten times the largest bundled piece's
#: notation would be a few hundred KB; 16 MiB leaves room and stays quick to refuse
MAX_TEXT_BYTES = 16 * 1024 * 1024


def os_reason(exc: OSError) -> str:
    """The reason of an OSError as a short phrase (``"Permission denied"``)."""
    return exc.strerror or str(exc) or type(exc).__name__


def _kind_of(mode: int) -> str | None:
    """What a non-regular file is, for a message; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], *, error_type: type[SynthError],
                 limit: int | None = None, kind: str = "") -> int:
    """Open ``path`` for reading; refuse anything but a regular file within ``limit`` bytes.

    Parameters
    ----------
    path : str or os.PathLike
    error_type : type of SynthError
        Raised naming the file.
    limit : int, optional
        Largest accepted size in bytes.
    kind : str
        What the file should be, for the size message (``"MIDI files"``).

    Returns
    -------
    fd : int
        An open file descriptor (blocking mode restored); the caller closes it.
    """
    p = os.fspath(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise error_type(f"cannot read: {os_reason(e)}", source=p) from None
    try:
        st = os.fstat(fd)
        what = _kind_of(st.st_mode)
        if what is not None:
            raise error_type(f"cannot read: is {what}, not a regular file", source=p)
        if limit is not None and st.st_size > limit:
            raise error_type(f"file is {st.st_size} bytes; larger than the {limit}-byte limit"
                             + (f" for {kind}" if kind else ""), source=p)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        log = _READS.get()
        if log is not None:
            log.append((os.path.abspath(p), st.st_size, st.st_mtime_ns))
        return fd
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: str | os.PathLike[str], *, error_type: type[SynthError],
                  limit: int | None = None, kind: str = "") -> None:
    """Raise ``error_type`` unless ``path`` is a readable regular file within ``limit`` bytes."""
    os.close(open_regular(path, error_type=error_type, limit=limit, kind=kind))


def read_bytes(path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview, *,
               limit: int, error_type: type[SynthError],
               kind: str = "") -> tuple[bytes, str | None]:
    """The bytes of a regular file (or the bytes given), refusing files over ``limit`` bytes.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes, bytearray or memoryview
    limit : int
        Largest accepted size in bytes; checked before reading (and again
        while reading, for a file that grows).
    error_type : type of SynthError
        Raised (naming the file) when the file is too large, unreadable or
        not a regular file (directory, FIFO, device, symlink to one).
    kind : str
        What the file should be, for the message (``"MIDI files"``).

    Returns
    -------
    data : bytes
    path : str or None
        The file's path, or None for bytes given directly.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes), None
    path = os.fspath(path_or_bytes)
    fd = open_regular(path, error_type=error_type, limit=limit, kind=kind)
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise error_type(f"cannot read: {os_reason(e)}", source=path) from None
    if len(data) > limit:
        raise error_type(f"file is larger than the {limit}-byte limit"
                         + (f" for {kind}" if kind else ""), source=path)
    return data, path


@dataclass(frozen=True)
class TomlFile:
    """A TOML file read and parsed once (see :func:`read_toml`).

    Attributes
    ----------
    path : str
    raw : bytes
        The file's bytes.
    text : str or None
        The decoded text (byte-order mark dropped, CRLF as LF); None when the
        bytes are not UTF-8 (``error`` is the ``UnicodeDecodeError``).
    data : dict or None
        The parsed document; None when ``error`` is set.  Shared by every
        reader of the file within one :func:`toml_once` block: treat it as
        read-only.
    error : UnicodeDecodeError, tomllib.TOMLDecodeError or RecursionError, optional
        Why the file does not parse; each reader words its own message.
    """

    path: str
    raw: bytes
    text: str | None
    data: dict[str, Any] | None
    error: Exception | None = None


#: the files read inside the current toml_once() block (in this thread or task):
#: realpath -> ((inode, size, mtime_ns), TomlFile)
_SCOPE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("synth_toml", default=None)


@contextlib.contextmanager
def toml_once() -> Iterator[None]:
    """Within this block :func:`read_toml` reads and parses each file once.

    One load (an arrangement, then its source; the CLI's check of the files
    a render may not replace, then the load) asks for the same file several
    times; inside the block the first answer is reused while the file's
    inode, size and modification time are unchanged.  Blocks nest (the
    outermost one owns the cache); outside any block every call reads the
    file afresh.
    """
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _parse_toml(path: str, raw: bytes) -> TomlFile:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return TomlFile(path, raw, None, None, e)
    if text.startswith("\ufeff"):
        text = text[1:]          # a byte-order mark is harmless; tomllib would reject it
    text = text.replace("\r\n", "\n")
    try:
        return TomlFile(path, raw, text, tomllib.loads(text))
    except (tomllib.TOMLDecodeError, RecursionError) as e:
        return TomlFile(path, raw, text, None, e)


def read_toml(path: str | os.PathLike[str], *, error_type: type[SynthError],
              kind: str = "") -> TomlFile:
    """Read and parse a TOML file (once per :func:`toml_once` block).

    Parameters
    ----------
    path : str or os.PathLike
    error_type : type of SynthError
        Raised (naming the file) when it cannot be read, as :func:`read_bytes`.
    kind : str
        What the file should be, for the message (``"score files"``).

    Returns
    -------
    TomlFile
        Undecodable or unparsable text is returned with ``error`` set, not
        raised, so that each reader words the error its own way.
    """
    p = os.fspath(path)
    scope = _SCOPE.get()
    if scope is None:
        raw, _ = read_bytes(p, limit=MAX_TEXT_BYTES, error_type=error_type, kind=kind)
        return _parse_toml(p, raw)
    try:
        st = os.stat(p)
        key, stamp = os.path.realpath(p), (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        key, stamp = None, None
    hit = scope.get(key) if key is not None else None
    if hit is not None and hit[0] == stamp and hit[1].path == p:
        log = _READS.get()
        if log is not None:      # recorded as if opened again (synth.cache checks the files read)
            log.append((os.path.abspath(p), stamp[1], stamp[2]))
        return hit[1]
    raw, _ = read_bytes(p, limit=MAX_TEXT_BYTES, error_type=error_type, kind=kind)
    got = _parse_toml(p, raw)
    if key is not None:
        scope[key] = (stamp, got)
    return got
