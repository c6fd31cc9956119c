"""Audio files: the only module that talks to soundfile.

Why over 500 lines: the only module that talks to soundfile, and the one place
for atomic file output (O_TMPFILE + linkat, rename, removed on failure).
Reading and writing share the format table and the wording of errors; keeping
every soundfile call here is a layering rule.

Writes are atomic: samples go to a temporary file beside the target, which is
renamed over the target only once it is complete, so a failed or interrupted
render never leaves a half-written file, and an existing file is never
replaced unless ``force`` is given.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import struct
import sys
import tempfile
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

import numpy as np

from .errors import AudioFileError, SynthError

if TYPE_CHECKING:
    import soundfile as sf

# soundfile (with cffi and libsndfile: ~20 ms) is imported by the functions that
# call it, not here: a render writes its WAV with WavWriter and never needs it

__all__ = ["SUBTYPES", "BIT_DEPTHS", "FORMATS", "check_writable", "check_suffix", "write",
           "write_wav", "read_audio", "read_audio_blocks", "read_sample", "read_metadata", "atomic_output",
           "output_folder", "check_stems_folder", "WavWriter", "wav_bytes"]

#: CLI bit depth -> soundfile subtype
BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}
SUBTYPES = tuple(BIT_DEPTHS.values())

#: WAV INFO fields soundfile can store
_META_KEYS = ("title", "copyright", "software", "artist", "comment", "date", "album",
              "license", "tracknumber", "genre")


def _encode(block: np.ndarray, subtype: str) -> np.ndarray:
    """Frames ``(n, channels)`` in the integer or float type libsndfile stores as is.

    PCM is ``x * 2^15`` (16 bit) or ``x * 2^23`` (24 bit, as the top three
    bytes of an int32) rounded to the nearest integer and clipped to the
    format's range, the inverse of how the file is read back (``/ 2^15``).
    Done here in one vectorised pass: libsndfile's own per-sample
    conversion was most of the time spent writing a WAV, and it rounds
    down (floor), which biases every sample by half a step.

    The result is C-contiguous, in the file's interleaved frame order (the
    transposition is made by the first pass, not by a copy at the end).
    """
    frames = block.T
    if subtype == "FLOAT":
        return np.ascontiguousarray(frames, dtype=np.float32)
    full = 2.0 ** (15 if subtype == "PCM_16" else 23)
    scaled = np.empty(frames.shape)
    np.multiply(frames, full, out=scaled)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -full, full - 1, out=scaled)
    if subtype == "PCM_16":
        return scaled.astype(np.int16)
    out = scaled.astype(np.int32)
    out <<= 8                       # libsndfile keeps the top 24 bits of an int32
    return out


def wav_bytes(block: np.ndarray, subtype: str) -> np.ndarray:
    """Samples ``(channels, n)`` as the bytes of a WAV data chunk: :func:`_encode`, little-endian.

    Returns
    -------
    np.ndarray [shape=(n * channels * bytes per sample,), dtype=uint8]
        C-contiguous: a file's ``write`` takes it as it is (no ``tobytes`` copy).
    """
    pcm = _encode(block, subtype)
    if subtype == "PCM_24":
        return _top_bytes(pcm.reshape(-1).view(np.uint32))
    return np.ascontiguousarray(pcm, dtype=pcm.dtype.newbyteorder("<")).view(np.uint8).reshape(-1)


def _top_bytes(u: np.ndarray) -> np.ndarray:
    """The top three bytes of each uint32 of ``u`` (low byte zero), little-endian, packed.

    Four samples ``a b c d`` make three words: ``a >> 8 | b << 16``,
    ``b >> 16 | c << 8`` and ``c >> 24 | d``, five shifts and three ORs on
    contiguous arrays; copying three bytes of every four (a strided byte
    copy) took twice as long.
    """
    q = len(u) // 4 * 4
    a, b, c, d = (u[i:q:4] for i in range(4))
    words = np.empty((q // 4, 3), dtype="<u4")
    words[:, 0] = (a >> 8) | (b << 16)
    words[:, 1] = (b >> 16) | (c << 8)
    words[:, 2] = (c >> 24) | d
    rest = u[q:].astype("<u4").view(np.uint8).reshape(-1, 4)[:, 1:].reshape(-1)
    return np.concatenate([words.view(np.uint8).reshape(-1), rest]) if len(rest) \
        else words.view(np.uint8).reshape(-1)


#: file suffix -> (soundfile format, default subtype) of :func:`write`
FORMATS = {".wav": ("WAV", "PCM_24"), ".flac": ("FLAC", "PCM_24"), ".ogg": ("OGG", "VORBIS")}


def check_suffix(path: str | os.PathLike[str], allowed: Iterable[str] = tuple(FORMATS)) -> str:
    """The soundfile format for ``path``'s suffix; AudioFileError for any other suffix.

    ``"-"`` (standard output) is WAV.  Called before any work, so ``-o x.mp3``
    fails at once instead of writing WAV bytes under an .mp3 name.
    """
    if str(path) == "-":
        return "WAV"
    p = os.fspath(path)
    if p.endswith(os.sep) or (os.altsep and p.endswith(os.altsep)):
        raise AudioFileError(f"{p}: ends with {p[-1]!r}, so it names a folder; give a file name")
    suffix = os.path.splitext(p)[1].lower()
    if suffix not in allowed:
        what = f"{suffix!r} files" if suffix else "a file without a suffix"
        names = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
        raise AudioFileError(f"{path}: cannot write {what}; use {names}")
    return FORMATS[suffix][0]


#: longest file name most file systems accept (bytes); os.pathconf is asked first
_NAME_MAX = 255


def _os_error(path, exc: OSError, doing: str = "cannot write") -> AudioFileError:
    """An OSError as a user error naming ``path`` and the reason (exit 2, not an internal error)."""
    from .files import os_reason

    return AudioFileError(f"{path}: {doing}: {os_reason(exc)}")


def _same_file(a: str, b: str) -> bool:
    """True if paths ``a`` and ``b`` name one file (symlinks followed)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_writable(path: str | os.PathLike[str], *, force: bool,
                   inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Raise AudioFileError unless ``path`` can be written as a new (or, with ``force``, replaced) file.

    Refused, each with the path and the reason: a trailing slash, a
    directory, an existing file without ``force``, anything but a regular
    file even with ``force`` (a FIFO or device is never replaced), a missing
    folder or one that is a file, a folder without write permission, a name
    longer than the file system allows, and a path that is one of ``inputs``
    (the file being rendered, an arrangement's source), symlinks followed.
    """
    if str(path) == "-":
        return
    p = os.fspath(path)
    if not p:
        raise AudioFileError("the output path is empty")
    if p.endswith(os.sep) or (os.altsep and p.endswith(os.altsep)):
        raise AudioFileError(f"{p}: ends with {p[-1]!r}, so it names a folder; give a file name")
    for source in inputs:
        if source is not None and _same_file(p, os.fspath(source)):
            raise AudioFileError(f"{p}: is the input file {os.fspath(source)!r}; "
                                 "choose another output name")
    folder = os.path.dirname(os.path.abspath(p))
    if not os.path.exists(folder):
        raise AudioFileError(f"{p}: folder {folder!r} does not exist")
    if not os.path.isdir(folder):
        raise AudioFileError(f"{p}: {folder!r} is not a folder")
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = _NAME_MAX
    name = os.path.basename(p)
    if len(os.fsencode(name)) > name_max:
        raise AudioFileError(f"{p[:60]}...: file name is {len(os.fsencode(name))} bytes; "
                             f"longer than the {name_max} the file system allows")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise _os_error(p, e, "cannot use as output") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise AudioFileError(f"{p}: is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise AudioFileError(f"{p}: exists and is not a regular file (a FIFO or device); "
                                 "only regular files are replaced, even with --force")
        if not force:
            raise AudioFileError(f"{p}: file exists (use --force to overwrite)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AudioFileError(f"{p}: cannot write in folder {folder!r}: permission denied")


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows
    (``/proc/self/status``); elsewhere set and restored at once."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: temporary names are short and fixed-length (``.synth-XXXXXXXX.wav``), so an
#: output name near the file system's NAME_MAX still gets one
_TMP_PREFIX = ".synth-"


def _open_anonymous(folder: str) -> int | None:
    """An unnamed file in ``folder`` (Linux ``O_TMPFILE``), or None where unsupported.

    It has no name until :func:`os.link` gives it one, so a process killed
    by SIGKILL leaves nothing behind.  Created with mode ``0o666`` less the
    umask, as ``open(path, "w")`` would.
    """
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP):
            return None             # file system or kernel without O_TMPFILE
        raise


def _replace_regular(src: str, dst: str) -> None:
    """Rename ``src`` over ``dst``, refusing if ``dst`` became something other than a regular file."""
    with contextlib.suppress(FileNotFoundError):
        st = os.lstat(dst)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            raise AudioFileError(f"{dst}: is not a regular file; only regular files are replaced")
    os.replace(src, dst)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, force: bool, suffix: str = ".tmp",
                  inputs: Iterable[str | os.PathLike[str]] = (),
                  anonymous: bool = False) -> Iterator[str]:
    """Yield a temporary path to write; give it ``path``'s name only on success.

    With ``anonymous`` (for writers that only open the yielded path), on
    Linux the file is created unnamed (``O_TMPFILE``, yielded as
    ``/proc/self/fd/N``) and linked into place when complete, so even SIGKILL
    leaves nothing.  Otherwise (or where that is unsupported) a short hidden
    name beside ``path`` is used and removed on any exception (the CLI turns
    SIGTERM and SIGHUP into one).
    Without ``force`` the final link fails if ``path`` appeared meanwhile, and
    ``path`` is never replaced unless it is a regular file.  Operating-system
    errors (permission, disk full, file too large) become
    :class:`~synth.errors.AudioFileError` naming ``path``.  The file gets
    the mode a plain ``open(path, "w")`` would (``0o666`` less the umask).
    """
    check_writable(path, force=force, inputs=inputs)
    p = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(p)
    tmp = fd = None
    try:
        try:
            fd = _open_anonymous(folder) if anonymous else None
            if fd is None:
                fd0, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=suffix, dir=folder)
                os.close(fd0)
        except OSError as e:
            raise _os_error(path, e) from None
        try:
            yield tmp if fd is None else f"/proc/self/fd/{fd}"
            if fd is not None:
                _link_into_place(fd, p, folder, suffix, force=force, shown=path)
            else:
                if not force and os.path.lexists(p):
                    raise AudioFileError(f"{path}: file appeared while rendering "
                                         "(use --force to overwrite)")
                os.chmod(tmp, 0o666 & ~current_umask())
                _replace_regular(tmp, p)
                tmp = None
        except SynthError:
            raise
        except OSError as e:
            raise _os_error(path, e) from None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _link_into_place(fd: int, p: str, folder: str, suffix: str, *, force: bool, shown) -> None:
    """Give the unnamed file ``fd`` the name ``p`` (``linkat``, following the /proc link)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        _link_fd(proc, fd, p, folder, suffix, force=force, shown=shown)
    finally:
        os.close(proc)


def _link_fd(proc: int, fd: int, p: str, folder: str, suffix: str, *, force: bool, shown) -> None:
    # os.link uses linkat(AT_SYMLINK_FOLLOW) only with a src_dir_fd: plain link()
    # would link the /proc symlink itself and fail across devices
    def link(dst):
        os.link(str(fd), dst, src_dir_fd=proc, follow_symlinks=True)

    if not force:
        try:
            link(p)
        except FileExistsError:
            raise AudioFileError(f"{shown}: file appeared while rendering "
                                 "(use --force to overwrite)") from None
        return
    # replacing: link under a short temporary name, then rename over the target
    for _ in range(100):
        tmp = os.path.join(folder, f"{_TMP_PREFIX}{os.urandom(4).hex()}{suffix}")
        try:
            link(tmp)
            break
        except FileExistsError:
            continue
    else:
        raise AudioFileError(f"{shown}: cannot find a free temporary name in {folder!r}")
    try:
        _replace_regular(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def removed_on_failure(path: str | os.PathLike[str] | None) -> Iterator[None]:
    """Remove ``path`` on an exception if it did not exist on entry (the mix of a
    render whose stems then failed).  ``None`` or ``"-"`` does nothing."""
    if path is None or str(path) == "-":
        yield
        return
    p = os.fspath(path)
    existed = os.path.lexists(p)
    try:
        yield
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                os.unlink(p)
        raise


def check_stems_folder(path: str | os.PathLike[str]) -> None:
    """Raise AudioFileError unless ``path`` is a folder, or can be created as one."""
    p = os.fspath(path).rstrip(os.sep) or os.sep
    if os.path.exists(p):
        if not os.path.isdir(p):
            raise AudioFileError(f"{p}: is a file, not a folder (for the stems)")
        if not os.access(p, os.W_OK | os.X_OK):
            raise AudioFileError(f"{p}: cannot write in this folder: permission denied")
        return
    parent = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(parent):
        raise AudioFileError(f"{p}: cannot create the stems folder: {parent!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AudioFileError(f"{p}: cannot create the stems folder in {parent!r}: "
                             "permission denied")


@contextlib.contextmanager
def output_folder(path: str | os.PathLike[str] | None) -> Iterator[str | None]:
    """Create folder ``path`` for output files if missing; on failure undo what was made.

    On an exception (including an interrupt or SIGTERM) the ``.wav`` files
    that appeared in the folder since entry are removed, and the folder
    itself if this call created it.  ``None`` does nothing.
    """
    if path is None:
        yield None
        return
    p = os.fspath(path).rstrip(os.sep) or os.sep
    check_stems_folder(p)
    created = not os.path.exists(p)
    try:
        os.makedirs(p, exist_ok=True)
        before = set(os.listdir(p))
    except OSError as e:
        raise _os_error(p, e, "cannot create folder") from None
    try:
        yield p
    except BaseException:
        with contextlib.suppress(OSError):
            for name in set(os.listdir(p)) - before:
                if name.endswith(".wav"):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(p, name))
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(p)
        raise


def _set_metadata(f: sf.SoundFile, metadata: Mapping[str, str] | None) -> None:
    for key, value in (metadata or {}).items():
        if key not in _META_KEYS:
            raise AudioFileError(f"unknown WAV metadata field {key!r}; known: {', '.join(_META_KEYS)}")
        if value:
            # RIFF INFO strings are 8-bit; keep them ASCII-safe
            setattr(f, key, str(value).encode("ascii", "replace").decode("ascii"))


#: WAV INFO chunk ids of the metadata keys
_INFO_IDS = {"title": b"INAM", "artist": b"IART", "software": b"ISFT", "comment": b"ICMT",
             "copyright": b"ICOP", "date": b"ICRD", "album": b"IPRD", "genre": b"IGNR",
             "tracknumber": b"ITRK", "license": b"ILIC"}
#: a RIFF file's sizes are 32-bit: above this many bytes the file is written as RF64
#: (EBU Tech 3306), whose ``ds64`` chunk holds 64-bit sizes
RF64_THRESHOLD = (1 << 32) - 1
#: bytes of the ``JUNK`` chunk reserved after ``WAVE`` that becomes ``ds64`` in an RF64 file
_DS64_BYTES = 28


class WavWriter:
    """A stereo (or n-channel) WAV written block by block to a seekable binary file.

    The header is written by this class, not libsndfile, so that: the file
    holds no timestamped ``PEAK`` chunk (the same samples always give the same
    bytes, float included); a ``JUNK`` chunk reserved after ``WAVE`` turns into
    ``ds64`` when the data passes 4 GiB, making the file RF64 (EBU Tech 3306)
    instead of a RIFF whose 32-bit sizes are wrong; and write errors arrive as
    the operating system's ``OSError`` (disk full, file too large).

    Parameters
    ----------
    f : binary file object
        Seekable, positioned at 0.
    sr : int
        Sample rate in Hz.
    subtype : {"PCM_16", "PCM_24", "FLOAT"}
    channels : int
    metadata : mapping, optional
        INFO strings (keys of :data:`_META_KEYS`), stored as ASCII.
    """

    def __init__(self, f: sf.SoundFile, *, sr: int, subtype: str, channels: int = 2,
                 metadata: Mapping[str, str] | None = None):
        if subtype not in SUBTYPES:
            raise AudioFileError(f"unknown WAV subtype {subtype!r}; expected one of {SUBTYPES}")
        for key in metadata or {}:
            if key not in _META_KEYS:
                raise AudioFileError(f"unknown WAV metadata field {key!r}; known: "
                                     f"{', '.join(_META_KEYS)}")
        self.f, self.sr, self.subtype, self.channels = f, int(sr), subtype, int(channels)
        self.frames = 0
        self.bits = {"PCM_16": 16, "PCM_24": 24, "FLOAT": 32}[subtype]
        self.align = channels * self.bits // 8
        tag = 3 if subtype == "FLOAT" else 1
        chunks = [b"JUNK" + struct.pack("<I", _DS64_BYTES) + bytes(_DS64_BYTES),
                  b"fmt " + struct.pack("<IHHIIHH", 16, tag, channels, self.sr,
                                        self.sr * self.align, self.align, self.bits)]
        self._fact_at = None
        if subtype == "FLOAT":
            self._fact_at = 12 + sum(len(c) for c in chunks) + 8
            chunks.append(b"fact" + struct.pack("<II", 4, 0))
        info = b""
        for key, value in (metadata or {}).items():
            if value:
                # RIFF INFO strings are 8-bit; keep them ASCII-safe
                text = str(value).encode("ascii", "replace") + b"\0"
                info += _INFO_IDS[key] + struct.pack("<I", len(text)) + text
                info += b"\0" if len(text) % 2 else b""
        if info:
            chunks.append(b"LIST" + struct.pack("<I", 4 + len(info)) + b"INFO" + info)
        self._body = b"".join(chunks)
        self._data_at = 12 + len(self._body) + 8       # first sample byte
        f.write(b"RIFF" + struct.pack("<I", 0) + b"WAVE" + self._body + b"data"
                + struct.pack("<I", 0))

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` [shape=(channels, n)], float in -1..1; non-finite samples refused."""
        block = np.asarray(block, dtype=np.float64)
        if block.ndim == 1:
            block = block[None, :]
        if block.size and not np.isfinite(np.max(np.abs(block))):   # NaN or inf anywhere
            raise AudioFileError("refusing to write non-finite samples")
        self.f.write(wav_bytes(block, self.subtype))
        self.frames += block.shape[1]

    def close(self) -> None:
        """Write the final sizes into the header (RF64 when the data passed 4 GiB)."""
        data = self.frames * self.align
        riff = 4 + len(self._body) + 8 + data
        pad = data % 2
        if pad:
            self.f.write(b"\0")
        end = self.f.tell()
        if riff + pad > RF64_THRESHOLD:
            self.f.seek(0)
            self.f.write(b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"ds64"
                         + struct.pack("<IQQQI", _DS64_BYTES, riff + pad, data, self.frames, 0))
            data32 = 0xFFFFFFFF
        else:
            self.f.seek(4)
            self.f.write(struct.pack("<I", riff + pad))
            data32 = data
        if self._fact_at is not None:
            self.f.seek(self._fact_at)
            self.f.write(struct.pack("<I", min(self.frames, 0xFFFFFFFF)))
        self.f.seek(self._data_at - 4)
        self.f.write(struct.pack("<I", data32))
        self.f.seek(end)
        self.f.flush()


def write_wav(path: str | os.PathLike[str], blocks: Iterable[np.ndarray] | np.ndarray, *, sr: int,
              subtype: str = "PCM_24", force: bool = False,
              metadata: Mapping[str, str] | None = None,
              inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write stereo blocks ``(2, n)`` (or one array) to a WAV file atomically.

    Parameters
    ----------
    path : str or os.PathLike or "-"
        ``"-"`` writes the WAV to standard output.
    blocks : np.ndarray [shape=(channels, n)] or iterable of them
    sr : int
        Sample rate in Hz.
    subtype : {"PCM_16", "PCM_24", "FLOAT"}
    force : bool
        Replace an existing regular file.
    metadata : mapping, optional
        INFO strings: title, artist, comment, software, date, ...
    inputs : iterable of paths
        Files ``path`` must not be (the input being rendered).

    Raises
    ------
    AudioFileError
        Existing file without ``force``, missing folder, non-finite samples,
        or an operating-system error (permission, disk full, file too large),
        naming ``path``; nothing is left behind.

    Notes
    -----
    The same samples give the same bytes (no timestamp in the header); a
    file over 4 GiB is written as RF64.
    """
    if subtype not in SUBTYPES:
        raise AudioFileError(f"unknown WAV subtype {subtype!r}; expected one of {SUBTYPES}")
    if isinstance(blocks, np.ndarray):
        blocks = [blocks]

    def write_all(f):
        w = WavWriter(f, sr=sr, subtype=subtype, metadata=metadata)
        try:
            for block in blocks:
                w.write(block)
        except AudioFileError as e:
            raise AudioFileError(f"{path}: {e.message}") from None
        w.close()

    if str(path) == "-":
        # WAV headers need the length up front: encode in memory, then stream out
        buf = io.BytesIO()
        write_all(buf)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return
    with atomic_output(path, force=force, suffix=".wav", inputs=inputs, anonymous=True) as tmp:
        with open(tmp, "wb") as f:
            write_all(f)


def write(path: str | os.PathLike[str], audio: np.ndarray, sr: int, *, subtype: str | None = None,
          force: bool = False,
          metadata: Mapping[str, str] | None = None) -> None:
    """Write audio to a WAV, FLAC or Ogg Vorbis file chosen by the suffix, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Ends in ``.wav``, ``.flac`` or ``.ogg`` (any other suffix is refused).
    audio : np.ndarray [shape=(channels, n) or (n,)]
        Samples in -1..1, channels first as :func:`synth.render` returns them
        (``(2, n)``); a 1-D array is mono.  PCM formats round to the nearest
        step and clip at full scale.
    sr : int
        Sample rate in Hz.
    subtype : str, optional
        soundfile subtype: ``"PCM_16"``, ``"PCM_24"`` (default for WAV and
        FLAC), ``"FLOAT"`` (WAV only); Ogg is always ``"VORBIS"``.
    force : bool
        Replace an existing file (like ``synth render --force``).
    metadata : mapping, optional
        Title, artist, comment, ... (as :func:`write_wav`).

    Raises
    ------
    AudioFileError
        Unknown suffix or subtype, existing file without ``force``, missing
        folder, non-finite samples, more than 8 channels.
    """
    fmt = check_suffix(path)
    if str(path) == "-":
        raise AudioFileError("synth.write needs a file name; use write_wav(\"-\", ...) for "
                             "standard output")
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    subtype = subtype or FORMATS[suffix][1]
    allowed = {"WAV": SUBTYPES, "FLAC": ("PCM_16", "PCM_24"), "OGG": ("VORBIS",)}[fmt]
    if subtype not in allowed:
        raise AudioFileError(f"{path}: subtype {subtype!r} cannot be written as {fmt}; "
                             f"expected one of {', '.join(allowed)}")
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or not 1 <= x.shape[0] <= 8:
        raise AudioFileError(f"{path}: audio must be shaped (channels, n) with 1..8 channels "
                             f"(as synth.render returns it), got shape {np.shape(audio)!r}")
    if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or not 1 <= sr <= 768000:
        raise AudioFileError(f"{path}: sample rate must be an integer number of Hz, got {sr!r}")
    if x.size and not np.isfinite(x).all():
        raise AudioFileError(f"{path}: refusing to write non-finite samples")
    frames = _encode(x, subtype) if subtype in SUBTYPES else x.T.astype(np.float32)
    if fmt == "WAV":
        with atomic_output(path, force=force, suffix=suffix, anonymous=True) as tmp, \
                open(tmp, "wb") as f:
            w = WavWriter(f, sr=int(sr), subtype=subtype, channels=x.shape[0],
                          metadata=metadata)
            w.write(x)
            w.close()
        return
    import soundfile as sf

    with atomic_output(path, force=force, suffix=suffix, anonymous=True) as tmp:
        try:
            with sf.SoundFile(tmp, "w", samplerate=int(sr), channels=x.shape[0],
                              subtype=subtype, format=fmt) as f:
                _set_metadata(f, metadata)
                f.write(frames)
        except (sf.LibsndfileError, RuntimeError, AssertionError) as e:
            raise AudioFileError(f"{path}: cannot write: {e}") from None


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 ``(channels, n)`` and its sample rate."""
    import soundfile as sf

    try:
        data, sr = sf.read(os.fspath(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioFileError(f"{path}: cannot read audio: {e}") from None
    return data.T, int(sr)


#: lowest sample rate accepted in an audio file read as a sample (Hz); a header
#: declaring 1 Hz would make resampling it to the machine's rate allocate GiB
MIN_SAMPLE_RATE = 1000
#: highest sample rate accepted in a sample (Hz)
MAX_SAMPLE_RATE = 768000


def read_sample(path: str | os.PathLike[str], *, max_frames: int,
                min_sr: int = MIN_SAMPLE_RATE) -> tuple[np.ndarray, int]:
    """The first ``max_frames`` frames of an audio file, mixed to mono, and its sample rate.

    Only what is asked for is read (a 300 MB file costs what its first
    ``max_frames`` frames cost).  The file must be a regular file (not a FIFO
    or device), declare a sample rate of ``min_sr`` to
    :data:`MAX_SAMPLE_RATE` Hz and hold only finite samples.

    Parameters
    ----------
    path : str or os.PathLike
    max_frames : int or callable
        Frames to read at most, or a function of the file's sample rate
        giving that number.
    min_sr : int
        Lowest sample rate accepted, Hz.

    Returns
    -------
    mono : np.ndarray [shape=(m,), m <= max_frames]
        The channels' mean, float64, in the file's own scale.
    sr : int
        The file's sample rate in Hz.

    Raises
    ------
    AudioFileError
        Naming the file: unreadable, not a regular file, bad sample rate,
        NaN or infinite samples.
    """
    import soundfile as sf

    from .files import open_regular, os_reason

    p = os.fspath(path)
    fd = open_regular(p, error_type=AudioFileError)
    try:
        with os.fdopen(fd, "rb") as raw, sf.SoundFile(raw) as f:
            sr = int(f.samplerate)
            if not min_sr <= sr <= MAX_SAMPLE_RATE:
                raise AudioFileError(f"sample rate {sr} Hz is outside {min_sr}..{MAX_SAMPLE_RATE} Hz",
                                     source=p)
            limit = max_frames(sr) if callable(max_frames) else max_frames
            data = f.read(frames=max(0, min(int(limit), f.frames)), dtype="float64",
                          always_2d=True)
    except AudioFileError:
        raise
    except OSError as e:
        raise AudioFileError(f"cannot read audio: {os_reason(e)}", source=p) from None
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as e:
        raise AudioFileError(f"cannot read audio: {e}", source=p) from None
    if data.size and not np.isfinite(data).all():
        bad = int(np.argmax(~np.isfinite(data).all(axis=1)))
        raise AudioFileError(f"holds NaN or infinite samples (first at frame {bad})", source=p)
    if data.size and np.max(np.abs(data)) > 1e6:
        raise AudioFileError(f"holds samples of magnitude {np.max(np.abs(data)):.3g}; "
                             "audio samples lie within -1..1", source=p)
    return data.mean(axis=1), sr


def read_audio_blocks(path: str | os.PathLike[str], block_frames: int = 1 << 16
                      ) -> tuple[int, Iterator[np.ndarray]]:
    """The sample rate of an audio file and an iterator over its blocks, read as needed.

    Returns
    -------
    sr : int
    blocks : iterator of np.ndarray [shape=(channels, m), float64]
        Memory holds one block at a time, whatever the file's length.

    Raises
    ------
    AudioFileError
        Naming the file: unreadable, not a regular file, not audio.
    """
    import soundfile as sf

    from .files import open_regular, os_reason

    p = os.fspath(path)
    fd = open_regular(p, error_type=AudioFileError)
    try:
        raw = os.fdopen(fd, "rb")
        f = sf.SoundFile(raw)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as e:
        raw.close()
        raise AudioFileError(f"cannot read audio: {e}", source=p) from None

    def blocks():
        try:
            while True:
                data = f.read(block_frames, dtype="float64", always_2d=True)
                if not len(data):
                    return
                yield data.T
        except OSError as e:
            raise AudioFileError(f"cannot read audio: {os_reason(e)}", source=p) from None
        except (sf.LibsndfileError, RuntimeError) as e:
            raise AudioFileError(f"cannot read audio: {e}", source=p) from None
        finally:
            f.close()
            raw.close()

    return int(f.samplerate), blocks()


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The INFO strings stored in an audio file."""
    import soundfile as sf

    with sf.SoundFile(os.fspath(path)) as f:
        return {k: v for k, v in f.copy_metadata().items() if v}
