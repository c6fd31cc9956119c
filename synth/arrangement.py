"""Arrangement files: a source piece + a pipeline of transforms + an orchestration.

Why over 500 lines: the arrangement file format and its application (transform
steps with tension-driven and roughness-driven parameters, orchestration,
provenance) are one unit, read and applied in the same terms.

Format (TOML)::

    [arrangement]
    title = "Sonnerie: Bells in the Ice"
    arranger = "synth"
    seed = 7
    description = \"\"\"One paragraph: intent and techniques.\"\"\"
    source = "../sources/sonnerie.toml"   # relative to this file: score file, .mid, .musicxml
    tempo = 80                            # optional: one tempo instead of the source's map
    # tempo_scale = 0.8                   # optional: or scale the source's tempo map

    [[transform]]
    name = "detune"
    parts = ["bells"]        # optional, default all parts
    bars = [5, 40]           # optional inclusive bar range
    cents = 12               # the transform's parameters
    # id = "bell-drift"      # optional: stable name of the step's random streams
    # target_roughness = 0.3 # optional: choose `drive` in `drive_range` by bisection
    # target_ratio = 1.5     #   ... or relative to the roughness before this step
    # drive = "cents"
    # drive_range = [0, 60]

    [parts.bells]            # orchestration of a part (from the source or made by a transform)
    preset = "cmi_bell"
    gain_db = -3

Every error is an :class:`~synth.errors.ArrangementError` (or
:class:`~synth.errors.TransformError`) naming the file and the key, e.g.
``transform[2].cents`` or ``parts.bells.preset``.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .errors import ArrangementError, PatchError, SynthError, TransformError
from .files import read_toml
from .params import TEMPO_BPM, TEMPO_SCALE, Param, suggest
from . import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
from .patch import preset_names, resolve_patch
from .score import Score, TempoMap
from .scorefile import Locator, parse_master_table, parse_part_settings
from .seeds import derive_seed
from .sources import source_path
from .transforms import Applied, Pipeline, Transform, make
from .transforms.base import step_keys

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Arrangement", "Step", "read_arrangement", "load_arrangement", "load_source"]

_ARRANGEMENT_KEYS = ("title", "arranger", "seed", "description", "source", "tempo", "tempo_scale")
_STEP_KEYS = ("name", "id", "parts", "bars", "target_roughness", "target_ratio", "drive", "drive_range")
_PART_KEYS = ("preset", "patch", "gain_db", "pan", "effects", "generated", "description")
_TOP_KEYS = ("arrangement", "transform", "parts", "master", "tension")


def _suggest(word: str, options) -> str:
    """The package's one "did you mean" (:func:`synth.params.suggest`)."""
    return suggest(word, options)


@dataclass(frozen=True)
class Step:
    """One ``[[transform]]`` table: the validated transform and optional drive settings."""

    transform: Transform
    target_roughness: float | None = None
    target_ratio: float | None = None
    drive: str | None = None
    drive_range: tuple[float, float] | None = None
    curves: Mapping[str, Any] = field(default_factory=dict)   # parameter -> tension.ParamCurve
    id: str | None = None     # the table's optional ``id``
    key: str = ""             # stable name of its seed streams (synth.transforms.step_keys)


@dataclass(frozen=True)
class Arrangement:
    """A parsed arrangement file (not yet applied to its source).

    Attributes
    ----------
    path : str
    title, arranger, description : str
    seed : int
        The file's default seed.
    source_path : str
        Absolute path of the source.
    tempo : float or None
    tempo_scale : float or None
    steps : tuple of Step
    orchestration : mapping of part name to mapping of key to value
    master_effects : tuple of mapping or None
        The ``[master]`` table's effects (replacing the source's), if given.
    """

    path: str
    title: str
    arranger: str
    description: str
    seed: int
    source_path: str
    tempo: float | None = None
    tempo_scale: float | None = None
    steps: tuple[Step, ...] = ()
    orchestration: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    master_effects: tuple[Mapping[str, Any], ...] | None = None
    tension: Any = None   # tension.TensionCurve from the [tension] table, if any


def _err(msg: str, path: str) -> ArrangementError:
    return ArrangementError(msg, source=path)


def _check_keys(table: Mapping, allowed, where: str, path: str, *, extra_ok: bool = False):
    if extra_ok:
        return
    for key in table:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise _err(f"{prefix}{key}: unknown key{_suggest(key, allowed)} "
                       f"(valid: {', '.join(allowed)})", path)


def _number(value, key: str, path: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _err(f"{key}: expected a number, got {value!r}", path)
    if positive and value <= 0:
        raise _err(f"{key}: must be > 0, got {value!r}", path)
    return float(value)


def _param(spec: Param, value: Any, key: str, path: str, locator: Locator) -> Any:
    """``arrangement.<key>`` checked against ``spec``; the error names file and line."""
    try:
        return spec.check(value, f"arrangement.{key}", ArrangementError)
    except ArrangementError as e:
        raise ArrangementError(e.message, source=path,
                               line=locator.key_line(("arrangement",), key)) from None


def read_arrangement(path: str | os.PathLike[str]) -> Arrangement:
    """Parse and validate an arrangement file (the source is not loaded).

    Raises
    ------
    ArrangementError, TransformError
        Naming the file and the key.
    """
    p = os.fspath(path)
    toml = read_toml(p, error_type=ArrangementError, kind="arrangement files")
    exc = toml.error
    if isinstance(exc, UnicodeDecodeError):
        raise _err(f"not UTF-8 text (byte {exc.start})", p) from None
    if isinstance(exc, tomllib.TOMLDecodeError):
        raise _err(f"TOML syntax error: {exc}", p) from None
    if exc is not None:
        raise exc                # RecursionError: the loader words it
    text, doc = toml.text, toml.data
    locator = Locator(text)
    _check_keys(doc, _TOP_KEYS, "", p)
    head = doc.get("arrangement")
    if not isinstance(head, dict):
        raise _err("arrangement: missing [arrangement] table", p)
    _check_keys(head, _ARRANGEMENT_KEYS, "arrangement", p)
    for key in ("title", "source"):
        if key not in head:
            raise _err(f"arrangement.{key}: required key is missing", p)
    for key in ("title", "arranger", "description", "source"):
        if key in head and not isinstance(head[key], str):
            raise _err(f"arrangement.{key}: expected a string, got {head[key]!r}", p)
    seed = head.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _err(f"arrangement.seed: expected an integer >= 0, got {seed!r}", p)
    if "tempo" in head and "tempo_scale" in head:
        raise _err("arrangement.tempo_scale: give either tempo or tempo_scale, not both", p)
    tempo = (_param(TEMPO_BPM, head["tempo"], "tempo", p, locator)
             if "tempo" in head else None)
    scale = (_param(TEMPO_SCALE, head["tempo_scale"], "tempo_scale", p, locator)
             if "tempo_scale" in head else None)
    source = source_path(p, head["source"])

    tension = _read_tension(doc, p)
    tables = doc.get("transform", [])
    if not isinstance(tables, list):
        raise _err("transform: expected [[transform]] tables", p)
    steps = []
    for i, t in enumerate(tables):
        where = f"transform[{i}]"
        if not isinstance(t, dict):
            raise _err(f"{where}: expected a table, got {t!r}", p)
        if "name" not in t:
            raise _err(f"{where}.name: required key is missing", p)
        params = {k: v for k, v in t.items() if k not in _STEP_KEYS}
        params, curves = _split_curves(t.get("name"), params, where, p, tension)
        try:
            step = make(t["name"], parts=t.get("parts"), bars=t.get("bars"), where=where, **params)
        except TransformError as exc:
            raise exc.with_source(p) from None
        targets = [k for k in ("target_roughness", "target_ratio") if k in t]
        drive = t.get("drive")
        if len(targets) > 1:
            raise _err(f"{where}.target_ratio: give target_roughness or target_ratio, not both", p)
        target_abs = target_rel = None
        drange = None
        if targets:
            value = _number(t[targets[0]], f"{where}.{targets[0]}", p)
            if value < 0:
                raise _err(f"{where}.{targets[0]}: must be >= 0, got {value!r}", p)
            target_abs, target_rel = (value, None) if targets[0] == "target_roughness" else (None, value)
            if not isinstance(drive, str) or drive not in step.params:
                raise _err(f"{where}.drive: expected the name of a numeric parameter of "
                           f"{step.name!r}, got {drive!r}{_suggest(drive, step.params)}", p)
            rng_ = t.get("drive_range")
            if (not isinstance(rng_, list) or len(rng_) != 2
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in rng_)
                    or not rng_[0] < rng_[1]):
                raise _err(f"{where}.drive_range: expected [low, high] numbers with low < high, "
                           f"got {rng_!r}", p)
            drange = (float(rng_[0]), float(rng_[1]))
        elif drive is not None or "drive_range" in t:
            raise _err(f"{where}.drive: needs target_roughness or target_ratio", p)
        if curves and drive is not None:
            raise _err(f"{where}.drive: a driven step cannot also follow the tension curve "
                       f"({', '.join(curves)})", p)
        ident = t.get("id")
        if ident is not None and (not isinstance(ident, str) or not ident.strip()):
            raise _err(f"{where}.id: expected a non-empty string, got {ident!r}", p)
        steps.append(Step(step, target_abs, target_rel, drive, drange, curves, ident))
    try:
        keys = step_keys([st.transform.name for st in steps], [st.id for st in steps])
    except TransformError as exc:
        raise exc.with_source(p) from None
    steps = [replace(st, key=k) for st, k in zip(steps, keys)]

    parts = doc.get("parts", {})
    if not isinstance(parts, dict):
        raise _err("parts: expected [parts.NAME] tables", p)
    orchestration = {}
    for name, table in parts.items():
        where = f"parts.{name}"
        if not isinstance(table, dict):
            raise _err(f"{where}: expected a table, got {table!r}", p)
        orchestration[name] = parse_part_settings(table, name=name, source=p,
                                                  path=("parts", name), locator=locator,
                                                  error_type=ArrangementError,
                                                  allowed=_PART_KEYS)
    master = None
    if "master" in doc:
        if not isinstance(doc["master"], dict):
            raise _err(f"master: expected a [master] table, got {doc['master']!r}", p)
        master = parse_master_table(doc["master"], source=p, locator=locator,
                                    error_type=ArrangementError)
    return Arrangement(p, head["title"], head.get("arranger", ""), head.get("description", ""),
                       seed, source, tempo, scale, tuple(steps), orchestration, master, tension)




def load_source(arr: Arrangement) -> Score:
    """The source score of an arrangement, read through :func:`synth.sources.load_source`."""
    if os.path.abspath(arr.source_path) == os.path.abspath(arr.path):
        raise _err("arrangement.source: the arrangement names itself as its source", arr.path)
    if not os.path.exists(arr.source_path):
        raise _err(f"arrangement.source: no such file {arr.source_path!r}", arr.path)
    from .sources import load_source as read_source
    try:
        return read_source(arr.source_path)
    except SynthError as exc:
        raise exc.with_source(arr.source_path) from None


def _apply_orchestration(score: Score, arr: Arrangement) -> Score:
    names = [p.name for p in score.parts]
    for name, settings in arr.orchestration.items():
        where = f"parts.{name}"
        if name not in names:
            raise _err(f"{where}: no part named {name!r} in the arranged score{_suggest(name, names)} "
                       f"(parts: {', '.join(names)})", arr.path)
        part = score.part(name)
        preset = settings.get("preset", part.preset)
        overrides = settings.get("patch", {} if "preset" in settings else part.patch)
        try:
            resolve_patch(preset, overrides)
        except PatchError as exc:
            key = "preset" if "preset" in settings and preset not in preset_names() else "patch"
            raise _err(f"{where}.{key}: {exc.message}", arr.path) from None
        changes = {k: v for k, v in settings.items() if k not in ("preset", "patch")}
        score = score.replace_part(replace(part, preset=preset, patch=overrides, **changes))
    return score


# ---------------------------------------------------------------- tension curves

def _read_tension(doc: Mapping, path: str):
    """The validated ``[tension]`` table (a :class:`synth.tension.TensionCurve`) or None."""
    if "tension" not in doc:
        return None
    from .tension import parse_tension
    return parse_tension(doc["tension"], source=path)


def _split_curves(name, params: dict, where: str, path: str, tension) -> tuple[dict, dict]:
    """Split a step's parameters into plain ones and curve mappings.

    A curve-valued parameter (a table, see :class:`synth.tension.ParamCurve`)
    is validated value by value with the transform's own parameter check; the
    plain parameters get its first candidate, so that :func:`make` validates
    the rest of the step as usual.
    """
    from .tension import is_param_curve, parse_param_curve
    from .transforms import spec
    curved = {k: v for k, v in params.items() if is_param_curve(v)}
    if not curved:
        return params, {}
    try:
        sp = spec(name, where=where)
    except TransformError as exc:
        raise exc.with_source(path) from None
    if sp.whole_score:
        raise _err(f"{where}.{next(iter(curved))}: transform {name!r} changes the time grid of "
                   f"every part and cannot follow a curve bar by bar", path)
    sections = [s.name for s in tension.sections] if tension is not None else []
    curves = {}
    for key, value in curved.items():
        if key not in sp.params:
            raise _err(f"{where}.{key}: unknown parameter of transform {name!r}"
                       f"{_suggest(key, sp.params)} (valid: {', '.join(sp.params)})", path)
        pkey = f"{where}.{key}"
        if tension is None and ("tension" in value or "section" in value):
            raise _err(f"{pkey}: follows the tension curve, but the file has no [tension] table",
                       path)
        try:
            curves[key] = parse_param_curve(
                value, pkey, source=path, sections=sections,
                check=lambda v, k, p=sp.params[key]: p.check(v, k, TransformError))
        except TransformError as exc:
            raise exc.with_source(path) from None
    plain = dict(params)
    for key, pc in curves.items():
        plain[key] = pc.candidates()[0]
    return plain, curves


def requested_tension(arr: Arrangement, source: Score | None = None) -> "np.ndarray | None":
    """The arrangement's requested tension per bar (index 0 = bar 1), or None.

    The curve's named shapes span the source's bars (``source``, loaded when
    not given) unless ``[tension] last_bar`` says otherwise.
    """
    if arr.tension is None:
        return None
    if source is None:
        source = load_source(arr)
    return arr.tension.per_bar(source.bar_count)


@dataclass(frozen=True)
class _CurvedStep:
    """A :class:`~synth.transforms.Pipeline` step whose parameters follow the tension curve."""

    step: Step
    per_bar: Any          # np.ndarray or None: the requested tension per bar
    tension: Any          # tension.TensionCurve or None

    @property
    def name(self) -> str:
        return self.step.transform.name

    def apply(self, score: Score, *, seed: int, key: str) -> Applied:
        score = apply_curves(self.step, score, self.per_bar, self.tension, seed=seed, key=key,
                             run=lambda t, s: t(s, seed=seed, key=key))
        return Applied(score, self)

    def describe(self) -> str:
        tr = self.step.transform
        bits = [f"{k}={v!r}" for k, v in tr.params.items() if k not in self.step.curves]
        bits += [f"{k}=<{pc.kind} curve>" for k, pc in self.step.curves.items()]
        if tr.selection.parts is not None:
            bits.append(f"parts={list(tr.selection.parts)!r}")
        if tr.selection.bars is not None:
            bits.append(f"bars={list(tr.selection.bars)!r}")
        return f"{tr.name}({', '.join(bits)})"


def apply_curves(st: Step, score: Score, per_bar: Any, tension: Any = None, *, seed: int,
                 key: str, run: Callable[[Transform, Score], Score]) -> Score:
    """Apply a step whose parameters follow the tension curve, segment by segment.

    The step's bars (or the whole piece) are cut into segments of consecutive
    bars whose parameter values are equal: the tension of each bar is
    quantised to multiples of 1/16 (:data:`synth.tension.QUANTUM`) before it
    is mapped, so a slow curve gives few segments.  A ``choose`` is drawn once
    per segment (or every ``every`` bars) from ``rng(seed, "tension", key,
    param, first_bar)``.  Each segment runs the transform with ``bars =
    [first, last]`` and its values, through ``run(transform, score)`` (which
    supplies the step's seed streams).  The selected parts are fixed before
    the first segment, and a part that the step creates collects the notes of
    every segment.

    Parameters
    ----------
    st : Step
    score : Score
    per_bar : np.ndarray or None
        Requested tension per bar (index 0 = bar 1); None without [tension].
    tension : synth.tension.TensionCurve, optional
        The plan (its sections name the bars for ``section`` mappings).
    seed : int
    key : str
        Stable name of the step (its stream key, :func:`synth.transforms.step_keys`).
    run : callable
        ``run(transform, score) -> score``.
    """
    import numpy as np
    from .seeds import rng
    from .tension import Choice, quantise
    from .transforms import Selection, spec

    tr = st.transform
    sel = tr.selection
    n_total = max(score.bar_count, len(per_bar) if per_bar is not None else 0, 1)
    first, last = sel.bars if sel.bars is not None else (1, n_total)
    if per_bar is None or len(per_bar) == 0:
        tq = np.zeros(n_total)
    else:
        tq = quantise(np.concatenate([per_bar, np.full(max(n_total - len(per_bar), 0), per_bar[-1])]))
    names = tension.section_names(n_total) if tension is not None else [""] * n_total
    held, last_name = [], next((n for n in names if n), "")
    for n in names:                # the nearest section before each bar (or the first)
        last_name = n or last_name
        held.append(last_name)

    tq = tq.tolist()                # the same floats, read bar by bar

    def bar_t(b):
        return tq[min(b, len(tq)) - 1]

    # pre-choice keys per bar, then runs
    runs: list[tuple[int, int, dict]] = []
    prev_key = None
    # a curve's value and key for a bar depend on the bar's (quantised) tension and
    # section only, unless it is a choice (whose key counts bars): found once each
    known: dict[tuple, tuple] = {}
    for b in range(first, last + 1):
        vals, keys = {}, []
        t, name, hold = bar_t(b), names[min(b, len(names)) - 1], held[min(b, len(held)) - 1]
        for param, pc in st.curves.items():
            found = known.get((param, t, name, hold))
            if found is None:
                found = pc.value_key(t, name, b, hold)
                if not isinstance(found[0], Choice):        # (a "choose" curve's value is one)
                    known[(param, t, name, hold)] = found
            v, k = found
            vals[param] = v
            keys.append(k)
        k = tuple(keys)
        if k == prev_key:
            runs[-1] = (runs[-1][0], b, runs[-1][2])
        else:
            runs.append((b, b, vals))
            prev_key = k
    kinds = {param: spec(tr.name).params[param].kind for param in st.curves}
    segments: list[tuple[int, int, dict]] = []
    for a, b, vals in runs:
        resolved = {}
        for param, v in vals.items():
            if isinstance(v, Choice):
                g = rng(seed, "tension", key, param, a)
                v = v.options[int(g.integers(len(v.options)))]
            if kinds[param] == "int" and isinstance(v, float):
                v = int(round(v))       # a linear mapping onto a whole-number parameter
            resolved[param] = v
        if segments and repr(segments[-1][2]) == repr(resolved):
            segments[-1] = (segments[-1][0], b, resolved)
        else:
            segments.append((a, b, resolved))
    parts = tuple(sel.part_names(score))
    before = {p.name for p in score.parts}
    checked: dict[str, Transform] = {}      # the step with each segment's values, validated once
    for a, b, values in segments:
        with_values = checked.get(repr(values))
        if with_values is None:
            with_values = checked[repr(values)] = tr.with_params(**values)
        seg = replace(with_values, selection=Selection(parts, (a, b)))
        prev = score
        score = run(seg, score)
        had = {q.name: q for q in prev.parts}
        for p in score.parts:     # a part made by this step keeps every segment's notes
            if p.name in before or p.name not in had:
                continue
            old = had[p.name].notes
            if old and p.notes[:len(old)] != old:
                score = score.replace_part(p.with_notes(old + p.notes, like=had[p.name], changed=()))
    return score


def arrange(arr: Arrangement, source: Score, *, seed: int) -> Score:
    """Apply an arrangement to an already loaded ``source`` with ``seed``."""
    score = source
    if arr.tempo is not None:
        score = replace(score, tempo=TempoMap.constant(arr.tempo))
    elif arr.tempo_scale is not None:
        score = replace(score, tempo=TempoMap([replace(c, bpm=c.bpm * arr.tempo_scale)
                                               for c in score.tempo.changes]))
    plan = requested_tension(arr, source)
    steps = tuple(_CurvedStep(st, plan, arr.tension) if st.curves
                  else st.transform if st.drive is None else _DrivenStep(st) for st in arr.steps)
    # read_arrangement fills each step's key; a Step built by hand gets the default
    run = Pipeline(steps, ids=tuple(st.key or st.id for st in arr.steps)).run(
        score, seed=seed, source=arr.path)
    score = _apply_orchestration(run.score, arr)
    prov = dict(score.metadata.provenance)
    prov["arrangement"] = (f"{arr.title!r} arranged by {arr.arranger or 'unknown'} from "
                           f"{os.path.basename(arr.source_path)} ({os.path.basename(arr.path)})")
    prov["transforms"] = run.describe() or "none"
    if run.notes:
        prov["roughness_drive"] = "; ".join(run.notes)
    prov["seed"] = str(seed)
    if arr.master_effects is not None:
        score = replace(score, master_effects=arr.master_effects)
    return replace(score, metadata=replace(score.metadata, title=arr.title, arranger=arr.arranger,
                                           description=arr.description, seed=seed, provenance=prov))


@dataclass(frozen=True)
class _DrivenStep:
    """A :class:`~synth.transforms.Pipeline` step with one parameter driven to a roughness.

    The parameter ``step.drive`` is chosen in ``step.drive_range`` by
    :func:`synth.analysis.drive_to_roughness`; the step as applied is the
    transform with that value, and its note says what was reached.
    """

    step: Step

    @property
    def name(self) -> str:
        return self.step.transform.name

    def describe(self) -> str:
        return self.step.transform.describe()

    def apply(self, score: Score, *, seed: int, key: str) -> Applied:
        from .analysis import drive_to_roughness, mean_roughness
        st = self.step
        target = st.target_roughness
        if target is None:
            target = st.target_ratio * mean_roughness(score)
        lo, hi = st.drive_range
        result = drive_to_roughness(score, _KeyedStep(st.transform, key), st.drive, target,
                                    lo=lo, hi=hi, seed=seed)
        return Applied(result.score, result.step.inner,
                       f"{st.drive}={result.value:.4g} -> mean roughness {result.roughness:.4g} "
                       f"(target {target:.4g}{'' if result.reached else ', not reachable in drive_range'})")


@dataclass(frozen=True)
class _KeyedStep:
    """A transform bound to its stream key (so driven steps keep their seed streams)."""

    inner: Transform
    key: str

    @property
    def name(self):
        return self.inner.name

    @property
    def params(self):
        return self.inner.params

    def with_params(self, **changes):
        return _KeyedStep(self.inner.with_params(**changes), self.key)

    def __call__(self, score, *, seed, key=None):
        return self.inner(score, seed=seed, key=self.key)


def load_arrangement(path: str | os.PathLike[str], *, seed: int | None = None,
                     variation: int = 0) -> Score:
    """Read an arrangement file, load its source, apply it: the score to render.

    Parameters
    ----------
    path : str or os.PathLike
    seed : int, optional
        Replaces the file's default seed.
    variation : int
        A reproducible variation: the seed used is
        ``synth.seeds.derive_seed(seed or the file's seed, variation)``.

    Returns
    -------
    Score
        With metadata title/arranger/description of the arrangement, ``seed``
        = the seed used, and provenance of the source plus ``arrangement``,
        ``transforms``, ``seed`` and (from generating transforms) ``generated``.
    """
    arr = read_arrangement(path)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ArrangementError(f"seed must be an integer >= 0, got {seed!r}", source=arr.path)
    used = derive_seed(arr.seed if seed is None else seed, variation)
    return arrange(arr, load_source(arr), seed=used)
