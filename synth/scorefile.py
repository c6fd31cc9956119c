"""Score files: a TOML container around the compact note notation.

Why over 500 lines: reader and writer of one format. The locator (key ->
line), the checker whose messages name file, line and key, the part and master
tables that arrangements reuse, and dump_score_toml, which must round-trip
what the reader accepts.

A score file has a ``[score]`` table (title, tempo, meter, key, seed, ...),
an optional ``[provenance]`` table, ``[[tempo]]``, ``[[meter]]`` and
``[[key]]`` changes at bar numbers, and one ``[parts.NAME]`` table per part
with its preset, patch overrides, mix settings and notes (in the notation of
:mod:`synth.notation` and/or as a raw ``events`` list).  The full reference is
``docs/score-format.md``.

Public API
----------
load_score_file(path) -> Score
    Read and validate a score file.
parse_score_toml(text, source="<string>") -> Score
    The same, from a string.
parse_part_table(table, *, name, score_context, source, ...) -> Part
    One ``[parts.NAME]`` table (reused by arrangement files).
parse_part_settings(table, *, name, source, ...) -> dict
    Only the instrument/mix keys of a part table, as Part field values.
ScoreContext
    What a part table needs from its score (the meter map, positions).
dump_score_toml(score) -> str
    Write a Score as a score file (notes as raw event lists).

Every problem raises :class:`~synth.errors.ScoreError` naming the file, the
line (and column) where it can be found, and the key or part and bar.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Mapping

from .errors import PatchError, ScoreError, SynthError
from .files import read_toml
from .notation import MAX_BEATS, parse_notation
from . import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
from .patch import preset_names, resolve_patch
from .params import MAX_DELAY_SECONDS, METER_NUMERATOR, TEMPO_BPM, FrozenMap, Param, suggest, validate_effect
from .score import (KeyChange, Metadata, MeterChange, MeterMap, Note, Part, Score,
                    TEMPO_RAMPS, TempoChange, TempoMap, parse_key, parse_meter)
from .units import parse_note_name

__all__ = [
    "load_score_file",
    "parse_score_toml",
    "parse_part_table",
    "parse_part_settings",
    "ScoreContext",
    "Locator",
    "dump_score_toml",
    "MAX_SECONDS",
]

#: A score longer than this (24 hours, before release tails) is refused.
MAX_SECONDS = 24 * 3600.0

_TOP_KEYS = ("score", "provenance", "tempo", "meter", "key", "parts", "master")
_SCORE_KEYS = ("title", "composer", "arranger", "seed", "tempo", "tempo_ramp", "meter", "key",
               "description", "tuning", "pickup")
_TEMPO_KEYS = ("bar", "beat", "at_beat", "bpm", "ramp")
_METER_KEYS = ("bar", "meter")
_KEY_KEYS = ("bar", "beat", "at_beat", "key")
_SETTING_KEYS = ("preset", "patch", "gain_db", "pan", "effects", "generated", "description")
_PART_KEYS = _SETTING_KEYS + ("bar", "notes", "events", "tuning")


# ---------------------------------------------------------------- locating keys in the text

_HEADER_RE = re.compile(r"^[ \t]*(\[\[?)[ \t]*(.+?)[ \t]*\]\]?[ \t]*(?:#.*)?$", re.MULTILINE)


def _split_dotted(key: str) -> tuple[str, ...]:
    """``parts."my part".patch`` -> ``("parts", "my part", "patch")`` (simple cases)."""
    out, cur, quote = [], "", None
    for ch in key:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return tuple(out)


class Locator:
    """Best-effort positions of tables, keys and strings in the TOML text (for messages)."""

    def __init__(self, text: str):
        self.text = text
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.headers = [(m.start(), _split_dotted(m.group(2)))
                        for m in _HEADER_RE.finditer(text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1

    def table_span(self, path: tuple[str, ...], nth: int = 0) -> tuple[int, int] | None:
        """(start, end) offsets of the ``nth`` table whose header is ``path``."""
        if not path:
            end = self.headers[0][0] if self.headers else len(self.text)
            return 0, end
        found = 0
        for i, (start, hpath) in enumerate(self.headers):
            if hpath == path:
                if found == nth:
                    end = self.headers[i + 1][0] if i + 1 < len(self.headers) else len(self.text)
                    return start, end
                found += 1
        return None

    def table_line(self, path: tuple[str, ...], nth: int = 0) -> int | None:
        span = self.table_span(path, nth)
        return self.line_col(span[0])[0] if span and path else None

    def key_offset(self, path: tuple[str, ...], key: str, nth: int = 0) -> int | None:
        """Offset of ``key =`` inside table ``path`` (or as a dotted key above it)."""
        span = self.table_span(path, nth)
        pattern = r"^[ \t]*(?:{k}|\"{k}\"|'{k}')[ \t]*="
        if span:
            m = re.compile(pattern.format(k=re.escape(key)), re.MULTILINE).search(
                self.text, span[0], span[1])
            if m:
                return m.start() + len(m.group()) - len(m.group().lstrip())
        # dotted forms: [parts] / bells.notes = ... or parts.bells.notes = ... at the top
        for cut in range(len(path)):
            dotted = r"[ \t]*\.[ \t]*".join(re.escape(p) for p in path[cut:] + (key,))
            outer = self.table_span(path[:cut], 0)
            if outer is None:
                continue
            m = re.compile(rf"^[ \t]*{dotted}[ \t]*=", re.MULTILINE).search(
                self.text, outer[0], outer[1])
            if m:
                return m.start() + len(m.group()) - len(m.group().lstrip())
        return None

    def key_line(self, path: tuple[str, ...], key: str, nth: int = 0) -> int | None:
        off = self.key_offset(path, key, nth)
        if off is not None:
            return self.line_col(off)[0]
        own = self.table_line(path + (key,))      # [score.x] / [parts.bells.patch]
        if own is not None:
            return own
        for hstart, hpath in self.headers:        # [scroe] or [scroe.sub]
            if hpath[:len(path) + 1] == path + (key,):
                return self.line_col(hstart)[0]
        return self.table_line(path, nth)

    def string_offset(self, path: tuple[str, ...], key: str, value: str) -> int | None:
        """Offset in the file of the first character of string ``value`` of ``key``.

        Only when the raw text between the quotes equals the value (no escapes),
        so that every character of the value maps to one character of the file.
        """
        off = self.key_offset(path, key)
        if off is None:
            return None
        m = re.compile(r"[^=]*=[ \t]*(\"\"\"|'''|\"|')").match(self.text, off)
        if not m:
            return None
        start = m.end()
        if m.group(1) in ('"""', "'''") and self.text.startswith("\n", start):
            start += 1      # TOML trims a newline right after the opening quotes
        if self.text[start:start + len(value)] == value:
            return start
        return None


@dataclass(frozen=True)
class ScoreContext:
    """What a part table needs from its score.

    Parameters
    ----------
    meters : MeterMap
        For bar numbers and bar-line checks.
    locator : object, optional
        Private: maps keys and strings to lines of the source text.
    table_path : tuple of str
        Where the part tables live (``("parts",)``), for key names in errors.
    tuning : Tuning, optional
        The score's tuning (``[score] tuning``); a part's own ``tuning`` wins.
    base_dir : str, optional
        Folder that tuning file paths are relative to (the score file's).
    """

    meters: MeterMap = field(default_factory=MeterMap)
    locator: Any = None
    table_path: tuple[str, ...] = ("parts",)
    tuning: Any = None
    base_dir: str | None = None


# ---------------------------------------------------------------- small validators

def _suggest(word: str, choices) -> str:
    """The package's one "did you mean" (:func:`synth.params.suggest`), in file order."""
    return suggest(word, choices)


class _Checker:
    """Builds errors that name the file, line and dotted key."""

    def __init__(self, source: str, locator: Locator | None, error_type=ScoreError):
        self.source = source
        self.locator = locator
        self.error_type = error_type

    def error(self, message: str, path: tuple[str, ...] = (), key: str | None = None,
              nth: int = 0, line: int | None = None, column: int | None = None,
              prefix: bool = True) -> SynthError:
        if line is None and self.locator is not None:
            line = (self.locator.key_line(path, key, nth) if key is not None
                    else self.locator.table_line(path, nth))
        dotted = ".".join(path + ((key,) if key is not None else ()))
        if path and path[0] in ("tempo", "meter", "key") and not (len(path) == 1 and path[0] == key):
            # arrays of tables: name the entry, e.g. tempo[2].bpm
            dotted = f"{path[0]}[{nth + 1}]" + "".join("." + p for p in path[1:]) + (
                f".{key}" if key is not None else "")
        if prefix and dotted and not message.startswith(dotted):
            message = f"{dotted}: {message}"
        return self.error_type(message, source=self.source, line=line, column=column)

    def unknown_keys(self, table: Mapping, allowed, path: tuple[str, ...], nth: int = 0,
                     what: str = "key") -> None:
        for k in table:
            if k not in allowed:
                where = f" in [{'.'.join(path)}]" if path else ""
                if path and path[0] in ("tempo", "meter", "key"):
                    where = f" in [[{path[0]}]] #{nth + 1}"
                raise self.error(f"unknown {what} {k!r}{where}{_suggest(k, allowed)}; allowed: "
                                 f"{', '.join(allowed)}", path, k, nth=nth, prefix=False)

    def table(self, value, path, key=None, nth=0) -> dict:
        if not isinstance(value, dict):
            raise self.error(f"must be a table, got {type(value).__name__} {value!r}", path, key, nth)
        return value

    def string(self, value, path, key, nth=0) -> str:
        if not isinstance(value, str):
            raise self.error(f"must be a string, got {value!r}", path, key, nth)
        return value

    def number(self, value, path, key, nth=0, *, low=None, high=None, low_open=False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(f"must be a finite number, got {value!r}", path, key, nth)
        if low is not None and (value <= low if low_open else value < low):
            raise self.error(f"must be {'>' if low_open else '>='} {low:g}, got {value!r}",
                             path, key, nth)
        if high is not None and value > high:
            raise self.error(f"must be <= {high:g}, got {value!r}", path, key, nth)
        return float(value)

    def integer(self, value, path, key, nth=0, *, low=None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"must be an integer, got {value!r}", path, key, nth)
        if low is not None and value < low:
            raise self.error(f"must be >= {low}, got {value!r}", path, key, nth)
        return value

    def param(self, spec: Param, value: Any, path: tuple[str, ...], key: str, nth: int = 0) -> Any:
        """``value`` checked against ``spec`` (range, unit, type); the error names file and line."""
        try:
            return spec.check(value, "", self.error_type)
        except SynthError as e:
            raise self.error(e.message, path, key, nth) from None

    def effects(self, value: Any, path: tuple[str, ...], key: str = "effects"
                ) -> tuple[FrozenMap, ...]:
        """A list of effect tables, each checked against :data:`synth.params.EFFECT_PARAMS`."""
        if not isinstance(value, list):
            raise self.error(f"must be a list of tables, got {value!r}", path, key)
        dotted = ".".join(path + (key,))
        out = []
        for i, spec in enumerate(value):
            if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
                raise self.error(f"{key}[{i}] must be a table with a string 'type', got {spec!r}",
                                 path, key)
            try:
                out.append(FrozenMap(validate_effect(spec, f"{dotted}[{i}]",
                                                     error=self.error_type)))
            except SynthError as e:
                raise self.error(e.message, path, key, prefix=False) from None
        return tuple(out)

    def boolean(self, value, path, key, nth=0) -> bool:
        if not isinstance(value, bool):
            raise self.error(f"must be true or false, got {value!r}", path, key, nth)
        return value


def _delay_beats_fit(ck: _Checker, effects: tuple, bpm: float, path: tuple[str, ...]) -> None:
    """Refuse a ``beats`` delay longer than :data:`synth.params.MAX_DELAY_SECONDS` at ``bpm``."""
    for i, fx in enumerate(effects):
        if fx["type"] == "delay" and "beats" in fx and fx["beats"] * 60.0 / bpm > MAX_DELAY_SECONDS:
            raise ck.error(f"{'.'.join(path)}.effects[{i}].beats: {fx['beats']:g} beats at "
                           f"{bpm:g} bpm last {fx['beats'] * 60.0 / bpm:g} s, above the maximum "
                           f"{MAX_DELAY_SECONDS:g} seconds of a delay", path, "effects",
                           prefix=False)


def _meter_numerator(ck: _Checker, numerator: int, path: tuple[str, ...], key: str,
                     nth: int = 0) -> None:
    try:
        METER_NUMERATOR.check(numerator, "", ck.error_type)
    except SynthError as e:
        raise ck.error(f"meter numerator: {e.message}", path, key, nth) from None


def _flatten(prefix: str, value, out: dict) -> dict:
    """Nested tables -> dotted keys: ``{"envelope": {"release": 2}}`` -> ``{"envelope.release": 2}``."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value
    return out


def _beat_of(ck: _Checker, meters: MeterMap, entry: dict, path, nth: int, what: str) -> float:
    """Absolute beat of a ``bar`` (+ ``beat``) or ``at_beat`` position."""
    if "at_beat" in entry:
        if "bar" in entry or "beat" in entry:
            raise ck.error("give either at_beat or bar (+ beat), not both", path, "at_beat", nth)
        return ck.number(entry["at_beat"], path, "at_beat", nth, low=0, high=MAX_BEATS)
    if "bar" not in entry:
        raise ck.error(f"a {what} change needs a bar (or at_beat)", path, None, nth)
    bar = ck.integer(entry["bar"], path, "bar", nth, low=meters.first_bar)
    if bar > MAX_BEATS:
        raise ck.error(f"bar {bar} is impossibly far", path, "bar", nth)
    start = meters.bar_start(bar)
    if "beat" not in entry:
        return start
    meter = meters.meter_at(start)
    if bar == 0:
        # the pickup holds the last beats of a full bar: in 4/4 with a
        # one-beat pickup, bar 0 is beat 4
        unit = 4.0 / meter.denominator
        first = meter.numerator + 1 - meters.pickup / unit
        beat = ck.number(entry["beat"], path, "beat", nth, low=1)
        if not first - 1e-9 <= beat < meter.numerator + 1:
            raise ck.error(f"beat {beat:g} is not in the pickup bar (bar 0 holds beats "
                           f"{first:g}..{meter.numerator} of a {meter} bar)", path, "beat", nth)
        return max(0.0, (beat - first) * unit)
    beat = ck.number(entry["beat"], path, "beat", nth, low=1)
    if beat >= meter.numerator + 1:
        raise ck.error(f"beat {beat:g} is past the end of bar {bar} (a {meter} bar has beats "
                       f"1..{meter.numerator}, counted in 1/{meter.denominator} notes)",
                       path, "beat", nth)
    return start + (beat - 1.0) * 4.0 / meter.denominator


# ---------------------------------------------------------------- part tables

def parse_part_settings(table: Mapping[str, Any], *, name: str, source: str = "<string>",
                        path: tuple[str, ...] | None = None, locator: Any = None,
                        error_type: type[SynthError] = ScoreError,
                        allowed: tuple[str, ...] = _SETTING_KEYS) -> dict[str, Any]:
    """Validate the instrument and mix keys of a part table.

    Parameters
    ----------
    table : mapping
        A ``[parts.NAME]`` table as parsed by :mod:`tomllib`.
    name : str
        The part's name.
    source : str
        File name for error messages.
    path : tuple of str, optional
        Dotted location of the table (default ``("parts", name)``).
    locator : optional
        Private position finder (from :class:`ScoreContext`).
    error_type : SynthError subclass
        What to raise (an arrangement file passes ``ArrangementError``).
    allowed : tuple of str
        Keys accepted; any other key is an error with a suggestion.

    Returns
    -------
    dict
        Only the keys present, as :class:`~synth.score.Part` field values
        (``preset``, ``patch`` as dotted keys, ``gain_db``, ``pan``,
        ``effects``, ``generated``, ``description``), ready for
        ``dataclasses.replace(part, **settings)``.
    """
    path = path or ("parts", name)
    ck = _Checker(source, locator, error_type)
    ck.table(table, path)
    ck.unknown_keys(table, allowed, path)
    out: dict[str, Any] = {}
    if "description" in table:
        out["description"] = ck.string(table["description"], path, "description")
    if "generated" in table:
        out["generated"] = ck.boolean(table["generated"], path, "generated")
    if "gain_db" in table:
        out["gain_db"] = ck.number(table["gain_db"], path, "gain_db", low=-120, high=24)
    if "pan" in table:
        out["pan"] = ck.number(table["pan"], path, "pan", low=-1, high=1)
    if "effects" in table:
        out["effects"] = ck.effects(table["effects"], path)
    if "patch" in table:
        out["patch"] = _flatten("", ck.table(table["patch"], path, "patch"), {})
        # a Mode-4 sample named relative to this file (not the working directory)
        sample = out["patch"].get("params.sample")
        if (isinstance(sample, str) and sample and not os.path.isabs(sample)
                and source not in ("<string>", "-") and os.path.exists(source)):
            out["patch"]["params.sample"] = os.path.join(os.path.dirname(os.path.abspath(source)),
                                                         sample)
    if "preset" in table or "patch" in table:
        names = preset_names()
        preset = ck.string(table.get("preset", "sine"), path, "preset")
        if preset not in names:
            raise ck.error(f"unknown preset {preset!r}{_suggest(preset, names)}; presets: "
                           f"{', '.join(names)}", path, "preset")
        if "preset" in table:
            out["preset"] = preset
        if "patch" in out:
            try:
                resolve_patch(preset, out["patch"])
            except PatchError as e:
                # point at the offending override's own line when the message names it
                bad = [k for k in out["patch"] if repr(k) in e.message or f"{k}:" in e.message]
                line = (locator.key_line(path + ("patch",), bad[0])
                        if bad and locator is not None else None)
                raise ck.error(e.message, path, "patch", line=line) from None
    return out


def parse_part_table(table: Mapping[str, Any], *, name: str, score_context: ScoreContext,
                     source: str = "<string>",
                     error_type: type[SynthError] = ScoreError) -> Part:
    """Build a :class:`~synth.score.Part` from one ``[parts.NAME]`` table.

    Parameters
    ----------
    table : mapping
        Keys: ``preset``, ``patch``, ``gain_db``, ``pan``, ``effects``,
        ``generated``, ``description``, ``bar`` (first bar of ``notes``,
        default 1), ``notes`` (notation string), ``events`` (list of
        ``[start_beat, duration_beats, pitch, velocity?, bend?]``).
    name : str
        Part name.
    score_context : ScoreContext
        Meter map (for bar checks) and positions for messages.
    source : str
        File name for error messages.
    error_type : SynthError subclass
        What to raise for a bad key (notation errors are always ScoreError).

    Returns
    -------
    Part
    """
    path = score_context.table_path + (name,)
    loc = score_context.locator
    ck = _Checker(source, loc, error_type)
    settings = parse_part_settings(table, name=name, source=source, path=path, locator=loc,
                                   error_type=error_type, allowed=_PART_KEYS)
    notes: list[Note] = []
    meters = score_context.meters
    if "notes" in table:
        text = ck.string(table["notes"], path, "notes")
        first_bar = ck.integer(table.get("bar", meters.first_bar), path, "bar",
                               low=meters.first_bar)
        if first_bar > MAX_BEATS:
            raise ck.error(f"bar {first_bar} is impossibly far", path, "bar")
        written = parse_notation(text, meters=meters, start_beat=meters.bar_start(first_bar),
                                 part=name, source=source, locate=_notes_locator(loc, path, text))
        tuning = (_parse_tuning(ck, table["tuning"], path, score_context.base_dir)
                  if "tuning" in table else score_context.tuning)
        if tuning is not None:
            written = _tuned(ck, written, tuning, path)
        notes.extend(written)
    elif "bar" in table:
        raise ck.error("'bar' sets where the notes begin, but the part has no notes", path, "bar")
    if "events" in table:
        notes.extend(_parse_events(ck, table["events"], path))
    try:
        return Part(name=name, notes=tuple(notes), **settings)
    except ScoreError as e:
        raise ck.error(e.message, path) from None


def _parse_tuning(ck: _Checker, value, path, base_dir):
    """``tuning = "19-edo"`` / ``"file.scl"`` / ``{ scale = "file.scl", keyboard = "file.kbm" }``."""
    from .tuning import load_tuning
    if isinstance(value, dict):
        ck.unknown_keys(value, ("scale", "keyboard"), path + ("tuning",))
        if "scale" not in value:
            raise ck.error("a tuning table needs scale (a built-in name or a .scl file)",
                           path, "tuning")
        spec = ck.string(value["scale"], path, "tuning")
        kbm = ck.string(value["keyboard"], path, "tuning") if "keyboard" in value else None
    else:
        spec, kbm = ck.string(value, path, "tuning"), None
    try:
        return load_tuning(spec, base_dir=base_dir, kbm=kbm)
    except ScoreError as e:
        if e.source:       # an error inside the .scl/.kbm file: name that file and line
            raise
        raise ck.error(e.message, path, "tuning") from None


def _tuned(ck: _Checker, notes, tuning, path) -> list[Note]:
    try:
        return [replace(n, pitch=tuning.pitch(n.pitch)) for n in notes]
    except ScoreError as e:
        raise ck.error(e.message, path, "tuning") from None


def _notes_locator(loc: Locator | None, path: tuple[str, ...], text: str):
    """Offset in the notes string -> (line, column) in the file, when it can be found."""
    base = loc.string_offset(path, "notes", text) if loc is not None else None
    if base is not None:
        return lambda offset: loc.line_col(base + offset)
    return None   # line/column inside the notes string


def _parse_events(ck: _Checker, events, path) -> list[Note]:
    if not isinstance(events, list):
        raise ck.error(f"must be a list of [start, duration, pitch, velocity] arrays, got "
                       f"{events!r}", path, "events")
    out = []
    for i, ev in enumerate(events):
        where = f"events[{i}]"

        def bad(msg):
            return ck.error(f"{where}: {msg}", path, "events")

        if not isinstance(ev, list) or not 3 <= len(ev) <= 5:
            raise bad(f"expected [start_beat, duration_beats, pitch, velocity(, bend)], got {ev!r}")
        start, dur, pitch = ev[0], ev[1], ev[2]
        for label, v in (("start", start), ("duration", dur)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise bad(f"{label} must be a number of beats, got {v!r}")
        if start < 0:
            raise bad(f"negative start {start!r}")
        if dur <= 0:
            raise bad(f"{'zero' if dur == 0 else 'negative'} duration {dur!r}")
        if start + dur > MAX_BEATS:
            raise bad(f"ends past beat {MAX_BEATS:,} (impossible length): {ev!r}")
        if isinstance(pitch, str):
            try:
                pitch_value = parse_note_name(pitch)
            except ScoreError as e:
                raise bad(e.message) from None
        elif isinstance(pitch, bool) or not isinstance(pitch, (int, float)):
            raise bad(f"pitch must be a MIDI number or a note name, got {pitch!r}")
        else:
            pitch_value = float(pitch)
        velocity = ev[3] if len(ev) > 3 else 80
        if isinstance(velocity, bool) or not isinstance(velocity, int) or not 1 <= velocity <= 127:
            raise bad(f"velocity must be an integer 1..127, got {velocity!r}")
        bend: tuple = ()
        if len(ev) > 4:
            raw = ev[4]
            if not isinstance(raw, list) or not all(
                    isinstance(b, list) and len(b) == 2 and all(
                        isinstance(x, (int, float)) and not isinstance(x, bool) for x in b)
                    for b in raw):
                raise bad(f"bend must be a list of [beat_offset, semitones] pairs, got {raw!r}")
            bend = tuple((float(a), float(b)) for a, b in raw)
        try:
            out.append(Note(float(start), float(dur), pitch_value, velocity, bend))
        except ScoreError as e:
            raise bad(e.message) from None
    return out


# ---------------------------------------------------------------- the whole file

def parse_score_toml(text: str, source: str = "<string>", *, default_title: str = "Untitled",
                     base_dir: str | None = None) -> Score:
    """Parse the text of a score file.

    Parameters
    ----------
    text : str
        TOML text (see ``docs/score-format.md``).
    base_dir : str, optional
        Folder that ``tuning`` file paths are relative to (default: the
        working directory; :func:`load_score_file` passes the file's folder).
    source : str
        Name used in error messages (usually the file path).
    default_title : str
        Title when ``[score]`` has none.

    Returns
    -------
    Score

    Raises
    ------
    ScoreError
        Naming ``source``, the line (and column) and what is wrong.
    """
    text = text.replace("\r\n", "\n")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _syntax_error(e, source) from None
    return _score_from_toml(data, text, source, default_title=default_title, base_dir=base_dir)


def _syntax_error(e: tomllib.TOMLDecodeError, source: str) -> ScoreError:
    """tomllib's message as a ScoreError with the line and column it names."""
    msg = str(e)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
    if m:
        return ScoreError(f"TOML syntax error: {msg[:m.start()]}", source=source,
                          line=int(m.group(1)), column=int(m.group(2)))
    return ScoreError(f"TOML syntax error: {msg}", source=source)


def _score_from_toml(data: dict, text: str, source: str, *, default_title: str,
                     base_dir: str | None) -> Score:
    """The Score of a parsed score file (``text`` is its source, for line numbers)."""
    loc = Locator(text)
    ck = _Checker(source, loc)

    if "arrangement" in data:
        raise ck.error("this is an arrangement file ([arrangement] table), not a score file; "
                       "load it with synth.load() or synth.arrangement", ("arrangement",))
    ck.unknown_keys(data, _TOP_KEYS, (), what="table")
    if "score" not in data:
        raise ScoreError("a score file needs a [score] table (title, tempo, meter, ...)",
                         source=source)
    head = ck.table(data["score"], ("score",))
    ck.unknown_keys(head, _SCORE_KEYS, ("score",))
    sp = ("score",)

    # -- meters first: bar numbers of every other change depend on them
    meter_text = ck.string(head.get("meter", "4/4"), sp, "meter")
    try:
        num, den = parse_meter(meter_text)
    except ScoreError as e:
        raise ck.error(e.message, sp, "meter") from None
    _meter_numerator(ck, num, sp, "meter")
    meter_changes = [MeterChange(0.0, num, den)]
    pickup = Fraction(0)
    if "pickup" in head:
        units = ck.number(head["pickup"], sp, "pickup", low=0, low_open=True)
        if units >= num:
            raise ck.error(f"a pickup bar is shorter than a bar: 0 < pickup < {num} "
                           f"(beats of the {num}/{den} meter), got {units:g}", sp, "pickup")
        pickup = Fraction(units).limit_denominator(1 << 20) * Fraction(4, den)
    meter_entries = _array_of_tables(ck, data.get("meter", []), "meter")
    seen_bars = {1: "score.meter"}
    # place each change at the bar line computed from the meters before it
    order = []
    for i, entry in enumerate(meter_entries):
        mp = ("meter",)
        ck.unknown_keys(entry, _METER_KEYS, mp, nth=i)
        if "bar" not in entry or "meter" not in entry:
            raise ck.error("a meter change needs bar and meter", mp, None, nth=i)
        bar = ck.integer(entry["bar"], mp, "bar", i, low=1)
        if bar in seen_bars:
            raise ck.error(f"bar {bar} already has a meter (from {seen_bars[bar]}); "
                           "set the first meter in [score]", mp, "bar", i)
        if bar > MAX_BEATS:
            raise ck.error(f"bar {bar} is impossibly far", mp, "bar", i)
        seen_bars[bar] = f"[[meter]] #{i + 1}"
        try:
            mnum, mden = parse_meter(ck.string(entry["meter"], mp, "meter", i))
        except ScoreError as e:
            raise ck.error(e.message, mp, "meter", i) from None
        _meter_numerator(ck, mnum, mp, "meter", i)
        order.append((bar, mnum, mden))
    order.sort()
    beat, prev_bar, prev_len = pickup, 1, Fraction(4 * num, den)
    for bar, mnum, mden in order:
        beat += (bar - prev_bar) * prev_len
        meter_changes.append(MeterChange(float(beat), mnum, mden))
        prev_bar, prev_len = bar, Fraction(4 * mnum, mden)
    meters = MeterMap(meter_changes, pickup=float(pickup))

    # -- tempo
    bpm0 = ck.param(TEMPO_BPM, head.get("tempo", 120.0), sp, "tempo")
    tempo_changes = [TempoChange(0.0, bpm0, _ramp_of(ck, head.get("tempo_ramp", "step"), sp,
                                                     "tempo_ramp"))]
    tempo_at: dict[float, int] = {0.0: -1}
    for i, entry in enumerate(_array_of_tables(ck, data.get("tempo", []), "tempo")):
        tp = ("tempo",)
        ck.unknown_keys(entry, _TEMPO_KEYS, tp, nth=i)
        if "bpm" not in entry:
            raise ck.error("a tempo change needs bpm", tp, None, nth=i)
        bpm = ck.param(TEMPO_BPM, entry["bpm"], tp, "bpm", i)
        at = _beat_of(ck, meters, entry, tp, i, "tempo")
        if at in tempo_at:
            other = "score.tempo" if tempo_at[at] < 0 else f"[[tempo]] #{tempo_at[at] + 1}"
            raise ck.error(f"two tempos at beat {at:g} (this one and {other})", tp, "bpm", i)
        tempo_at[at] = i
        tempo_changes.append(TempoChange(at, bpm, _ramp_of(ck, entry.get("ramp", "step"), tp,
                                                           "ramp", i)))
    tempo_changes.sort(key=lambda c: c.beat)
    if tempo_changes[-1].ramp != "step":
        last = tempo_at[tempo_changes[-1].beat]
        where, key, nth = (sp, "tempo_ramp", 0) if last < 0 else (("tempo",), "ramp", last)
        raise ck.error(f"the tempo at beat {tempo_changes[-1].beat:g} ramps "
                       f"({tempo_changes[-1].ramp}) but no later [[tempo]] follows to ramp to",
                       where, key, nth)
    tempo = TempoMap(tempo_changes)

    # -- keys
    keys = []
    if "key" in head:
        try:
            tonic, mode = parse_key(ck.string(head["key"], sp, "key"))
        except ScoreError as e:
            raise ck.error(e.message, sp, "key") from None
        keys.append(KeyChange(0.0, tonic, mode))
    for i, entry in enumerate(_array_of_tables(ck, data.get("key", []), "key")):
        kp = ("key",)
        ck.unknown_keys(entry, _KEY_KEYS, kp, nth=i)
        if "key" not in entry:
            raise ck.error("a key change needs key", kp, None, nth=i)
        try:
            tonic, mode = parse_key(ck.string(entry["key"], kp, "key", i))
        except ScoreError as e:
            raise ck.error(e.message, kp, "key", i) from None
        keys.append(KeyChange(_beat_of(ck, meters, entry, kp, i, "key"), tonic, mode))

    # -- metadata
    provenance = ck.table(data.get("provenance", {}), ("provenance",))
    for k, v in provenance.items():
        ck.string(v, ("provenance",), k)
    seed = ck.integer(head.get("seed", 0), sp, "seed", low=0)
    metadata = Metadata(
        title=ck.string(head.get("title", default_title), sp, "title"),
        composer=ck.string(head.get("composer", ""), sp, "composer"),
        arranger=ck.string(head.get("arranger", ""), sp, "arranger"),
        seed=seed,
        provenance=dict(provenance),
        description=ck.string(head.get("description", ""), sp, "description"),
    )

    # -- parts, in file order
    parts_table = ck.table(data.get("parts", {}), ("parts",))
    tuning = _parse_tuning(ck, head["tuning"], sp, base_dir) if "tuning" in head else None
    context = ScoreContext(meters=meters, locator=loc, tuning=tuning, base_dir=base_dir)
    parts = [parse_part_table(ck.table(t, ("parts", name)), name=name, score_context=context,
                              source=source)
             for name, t in parts_table.items()]
    master = parse_master_table(ck.table(data.get("master", {}), ("master",)), source=source,
                                locator=loc)
    for part in parts:                  # a delay in beats: at most 10 s at the first tempo
        _delay_beats_fit(ck, part.effects, bpm0, ("parts", part.name))
    _delay_beats_fit(ck, master, bpm0, ("master",))
    score = Score(parts=tuple(parts), tempo=tempo, meters=meters, keys=tuple(keys),
                  metadata=metadata, master_effects=master)
    seconds = score.duration_seconds
    if seconds > MAX_SECONDS:
        raise ScoreError(f"impossible length: the notes last {seconds / 3600:.1f} hours "
                         f"(limit {MAX_SECONDS / 3600:g} hours)", source=source)
    return score


def parse_master_table(table: Mapping[str, Any], *, source: str, locator: Locator | None = None,
                       error_type: type[SynthError] = ScoreError) -> tuple[FrozenMap, ...]:
    """The ``[master]`` table: ``effects = [{type = "reverb", ...}, ...]`` on the mix.

    Returns the effect settings (validated by building them, so a bad type
    or parameter is an error naming ``master.effects``).
    """
    ck = _Checker(source, locator or Locator(""))
    try:
        ck.unknown_keys(table, ("effects",), ("master",))
        effects = ck.effects(table.get("effects", []), ("master",))
        try:
            from .fx import build_chain
            from .errors import PatchError
            build_chain(effects, sr=44100, bpm=120.0, where="master.effects")
        except PatchError as e:
            raise ck.error(e.message, ("master",), "effects") from None
    except ScoreError as e:
        if error_type is ScoreError:
            raise
        raise error_type(e.message, source=e.source, line=e.line, column=e.column) from None
    return effects


def _ramp_of(ck: _Checker, value, path, key: str, nth: int | None = None) -> str:
    text = ck.string(value, path, key, nth or 0)
    if text not in TEMPO_RAMPS:
        raise ck.error(f"must be one of {', '.join(map(repr, TEMPO_RAMPS))}, got {text!r}",
                       path, key, nth or 0)
    return text


def _array_of_tables(ck: _Checker, value, key: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ck.error(f"must be an array of tables ([[{key}]]), got {value!r}", (key,))
    return value


def load_score_file(path: str | os.PathLike[str]) -> Score:
    """Read a score file (``.toml``) as a :class:`~synth.score.Score`.

    Parameters
    ----------
    path : str or os.PathLike

    Raises
    ------
    ScoreError
        For anything wrong in the file (TOML syntax, non-UTF-8 bytes,
        unknown keys, notation errors, bars that do not add up, ...), with
        the file, line/column and key or part and bar.
    OSError
        If the file cannot be read.
    """
    source = os.fspath(path)
    doc = read_toml(source, error_type=ScoreError, kind="score files")
    e = doc.error
    if isinstance(e, UnicodeDecodeError):
        raw = doc.raw
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ScoreError(f"not UTF-8: byte {raw[e.start]:#04x} at byte offset {e.start} "
                         "(save the file as UTF-8)", source=source, line=line,
                         column=column) from None
    if isinstance(e, tomllib.TOMLDecodeError):
        raise _syntax_error(e, source) from None
    if e is not None:
        raise e                  # RecursionError: the loader words it
    stem = os.path.splitext(os.path.basename(source))[0]
    return _score_from_toml(doc.data, doc.text, source, default_title=stem,
                            base_dir=os.path.dirname(os.path.abspath(source)))


# ---------------------------------------------------------------- writing

_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY_RE.match(key) else _toml_string(key)


def _toml_string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ScoreError(f"cannot write a non-finite number {v!r} to a score file")
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(x)}"
                                for k, x in v.items()) + " }"
    if hasattr(v, "item"):            # numpy scalar
        return _toml_value(v.item())
    raise ScoreError(f"cannot write {type(v).__name__} value {v!r} to a score file")


def dump_score_toml(score: Score) -> str:
    """Write ``score`` as the text of a score file.

    Notes are written as raw ``events`` lists (exact floats, with bends), so
    ``parse_score_toml(dump_score_toml(s))`` rebuilds the same notes, tempo,
    meters, keys, metadata and part settings.  Tempo and key changes are
    written at absolute beats (``at_beat``), meter changes at bar numbers.

    Parameters
    ----------
    score : Score

    Returns
    -------
    str
        TOML text.
    """
    md = score.metadata
    lines = ["[score]", f"title = {_toml_string(md.title)}"]
    for key in ("composer", "arranger", "description"):
        if getattr(md, key):
            lines.append(f"{key} = {_toml_string(getattr(md, key))}")
    lines.append(f"seed = {int(md.seed)}")
    lines.append(f"tempo = {_toml_value(float(score.tempo.changes[0].bpm))}")
    if score.tempo.changes[0].ramp != "step":
        lines.append(f"tempo_ramp = {_toml_string(score.tempo.changes[0].ramp)}")
    lines.append(f"meter = {_toml_string(str(score.meters.changes[0]))}")
    if score.meters.pickup:
        units = score.meters.pickup * score.meters.changes[0].denominator / 4
        lines.append(f"pickup = {_toml_value(float(units))}")
    first_key = score.keys[0] if score.keys and score.keys[0].beat == 0 else None
    if first_key is not None:
        lines.append(f"key = {_toml_string(str(first_key))}")
    if md.provenance:
        lines += ["", "[provenance]"]
        lines += [f"{_toml_key(str(k))} = {_toml_string(str(v))}" for k, v in md.provenance.items()]
    if score.master_effects:
        lines += ["", "[master]",
                  f"effects = {_toml_value([dict(e) for e in score.master_effects])}"]
    for c in score.tempo.changes[1:]:
        lines += ["", "[[tempo]]", f"at_beat = {_toml_value(float(c.beat))}",
                  f"bpm = {_toml_value(float(c.bpm))}"]
        if c.ramp != "step":
            lines.append(f"ramp = {_toml_string(c.ramp)}")
    for c in score.meters.changes[1:]:
        lines += ["", "[[meter]]", f"bar = {score.meters.bar_at(c.beat)}",
                  f"meter = {_toml_string(str(c))}"]
    for k in score.keys:
        if k is first_key:
            continue
        lines += ["", "[[key]]", f"at_beat = {_toml_value(float(k.beat))}",
                  f"key = {_toml_string(str(k))}"]
    for part in score.parts:
        p = ("parts", part.name)
        header = ".".join(_toml_key(x) for x in p)
        lines += ["", f"[{header}]", f"preset = {_toml_string(part.preset)}",
                  f"gain_db = {_toml_value(float(part.gain_db))}",
                  f"pan = {_toml_value(float(part.pan))}",
                  f"generated = {_toml_value(bool(part.generated))}"]
        if part.description:
            lines.append(f"description = {_toml_string(part.description)}")
        if part.effects:
            lines.append(f"effects = {_toml_value([dict(e) for e in part.effects])}")
        lines.append("events = [")
        for n in part.notes:
            ev = [float(n.start), float(n.duration), float(n.pitch), int(n.velocity)]
            if n.bend:
                ev.append([[float(a), float(b)] for a, b in n.bend])
            lines.append(f"  {_toml_value(ev)},")
        lines.append("]")
        if part.patch:
            lines += ["", f"[{header}.patch]"]
            for k, v in part.patch.items():
                dotted = ".".join(_toml_key(seg) for seg in str(k).split("."))
                lines.append(f"{dotted} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"
