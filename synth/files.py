"""Reading input files whole, within a size limit."""

from __future__ import annotations

import os

from .errors import SynthError

__all__ = ["read_bytes"]


def read_bytes(path_or_bytes, *, limit: int, error_type: type[SynthError],
               kind: str = "") -> tuple[bytes, str | None]:
    """The bytes of a file (or the bytes given), refusing files over ``limit`` bytes.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes, bytearray or memoryview
    limit : int
        Largest accepted size in bytes; checked before reading.
    error_type : type of SynthError
        Raised (naming the file) when the file is too large or unreadable.
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
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise error_type(f"file is {size} bytes; larger than the {limit}-byte limit"
                             + (f" for {kind}" if kind else ""), source=path)
        with open(path, "rb") as f:
            return f.read(limit + 1), path
    except OSError as e:
        raise error_type(f"cannot read: {e.strerror or e}", source=path) from None
