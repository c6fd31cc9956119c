"""Audio files: the only module that talks to soundfile.

Writes are atomic: samples go to a temporary file beside the target, which is
renamed over the target only once it is complete, so a failed or interrupted
render never leaves a half-written file, and an existing file is never
replaced unless ``force`` is given.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from typing import Iterable, Mapping

import numpy as np
import soundfile as sf

from .errors import AudioFileError

__all__ = ["SUBTYPES", "BIT_DEPTHS", "FORMATS", "check_writable", "check_suffix", "write",
           "write_wav", "read_audio", "read_metadata", "atomic_output"]

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
    """
    frames = block.T
    if subtype == "FLOAT":
        return frames.astype(np.float32)
    full = 2.0 ** (15 if subtype == "PCM_16" else 23)
    scaled = np.multiply(frames, full)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -full, full - 1, out=scaled)
    if subtype == "PCM_16":
        return scaled.astype(np.int16)
    out = scaled.astype(np.int32)
    out <<= 8                       # libsndfile keeps the top 24 bits of an int32
    return out


#: file suffix -> (soundfile format, default subtype) of :func:`write`
FORMATS = {".wav": ("WAV", "PCM_24"), ".flac": ("FLAC", "PCM_24"), ".ogg": ("OGG", "VORBIS")}


def check_suffix(path, allowed=tuple(FORMATS)) -> str:
    """The soundfile format for ``path``'s suffix; AudioFileError for any other suffix.

    ``"-"`` (standard output) is WAV.  Called before any work, so ``-o x.mp3``
    fails at once instead of writing WAV bytes under an .mp3 name.
    """
    if str(path) == "-":
        return "WAV"
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in allowed:
        what = f"{suffix!r} files" if suffix else "a file without a suffix"
        names = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
        raise AudioFileError(f"{path}: cannot write {what}; use {names}")
    return FORMATS[suffix][0]


def check_writable(path, *, force: bool) -> None:
    """Raise AudioFileError if ``path`` exists (without ``force``) or its folder is missing."""
    if str(path) == "-":
        return
    p = os.fspath(path)
    if os.path.isdir(p):
        raise AudioFileError(f"{p}: is a directory")
    if os.path.exists(p) and not force:
        raise AudioFileError(f"{p}: file exists (use --force to overwrite)")
    folder = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(folder):
        raise AudioFileError(f"{p}: folder {folder!r} does not exist")


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


@contextlib.contextmanager
def atomic_output(path, *, force: bool, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception (including KeyboardInterrupt) the temporary file is
    removed and ``path`` is untouched.  The file gets the mode a plain
    ``open(path, "w")`` would (``0o666`` less the umask), not the private
    ``0o600`` of a temporary file.
    """
    check_writable(path, force=force)
    p = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(p)}.", suffix=suffix,
                               dir=os.path.dirname(p))
    os.close(fd)
    try:
        yield tmp
        if not force and os.path.exists(p):
            raise AudioFileError(f"{path}: file appeared while rendering (use --force to overwrite)")
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _set_metadata(f: sf.SoundFile, metadata: Mapping[str, str] | None) -> None:
    for key, value in (metadata or {}).items():
        if key not in _META_KEYS:
            raise AudioFileError(f"unknown WAV metadata field {key!r}; known: {', '.join(_META_KEYS)}")
        if value:
            # RIFF INFO strings are 8-bit; keep them ASCII-safe
            setattr(f, key, str(value).encode("ascii", "replace").decode("ascii"))


def write_wav(path, blocks: Iterable[np.ndarray] | np.ndarray, *, sr: int,
              subtype: str = "PCM_24", force: bool = False,
              metadata: Mapping[str, str] | None = None) -> None:
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
        Replace an existing file.
    metadata : mapping, optional
        INFO strings: title, artist, comment, software, date, ...

    Raises
    ------
    AudioFileError
        Existing file without ``force``, missing folder, non-finite samples.
    """
    if subtype not in SUBTYPES:
        raise AudioFileError(f"unknown WAV subtype {subtype!r}; expected one of {SUBTYPES}")
    if isinstance(blocks, np.ndarray):
        blocks = [blocks]

    def write_all(f):
        for block in blocks:
            block = np.asarray(block, dtype=np.float64)
            if block.ndim == 1:
                block = block[None, :]
            if block.size and not np.isfinite(np.max(np.abs(block))):   # NaN or inf anywhere
                raise AudioFileError(f"{path}: refusing to write non-finite samples")
            f.write(_encode(block, subtype))

    if str(path) == "-":
        # WAV headers need the length up front: encode in memory, then stream out
        buf = io.BytesIO()
        with sf.SoundFile(buf, "w", samplerate=sr, channels=2, subtype=subtype, format="WAV") as f:
            _set_metadata(f, metadata)
            write_all(f)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return
    with atomic_output(path, force=force, suffix=".wav") as tmp:
        with sf.SoundFile(tmp, "w", samplerate=sr, channels=2, subtype=subtype, format="WAV") as f:
            _set_metadata(f, metadata)
            write_all(f)


def write(path, audio, sr: int, *, subtype: str | None = None, force: bool = False,
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
    with atomic_output(path, force=force, suffix=suffix) as tmp:
        with sf.SoundFile(tmp, "w", samplerate=int(sr), channels=x.shape[0], subtype=subtype,
                          format=fmt) as f:
            _set_metadata(f, metadata)
            f.write(frames)


def read_audio(path) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 ``(channels, n)`` and its sample rate."""
    try:
        data, sr = sf.read(os.fspath(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioFileError(f"{path}: cannot read audio: {e}") from None
    return data.T, int(sr)


def read_metadata(path) -> dict[str, str]:
    """The INFO strings stored in an audio file."""
    with sf.SoundFile(os.fspath(path)) as f:
        return {k: v for k, v in f.copy_metadata().items() if v}
