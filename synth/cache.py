"""The composed-score cache: a loaded (for an arrangement, composed) score kept on disk.

Composing an arrangement takes seconds (the 9-minute Sonnerie arrangements
run hundreds of transform segments); reading the composed score back takes
a few tens of milliseconds.  ``synth render``, ``play``, ``watch`` and the
other commands that load a piece go through :func:`cached`, so only the
first load of a given version of a piece pays for the composition.

What makes an entry (its name is the SHA-256 of all of these):

* the synth version and a fingerprint of the installed package (the path,
  size and modification time of each of its files, so an edited checkout
  never reads scores composed by other code);
* the input's absolute path and its bytes;
* the load options (seed, variation, ...).

An entry also lists every other file the load read (the arrangement's
source, tuning files: whatever went through :func:`synth.files.open_regular`)
with the SHA-256 of its bytes; it is used only while each of them still
has those bytes.  Warnings the load gave are stored and given again on
every hit, so a cached load reports the same repairs.

Where: ``$SYNTH_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/synth/scores``
(``~/.cache/synth/scores``; ``%LOCALAPPDATA%\\synth\\scores`` on Windows).
Disabled by ``SYNTH_NO_CACHE=1`` (or the commands' ``--no-cache``).  Entries
are written atomically (a temporary file renamed into place), each carries
the SHA-256 of its payload, and an entry that fails any check (truncated,
corrupt, another version's, a changed source) is ignored and written
again.  The folder is kept under ``$SYNTH_CACHE_MAX_MB`` megabytes (default
:data:`DEFAULT_MAX_MB`) by removing the least recently used entries.

The entries are Python pickles, read only from the user's own cache folder
(created with mode 0700) and only after their checksum matches: the same
trust as the compiled-kernel cache numba keeps beside them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import warnings
from typing import Any, Callable, Mapping

from .files import recording_reads
from .version import __version__, code_fingerprint

__all__ = ["cached", "cache_dir", "enabled", "entry_key", "keep_in_memory", "DEFAULT_MAX_MB",
           "MAGIC"]

#: Size bound of the cache folder in megabytes (``SYNTH_CACHE_MAX_MB`` overrides).
DEFAULT_MAX_MB = 200
#: First bytes of an entry file (its format version).
MAGIC = b"SYNTH-SCORE-CACHE-2\n"
_SUFFIX = ".score"
_DIGEST = 32


def cache_dir() -> str:
    """The folder of the composed-score cache (see the module notes)."""
    if os.environ.get("SYNTH_CACHE_DIR"):
        return os.environ["SYNTH_CACHE_DIR"]
    if os.name == "nt":
        root = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    else:
        root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "synth", "scores")


def enabled() -> bool:
    """False when ``SYNTH_NO_CACHE`` is set to anything but ``""`` or ``"0"``."""
    return os.environ.get("SYNTH_NO_CACHE", "") in ("", "0")


def _max_bytes() -> int:
    text = os.environ.get("SYNTH_CACHE_MAX_MB", "")
    try:
        mb = float(text) if text else DEFAULT_MAX_MB
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(max(mb, 0.0) * 1e6)


def entry_key(path: str, data: bytes, options: Mapping[str, Any]) -> str:
    """The entry name of a load of ``path`` (holding ``data``) with ``options``."""
    h = hashlib.sha256()
    h.update(code_fingerprint().encode())
    h.update(b"\0" + os.path.abspath(path).encode("utf-8", "surrogateescape") + b"\0")
    h.update(hashlib.sha256(data).digest())
    h.update(repr(sorted(options.items())).encode())
    return h.hexdigest()


def _file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def _read_entry(folder: str, key: str) -> dict | None:
    """The entry ``key`` if it is whole, this key's, and its files are unchanged; else None.

    An entry file is :data:`MAGIC`, the SHA-256 of the rest, the length of a
    JSON head (key, version, the files read and their SHA-256) and the head,
    then the pickled score and warnings: a stale entry (a source edited) is
    refused from its head, without unpickling the score.
    """
    path = os.path.join(folder, key + _SUFFIX)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    start = len(MAGIC) + _DIGEST
    if len(blob) < start + 4 or not blob.startswith(MAGIC):
        return None
    if hashlib.sha256(memoryview(blob)[start:]).digest() != blob[len(MAGIC):start]:
        return None
    size = int.from_bytes(blob[start:start + 4], "little")
    try:
        head = json.loads(blob[start + 4:start + 4 + size])
        if head["key"] != key or head["version"] != __version__:
            return None
        for file, digest in head["files"]:
            if _file_digest(file) != digest:
                return None
        entry = pickle.loads(memoryview(blob)[start + 4 + size:])
    except Exception:  # noqa: BLE001 - any unreadable entry is a miss
        return None
    if not isinstance(entry, dict) or not {"value", "warnings"} <= entry.keys():
        return None
    entry["files"] = [tuple(f) for f in head["files"]]
    try:
        os.utime(path)                  # recently used: evicted last
    except OSError:
        pass
    return entry


def _write_entry(folder: str, key: str, entry: dict) -> None:
    """Write ``entry`` atomically, then keep the folder within its size bound."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        head = json.dumps({"key": key, "version": __version__,
                           "files": entry["files"]}).encode()
        body = (len(head).to_bytes(4, "little") + head
                + pickle.dumps({"value": entry["value"], "warnings": entry["warnings"]},
                               protocol=pickle.HIGHEST_PROTOCOL))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(body).digest() + body)
            os.replace(tmp, os.path.join(folder, key + _SUFFIX))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return                          # a cache that cannot be written is no cache
    _evict(folder, keep=key)


def _evict(folder: str, keep: str) -> None:
    """Remove the least recently used entries until the folder is within its bound."""
    limit = _max_bytes()
    try:
        entries = []
        for name in os.listdir(folder):
            if name.endswith(_SUFFIX) and not name.startswith(".tmp-"):
                st = os.stat(os.path.join(folder, name))
                entries.append((st.st_mtime_ns, st.st_size, name))
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    for _, size, name in sorted(entries):
        if total <= limit:
            break
        if name == keep + _SUFFIX and total - size > 0:
            continue                    # the entry just written goes last
        try:
            os.unlink(os.path.join(folder, name))
            total -= size
        except OSError:
            pass


#: Entries kept in this process (:func:`keep_in_memory`): key -> entry, oldest first.
_MEMORY: dict[str, dict] = {}
_MEMORY_SIZE = 0


def keep_in_memory(entries: int) -> None:
    """Keep the last ``entries`` loaded scores in this process too (the engine does).

    A hit in memory is used on the same terms as one on disk (the same key,
    and every file the load read still has the same SHA-256), without
    reading or unpickling the entry.  The scores are immutable, so sharing
    them is safe.  0 (the default) keeps none.
    """
    global _MEMORY_SIZE
    _MEMORY_SIZE = max(0, int(entries))
    _trim()


def _trim() -> None:
    """Drop the least recently used entries over :func:`keep_in_memory`'s number."""
    while len(_MEMORY) > _MEMORY_SIZE:
        del _MEMORY[next(iter(_MEMORY))]


def _remember(key: str, entry: dict) -> None:
    if _MEMORY_SIZE:
        _MEMORY.pop(key, None)
        _MEMORY[key] = entry
        _trim()


def _from_memory(key: str) -> dict | None:
    entry = _MEMORY.get(key)
    if entry is None:
        return None
    if any(_file_digest(file) != digest for file, digest in entry["files"]):
        del _MEMORY[key]                # a source changed: compose again
        return None
    _MEMORY[key] = _MEMORY.pop(key)     # recently used
    return entry


def cached(path: str, data: bytes, compute: Callable[[], Any], *,
           options: Mapping[str, Any], use: bool = True) -> Any:
    """``compute()`` (the load of ``path``, whose bytes are ``data``), through the cache.

    Parameters
    ----------
    path : str
        The input file.
    data : bytes
        Its bytes (part of the entry's name).
    compute : callable
        Loads the file; the files it opens are recorded (see the module notes).
    options : mapping
        Everything else the result depends on (seed, variation, ...); values
        must have a stable ``repr``.
    use : bool
        False bypasses the cache (as does ``SYNTH_NO_CACHE``).

    Returns
    -------
    object
        What ``compute()`` returned, or the same read from the cache.  The
        warnings ``compute()`` gave are given again on a hit.
    """
    if not (use and enabled()):
        return compute()
    folder = cache_dir()
    key = entry_key(path, data, options)
    entry = _from_memory(key) if _MEMORY_SIZE else None
    if entry is None:
        entry = _read_entry(folder, key)
        if entry is not None:
            _remember(key, entry)
    if entry is not None:
        for category, message in entry["warnings"]:
            warnings.warn(message, category, stacklevel=2)
        return entry["value"]
    try:
        with warnings.catch_warnings(record=True) as caught, recording_reads() as reads:
            warnings.simplefilter("always")
            value = compute()
    finally:
        # given again outside the recorder, under the caller's filters, as on a hit
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    files = []
    for file, size, mtime in dict.fromkeys(reads):
        try:
            st = os.stat(file)
        except OSError:
            return value
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            return value                # changed while it was read: do not keep this
        digest = _file_digest(file)
        if digest is None:
            return value
        files.append((file, digest))
    kept = [(w.category, str(w.message)) for w in caught]
    entry = {"key": key, "version": __version__, "files": files, "warnings": kept, "value": value}
    _write_entry(folder, key, entry)
    _remember(key, entry)
    return value
