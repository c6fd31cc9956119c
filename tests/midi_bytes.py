"""Standard MIDI files built byte by byte, so a test's defect is exactly the one it names.

Shared by the MIDI repair, hostile-input and CLI tests (``from midi_bytes import ev, smf``).
"""

from __future__ import annotations

import struct


def vlq(n: int) -> bytes:
    """``n`` as a MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def ev(delta: int, *data: int) -> bytes:
    """An event ``delta`` ticks after the previous one, with its raw bytes."""
    return vlq(delta) + bytes(data)


#: end of track
EOT = ev(0, 0xFF, 0x2F, 0x00)


def chunk(cid: bytes, body: bytes, length: int | None = None) -> bytes:
    return cid + struct.pack(">I", len(body) if length is None else length) + body


def header(fmt: int = 1, ntracks: int = 1, division: int = 480, length: int = 6,
           extra: bytes = b"") -> bytes:
    return b"MThd" + struct.pack(">IHHH", length, fmt, ntracks, division) + extra


def note(delta: int, key: int, dur: int, vel: int = 100, ch: int = 0) -> bytes:
    """Note-on after ``delta`` ticks, note-off ``dur`` ticks later."""
    return ev(delta, 0x90 | ch, key, vel) + ev(dur, 0x80 | ch, key, 0)


def smf(*tracks: bytes, fmt: int = 1, division: int = 480) -> bytes:
    """A whole file of ``tracks`` (track bodies, end-of-track included by the caller)."""
    return header(fmt, len(tracks), division) + b"".join(chunk(b"MTrk", t) for t in tracks)
