"""Tolerant byte-level pre-pass in front of mido: repair or refuse each defect.

Why over 500 lines: one byte-level parser. Chunk framing, event reading with
running status and the recover-or-refuse decision for each defect read the
same cursor and must agree on every byte; docs/midi.md's table of defects maps
onto it row by row.

Real standard MIDI files are often broken in ways :mod:`mido` either refuses
or silently misreads.  :func:`repair_smf` parses the chunk structure and every
track event itself, decides per defect whether to *recover* (and say what was
repaired) or *refuse* (raise :class:`~synth.errors.MidiError`), and returns a
clean, canonical file (explicit status bytes, correct chunk lengths, one
end-of-track per track) that mido then reads without surprises.

The decisions are documented in ``docs/midi.md`` (the malformed-file table);
every row of that table has a test in ``tests/test_midi_repair.py``.

Work and memory are bounded: files larger than :data:`MAX_FILE_BYTES` and
files with more than :data:`MAX_EVENTS` events are refused, and each byte is
looked at a bounded number of times, so no input can hang the parser.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import MidiError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_EVENTS",
    "SMPTE_FPS",
    "TrackSummary",
    "RepairResult",
    "repair_smf",
]

#: Largest file accepted (bytes).  Real files are rarely above a few MiB.
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Most events accepted over all tracks (keeps mido's message objects bounded).
MAX_EVENTS = 500_000
#: SMPTE frame rates by the (negated) byte in the division field: nominal fps
#: and the real frames per second.
SMPTE_FPS = {24: (24, 24.0), 25: (25, 25.0), 29: (30, 29.97), 30: (30, 30.0)}

# Meta events the reader uses, with their required data length (None = any).
_KEPT_META = {
    0x01: None,  # text
    0x02: None,  # copyright
    0x03: None,  # track name
    0x04: None,  # instrument name
    0x05: None,  # lyrics
    0x06: None,  # marker
    0x2F: 0,     # end of track
    0x51: 3,     # set tempo
    0x58: 4,     # time signature
    0x59: 2,     # key signature
}
_META_NAMES = {0x2F: "end-of-track", 0x51: "set-tempo", 0x58: "time-signature",
               0x59: "key-signature"}
# Number of data bytes of each channel-voice status (high nibble).
_CHANNEL_DATA_LEN = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}


@dataclass
class TrackSummary:
    """What the reader needs to know about a track: its summary, then its events.

    Attributes
    ----------
    end_tick : int
        Absolute tick of the track's end-of-track event.
    last_note_tick : int
        Absolute tick of the last note-on or note-off (-1 if there is none).
    tempos : list of (int, int)
        ``(absolute tick, microseconds per beat)`` of the track's tempo events.
    events : list of (int, bytes)
        The track's events as the clean file holds them, in order: absolute
        tick and the event's bytes (a channel message with its status byte;
        a kept meta event as ``FF type length data``), end-of-track excluded.
    """

    end_tick: int = 0
    last_note_tick: int = -1
    tempos: list[tuple[int, int]] = field(default_factory=list)
    events: list[tuple[int, bytes]] = field(default_factory=list)


@dataclass
class RepairResult:
    """Clean file bytes plus what was repaired.

    Attributes
    ----------
    data : bytes
        A canonical SMF (format 0, 1 or 2) that mido reads as-is.
    messages : list of str
        One sentence per repair, in file order.
    format : int
        0, 1 or 2 (format 0 with several tracks is reported as 1).
    ticks_per_beat : int
        Division of ``data`` (for SMPTE files: ticks per nominal second).
    smpte_tempo : int or None
        For SMPTE-timed files: the constant tempo (microseconds per beat)
        under which ``ticks_per_beat`` ticks last the file's real second;
        the reader then ignores any tempo events.
    tracks : list of TrackSummary
    """

    data: bytes
    messages: list[str]
    format: int
    ticks_per_beat: int
    smpte_tempo: int | None
    tracks: list[TrackSummary]


def _is_chunk_id(data: bytes, pos: int) -> bool:
    """True if 8 bytes at ``pos`` look like a chunk header (4 printable ASCII)."""
    if pos + 8 > len(data):
        return False
    return all(0x20 <= b < 0x7F for b in data[pos:pos + 4])


def _at_boundary(data: bytes, pos: int) -> bool:
    """True if ``pos`` is the end of the file or the start of a chunk."""
    return pos == len(data) or _is_chunk_id(data, pos)


def _read_length(data: bytes, pos: int, end: int) -> tuple[int, int, str]:
    """A variable-length quantity at ``pos``: ``(value, next position, problem)``.

    ``problem`` is ``""``, ``"incomplete"`` (the track ends inside it) or
    ``"too long"`` (more than 4 bytes, which the standard forbids).
    """
    value = 0
    for n in range(1, 5):
        if pos >= end:
            return value, pos, "incomplete"
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, pos, ""
    return value, pos, "too long"



def _sized(data: bytes, pos: int, end: int, kind: str, what: str, ev_pos: int):
    """Read a meta or sysex event's length at ``pos``: ``(length, body start, problem)``.

    ``problem`` is ``""`` (none), ``"incomplete"``, or a message naming the
    event (``what``) at byte ``ev_pos``: a length field longer than 4 bytes,
    or a body that runs past the end of the track.
    """
    length, pos, problem = _read_length(data, pos, end)
    if problem:
        return length, pos, (problem if problem == "incomplete" else
                             f"{kind} length longer than 4 bytes at byte {ev_pos}")
    if pos + length > end:
        return length, pos, (f"{what} at byte {ev_pos} declares {length} bytes, past the end "
                             f"of the track")
    return length, pos, ""


def _write_vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


class _Track:
    """Events of one track, parsed tolerantly: ``(abs_tick, event bytes)``."""

    __slots__ = ("events", "eot_tick", "found_eot", "stop", "pos", "summary", "messages")

    def __init__(self):
        self.events: list[tuple[int, bytes]] = []
        self.eot_tick = 0
        self.found_eot = False
        self.stop = ""        # why parsing stopped early ("" = clean)
        self.pos = 0          # byte offset where parsing ended
        self.summary = TrackSummary()
        self.messages: list[str] = []


def _events_readable(data: bytes, pos: int, end: int, running: int | None, *,
                     delta: bool, limit: int = 4) -> int:
    """How many of the next ``limit`` events parse cleanly from ``pos`` (a lookahead).

    ``delta``: whether the first event starts with its delta time.  Meta and
    sysex events count as clean when their length fits.
    """
    good = 0
    while good < limit and pos < end:
        if delta:
            for _ in range(4):
                if pos >= end:
                    return good
                b = data[pos]
                pos += 1
                if not b & 0x80:
                    break
            else:
                return good
        delta = True
        if pos >= end:
            return good
        status = data[pos]
        if status < 0x80:
            if running is None:
                return good
            status = running
        else:
            pos += 1
        if 0x80 <= status <= 0xEF:
            need = _CHANNEL_DATA_LEN[status >> 4]
            if pos + need > end or any(b >= 0x80 for b in data[pos:pos + need]):
                return good
            running, pos = status, pos + need
        elif status in (0xFF, 0xF0, 0xF7):
            if status == 0xFF:
                pos += 1
            length, n = 0, 0
            while pos < end and n < 4:
                b = data[pos]
                pos += 1
                n += 1
                length = (length << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
            if pos + length > end:
                return good
            pos += length
        else:
            return good
        good += 1
    return good


def _clamp_reads_better(data: bytes, pos: int, need: int, end: int, status: int,
                        bad_at: int) -> bool:
    """True if a byte above 127 inside a channel message reads better as a corrupt data
    byte (clamped, the message complete) than as a status byte that cut it short.

    Both readings are followed for a few events; the clamp wins only when it
    reads strictly more of them cleanly.
    """
    as_status = _events_readable(data, pos + bad_at, end, status, delta=False)
    as_data = _events_readable(data, pos + need, end, status, delta=True)
    return as_data > as_status


def _parse_events(data: bytes, start: int, end: int, number: int, budget: int) -> _Track:
    """Parse track events in ``data[start:end]`` until end-of-track or ``end``.

    Never raises on bad bytes: a defect stops the parse (``track.stop`` says
    why) or drops one event (with a message).  ``budget`` is the number of
    events still allowed in the file.
    """
    tr = _Track()
    pos, tick, running = start, 0, None
    where = f"track {number}"
    resume_at_status = False    # after a cut-short message: next event has no delta
    while pos < end:
        ev_pos = pos
        # delta time: at most 4 bytes by the standard
        delta, n = 0, 0
        while not resume_at_status:
            if pos >= end:
                tr.stop, tr.pos = "incomplete", ev_pos
                return tr
            b = data[pos]
            pos += 1
            delta = (delta << 7) | (b & 0x7F)
            n += 1
            if not b & 0x80:
                break
            if n == 4:
                tr.stop, tr.pos = f"delta time longer than 4 bytes at byte {ev_pos}", ev_pos
                return tr
        resume_at_status = False
        if pos >= end:
            tr.stop, tr.pos = "incomplete", ev_pos
            return tr
        tick += delta
        status = data[pos]
        if status < 0x80:                       # running status
            if running is None:
                tr.stop, tr.pos = (f"data byte 0x{status:02X} without a status at byte {pos}",
                                   ev_pos)
                return tr
            status = running
        else:
            pos += 1
        if 0x80 <= status <= 0xEF:
            running = status
            need = _CHANNEL_DATA_LEN[status >> 4]
            if pos + need > end:
                tr.stop, tr.pos = "incomplete", ev_pos
                return tr
            body = data[pos:pos + need]
            bad = [b for b in body if b >= 0x80]
            if bad and _clamp_reads_better(data, pos, need, end, status, body.index(bad[0])):
                # a data byte above 127 (as some writers emit): clamped, as mido's clip=True
                tr.messages.append(f"{where}: channel message 0x{status:02X} at byte {ev_pos} "
                                   f"has data byte 0x{bad[0]:02X} above 127; clamped to 127")
                body = bytes(min(b, 0x7F) for b in body)
                bad = []
            if bad:
                # A status byte interrupted the message: drop it, resume there.
                tr.messages.append(f"{where}: channel message 0x{status:02X} at byte {ev_pos} "
                                   f"cut short by byte 0x{bad[0]:02X}; dropped")
                pos += body.index(bad[0])
                tr.events.append((tick, b""))   # keeps the delta
                resume_at_status = True
                continue
            pos += need
            tr.events.append((tick, bytes([status]) + body))
            if status < 0xA0:
                tr.summary.last_note_tick = tick
        elif status == 0xFF:
            if pos >= end:
                tr.stop, tr.pos = "incomplete", ev_pos
                return tr
            mtype = data[pos]
            length, pos, tr.stop = _sized(data, pos + 1, end, "meta", f"meta event 0x{mtype:02X}",
                                          ev_pos)
            if tr.stop:
                tr.pos = ev_pos
                return tr
            body = data[pos:pos + length]
            pos += length
            if mtype == 0x2F:
                tr.eot_tick, tr.found_eot, tr.pos = tick, True, pos
                if length:
                    tr.messages.append(f"{where}: end-of-track with {length} data bytes; "
                                       f"data ignored")
                return tr
            want = _KEPT_META.get(mtype, -1)
            if want == -1:
                tr.events.append((tick, b""))   # unused meta: keep only its delta
                continue
            name = _META_NAMES.get(mtype, f"meta 0x{mtype:02X}")
            if want is not None and length != want:
                tr.messages.append(f"{where}: {name} event at byte {ev_pos} has {length} data "
                                   f"bytes instead of {want}; dropped")
                tr.events.append((tick, b""))
                continue
            if mtype == 0x51:
                tempo = int.from_bytes(body, "big")
                if tempo == 0:
                    tr.messages.append(f"{where}: set-tempo of 0 microseconds per beat at "
                                       f"byte {ev_pos}; dropped")
                    tr.events.append((tick, b""))
                    continue
                tr.summary.tempos.append((tick, tempo))
            elif mtype == 0x59:
                sf = struct.unpack("b", body[:1])[0]
                if not (-7 <= sf <= 7 and body[1] in (0, 1)):
                    tr.messages.append(f"{where}: key-signature ({sf}, {body[1]}) at byte "
                                       f"{ev_pos} is not a key; dropped")
                    tr.events.append((tick, b""))
                    continue
            tr.events.append((tick, b"\xff" + bytes([mtype]) + _write_vlq(length) + body))
        elif status in (0xF0, 0xF7):
            # SysEx and escapes: skipped (synth uses none), but parsed for length.  The
            # running status is kept, as FluidSynth keeps it: files exist whose notes
            # continue in running status after a sysex
            length, pos, tr.stop = _sized(data, pos, end, "sysex", "sysex", ev_pos)
            if tr.stop:
                tr.pos = ev_pos
                return tr
            pos += length
            tr.events.append((tick, b""))
        elif status >= 0xF8:
            # Real-time bytes do not belong in a file; they carry no data.
            tr.messages.append(f"{where}: real-time byte 0x{status:02X} at byte {ev_pos} "
                               f"dropped")
            tr.events.append((tick, b""))
        else:
            tr.stop, tr.pos = (f"system-common status 0x{status:02X} at byte {ev_pos} is not "
                               f"allowed in a file", ev_pos)
            return tr
        if len(tr.events) > budget:
            raise MidiError(f"more than {MAX_EVENTS} events; refusing to read (file too large "
                            f"or corrupt)")
    tr.pos = pos
    return tr


def _encode_track(tr: _Track) -> bytes:
    """Canonical track chunk: explicit status bytes, one end-of-track."""
    out = bytearray()
    last = 0
    for tick, ev in tr.events:
        if not ev:
            continue
        out += _write_vlq(tick - last)
        out += ev
        last = tick
    end = max(tr.eot_tick, last)
    out += _write_vlq(end - last) + b"\xff\x2f\x00"
    tr.summary.end_tick = end
    return b"MTrk" + struct.pack(">I", len(out)) + bytes(out)


def _read_track(data: bytes, pos: int, number: int, budget: int) -> tuple[_Track, int, list[str]]:
    """Read the MTrk chunk at ``pos``; return the track, the next chunk offset, messages."""
    declared = struct.unpack(">I", data[pos + 4:pos + 8])[0]
    start = pos + 8
    decl_end = start + declared
    where = f"track {number}"
    msgs: list[str] = []
    end = min(decl_end, len(data))
    tr = _parse_events(data, start, end, number, budget)

    if tr.found_eot:
        if tr.pos == decl_end:
            return tr, decl_end, msgs + tr.messages
        if tr.pos < decl_end:
            if _at_boundary(data, decl_end):
                msgs.append(f"{where}: {decl_end - tr.pos} bytes after end-of-track ignored")
                return tr, decl_end, msgs + tr.messages
            if _at_boundary(data, tr.pos):
                msgs.append(f"{where}: chunk length {declared} too long (track ends after "
                            f"{tr.pos - start} bytes); next chunk read from there")
                return tr, tr.pos, msgs + tr.messages
            msgs.append(f"{where}: {max(0, end - tr.pos)} bytes after end-of-track ignored")
            return tr, decl_end, msgs + tr.messages

    # No end-of-track inside the declared chunk.  Was the length too short?
    if decl_end < len(data) and not _at_boundary(data, decl_end):
        longer = _parse_events(data, start, len(data), number, budget)
        if longer.found_eot and _at_boundary(data, longer.pos):
            msgs.append(f"{where}: chunk length {declared} too short (track ends after "
                        f"{longer.pos - start} bytes); length corrected")
            return longer, longer.pos, msgs + longer.messages

    msgs.extend(tr.messages)
    cut = len(msgs)
    if decl_end > len(data):
        msgs.append(f"{where}: truncated (chunk declares {declared} bytes, only "
                    f"{len(data) - start} present); events up to the cut kept")
    if tr.stop and tr.stop != "incomplete":
        msgs.append(f"{where}: {tr.stop}; rest of the track dropped")
    elif tr.stop == "incomplete" and decl_end <= len(data):
        msgs.append(f"{where}: last event cut off by the chunk end; dropped")
    if len(msgs) == cut:       # the track simply ends: only the end-of-track is missing
        msgs.append(f"{where}: missing end-of-track; added after the last event")
    tr.eot_tick = tr.events[-1][0] if tr.events else 0
    return tr, min(decl_end, len(data)), msgs


def repair_smf(data: bytes) -> RepairResult:
    """Check and repair a standard MIDI file at the byte level.

    Parameters
    ----------
    data : bytes
        The file's content (a RIFF ``RMID`` wrapper is unwrapped).

    Returns
    -------
    RepairResult
        Clean bytes, repair messages and per-track summaries.

    Raises
    ------
    MidiError
        For defects that cannot be repaired without guessing (no header,
        truncated header, unknown format, zero ticks per beat, bad SMPTE
        rate, no track at all, too large).
    """
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        raise MidiError(f"file is {len(data)} bytes; larger than the {MAX_FILE_BYTES}-byte "
                        f"limit for MIDI files")
    messages: list[str] = []
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        at = data.find(b"MThd", 12)
        if at < 0:
            raise MidiError("RIFF RMID file without an MThd header")
        data = data[at:]
    if data[:4] != b"MThd":
        at = data.find(b"MThd", 0, 4096)
        if at < 0:
            raise MidiError(f"not a standard MIDI file (starts with {data[:4]!r}, "
                            f"expected b'MThd')")
        messages.append(f"{at} bytes before the MThd header skipped")
        data = data[at:]
    if len(data) < 14:
        raise MidiError(f"truncated header: {len(data)} bytes, a MIDI header needs 14")
    hlen, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    if hlen != 6 and data[14:18] == b"MTrk":
        messages.append(f"header chunk length {hlen} is wrong (a track starts right after "
                        f"6 bytes); 6 assumed")
        hlen = 6
    if hlen < 6:
        raise MidiError(f"header chunk length {hlen} is less than 6")
    if fmt not in (0, 1, 2):
        raise MidiError(f"unknown MIDI file format {fmt} (expected 0, 1 or 2)")
    smpte_tempo = None
    if division & 0x8000:
        fps_byte = 256 - (division >> 8)
        ticks_per_frame = division & 0xFF
        if fps_byte not in SMPTE_FPS:
            raise MidiError(f"SMPTE division with {fps_byte} frames per second (expected 24, "
                            f"25, 29 or 30)")
        if ticks_per_frame == 0:
            raise MidiError("SMPTE division with 0 ticks per frame: timing undefined")
        nominal, real = SMPTE_FPS[fps_byte]
        ticks_per_beat = nominal * ticks_per_frame
        # One "beat" = one nominal second of ticks at 60 bpm, stretched for 29.97.
        smpte_tempo = round(1_000_000 * nominal / real)
        messages.append(f"SMPTE time division ({real:g} fps x {ticks_per_frame} ticks) "
                        f"converted to {ticks_per_beat} ticks per beat at a fixed "
                        f"{60e6 / smpte_tempo:g} bpm")
    else:
        ticks_per_beat = division
        if ticks_per_beat == 0:
            raise MidiError("ticks per beat is 0 in the header: timing undefined")

    pos = 8 + hlen
    if hlen > 6:
        messages.append(f"header chunk length {hlen} (expected 6); extra bytes skipped")
    tracks: list[_Track] = []
    events_total = 0
    while pos < len(data):
        if len(data) - pos < 8:
            messages.append(f"{len(data) - pos} trailing bytes at byte {pos} ignored")
            break
        cid = data[pos:pos + 4]
        if cid == b"MTrk":
            tr, pos, msgs = _read_track(data, pos, len(tracks) + 1,
                                        MAX_EVENTS - events_total)
            events_total += len(tr.events)
            messages.extend(msgs)
            tracks.append(tr)
        elif _is_chunk_id(data, pos):
            length = struct.unpack(">I", data[pos + 4:pos + 8])[0]
            name = cid.decode("ascii")
            if pos + 8 + length <= len(data) and _at_boundary(data, pos + 8 + length):
                messages.append(f"unknown chunk {name!r} ({length} bytes) at byte {pos} skipped")
                pos += 8 + length
            else:
                nxt = data.find(b"MTrk", pos + 4)
                nxt = len(data) if nxt < 0 else nxt
                messages.append(f"unknown chunk {name!r} at byte {pos} with a bad length; "
                                f"{nxt - pos} bytes skipped")
                pos = nxt
        else:
            nxt = data.find(b"MTrk", pos)
            nxt = len(data) if nxt < 0 else nxt
            messages.append(f"{nxt - pos} bytes of garbage at byte {pos} skipped")
            pos = nxt
    if not tracks:
        raise MidiError("no track (MTrk chunk) in the file")
    if len(tracks) != ntracks:
        messages.append(f"header declares {ntracks} track(s), file holds {len(tracks)}")
    if fmt == 0 and len(tracks) > 1:
        messages.append(f"format 0 file with {len(tracks)} tracks read as format 1")
        fmt = 1

    for t in tracks:
        t.summary.events = [event for event in t.events if event[1]]
    body = b"".join(_encode_track(t) for t in tracks)
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), ticks_per_beat)
    return RepairResult(data=header + body, messages=messages, format=fmt,
                        ticks_per_beat=ticks_per_beat, smpte_tempo=smpte_tempo,
                        tracks=[t.summary for t in tracks])
