"""The compact note notation of score files: text -> notes.

Why over 500 lines: one grammar. The tokenizer, the group tree and the
performer that expands repeats and checks bars against the MeterMap share the
error context (part, bar, line:column) of every token.

A part's ``notes`` string is a sequence of whitespace-separated tokens::

    mf C4:4 D4 E4:8 F4 | <C4 E4 G4>:2. | (3 G4:8 A4 B4) C5:4~ | C5:2 r:4 |

Pitches are upper-case note names with accidentals and an octave
(``C#4``, ``Eb3``, ``Bbb2``, ``F##5``, ``A4+25c``), MIDI numbers (``60``,
``60.5``, ``69-14c``) or GM drum names for drum parts (``kick``, ``snare``,
``hat``, ``woodblock``, ``gong``: :data:`synth.units.DRUM_NOTES`).  ``:N`` after a note, chord or rest sets its duration
(``1`` whole .. ``64`` sixty-fourth, then ``.`` or ``..`` for dots); a note
without one takes the previous duration (durations are *sticky*, starting at a
quarter).  ``~`` ties to the next note, ``<...>`` is a chord, ``(3 ...)`` /
``(5:4 ...)`` a tuplet, ``[...]*N`` a repeated group, ``|: ... :|`` /
``:|x3`` a repeat, ``|`` a bar line that is checked against the meter,
``ppp .. fff`` or ``v100`` set the velocity, ``r`` is a rest, ``R`` a
whole-bar rest and ``%`` starts a comment.  ``docs/score-format.md`` is the
full reference.

The parser is pure (no file I/O).  Errors are :class:`~synth.errors.ScoreError`
naming the part, the bar and the line:column of the offending token.

Public API
----------
parse_notation(text, *, meters, start_beat, part, source, locate) -> tuple of Note
DYNAMICS : dict of dynamic mark -> MIDI velocity
MAX_BEATS, MAX_NOTES : limits that refuse impossible lengths
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Union

from .errors import ScoreError
from .score import MeterMap, Note
from .units import DRUM_NOTES, parse_note_name

__all__ = [
    "parse_notation",
    "DYNAMICS",
    "DEFAULT_VELOCITY",
    "DEFAULT_DURATION",
    "MAX_BEATS",
    "MAX_NOTES",
    "ARTICULATIONS",
    "LEGATO_OVERLAP",
    "HAIRPINS",
]

#: Velocity set by each dynamic mark (evenly spaced by 16; ``mf`` = 80 is the default).
DYNAMICS: dict[str, int] = {
    "ppp": 16, "pp": 32, "p": 48, "mp": 64, "mf": 80, "f": 96, "ff": 112, "fff": 127,
}
DEFAULT_VELOCITY = DYNAMICS["mf"]
#: Duration (in beats = quarter notes) of a note before any ``:N`` is written.
DEFAULT_DURATION = Fraction(1)
#: No note may start or end past this beat (about 58 days at 120 bpm).
MAX_BEATS = 10_000_000
#: No part may hold more notes than this after repeats are expanded.
MAX_NOTES = 200_000
#: Largest tuplet count or ratio term: ``(99999999999 ...`` is refused, not divided by.
MAX_TUPLET = 128
#: Deepest nesting of tuplets, ``[...]`` groups and repeats (the performer recurses per level).
MAX_DEPTH = 64

_DURATION_VALUES = (1, 2, 4, 8, 16, 32, 64)

#: Articulation marks written after a note or chord (``C4:8-.``, ``<C4 E4>:4->``):
#: mark -> (name, factor on the sounding length, velocity added, capped at 127).
#: The written length (the time until the next note) never changes.
ARTICULATIONS: dict[str, tuple[str, float, int]] = {
    ".": ("staccato", 0.5, 0),
    "!": ("staccatissimo", 0.25, 0),
    ">": ("accent", 1.0, 16),
    "^": ("marcato", 0.75, 24),
    "-": ("tenuto", 1.0, 8),
}
#: A slurred note (``{ ... }``) that runs straight into the next note is held
#: this many beats into it, so the two overlap (legato; the envelope retriggers).
LEGATO_OVERLAP = Fraction(1, 16)
#: Words and symbols that start a hairpin (crescendo / diminuendo).
HAIRPINS = {"cresc": 1, "<<": 1, "dim": -1, "decresc": -1, ">>": -1}

# -- tokens ------------------------------------------------------------------

_DRUM_NAMES = "|".join(sorted(DRUM_NOTES, key=len, reverse=True))
_PITCH = (r"(?:(?:[A-G](?:##|#|x|bb|b|n)?-?\d+|\d+(?:\.\d+)?)(?:[+-]\d+(?:\.\d+)?c)?"
          rf"|{_DRUM_NAMES})")
_SUFFIX = (r"(?::(?P<dur>[-+]?\d+)(?P<dots>\.*))?(?P<tie>~)?(?:\*(?P<rep>\d+))?"
           r"(?P<art>(?:-[.!>^-])*)")
_EVENT_RE = re.compile(rf"^(?P<head>{_PITCH}|r|R){_SUFFIX}$")
_BARE_PITCH_RE = re.compile(rf"^{_PITCH}$")
_SUFFIX_RE = re.compile(_SUFFIX)
_VELOCITY_RE = re.compile(r"^v(\d+)$")
_MIDI_RE = re.compile(r"^(\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?c)?$")

_SCANNER = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>%[^\n]*)
  | (?P<bar>:\|:|:\|(?:x\d+)?|\|:|\|\||\|)
  | (?P<hairpin><<|>>)
  | (?P<chord_open><)
  | (?P<chord_close>>)
  | (?P<tuplet_open>\((?:\d+(?::\d+)?)?)
  | (?P<tuplet_close>\))
  | (?P<group_open>\[)
  | (?P<group_close>\])
  | (?P<slur_open>\{)
  | (?P<slur_close>\})
  | (?P<word>(?:[^\s<>()\[\]{}|%]|(?<=-)>)+)
""", re.VERBOSE)


@dataclass
class _Event:
    """A note, chord, rest (``pitches == ()``) or whole-bar rest, as written."""

    pos: int
    text: str
    pitches: tuple[float, ...]
    duration: Fraction          # written length in beats, before tuplet scaling
    velocity: int
    tie: bool = False
    repeat: int = 1
    bar_rest: bool = False
    art: str = ""               # articulation marks, e.g. ".>" (staccato + accent)
    slur: bool = False          # slurred to the next note (legato)


@dataclass
class _BarLine:
    pos: int
    text: str


@dataclass
class _Group:
    """A tuplet (``scale != 1``), a ``[...]`` group or a ``|: ... :|`` repeat."""

    pos: int
    kind: str                   # "tuplet", "group", "repeat", "root"
    text: str
    scale: Fraction = Fraction(1)
    repeat: int = 1
    items: list[Union["_Event", "_BarLine", "_Group"]] = field(default_factory=list)


LocateFn = Callable[[int], tuple[int, int]]


def _text_locator(text: str) -> LocateFn:
    """Character offset -> 1-based (line, column) inside ``text``."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def locate(offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(starts, offset) - 1
        return i + 1, offset - starts[i] + 1

    return locate


class _Context:
    """What every error message needs: part, source, position mapping."""

    def __init__(self, part: str, source: str | None, locate: LocateFn):
        self.part = part
        self.source = source
        self.locate = locate

    def error(self, pos: int, message: str, bar: int | None = None) -> ScoreError:
        line, column = self.locate(pos)
        where = self.part or "notes"
        if bar is not None:
            where += f", bar {bar}"
        return ScoreError(f"{where}: {message}", source=self.source, line=line, column=column)


# -- parsing: text -> tree ----------------------------------------------------

def _parse_duration(ctx: _Context, pos: int, token: str, dur: str, dots: str) -> Fraction:
    known = _DURATIONS.get((dur, dots))
    if known is not None:
        return known
    value = int(dur)
    if value <= 0:
        kind = "zero" if value == 0 else "negative"
        raise ctx.error(pos, f"{kind} duration in {token!r} (durations are :1 whole .. :64 "
                             "sixty-fourth)")
    if value not in _DURATION_VALUES:
        raise ctx.error(pos, f"bad duration :{dur} in {token!r} (use :1, :2, :4, :8, :16, :32 "
                             "or :64, optionally dotted; ties or tuplets for other lengths)")
    if len(dots) > 2:
        raise ctx.error(pos, f"too many dots in {token!r} (at most two)")
    base = Fraction(4, value)
    if len(_DURATIONS) > 256:       # ":08", ":008", ... are valid too: keep the table small
        _DURATIONS.clear()
    length = _DURATIONS[(dur, dots)] = base * (2 - Fraction(1, 2 ** len(dots)))
    return length


#: Lengths of the valid duration texts met so far, ``(":8" digits, dots) -> beats``
#: (a score writes a few kinds of note thousands of times).
_DURATIONS: dict[tuple[str, str], Fraction] = {}


def _parse_pitch(ctx: _Context, pos: int, text: str, token: str) -> float:
    known = _PITCHES.get(text)
    if known is not None:
        return known
    pitch = _read_pitch(ctx, pos, text, token)
    if len(_PITCHES) > 4096:         # written pitches are few; text made up at random is not
        _PITCHES.clear()
    _PITCHES[text] = pitch
    return pitch


#: The pitch of each pitch text met so far (only valid ones: an error is raised each time).
_PITCHES: dict[str, float] = {}


def _read_pitch(ctx: _Context, pos: int, text: str, token: str) -> float:
    if text in DRUM_NOTES:                       # a GM drum by name: its key number
        return float(DRUM_NOTES[text])
    m = _MIDI_RE.match(text)
    if m:
        value = float(m.group(1)) + (float(m.group(2)[:-1]) / 100.0 if m.group(2) else 0.0)
        if not 0.0 <= value <= 127.0:
            raise ctx.error(pos, f"MIDI pitch {token!r} is outside 0..127")
        return value
    try:
        return parse_note_name(text)
    except ScoreError as e:
        raise ctx.error(pos, f"{e.message}") from None


def _unknown_word(ctx: _Context, pos: int, word: str) -> ScoreError:
    hint = ""
    close = difflib.get_close_matches(word.split(":")[0], DRUM_NOTES, n=1, cutoff=0.7)
    if close and re.match(r"^[a-z_]+[0-9]?(?::|$)", word):
        hint = f" (did you mean the drum {close[0]!r}?)"
    elif re.match(r"^[a-g](?:##|#|x|bb|b|n)?-?\d", word):
        hint = f" (pitch letters are upper-case: {word[0].upper() + word[1:]!r})"
    elif re.match(r"^[H-Zh-z]\S*\d", word):
        hint = " (pitch names are A..G with #, b, x, bb, n and an octave, e.g. 'C#4')"
    elif ":" in word and re.match(r"^[A-G]", word):
        hint = " (a note is pitch:duration, e.g. 'C#4:8.', with ~ and *N after it)"
    return ctx.error(pos, f"unknown token {word!r}{hint}")


def _parse_tree(text: str, ctx: _Context) -> _Group:
    root = _Group(0, "root", "")
    stack: list[_Group] = [root]
    duration = DEFAULT_DURATION
    velocity = DEFAULT_VELOCITY
    chord: tuple[int, list[float]] | None = None   # (position, pitches) while inside < >
    last_event: _Event | None = None
    # an open hairpin: (position, token, direction, velocity at its start, its notes)
    hairpin: tuple[int, str, int, int, list[_Event]] | None = None
    slur: tuple[int, list[_Event]] | None = None    # (position of '{', its notes)
    pos = 0
    n = len(text)

    def open_hairpin(p: int, tok: str) -> None:
        nonlocal hairpin
        if hairpin is not None:
            raise ctx.error(p, f"hairpin {tok!r} while the {hairpin[1]!r} at "
                               f"{_where(ctx, hairpin[0])} has not reached its "
                               "dynamic (end a hairpin with a dynamic mark)")
        hairpin = (p, tok, HAIRPINS[tok], velocity, [])

    def set_dynamic(p: int, tok: str, value: int) -> None:
        nonlocal velocity, hairpin
        if hairpin is not None:
            hp_pos, hp_tok, direction, v0, events = hairpin
            if not events:
                raise ctx.error(hp_pos, f"hairpin {hp_tok!r} holds no note before {tok!r}")
            if (value - v0) * direction <= 0:
                want = "louder" if direction > 0 else "softer"
                raise ctx.error(p, f"hairpin {hp_tok!r} (at {_where(ctx, hp_pos)}) from "
                                   f"velocity {v0} must end {want}, but {tok!r} is {value}")
            last = len(events) - 1
            for i, ev in enumerate(events):
                ev.velocity = value if last == 0 else int(round(v0 + (value - v0) * i / last))
            hairpin = None
        velocity = value

    def add_event(ev: _Event) -> None:
        stack[-1].items.append(ev)
        if ev.pitches:
            if hairpin is not None:
                hairpin[4].append(ev)
            if slur is not None:
                slur[1].append(ev)

    def close_repeat(p: int, tok: str, count: int) -> None:
        top = stack[-1]
        if top.kind != "repeat":
            if top.kind == "root":
                raise ctx.error(p, f"{tok!r} closes a repeat but no '|:' opened one")
            raise ctx.error(p, f"{tok!r} closes a repeat, but the {top.text!r} opened at "
                               f"{_where(ctx, top.pos)} is still open")
        stack.pop()
        top.items.append(_BarLine(p, tok))
        top.repeat = count
        stack[-1].items.append(top)

    while pos < n:
        m = _SCANNER.match(text, pos)
        assert m is not None   # the word alternative matches any other character
        kind, tok, start = m.lastgroup, m.group(), pos
        pos = m.end()
        if kind in ("space", "comment"):
            continue
        if chord is not None and kind not in ("word", "chord_close"):
            raise ctx.error(start, f"{tok!r} inside a chord (a chord holds pitches only; "
                                   f"the '<' at {_where(ctx, chord[0])} is not closed)")
        if kind == "word" and tok == "~":
            if last_event is None or last_event.pitches == ():
                raise ctx.error(start, "'~' (tie) must follow a note or chord")
            last_event.tie = True
            continue
        if kind in ("chord_close", "tuplet_close", "group_close"):
            # an optional suffix glued to the closing bracket: >:4.~*2, )*2, ]*3
            sm = _SUFFIX_RE.match(text, pos)
            suffix = sm.group() if sm else ""
            pos += len(suffix)
            if kind != "chord_close" and (sm.group("dur") or sm.group("tie") or sm.group("art")):
                raise ctx.error(start, f"only *N may follow {tok!r}, got {tok + suffix!r}")
            rep = int(sm.group("rep")) if sm.group("rep") else 1
            if sm.group("rep") is not None and rep < 1:
                raise ctx.error(start, f"repeat count in {tok + suffix!r} must be >= 1")

        if kind == "word":
            if chord is not None:
                if not _BARE_PITCH_RE.match(tok):
                    if _EVENT_RE.match(tok):
                        raise ctx.error(start, f"{tok!r} inside a chord: write the duration, "
                                               "tie and *N after the closing '>'")
                    raise _unknown_word(ctx, start, tok)
                chord[1].append(_parse_pitch(ctx, start, tok, tok))
                continue
            if tok in DYNAMICS:
                set_dynamic(start, tok, DYNAMICS[tok])
                continue
            vm = _VELOCITY_RE.match(tok)
            if vm:
                value = int(vm.group(1))
                if not 1 <= value <= 127:
                    raise ctx.error(start, f"velocity {tok!r} must be v1..v127")
                set_dynamic(start, tok, value)
                continue
            if tok in HAIRPINS:
                open_hairpin(start, tok)
                continue
            em = _EVENT_RE.match(tok)
            if not em:
                raise _unknown_word(ctx, start, tok)
            head = em.group("head")
            if em.group("dur") is not None:
                duration = _parse_duration(ctx, start, tok, em.group("dur"), em.group("dots"))
            rep = int(em.group("rep")) if em.group("rep") else 1
            if em.group("rep") is not None and rep < 1:
                raise ctx.error(start, f"repeat count in {tok!r} must be >= 1")
            art = em.group("art")[1::2]            # "-.->" -> ".>"
            if art and head in ("r", "R"):
                raise ctx.error(start, f"a rest takes no articulation: {tok!r}")
            if head == "R":
                if em.group("dur") is not None or em.group("tie"):
                    raise ctx.error(start, f"'R' is a whole-bar rest and takes no duration or "
                                           f"tie, got {tok!r}")
                if any(g.kind == "tuplet" for g in stack):
                    raise ctx.error(start, "'R' (whole-bar rest) inside a tuplet")
                ev = _Event(start, tok, (), Fraction(0), velocity, repeat=rep, bar_rest=True)
            elif head == "r":
                if em.group("tie"):
                    raise ctx.error(start, f"a rest cannot be tied: {tok!r}")
                ev = _Event(start, tok, (), duration, velocity, repeat=rep)
            else:
                pitch = _parse_pitch(ctx, start, head, tok)
                ev = _Event(start, tok, (pitch,), duration, velocity,
                            tie=bool(em.group("tie")), repeat=rep, art=art)
            add_event(ev)
            last_event = ev
        elif kind == "chord_open":
            chord = (start, [])
        elif kind == "chord_close":
            if chord is None:
                raise ctx.error(start, "'>' without a '<' that opened a chord")
            if not chord[1]:
                raise ctx.error(chord[0], "empty chord '<>'")
            if sm.group("dur") is not None:
                duration = _parse_duration(ctx, start, tok + suffix, sm.group("dur"),
                                           sm.group("dots"))
            ev = _Event(chord[0], text[chord[0]:pos], tuple(chord[1]), duration, velocity,
                        tie=bool(sm.group("tie")), repeat=rep,
                        art=sm.group("art")[1::2])
            add_event(ev)
            last_event = ev
            chord = None
        elif kind == "hairpin":
            open_hairpin(start, tok)
        elif kind == "slur_open":
            if slur is not None:
                raise ctx.error(start, f"'{{' inside the slur opened at {_where(ctx, slur[0])}")
            slur = (start, [])
        elif kind == "slur_close":
            if slur is None:
                raise ctx.error(start, "'}' without a '{' that opened a slur")
            for ev in slur[1][:-1]:
                ev.slur = True
            slur = None
        elif kind in ("tuplet_open", "group_open") or tok in ("|:", ":|:"):
            if len(stack) > MAX_DEPTH:
                raise ctx.error(start, f"groups nested more than {MAX_DEPTH} deep (the limit; "
                                       "flatten the nesting)")
        if kind == "tuplet_open":
            if tok == "(":
                raise ctx.error(start, "a tuplet opens with its count, e.g. '(3' or '(5:4'")
            num_s, _, den_s = tok[1:].partition(":")
            num = int(num_s)
            if den_s:
                den = int(den_s)
            else:
                if num < 3 or num & (num - 1) == 0:
                    raise ctx.error(start, f"tuplet {tok!r} needs an explicit ratio, e.g. "
                                           f"'({num}:3'")
                den = 1 << (num.bit_length() - 1)    # 3 in 2, 5..7 in 4, 9..15 in 8
            if num < 1 or den < 1:
                raise ctx.error(start, f"tuplet ratio in {tok!r} must be positive")
            if num > MAX_TUPLET or den > MAX_TUPLET:
                raise ctx.error(start, f"tuplet {tok[:20]!r} is larger than {MAX_TUPLET} "
                                       f"(the limit for a tuplet's terms)")
            stack.append(_Group(start, "tuplet", tok, scale=Fraction(den, num)))
        elif kind == "group_open":
            stack.append(_Group(start, "group", tok))
        elif kind in ("tuplet_close", "group_close"):
            want = "tuplet" if kind == "tuplet_close" else "group"
            top = stack[-1]
            if top.kind != want:
                opener = "(" if want == "tuplet" else "["
                if top.kind == "root":
                    raise ctx.error(start, f"{tok!r} without a {opener!r} that opened it")
                raise ctx.error(start, f"{tok!r} closes a {want}, but the {top.text!r} opened at "
                                       f"{_where(ctx, top.pos)} is still open")
            stack.pop()
            top.repeat = rep
            stack[-1].items.append(top)
        elif kind == "bar":
            if any(g.kind == "tuplet" for g in stack):
                raise ctx.error(start, f"bar line {tok!r} inside a tuplet")
            if tok == "|:":
                stack[-1].items.append(_BarLine(start, tok))
                stack.append(_Group(start, "repeat", tok))
            elif tok == ":|:":
                close_repeat(start, tok, 2)
                stack.append(_Group(start, "repeat", tok))
            elif tok.startswith(":|"):
                count = int(tok[3:]) if len(tok) > 2 else 2
                if count < 1:
                    raise ctx.error(start, f"repeat count in {tok!r} must be >= 1")
                close_repeat(start, tok, count)
            else:
                stack[-1].items.append(_BarLine(start, tok))
    if chord is not None:
        raise ctx.error(chord[0], "unclosed chord: '<' without '>'")
    if hairpin is not None:
        raise ctx.error(hairpin[0], f"hairpin {hairpin[1]!r} never reaches a dynamic (end it "
                                    "with one, e.g. 'p cresc C4 D4 E4 f')")
    if slur is not None:
        raise ctx.error(slur[0], "unclosed slur: '{' without '}'")
    if len(stack) > 1:
        top = stack[-1]
        what = {"tuplet": "tuplet", "group": "group", "repeat": "repeat"}[top.kind]
        closer = {"tuplet": "')'", "group": "']'", "repeat": "':|'"}[top.kind]
        raise ctx.error(top.pos, f"unclosed {what}: {top.text!r} without {closer}")
    return root


def _where(ctx: _Context, pos: int) -> str:
    line, column = ctx.locate(pos)
    return f"{line}:{column}"


# -- performing: tree -> timed notes -------------------------------------------

def _meter_of_bar(meters: MeterMap, bar: int) -> tuple[str, int, Fraction]:
    """(meter text, denominator, length in beats) of ``bar``, for messages."""
    c = meters.meter_of_bar(bar)
    text = f"{c} pickup" if bar == 0 and meters.pickup else str(c)
    return text, c.denominator, meters.bar_length(bar)


def _as_whole_fraction(beats: Fraction, denominator: int) -> str:
    """``3.5`` beats in an x/4 meter -> ``"7/8"`` (fraction of a whole note)."""
    whole = beats / 4
    den = max(whole.denominator, denominator)
    if den % whole.denominator:
        den = whole.denominator
    return f"{whole.numerator * (den // whole.denominator)}/{den}"


def _beats_str(beats: Fraction) -> str:
    return str(beats) if beats.denominator > 64 else f"{float(beats):g}"


class _Performer:
    """Walks the tree in time order, expanding repeats and checking bars."""

    def __init__(self, ctx: _Context, meters: MeterMap, start: Fraction, end_pos: int):
        self.ctx = ctx
        self.meters = meters
        self.shortest_bar = min([c.bar_beats for c in meters.changes]
                                + ([meters.bar_length(0)] if meters.pickup else []))
        self.cursor = start
        self.bar_open = start          # beat of the last bar line (or of the part's start)
        self.seen_bar_line = False
        self.end_pos = end_pos
        # (start, written length, pitch, velocity, sounding factor, slurred)
        self.notes: list[tuple[Fraction, Fraction, float, int, float, bool]] = []
        self.pending: list[list] | None = None   # tied notes: [start, dur, pitch, velocity]
        self.pending_event: _Event | None = None

    # -- helpers
    def _bar_number(self) -> int:
        return self.meters.exact_bar_at(self.bar_open)

    def _check_length(self, pos: int, extra: Fraction = Fraction(0),
                      from_beat: Fraction | None = None) -> None:
        end = self.cursor + extra if extra else self.cursor
        if end.numerator > MAX_BEATS * end.denominator:     # end > MAX_BEATS, in integers
            at = self.cursor if from_beat is None else from_beat
            raise self.ctx.error(pos, f"the notes run past beat {MAX_BEATS:,} "
                                      "(impossible length; check the repeat counts)",
                                 bar=self.meters.exact_bar_at(min(at, Fraction(MAX_BEATS))))
        if len(self.notes) > MAX_NOTES:
            raise self.ctx.error(pos, f"more than {MAX_NOTES:,} notes in one part "
                                      "(impossible length; check the repeat counts)")

    def _bar_check(self, pos: int, token: str) -> None:
        self.seen_bar_line = True
        if self.cursor == self.bar_open:
            return
        bar = self._bar_number()
        expected_end = self.meters.exact_bar_start(bar + 1)
        if self.cursor != expected_end:
            meter, den, length = _meter_of_bar(self.meters, bar)
            filled = self.cursor - self.bar_open
            if self.cursor > expected_end and self.bar_open == self.meters.exact_bar_start(bar):
                detail = "runs past the bar line"
            elif self.bar_open != self.meters.exact_bar_start(bar):
                detail = "started in the middle of a bar"
            else:
                detail = "is short"
            what = "the end of the notes" if token == "" else f"bar line {token!r}"
            raise self.ctx.error(
                pos,
                f"{_as_whole_fraction(filled, den)} of a {meter} bar at {what}: the bar {detail} "
                f"({_beats_str(filled)} beats instead of {_beats_str(length)})",
                bar=bar)
        self.bar_open = self.cursor

    def _flush_pending(self) -> None:
        if self.pending:
            art = self.pending_event.art
            factor = min((ARTICULATIONS[m][1] for m in art), default=1.0) if art else 1.0
            self.notes.extend((*n, factor, self.pending_event.slur) for n in self.pending)
        self.pending = None
        self.pending_event = None

    # -- walking
    def walk(self, group: _Group, scale: Fraction) -> None:
        for pass_index in range(group.repeat):
            start_cursor, start_count = self.cursor, len(self.notes)
            for item in group.items:
                if isinstance(item, _Event):
                    self._precheck_event_repeat(item, scale)
                    for _ in range(item.repeat):
                        self.event(item, scale)
                elif isinstance(item, _BarLine):
                    self._bar_check(item.pos, item.text)
                else:
                    self.walk(item, scale * item.scale)
            if group.repeat > 1 and pass_index == 0:
                # refuse an absurd repeat before expanding it
                per_pass = self.cursor - start_cursor
                self._check_length(group.pos, per_pass * (group.repeat - 1), start_cursor)
                if (len(self.notes) - start_count) * group.repeat > MAX_NOTES:
                    raise self.ctx.error(group.pos, f"more than {MAX_NOTES:,} notes in one part "
                                                    "(impossible length; check the repeat counts)")

    def _precheck_event_repeat(self, ev: _Event, scale: Fraction) -> None:
        """Refuse ``X*N`` with an absurd N before expanding it."""
        if ev.repeat == 1:
            return
        step = self.shortest_bar if ev.bar_rest else ev.duration * scale
        self._check_length(ev.pos, step * ev.repeat)
        if len(self.notes) + len(ev.pitches) * ev.repeat > MAX_NOTES:
            raise self.ctx.error(ev.pos, f"more than {MAX_NOTES:,} notes in one part "
                                         "(impossible length; check the repeat counts)")

    def event(self, ev: _Event, scale: Fraction) -> None:
        if ev.bar_rest:
            if self.pending:
                raise self._tie_error(ev)
            if self.cursor != self.meters.exact_bar_start(self.meters.exact_bar_at(self.cursor)):
                raise self.ctx.error(ev.pos, "'R' (whole-bar rest) must start a bar",
                                     bar=self.meters.exact_bar_at(self.cursor))
            length = self.meters.bar_length(self.meters.exact_bar_at(self.cursor))
            self.cursor += length
            self.bar_open = self.cursor
            self._check_length(ev.pos)
            return
        dur = ev.duration if scale == 1 else ev.duration * scale
        if not ev.pitches:                       # rest
            if self.pending:
                raise self._tie_error(ev)
            self.cursor += dur
            self._check_length(ev.pos)
            return
        if self.pending:
            tied = sorted(n[2] for n in self.pending)
            if tied != sorted(ev.pitches):
                raise self._tie_error(ev)
            for n in self.pending:
                n[1] += dur
        else:
            vel = min(127, ev.velocity + (sum(ARTICULATIONS[m][2] for m in ev.art) if ev.art else 0))
            self.pending = [[self.cursor, dur, p, vel] for p in ev.pitches]
        self.pending_event = ev
        if not ev.tie:
            self._flush_pending()
        self.cursor += dur
        self._check_length(ev.pos)

    def _tie_error(self, ev: _Event) -> ScoreError:
        from .units import note_name
        tied = " ".join(note_name(n[2]) for n in self.pending)
        got = "a rest" if not ev.pitches else repr(ev.text)
        return self.ctx.error(ev.pos, f"tie from {tied} (tied at {_where(self.ctx, self.pending_event.pos)}) "
                                      f"to {got}: a tie joins the same pitch(es)",
                              bar=self.meters.exact_bar_at(self.cursor))

    def finish(self) -> None:
        if self.pending:
            ev = self.pending_event
            raise self.ctx.error(ev.pos, f"tie at the end of the notes: {ev.text!r} has nothing "
                                         "to tie to", bar=self.meters.exact_bar_at(self.cursor - Fraction(1, 1 << 20)))
        if self.seen_bar_line and self.cursor != self.bar_open:
            self._bar_check(self.end_pos, "")


def parse_notation(text: str, *, meters: MeterMap | None = None, start_beat: float = 0.0,
                   part: str = "", source: str | None = None,
                   locate: LocateFn | None = None) -> tuple[Note, ...]:
    """Parse a part's notes written in the compact notation.

    Parameters
    ----------
    text : str
        The notation (see the module docstring and ``docs/score-format.md``).
    meters : MeterMap, optional
        Meters of the score; every bar line is checked against them
        (default 4/4 throughout).
    start_beat : float
        Absolute beat (quarter notes) at which the first token sounds; must be
        on a bar line when the notes contain bar lines.
    part : str
        Part name, for error messages.
    source : str, optional
        File name, for error messages.
    locate : callable, optional
        Maps a character offset in ``text`` to a 1-based ``(line, column)``
        in ``source``; default: the line and column inside ``text``.

    Returns
    -------
    tuple of Note
        In the order they sound; start and duration in beats.

    Raises
    ------
    ScoreError
        With the part, bar and line:column of the offending token.
    """
    ctx = _Context(part, source, locate or _text_locator(text))
    tree = _parse_tree(text, ctx)
    start = Fraction(start_beat).limit_denominator(1 << 20)
    end_pos = len(text.rstrip())
    performer = _Performer(ctx, meters if meters is not None else MeterMap(), start, max(end_pos - 1, 0))
    performer.walk(tree, Fraction(1))
    performer.finish()
    return tuple(_perform(performer.notes))


def _perform(notes) -> list[Note]:
    """Articulations and slurs applied to the written notes."""
    if all(f == 1.0 and not slur for *_, f, slur in notes):
        # float(Fraction) is numerator / denominator (int division, correctly rounded)
        return [Note(s.numerator / s.denominator, d.numerator / d.denominator, float(p), int(v))
                for s, d, p, v, _, _ in notes]
    starts = sorted({n[0] for n in notes})
    out = []
    for s, d, p, v, factor, slur in notes:
        length = float(d) * factor
        if slur:
            # held into the next note when one starts as this one ends
            i = bisect.bisect_left(starts, s + d)
            if i < len(starts) and starts[i] == s + d:
                length = float(d + LEGATO_OVERLAP)
        out.append(Note(float(s), length, float(p), int(v)))
    return out
