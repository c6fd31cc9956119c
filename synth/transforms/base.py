"""The transform machinery: parameter specs, the registry, selection, pipelines.

A transform is a pure function ``Score -> Score``.  Each registered transform
is an implementation function

    impl(score, sel, streams, **params) -> Score

where ``sel`` is a :class:`Selection` (which parts, which bars) and
``streams(*path)`` returns a named, independent :class:`numpy.random.Generator`
for this transform (e.g. ``streams(part.name)``).  Users never call ``impl``
directly: :func:`make` validates parameters and returns a frozen
:class:`Transform`; a :class:`Pipeline` applies several in order and hands each
its own seed streams ``rng(seed, "transform", key, *path)``, where ``key`` is
the step's stable name (:func:`step_keys`: its ``id`` if it has one, else
``"shadow"``, ``"shadow#2"``, ... by transform name and occurrence), so adding
a transform before or after another, or a part, does not change the random
numbers of the others.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import ScoreError, SynthWarning, TransformError
from ..params import Param, suggest, validate
from ..score import Note, Part, Score, check_budget
from ..seeds import seed_sequence
from ..units import parse_note_name

__all__ = [
    "note_starts",
    "Param",
    "TransformSpec",
    "Selection",
    "Transform",
    "Pipeline",
    "PipelineRun",
    "Applied",
    "step_keys",
    "register",
    "REGISTRY",
    "make",
    "names",
    "spec",
    "add_generated",
    "fit_pitch",
    "Streams",
]

#: The ``streams`` a transform's ``impl`` gets: ``streams(*path)`` is an independent,
#: named :class:`numpy.random.Generator` of this step (see :mod:`synth.seeds`).
Streams = Callable[..., np.random.Generator]

# ---------------------------------------------------------------- parameters

#: The longest bar range a transform's ``bars`` may name (a typo such as
#: ``[1, 1e9]`` is refused instead of growing the piece with silence).
MAX_BARS = 100_000


def _suggest(word: str, options: Iterable[str]) -> str:
    """The package's one "did you mean" (:func:`synth.params.suggest`)."""
    return suggest(word, options)


# ---------------------------------------------------------------- registry

@dataclass(frozen=True)
class TransformSpec:
    """A registered transform: its name, family, parameters and implementation."""

    name: str
    family: str
    impl: Callable[..., Score]
    params: Mapping[str, Param]
    doc: str = ""
    whole_score: bool = False   # changes the time grid of every part (no `parts`)

    def validate(self, params: Mapping[str, Any], *, where: str = "") -> dict:
        """Parameters checked against the spec, defaults filled in."""
        return validate(self.params, params, what=f"transform {self.name!r}", where=where,
                        error=TransformError)


REGISTRY: dict[str, TransformSpec] = {}


def register(name: str, family: str, params: Mapping[str, Param] | None = None, *,
             whole_score: bool = False) -> Callable[[Callable[..., Score]], Callable[..., Score]]:
    """Decorator: register ``impl`` under ``name`` (its docstring documents it)."""
    def deco(impl):
        if name in REGISTRY:
            raise AssertionError(f"transform {name!r} registered twice")
        REGISTRY[name] = TransformSpec(name, family, impl, dict(params or {}),
                                       (impl.__doc__ or "").strip(), whole_score)
        return impl
    return deco


def names() -> list[str]:
    """Names of all registered transforms, sorted."""
    return sorted(REGISTRY)


def spec(name: str, *, where: str = "") -> TransformSpec:
    """The spec of transform ``name``; TransformError with a suggestion if unknown."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        hint = _suggest(name, REGISTRY)
        key = f"{where}.name: " if where else ""
        raise TransformError(f"{key}unknown transform {name!r}{hint}") from None


# ---------------------------------------------------------------- selection

@dataclass(frozen=True)
class Selection:
    """Which parts and which bars a transform acts on.

    Parameters
    ----------
    parts : tuple of str or None
        Part names; None means every part of the score (as it is when the
        transform runs, so parts made by earlier transforms are included).
    bars : (int, int) or None
        Inclusive 1-based bar range, resolved through ``score.meters``; None
        means the whole piece.
    """

    parts: tuple[str, ...] | None = None
    bars: tuple[int, int] | None = None

    def part_names(self, score: Score) -> list[str]:
        """Names of the selected parts, in score order; unknown names raise."""
        have = [p.name for p in score.parts]
        if self.parts is None:
            return have
        for name in self.parts:
            if name not in have:
                hint = _suggest(name, have)
                raise TransformError(f"parts: no part named {name!r}{hint} "
                                     f"(parts: {', '.join(have) or 'none'})")
        return [n for n in have if n in self.parts]

    def span(self, score: Score) -> tuple[float, float]:
        """``(first_beat, end_beat)`` of the selection (end exclusive)."""
        if self.bars is None:
            return 0.0, max(score.end_beat, 0.0)
        first, last = self.bars
        return score.meters.bar_start(first), score.meters.bar_start(last + 1)

    def mask(self, notes: Sequence[Note], span: tuple[float, float],
             starts: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask ``(len(notes),)``: notes whose onset lies in ``span``.

        ``starts``: the onsets of ``notes`` when known (a part's
        :attr:`~synth.score.Part.starts`).
        """
        lo, hi = span
        if self.bars is None:
            return np.ones(len(notes), dtype=bool)
        if starts is None:
            starts = note_starts(notes)
        return (starts >= lo - 1e-9) & (starts < hi - 1e-9)


# ---------------------------------------------------------------- applying

@dataclass(frozen=True)
class Transform:
    """A validated transform step: ``step(score, seed=7) -> Score``.

    Build with :func:`make`.  ``key`` names the step's random streams
    (``rng(seed, "transform", key, *path)``); default: the transform's name,
    which is the key of its first occurrence in a :class:`Pipeline` or an
    arrangement (see :func:`step_keys`).  ``index=`` (the position in a
    pipeline) is deprecated: it still gives the streams it always gave,
    ``rng(seed, "transform", index, name, *path)``, with a DeprecationWarning.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)

    def __call__(self, score: Score, *, seed: int, key: str | None = None,
                 index: int | None = None) -> Score:
        sp = spec(self.name)
        if sp.whole_score and self.selection.parts is not None:
            raise TransformError(f"parts: transform {self.name!r} changes the time grid of every "
                                 f"part and cannot be limited to {list(self.selection.parts)!r}")
        if key is not None and index is not None:
            raise TypeError("give key= or the deprecated index=, not both")
        if index is not None:
            warnings.warn("Transform(..., index=) is deprecated: streams keyed by position change "
                          "when a step is inserted before; use key= (see step_keys)",
                          DeprecationWarning, stacklevel=2)
            legacy = (index, self.name)
        else:
            if key is None:
                key = self.name
            elif not isinstance(key, str) or not key:
                raise TypeError(f"key must be a non-empty string, got {key!r}")
            legacy = (key,)

        def streams(*path):
            # what synth.seeds.rng(seed, "transform", *legacy, *path) gives
            return np.random.Generator(np.random.PCG64(_sequence(seed, "transform", *legacy, *path)))

        return sp.impl(score, self.selection, streams, **self.params)

    def apply(self, score: Score, *, seed: int, key: str) -> "Applied":
        """Run as a :class:`Pipeline` step: the score after it, and itself as applied."""
        return Applied(self(score, seed=seed, key=key), self)

    def with_params(self, **changes: Any) -> "Transform":
        """A copy with some parameters changed (validated again)."""
        merged = {**self.params, **changes}
        return replace(self, params=spec(self.name).validate(merged))

    def describe(self) -> str:
        """One line: name, selection and parameters."""
        bits = [f"{k}={v!r}" for k, v in self.params.items()]
        if self.selection.parts is not None:
            bits.append(f"parts={list(self.selection.parts)!r}")
        if self.selection.bars is not None:
            bits.append(f"bars={list(self.selection.bars)!r}")
        return f"{self.name}({', '.join(bits)})"


@functools.lru_cache(maxsize=4096, typed=True)
def _sequence(seed: int, *path: str | int) -> np.random.SeedSequence:
    """The seed sequence of a transform's stream, made once: a tension curve runs its
    transform once per segment, and every segment asks for the same streams (a
    sequence only seeds generators; it is never spawned from)."""
    return seed_sequence(seed, *path)


def make(name: str, *, parts: Iterable[str] | str | None = None,
         bars: Sequence[int] | None = None, where: str = "", **params: Any) -> Transform:
    """A validated :class:`Transform`.

    Parameters
    ----------
    name : str
        Registered name (see :func:`names`).
    parts : list of str, optional
        Limit to these parts (default: all).
    bars : [first, last], optional
        Limit to this inclusive 1-based bar range.
    where : str
        Prefix for error keys, e.g. ``"transform[2]"``.
    **params
        The transform's parameters.

    Raises
    ------
    TransformError
        Unknown name or parameter (with the nearest valid name), bad value.
    """
    sp = spec(name, where=where)
    prefix = f"{where}." if where else ""
    if isinstance(parts, str):
        parts = [parts]
    if parts is not None:
        parts = list(parts)
        if not parts or not all(isinstance(p, str) and p for p in parts):
            raise TransformError(f"{prefix}parts: expected a non-empty list of part names, "
                                 f"got {parts!r}")
        parts = tuple(parts)
        if sp.whole_score:
            raise TransformError(f"{prefix}parts: transform {name!r} changes the time grid of every "
                                 f"part and cannot be limited to {list(parts)!r}")
    if bars is not None:
        bars = Param("bars", hi=MAX_BARS).check(list(bars) if isinstance(bars, tuple) else bars,
                                                prefix + "bars", TransformError)
    return Transform(name, sp.validate(params, where=where), Selection(parts, bars))


def step_keys(names: Sequence[str], ids: Sequence[str | None] | None = None) -> tuple[str, ...]:
    """Stable stream keys of a sequence of steps.

    A step's key is its ``id`` when it has one; otherwise its transform name
    for the first step of that name, ``name#2`` for the second, and so on
    (counting every step of that name, with or without an id).  So inserting,
    removing or reordering steps of *other* names never changes a step's key.

    Parameters
    ----------
    names : sequence of str
        Transform names of the steps, in order.
    ids : sequence of (str or None), optional
        Explicit ids (same length as ``names``).

    Raises
    ------
    TransformError
        Two steps end up with the same key (the message names ``transform[i].id``).
    """
    ids = list(ids) if ids is not None else [None] * len(names)
    if len(ids) != len(names):
        raise TransformError(f"ids: expected {len(names)} ids (one per step), got {len(ids)}")
    seen: dict[str, int] = {}
    counts: dict[str, int] = {}
    keys = []
    for i, (name, ident) in enumerate(zip(names, ids)):
        counts[name] = counts.get(name, 0) + 1
        if ident is not None and (not isinstance(ident, str) or not ident):
            raise TransformError(f"transform[{i}].id: expected a non-empty string, got {ident!r}")
        key = ident if ident is not None else (name if counts[name] == 1 else f"{name}#{counts[name]}")
        if key in seen:
            where = f"transform[{i}].id" if ident is not None else f"transform[{seen[key]}].id"
            raise TransformError(f"{where}: the stream key {key!r} names both transform[{seen[key]}] "
                                 f"and transform[{i}]; give them different ids")
        seen[key] = i
        keys.append(key)
    return tuple(keys)


class Applied(NamedTuple):
    """What one step of a :class:`Pipeline` gives back (``step.apply(...)``)."""

    score: Score             #: the score after the step
    step: Any                #: the step as applied, for the provenance (has ``describe()``)
    note: str | None = None  #: the step's own line for the provenance (a drive it chose), if any


@dataclass(frozen=True)
class PipelineRun:
    """A :meth:`Pipeline.run`: the score, and what each step applied."""

    score: Score
    applied: tuple[Any, ...]      #: per step, :attr:`Applied.step`
    notes: tuple[str, ...]        #: ``"transform[i]: note"`` for the steps that gave a note

    def describe(self) -> str:
        """The steps as applied, one ``describe()`` each, ``"; "``-separated."""
        return "; ".join(s.describe() for s in self.applied)


@dataclass(frozen=True)
class Pipeline:
    """Steps applied in order, each with its own seed streams, keyed by
    :func:`step_keys` (``ids``: optional explicit ids, one per step or None).

    The one way transforms are run, alone or from an arrangement file.  A step
    is anything with a ``name``, ``describe()`` and ``apply(score, *, seed,
    key) -> Applied``: a :class:`Transform`, or one of the arrangement's steps
    that follow the tension curve or drive a parameter to a roughness
    (:mod:`synth.arrangement`), which run transforms themselves.  After each
    step the score must stay within the budgets
    (:func:`synth.score.check_budget`: a chain of steps cannot grow
    unbounded); a step's :class:`~synth.errors.TransformError` is raised
    again naming the step, ``transform[i].<its key>: ...``.
    """

    steps: tuple[Any, ...] = ()
    ids: tuple[str | None, ...] | None = None

    def __call__(self, score: Score, *, seed: int) -> Score:
        return self.run(score, seed=seed).score

    def run(self, score: Score, *, seed: int, source: str | None = None) -> PipelineRun:
        """Apply every step; the score and, per step, what was applied.

        Parameters
        ----------
        score : Score
        seed : int
        source : str, optional
            The file the steps come from, named by their errors (default: the
            error's own).

        Raises
        ------
        TransformError
            ``transform[i].<key>: ...`` of the step that failed.
        ScoreError
            A step left the score over a budget (``after transform[i] (name): ...``).
        """
        keys = step_keys([s.name for s in self.steps], self.ids)
        applied, notes = [], []
        for i, step in enumerate(self.steps):
            where = f"transform[{i}]"
            try:
                out = step.apply(score, seed=seed, key=keys[i])
            except TransformError as exc:
                msg = exc.message if exc.message.startswith("transform[") else f"{where}.{exc.message}"
                raise TransformError(msg, source=exc.source if source is None else source) from None
            score = out.score
            check_budget(score, f"after {where} ({step.name}): ")
            applied.append(out.step)
            if out.note is not None:
                notes.append(f"{where}: {out.note}")
        return PipelineRun(score, tuple(applied), tuple(notes))

    def describe(self) -> str:
        return "; ".join(s.describe() for s in self.steps)


# ---------------------------------------------------------------- helpers

def voiced_like(src: Part, name: str, notes: Iterable[Note]) -> Part:
    """A new part ``name`` holding ``notes``, sounding like ``src``.

    It takes ``src``'s preset, patch overrides, gain, pan and effects, and
    none of its description, role or generated mark (see :func:`add_generated`).
    """
    return Part(name, tuple(notes), preset=src.preset, patch=src.patch, gain_db=src.gain_db,
                pan=src.pan, effects=src.effects)


def add_generated(score: Score, part: Part, how: str) -> Score:
    """``score`` with ``part`` added (or replacing a part of the same name),
    marked generated and recorded in ``metadata.provenance["generated"]``."""
    if not (part.generated and part.description):      # (a marked part: as it is)
        part = replace(part, generated=True, description=part.description or how)
    existing = [p.name for p in score.parts]
    parts = [part if p.name == part.name else p for p in score.parts]
    if part.name not in existing:
        parts.append(part)
    prov = dict(score.metadata.provenance)
    line = f"part {part.name!r}: {how}"
    prov["generated"] = f"{prov['generated']}; {line}" if prov.get("generated") else line
    return replace(score, parts=tuple(parts),
                   metadata=replace(score.metadata, provenance=prov))


def fit_pitch(pitch: float, *, what: str = "") -> float:
    """``pitch`` moved by whole octaves into MIDI 0..127 (a warning says so)."""
    if 0.0 <= pitch <= 127.0:
        return pitch
    p = pitch
    while p > 127.0:
        p -= 12.0
    while p < 0.0:
        p += 12.0
    warnings.warn(f"{what}pitch {pitch:g} is outside MIDI 0..127; moved by octaves to {p:g}",
                  SynthWarning, stacklevel=3)
    return p


def map_parts(score: Score, sel: Selection,
              fn: Callable[[Part, np.ndarray, tuple[float, float]], Part]) -> Score:
    """Apply ``fn(part, mask, span)`` to each selected part (mask = selected notes)."""
    span = sel.span(score)
    chosen = set(sel.part_names(score))
    out = []
    for p in score.parts:
        out.append(fn(p, sel.mask(p.notes, span, p.starts), span) if p.name in chosen else p)
    return score.with_parts(out)


def onset_groups(notes: Sequence[Note], mask: np.ndarray) -> list[list[int]]:
    """Indices of selected notes grouped by (equal) onset: chords, in time order."""
    groups: dict[float, list[int]] = {}
    for i in np.flatnonzero(mask).tolist():     # the selected notes only (a curve's segment)
        groups.setdefault(round(notes[i].start, 9), []).append(i)
    return [groups[k] for k in sorted(groups)]


def note_starts(notes: Sequence[Note]) -> np.ndarray:
    """Onsets of ``notes`` in beats, ``(len(notes),)`` float64."""
    return np.array([n.start for n in notes], dtype=np.float64)
