"""MusicXML (``.musicxml``, ``.xml``, compressed ``.mxl``) -> :class:`~synth.score.Score`.

Why over 500 lines: the subset of MusicXML that synth reads, in one reader:
unzip and entity guard, part list, measures with backup/forward, repeats and
endings (playback_order), tempo and dynamics. Each step reads state the one
before it built.

Read with the standard library's :mod:`xml.etree.ElementTree` rather than a
third-party library: what synth needs (notes, chords, ties, voices,
backup/forward, tempo, meter, key, dynamics, MIDI instruments) is a small,
well-specified subset of the partwise format, and the libraries that read all
of MusicXML (music21, partitura) are large dependencies for it -- music21
alone pulls in matplotlib and takes seconds to import.  See ``docs/midi.md``.

Rules
-----
* ``score-partwise`` is read as is; ``score-timewise`` is regrouped by part.
* Times are exact: positions are :class:`fractions.Fraction` of a quarter
  note (``duration / divisions``), converted to float beats once.
* ``<chord/>`` notes start with the previous note; ``<backup>`` and
  ``<forward>`` move the position; a measure lasts as far as its furthest
  position, so voices need no special case; a first measure shorter than a
  bar of its meter is a pickup (bar 0 of the meter map).
* Ties (``<tie type="start|stop">``) merge notes of the same pitch and voice
  whose end and start meet.  Grace notes are left out (they take no time);
  cue notes take time but do not sound.
* ``<alter>`` may be fractional: microtones become fractional pitches.
* Tempo: ``<sound tempo>`` (in a direction or the measure); meter and key
  come from ``<attributes>`` (of the first part that has them).
* Velocity: the note's ``dynamics`` attribute (percent of 90), else the last
  dynamic mark (``pp`` .. ``ff``) or ``<sound dynamics>``, else 80; a
  ``<wedge>`` hairpin spreads the notes evenly up to the next dynamic mark;
  ``<articulations>`` (staccato, accent, ...) act as in the notation
  (:data:`synth.notation.ARTICULATIONS`), and so do ``<slur>`` s (legato).
* Tempo also from ``<metronome>`` marks and tempo words (:data:`TEMPO_WORDS`)
  when a direction has no ``<sound tempo>``.
* Presets: ``<midi-program>`` through the GM table of :mod:`synth.midi.gm`;
  ``<midi-channel>10</midi-channel>`` or unpitched notes make a ``drums``
  part (the drum key comes from ``<midi-unpitched>``).
* Repeats, endings (voltas), D.C., D.S., Coda and Fine are expanded: the
  measures are read in the order they are played (:func:`playback_order`).

Bounded: files (or the XML inside an ``.mxl``) above :data:`MAX_XML_BYTES`
are refused, and a document declaring entities is refused (no entity
expansion attacks).
"""

from __future__ import annotations

import io
import lzma
import math
import os
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from fractions import Fraction

from .errors import ScoreError, SynthWarning
from .files import read_bytes
from .midi import gm
from .midi.reader import build_meter_map
from .notation import ARTICULATIONS, LEGATO_OVERLAP
from .score import KeyChange, MeterChange, Metadata, Note, Part, Score, TempoMap
from .units import PITCH_CLASSES

__all__ = ["MAX_XML_BYTES", "MAX_NOTES", "TEMPO_WORDS", "read_musicxml", "read_musicxml_report",
           "playback_order"]

#: Largest MusicXML document accepted (bytes, after unzipping).
MAX_XML_BYTES = 64 * 1024 * 1024
#: Most notes accepted in one file.
MAX_NOTES = 500_000
_DEFAULT_VELOCITY = 80
_MAX_NUMBER = 10**9        # no duration, divisions, tempo or percentage is larger
_DYNAMICS = {"pppp": 10, "ppp": 20, "pp": 33, "p": 49, "mp": 64, "mf": 80, "f": 96,
             "ff": 112, "fff": 120, "ffff": 127, "sf": 100, "sfz": 100, "fz": 100,
             "sffz": 112, "fp": 96, "rf": 96, "rfz": 100, "sfp": 100, "pf": 49}
_FIFTHS_MAJOR = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B",
                 "F#", "C#"]
_FIFTHS_MINOR = ["Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#",
                 "D#", "A#"]


def read_musicxml(path_or_bytes: str | os.PathLike[str] | bytes, *,
                  source: str | None = None) -> Score:
    """Read a MusicXML file (``.musicxml``, ``.xml`` or ``.mxl``) as a Score.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike or bytes
    source : str, optional
        Name used in messages (default: the path).

    Returns
    -------
    Score
        Approximations are reported as :class:`~synth.errors.SynthWarning`.

    Raises
    ------
    ScoreError
        Unreadable, not MusicXML, or a bad value (naming part and measure).
    """
    score, messages = read_musicxml_report(path_or_bytes, source=source)
    for m in messages:
        warnings.warn(SynthWarning(m), stacklevel=2)
    return score


def read_musicxml_report(path_or_bytes: str | os.PathLike[str] | bytes, *,
                         source: str | None = None) -> tuple[Score, list[str]]:
    """Like :func:`read_musicxml`, returning ``(score, messages)`` instead of warning."""
    data, path = read_bytes(path_or_bytes, limit=MAX_XML_BYTES, error_type=ScoreError)
    source = source or path
    try:
        return _read(data, source)
    except ScoreError as e:
        raise (e.with_source(source) if source else e) from None


def _unzip(data: bytes) -> bytes:
    """The MusicXML document inside an ``.mxl`` archive."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        target = None
        if "META-INF/container.xml" in names:
            container = ET.fromstring(_read_member(zf, "META-INF/container.xml"))
            root = container.find(".//rootfile")
            if root is not None:
                target = root.get("full-path")
        if target is None:
            candidates = [n for n in names if not n.startswith("META-INF/")
                          and n.lower().endswith((".musicxml", ".xml"))]
            if not candidates:
                raise ScoreError(".mxl archive holds no .musicxml or .xml file")
            target = candidates[0]
        if target not in names:
            raise ScoreError(f".mxl archive: container names {target!r}, which is missing")
        return _read_member(zf, target)
    except ScoreError:
        raise
    except (zipfile.BadZipFile, EOFError, ET.ParseError, KeyError, NotImplementedError,
            zlib.error, RuntimeError, ValueError, OSError, lzma.LZMAError) as e:
        # zlib.error: a corrupt deflate stream; RuntimeError: an encrypted member;
        # BadZipFile also covers a member whose CRC-32 does not match
        reason = str(e) or type(e).__name__
        if isinstance(e, RuntimeError) and "encrypted" in reason:
            reason = "a member is encrypted (password-protected)"
        raise ScoreError(f"broken .mxl archive: {reason}") from None


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_XML_BYTES:
        raise ScoreError(f".mxl member {name!r} unpacks to {info.file_size} bytes; larger than "
                         f"the {MAX_XML_BYTES}-byte limit")
    with zf.open(info) as f:
        out = f.read(MAX_XML_BYTES + 1)
    if len(out) > MAX_XML_BYTES:
        raise ScoreError(f".mxl member {name!r} is larger than the {MAX_XML_BYTES}-byte limit")
    return out


def _timewise_to_partwise(root: ET.Element) -> list[tuple[str, list[ET.Element]]]:
    parts: dict[str, list[ET.Element]] = {}
    for measure in root.findall("measure"):
        for part in measure.findall("part"):
            m = ET.Element("measure", measure.attrib)
            m.extend(list(part))
            parts.setdefault(part.get("id", ""), []).append(m)
    return list(parts.items())


def _text(el: ET.Element | None, path: str, default: str | None = None) -> str | None:
    found = el.find(path) if el is not None else None
    if found is None or found.text is None:
        return default
    return found.text.strip()


def _number(text: str | None, what: str, where: str, kind=float):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise ScoreError(f"{where}: {what} is not a number: {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise ScoreError(f"{where}: {what} is not a finite number: {text!r}")
    if abs(value) > _MAX_NUMBER:
        raise ScoreError(f"{where}: {what} is out of range: {text!r}")
    return value


class _Prologue(Exception):
    """Raised by the prologue scan: ``args[0]`` is True when an entity was declared."""


def _declares_entities(data: bytes) -> bool:
    """True if the document's prologue declares an entity, in whatever encoding it uses.

    The byte search for ``<!ENTITY`` above only sees UTF-8 or ASCII; expat
    decodes UTF-16 and declared 8-bit encodings itself, so the prologue (up
    to the root element, where any DOCTYPE must be) is scanned with it.
    Syntax errors are left for the real parse to report.
    """
    from xml.parsers import expat

    scan = expat.ParserCreate()

    def entity(*_):
        raise _Prologue(True)

    def start(*_):
        raise _Prologue(False)

    scan.EntityDeclHandler = entity
    scan.UnparsedEntityDeclHandler = entity
    scan.StartElementHandler = start
    try:
        for a in range(0, len(data), 1 << 16):
            scan.Parse(data[a:a + (1 << 16)], False)
        scan.Parse(b"", True)
    except _Prologue as e:
        return bool(e.args[0])
    except (expat.ExpatError, LookupError, ValueError):
        return False
    return False


def _read(data: bytes, source: str | None) -> tuple[Score, list[str]]:
    warn: list[str] = []
    if data[:4] == b"PK\x03\x04":
        data = _unzip(data)
    if len(data) > MAX_XML_BYTES:
        raise ScoreError(f"document is larger than the {MAX_XML_BYTES}-byte limit")
    if b"<!ENTITY" in data or _declares_entities(data):
        raise ScoreError("document declares XML entities; refused (MusicXML needs none)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        line, col = e.position
        raise ScoreError(f"not well-formed XML ({str(e).split(':')[0]})", line=line,
                         column=col + 1) from None
    except (LookupError, ValueError) as e:     # e.g. an unknown declared encoding
        raise ScoreError(f"cannot decode the XML: {e}") from None
    tag = root.tag.rsplit("}", 1)[-1]
    if tag == "score-partwise":
        part_elems = [(p.get("id", ""), p.findall("measure")) for p in root.findall("part")]
    elif tag == "score-timewise":
        part_elems = _timewise_to_partwise(root)
    else:
        raise ScoreError(f"not a MusicXML score: root element is <{tag}>, expected "
                         f"<score-partwise> or <score-timewise>")

    info = _part_list(root)
    title = (_text(root, "work/work-title") or _text(root, "movement-title") or
             (os.path.splitext(os.path.basename(source))[0] if source else "Untitled"))
    composer = ""
    for creator in root.findall("identification/creator"):
        if creator.get("type") == "composer" and creator.text:
            composer = creator.text.strip()
    rights = _text(root, "identification/rights", "")

    tempos: dict[Fraction, float] = {}
    meters: list[MeterChange] = []
    keys: dict[Fraction, KeyChange] = {}
    meter_part = key_part = None
    parts: list[Part] = []
    used: set[str] = set()
    total = 0
    pickup = None
    order = playback_order(part_elems[0][1]) if part_elems else []
    for pid, measures in part_elems:
        measures = [measures[i] for i in order if i < len(measures)]
        pinfo = info.get(pid, {"name": pid or "part", "program": None, "channel": None,
                               "unpitched": {}})
        notes, unpitched_seen, first_len = _read_part(pid, pinfo, measures, tempos, meters,
                                                      keys, warn, meter_part, key_part)
        if pickup is None and measures and order and order[0] == 0:
            pickup = first_len
        if meters and meter_part is None:
            meter_part = pid
        if keys and key_part is None:
            key_part = pid
        total += len(notes)
        if total > MAX_NOTES:
            raise ScoreError(f"more than {MAX_NOTES} notes; refusing to read")
        drums = pinfo["channel"] == 10 or (unpitched_seen and
                                            all(d for *_, d in notes))
        if drums:
            preset, desc = gm.DRUM_PRESET, "percussion"
        elif pinfo["program"] is not None:
            preset = gm.preset_for_program(pinfo["program"] - 1)
            desc = f"GM program {pinfo['program']} ({gm.family_name(pinfo['program'] - 1)})"
        else:
            preset, desc = gm.preset_for_program(0), "no MIDI instrument given: GM piano"
        name, n = pinfo["name"], 2
        while name in used:
            name, n = f"{pinfo['name']} {n}", n + 1
        used.add(name)
        built = tuple(Note(start=float(s), duration=float(d), pitch=p, velocity=v)
                      for s, d, p, v, _ in notes if d > 0)
        parts.append(Part(name=name, notes=built, preset=preset, description=desc))

    changes = sorted(tempos.items())
    tempo_list = [(float(b), bpm) for b, bpm in changes]
    if not tempo_list or tempo_list[0][0] > 0:
        tempo_list.insert(0, (0.0, 120.0))
    provenance = {"source": os.path.basename(source)} if source else {}
    if rights:
        provenance["license"] = rights
    score = Score(parts=tuple(parts), tempo=TempoMap(tempo_list),
                  meters=build_meter_map(meters, warn, _pickup(meters, pickup)),
                  keys=tuple(keys[b] for b in sorted(keys)),
                  metadata=Metadata(title=title, composer=composer, provenance=provenance))
    return score, warn


def _pickup(meters: list[MeterChange], first_len) -> float:
    """Length in beats of a first measure shorter than a bar of its meter (else 0)."""
    if not first_len or not meters:
        return 0.0
    first = min(meters, key=lambda c: c.beat)
    if first.beat == 0 and 0 < first_len < first.bar_beats:
        return float(first_len)
    return 0.0


def _part_list(root: ET.Element) -> dict[str, dict]:
    out = {}
    for sp in root.findall("part-list/score-part"):
        pid = sp.get("id", "")
        where = f"part {pid!r}"
        name = _text(sp, "part-name") or _text(sp, "part-abbreviation") or pid or "part"
        program = channel = None
        unpitched: dict[str, int] = {}
        for mi in sp.findall("midi-instrument"):
            if program is None and _text(mi, "midi-program"):
                program = _number(_text(mi, "midi-program"), "midi-program", where, int)
                if not 1 <= program <= 128:
                    raise ScoreError(f"{where}: midi-program must be 1..128, got {program!r}")
            if channel is None and _text(mi, "midi-channel"):
                channel = _number(_text(mi, "midi-channel"), "midi-channel", where, int)
            if _text(mi, "midi-unpitched"):
                key = _number(_text(mi, "midi-unpitched"), "midi-unpitched", where, int)
                if 1 <= key <= 128:
                    unpitched[mi.get("id", "")] = key - 1
        out[pid] = {"name": name, "program": program, "channel": channel,
                    "unpitched": unpitched}
    return out


def _read_part(pid, pinfo, measures, tempos, meters, keys, warn, meter_part, key_part):
    """Notes of one part: list of [start, duration, pitch, velocity, unpitched] (Fractions)."""
    divisions = Fraction(1)
    measure_start = Fraction(0)
    velocity = _DEFAULT_VELOCITY
    notes: list[list] = []
    open_ties: dict[tuple[str, float], int] = {}
    unpitched_seen = False
    take_meter = meter_part in (None, pid)
    take_key = key_part in (None, pid)
    first_len = None
    # an open hairpin: [direction (+1/-1), velocity at its start, indices of its notes, where]
    hairpin: list | None = None
    slurs: set[str] = set()              # numbers of the slurs open in this part
    slurred: set[int] = set()            # notes under a slur that goes on after them

    def set_dynamic(value: int, where: str) -> int:
        nonlocal hairpin
        if hairpin is not None:
            direction, v0, idx, _ = hairpin
            if idx and (value - v0) * direction > 0:
                last = len(idx) - 1
                for k, group in enumerate(idx):
                    for i in group:
                        notes[i][3] = (value if last == 0
                                       else int(round(v0 + (value - v0) * k / last)))
            elif idx:
                warn.append(f"{where}: a {'crescendo' if direction > 0 else 'diminuendo'} "
                            f"ends on a dynamic that goes the other way; velocities unchanged")
            hairpin = None
        return value

    for mi, measure in enumerate(measures):
        where = f"part {pid!r} measure {measure.get('number', mi + 1)}"
        pos = measure_start
        furthest = measure_start
        last_start = measure_start
        for el in measure:
            tag = el.tag
            if tag == "attributes":
                if _text(el, "divisions"):
                    d = _number(_text(el, "divisions"), "divisions", where, Fraction)
                    if d <= 0:
                        raise ScoreError(f"{where}: divisions must be > 0, got {str(d)!r}")
                    divisions = d
                time = el.find("time")
                if take_meter and time is not None and time.find("beats") is not None:
                    try:
                        num = sum(int(x) for x in (_text(time, "beats") or "").split("+"))
                        den = int(_text(time, "beat-type"))
                        meters.append(MeterChange(float(pos), num, den))
                    except (TypeError, ValueError, ScoreError) as e:
                        warn.append(f"{where}: time signature dropped ({e})")
                key = el.find("key")
                if take_key and key is not None and _text(key, "fifths") is not None:
                    fifths = _number(_text(key, "fifths"), "key fifths", where, int)
                    mode = (_text(key, "mode") or "major").lower()
                    if -7 <= fifths <= 7 and mode in ("major", "minor"):
                        table = _FIFTHS_MINOR if mode == "minor" else _FIFTHS_MAJOR
                        keys[pos] = KeyChange(float(pos), table[fifths + 7], mode)
                    else:
                        warn.append(f"{where}: key (fifths {fifths}, mode {mode!r}) dropped")
            elif tag == "direction":
                offset = _text(el, "offset")
                at = pos + (_number(offset, "direction offset", where, Fraction) / divisions
                            if offset else 0)
                sounds = el.findall("sound")
                for snd in sounds:
                    velocity = _sound(snd, at, tempos, velocity, where)
                if not any(snd.get("tempo") for snd in sounds):
                    bpm = _tempo_words(el, where)
                    if bpm:
                        tempos[at] = bpm
                for dyn in el.findall("direction-type/dynamics"):
                    for mark in dyn:
                        if mark.tag in _DYNAMICS:
                            velocity = set_dynamic(_DYNAMICS[mark.tag], where)
                for wedge in el.findall("direction-type/wedge"):
                    kind = wedge.get("type")
                    if kind in ("crescendo", "diminuendo"):
                        hairpin = [1 if kind == "crescendo" else -1, velocity, [], where]
            elif tag == "sound":
                velocity = _sound(el, pos, tempos, velocity, where)
            elif tag in ("backup", "forward"):
                dur = _number(_text(el, "duration"), f"{tag} duration", where, Fraction)
                pos = pos - dur / divisions if tag == "backup" else pos + dur / divisions
                if pos < measure_start:
                    warn.append(f"{where}: backup before the measure start; clamped")
                    pos = measure_start
                furthest = max(furthest, pos)
            elif tag == "note":
                if el.find("grace") is not None:
                    continue
                dur = _number(_text(el, "duration", "0"), "note duration", where, Fraction)
                if dur < 0:
                    raise ScoreError(f"{where}: note duration must be >= 0, got {str(dur)!r}")
                length = dur / divisions
                start = last_start if el.find("chord") is not None else pos
                if el.find("chord") is None:
                    pos = pos + length
                    last_start = start
                furthest = max(furthest, start + length)
                if el.find("rest") is not None or el.find("cue") is not None or length == 0:
                    continue
                pitch, unpitched = _pitch(el, pinfo, where, warn)
                if pitch is None:
                    continue
                unpitched_seen |= unpitched
                vel = velocity
                if el.get("dynamics"):
                    pct = _number(el.get("dynamics"), "note dynamics", where)
                    vel = max(1, min(127, round(90 * pct / 100)))
                marks = [_ARTICULATION_TAGS[a.tag] for a in el.findall("notations/articulations/*")
                         if a.tag in _ARTICULATION_TAGS]
                if marks:
                    vel = min(127, vel + sum(ARTICULATIONS[m][2] for m in marks))
                voice = _text(el, "voice", "1")
                ties = {t.get("type") for t in el.findall("tie")} | \
                    {t.get("type") for t in el.findall("notations/tied")}
                tie_key = (voice, pitch)
                idx = open_ties.pop(tie_key, None) if "stop" in ties else None
                factor = Fraction(min((ARTICULATIONS[m][1] for m in marks), default=1.0))
                for sl in el.findall("notations/slur"):
                    if sl.get("type") == "start":
                        slurs.add(sl.get("number", "1"))
                    elif sl.get("type") == "stop":
                        slurs.discard(sl.get("number", "1"))
                if idx is not None and notes[idx][0] + notes[idx][1] == start:
                    notes[idx][1] += length
                    notes[idx][5] = factor
                else:
                    idx = len(notes)
                    notes.append([start, length, pitch, vel, unpitched, factor])
                    if hairpin is not None:     # a chord is one step of the hairpin
                        if el.find("chord") is not None and hairpin[2]:
                            hairpin[2][-1].append(idx)
                        else:
                            hairpin[2].append([idx])
                if "start" in ties:
                    open_ties[tie_key] = idx
                if slurs:
                    slurred.add(idx)
                else:
                    slurred.discard(idx)
        if first_len is None:
            first_len = furthest - measure_start
        measure_start = furthest
    if hairpin is not None and hairpin[2]:
        warn.append(f"{hairpin[3]}: a {'crescendo' if hairpin[0] > 0 else 'diminuendo'} "
                    "never reaches a dynamic mark; velocities unchanged")
    starts = {n[0] for n in notes}
    for i, n in enumerate(notes):  # articulations: the sounding length (staccato, ...)
        factor = n.pop()
        if i in slurred and n[0] + n[1] in starts:
            n[1] = n[1] + LEGATO_OVERLAP     # legato: held into the next note, as `{ }` does
        else:
            n[1] = n[1] * factor
    return notes, unpitched_seen, first_len


#: MusicXML articulation elements -> the notation's marks (``ARTICULATIONS``).
_ARTICULATION_TAGS = {"staccato": ".", "staccatissimo": "!", "spiccato": "!", "accent": ">",
                      "strong-accent": "^", "tenuto": "-"}

#: Tempo words (lower case, first word) -> quarter notes per minute, when a
#: direction gives no ``<sound tempo>`` and no metronome mark.
TEMPO_WORDS = {"grave": 40, "largo": 50, "lento": 55, "larghetto": 63, "adagio": 70,
               "andante": 90, "andantino": 96, "moderato": 110, "allegretto": 116,
               "allegro": 132, "vivace": 156, "presto": 180, "prestissimo": 200}
_BEAT_UNITS = {"whole": 4, "half": 2, "quarter": 1, "eighth": Fraction(1, 2),
               "16th": Fraction(1, 4), "32nd": Fraction(1, 8)}


def _tempo_words(el: ET.Element, where: str) -> float | None:
    """Quarter-note bpm of a direction's metronome mark or tempo word, if any."""
    met = el.find("direction-type/metronome")
    if met is not None and _text(met, "per-minute"):
        try:
            per_minute = float(_text(met, "per-minute").split()[0])
        except (ValueError, IndexError):
            per_minute = None
        unit = _BEAT_UNITS.get(_text(met, "beat-unit", "quarter"))
        if per_minute and unit and 0 < per_minute <= 10000:
            if met.find("beat-unit-dot") is not None:
                unit = unit * Fraction(3, 2)
            return float(per_minute * unit)
    for words in el.findall("direction-type/words"):
        first = (words.text or "").strip().lower().split()
        if first and first[0].strip(".,;:") in TEMPO_WORDS:
            return float(TEMPO_WORDS[first[0].strip(".,;:")])
    return None


class _Marks:
    """What one measure says about the playback order."""

    __slots__ = ("forward", "backward", "times", "ending", "ending_stop", "segno", "coda",
                 "tocoda", "dacapo", "dalsegno", "fine")

    def __init__(self, measure: ET.Element):
        self.forward = self.backward = self.segno = self.coda = self.tocoda = False
        self.dacapo = self.dalsegno = self.fine = False
        self.times = 2
        self.ending: set[int] | None = None
        self.ending_stop = False
        for bl in measure.findall("barline"):
            r = bl.find("repeat")
            if r is not None:
                if r.get("direction") == "forward":
                    self.forward = True
                elif r.get("direction") == "backward":
                    self.backward = True
                    try:
                        self.times = max(1, min(100, int(r.get("times", "2"))))
                    except ValueError:
                        self.times = 2
            e = bl.find("ending")
            if e is not None:
                numbers = {int(x) for x in
                           (e.get("number") or "").replace(",", " ").replace(".", " ").split()
                           if x.isdigit()}
                if e.get("type") == "start":
                    self.ending = numbers or {1}
                elif e.get("type") in ("stop", "discontinue"):
                    self.ending_stop = True
        sounds = measure.findall("sound") + measure.findall("direction/sound")
        for snd in sounds:
            self.segno |= snd.get("segno") is not None
            self.coda |= snd.get("coda") is not None
            self.tocoda |= snd.get("tocoda") is not None
            self.dacapo |= snd.get("dacapo") == "yes"
            self.dalsegno |= snd.get("dalsegno") is not None
            self.fine |= snd.get("fine") is not None
        self.segno |= measure.find("direction/direction-type/segno") is not None
        self._words_marks(measure, sounds)

    def _words_marks(self, measure, sounds):
        """Playback words (D.C., D.S., Fine, To Coda) when no <sound> says it."""
        if any(snd.attrib.keys() & {"dacapo", "dalsegno", "fine", "tocoda"} for snd in sounds):
            return
        for w in measure.findall("direction/direction-type/words"):
            t = " ".join((w.text or "").lower().split())
            if t.startswith(("d.c.", "da capo")):
                self.dacapo = True
            elif t.startswith(("d.s.", "dal segno")):
                self.dalsegno = True
            elif t == "fine":
                self.fine = True
            elif t.startswith("to coda"):
                self.tocoda = True


def playback_order(measures: list[ET.Element]) -> list[int]:
    """Indices of ``measures`` in the order they are played.

    Expands repeats (``<repeat direction="forward|backward" times>``; a
    backward repeat without a forward one goes back to the start or to the
    end of the previous repeat), first/second/... endings (``<ending
    number="1, 2">``: on pass *k* an ending whose numbers lack *k* is
    skipped), and the jumps: ``<sound dacapo="yes">`` (D.C.), ``dalsegno``
    (D.S., back to the measure with ``segno``), ``fine`` and ``tocoda`` (to
    the measure with ``coda``), which count only after a D.C. or D.S., as
    usual.  After a jump repeats are not taken again and an ending that
    leads back into its repeat is skipped (the last ending is played).  Words
    (``D.C. al Fine``, ``D.S. al Coda``, ``Fine``, ``To Coda``) stand for the
    sound attributes when a measure has none.
    """
    n = len(measures)
    marks = [_Marks(m) for m in measures]
    group = [None] * n                     # ending id of each measure
    leads_back: dict[int, bool] = {}       # ending id -> ends with a backward repeat
    current, gid = None, 0
    for i, m in enumerate(marks):
        if m.ending is not None:
            gid += 1
            current = gid
            leads_back[current] = False
        group[i] = current
        if current is not None and m.backward:
            leads_back[current] = True
        if m.ending_stop:
            current = None
    segno = next((i for i, m in enumerate(marks) if m.segno), 0)
    order: list[int] = []
    i, repeat_start, passes, cur_pass = 0, 0, {}, 1
    jumped, used = False, set()
    cap = 64 * n + 64
    while i < n and len(order) < cap:
        m = marks[i]
        if m.forward and repeat_start != i:
            repeat_start, cur_pass = i, 1
        g = group[i]
        if g is not None and (i == 0 or group[i - 1] != g):
            numbers = next(marks[j].ending for j in range(i, n) if group[j] == g
                           and marks[j].ending is not None)
            skip = leads_back[g] if jumped else cur_pass not in numbers
            if skip:
                while i < n and group[i] == g:
                    i += 1
                continue
        order.append(i)
        if jumped and m.fine:
            break
        if jumped and m.tocoda:
            target = next((j for j in range(i + 1, n) if marks[j].coda), None)
            if target is not None:
                i = target
                continue
        if m.backward and not jumped:
            count = passes.get(i, 1)
            if count < m.times:
                passes[i] = count + 1
                cur_pass = count + 1
                i = repeat_start
                continue
            passes[i] = 1
            repeat_start, cur_pass = i + 1, 1 if g is None else cur_pass
        if (m.dacapo or m.dalsegno) and i not in used:
            used.add(i)
            jumped = True
            i = 0 if m.dacapo else segno
            continue
        i += 1
    return order


def _sound(snd: ET.Element, pos: Fraction, tempos, velocity: int, where: str) -> int:
    if snd.get("tempo"):
        bpm = _number(snd.get("tempo"), "sound tempo", where)
        if bpm > 0:
            tempos[pos] = bpm
    if snd.get("dynamics"):
        pct = _number(snd.get("dynamics"), "sound dynamics", where)
        velocity = max(1, min(127, round(90 * pct / 100)))
    return velocity


def _pitch(el: ET.Element, pinfo: dict, where: str, warn: list[str]):
    """(MIDI pitch, unpitched?) of a note element, or (None, False) to skip it."""
    p = el.find("pitch")
    if p is not None:
        step = _text(p, "step", "")
        if step.upper() not in PITCH_CLASSES:
            raise ScoreError(f"{where}: pitch step must be A..G, got {step!r}")
        octave = _number(_text(p, "octave"), "octave", where, int)
        alter = _number(_text(p, "alter", "0"), "alter", where)
        pitch = 12 * (octave + 1) + PITCH_CLASSES[step.upper()] + alter
        if not 0 <= pitch <= 127:
            warn.append(f"{where}: pitch {pitch:g} outside MIDI 0..127; note left out")
            return None, False
        return float(pitch), False
    if el.find("unpitched") is not None:
        inst = el.find("instrument")
        table = pinfo["unpitched"]
        key = table.get(inst.get("id", "")) if inst is not None else None
        if key is None and table:
            key = next(iter(table.values()))
        if key is None:
            warn.append(f"{where}: unpitched note without a <midi-unpitched> key; left out")
            return None, False
        return float(key), True
    return None, False
