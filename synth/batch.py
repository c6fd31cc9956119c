"""Many renders: numbered items of (input, seed, variation, options), sharded and resumable.

Why over 500 lines: items, the manifest and the runners (process pool or dask)
are one resumable protocol: manifest records carry the items' fields and the
runners write them. The CLI face is commands/batch.py.

A render is a pure function of its input file, seed, variation and options,
so a batch is a list of numbered *items*, each rendered exactly as
``synth render`` would render it (the same bytes), into one output folder,
with a JSON Lines *manifest* that gets one line per finished item.

==========================  ===================================================
``parse_range(text)``        ``"1:1000"`` (Python-style: 1..999), ``"5"``, ``"1,4,10:20"``
``parse_shard(text)``        ``"i/n"`` -> ``(i, n)``
``RenderOptions``            sample rate, bit depth, preset, bars, loudness, ... of an item
``plan_items(...)``          inputs x seeds x variations -> ``[Item]``, numbered from 0
``read_batch_file(path)``    a TOML or CSV batch file -> ``[Item]``
``shard(items, i, n)``       the items with ``index % n == i``
``run_batch(items, outdir)`` render what the manifests do not already hold
``read_manifest(path)``      the complete records of one manifest file
==========================  ===================================================

Guarantees
----------
* **Idempotent**: an item is skipped when a manifest in the output folder has
  its record (same name, input and source hashes, seed, variation, options
  and synth version) and every output file listed there still has its SHA-256.
* **Resumable**: outputs are written to a temporary file and renamed into
  place (:func:`synth.render.render_to_file`, :func:`synth.audio.atomic_output`);
  the manifest line is appended (one ``write``, then ``fsync``) only after
  an item's files are in place.  A killed batch loses only the items in
  flight; leftover temporary files of this run's items and a torn last
  manifest line (no newline) are removed at the next start.
* **Sharded**: shard ``i/n`` takes the items with ``index % n == i``; each
  shard appends to its own manifest (``manifest.shard-I-of-N.jsonl``), so n
  processes on a shared folder never interleave writes, and the union of
  the shards is the unsharded batch file for file.
* **Parsed once**: each input (an arrangement and its source) is read once
  per process; every item applies the arrangement to the loaded source with
  its own seed.

The output folder belongs to the batch: a file named like an item's output
but without a valid manifest record (left by a killed run) is replaced.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import dataclasses
import glob
import hashlib
import json
import math
import os
import threading
import time
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from .errors import SynthError
from .resources import find_piece, install_hint, resolve_input

if TYPE_CHECKING:
    from .render import MasterSettings

__all__ = [
    "BatchError", "RenderOptions", "Item", "InputInfo", "BatchProgress", "BatchSummary",
    "parse_range", "parse_shard", "plan_items", "read_batch_file", "shard", "run_batch",
    "read_manifest", "manifest_name", "render_item", "default_jobs", "check_unique_names",
]

MANIFEST = "manifest.jsonl"
_BATCH_KEYS = ("input", "name", "seeds", "variations", "sample_rate", "bit_depth", "preset",
               "bars", "loudness", "ceiling", "master", "max_seconds", "stems", "midi")


class BatchError(SynthError, ValueError):
    """A batch request is malformed (bad range, shard, batch file or output folder)."""


# --------------------------------------------------------------------------- items

def parse_range(text: str, option: str = "--seeds") -> list[int]:
    """The integers of a range expression, in order, without repeats.

    ``"A:B"`` is A up to but **not including** B, like a Python range
    (``"0:10"`` is 0..9, ten numbers); ``"N"`` is N alone; parts may be
    joined with commas (``"1,4,10:20"``).  Numbers are integers >= 0.

    Raises
    ------
    BatchError
        Naming ``option`` and the text.
    """
    def bad(why: str) -> BatchError:
        return BatchError(f"{option} {text!r}: {why} (expected A:B for A up to but not "
                          "including B, a single N, or a comma list such as 1,4,10:20)")

    values: list[int] = []
    seen: set[int] = set()
    if not isinstance(text, str) or not text.strip():
        raise bad("empty")
    for part in text.split(","):
        part = part.strip()
        try:
            if ":" in part:
                a, b = part.split(":")
                lo, hi = int(a), int(b)
                numbers = range(lo, hi)
                if lo < 0:
                    raise bad("numbers must be >= 0")
                if hi <= lo:
                    raise bad(f"{part!r} is empty (B must be greater than A)")
            else:
                numbers = range(int(part), int(part) + 1)
                if int(part) < 0:
                    raise bad("numbers must be >= 0")
        except ValueError as e:
            if isinstance(e, BatchError):
                raise
            raise bad(f"{part!r} is not a number or A:B") from None
        for v in numbers:
            if v not in seen:
                seen.add(v)
                values.append(v)
    return values


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``: shard i takes the items with ``index % n == i``."""
    try:
        a, b = str(text).split("/")
        i, n = int(a), int(b)
    except ValueError:
        raise BatchError(f"--shard {text!r}: expected I/N, e.g. 0/4 (shards are numbered "
                         "from 0)") from None
    if n < 1 or not 0 <= i < n:
        raise BatchError(f"--shard {text!r}: need 0 <= I < N (shards are numbered from 0, "
                         f"so N={n} has shards 0..{max(n - 1, 0)})")
    return i, n


@dataclass(frozen=True)
class RenderOptions:
    """How one item is rendered: the options of ``synth render`` a batch can vary.

    ``stems`` and ``midi`` add a folder of one WAV per part and a MIDI file
    of the rendered score beside the item's WAV.
    """

    sample_rate: int = 44_100
    bit_depth: str = "24"
    preset: str | None = None
    bars: tuple[int, int] | None = None
    loudness: float | None = None
    ceiling: float = -1.0
    master: str = "normalize"
    max_seconds: float = 3600.0
    stems: bool = False
    midi: bool = False

    def __post_init__(self):
        from .audio import BIT_DEPTHS
        from .render import SR_MAX, SR_MIN

        sr = self.sample_rate
        if isinstance(sr, bool) or not isinstance(sr, int) or not SR_MIN <= sr <= SR_MAX:
            raise BatchError(f"sample_rate must be an integer {SR_MIN}..{SR_MAX} Hz, got {sr!r}")
        if self.bit_depth not in BIT_DEPTHS:
            raise BatchError(f"bit_depth must be one of {', '.join(sorted(BIT_DEPTHS))}, "
                             f"got {self.bit_depth!r}")
        if self.bars is not None:
            a, b = self.bars
            if not (isinstance(a, int) and isinstance(b, int) and 1 <= a <= b):
                raise BatchError(f"bars must be A-B with 1 <= A <= B, got {self.bars!r}")
        if not (isinstance(self.max_seconds, (int, float)) and math.isfinite(self.max_seconds)
                and self.max_seconds > 0):       # as RenderPlan: refused once, not per item
            raise BatchError(f"max_seconds must be a finite number > 0, got {self.max_seconds!r}")
        if self.master not in ("normalize", "limit"):
            raise BatchError(f"master must be 'normalize' or 'limit', got {self.master!r}")
        try:
            self.master_settings()
        except SynthError as e:
            raise BatchError(e.message) from None
        if self.preset is not None:
            from .patch import get_preset
            from . import presets as _presets  # noqa: F401  (fills the preset table)
            get_preset(self.preset)

    def master_settings(self) -> MasterSettings:
        """The :class:`synth.render.MasterSettings` ``synth render`` uses for these options."""
        from .render import MasterSettings
        return MasterSettings(ceiling_db=self.ceiling, loudness=self.loudness,
                              limit=self.master == "limit")

    def as_dict(self) -> dict:
        """The options as JSON values (``bars`` as ``"A-B"``), in a fixed order."""
        d = dataclasses.asdict(self)
        d["bars"] = f"{self.bars[0]}-{self.bars[1]}" if self.bars else None
        return d


@dataclass(frozen=True)
class InputInfo:
    """An input file as the batch saw it when planning."""

    path: str                   # the file read (a bundled piece's name resolved)
    sha256: str
    arrangement: bool
    default_seed: int
    source: str | None = None   # an arrangement's source, relative to the arrangement's folder
    source_sha256: str | None = None
    given: str | None = None    # as given, if not ``path``: a bundled piece's name

    @property
    def label(self) -> str:
        """The input as given (batch-file rows: joined to the file's folder), as
        ``synth render`` names it in the WAV's comment and the manifest records it."""
        return self.given or self.path


@dataclass(frozen=True)
class Item:
    """One render of a batch: ``index`` numbers it (and picks its shard)."""

    index: int
    input: InputInfo
    seed: int
    variation: int
    options: RenderOptions
    name: str                   # output file stem: ``{input stem}-s{seed}-v{variation}``

    @property
    def render_seed(self) -> int:
        """The seed the render uses (:func:`synth.seeds.derive_seed` of seed and variation)."""
        from .seeds import derive_seed
        return derive_seed(self.seed, self.variation) if self.input.arrangement else self.seed

    def outputs(self) -> list[str]:
        """The output file names relative to the output folder, stems folder excluded."""
        return [f"{self.name}.wav"] + ([f"{self.name}.mid"] if self.options.midi else [])

    @property
    def stems_dir(self) -> str:
        return f"{self.name}.stems"

    def key(self, version: str) -> str:
        """What must match for a manifest record to stand for this item.

        The input's content (hash), not its path: the same file named by
        another path (absolute, from another folder) is the same render.
        """
        return json.dumps([self.name, self.input.sha256, self.input.source_sha256,
                           self.seed, self.variation, self.options.as_dict(), version])


def _sha256_file(path: str, error: bool = True) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        if not error:
            return None
        raise BatchError(f"cannot read: {e.strerror or e}", source=path) from None
    return h.hexdigest()


def _inspect_input(path: str) -> InputInfo:
    """Hash ``path``, tell an arrangement from a score, find the default seed (and load it).

    A bundled piece may be named instead of a path, as for ``synth render``.
    """
    given = path
    path = resolve_input(path)
    given = given if given != path else None
    if not os.path.exists(path):
        raise BatchError("no such file", source=path)
    if os.path.isdir(path):
        raise BatchError("is a directory, not an input file", source=path)
    digest = _sha256_file(path)
    prepared = _prepare(path, digest)
    if prepared[0] == "arrangement":
        arr = prepared[1]
        source = os.path.relpath(arr.source_path, os.path.dirname(os.path.abspath(path)))
        return InputInfo(path, digest, True, int(arr.seed), source,
                         _sha256_file(arr.source_path), given)
    return InputInfo(path, digest, False, int(prepared[1].metadata.seed), given=given)


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def plan_items(inputs: Iterable[str], *, seeds: Sequence[int] | None = None,
               variations: Sequence[int] | None = None,
               options: RenderOptions = RenderOptions(), start: int = 0,
               names: Sequence[str | None] | None = None,
               per_input: Sequence[Mapping[str, Any]] | None = None) -> list[Item]:
    """Items for every input x seed x variation, numbered from ``start`` in that order.

    Parameters
    ----------
    inputs : iterable of str
        Score, arrangement, MIDI or MusicXML files (each read once, here).
    seeds : sequence of int, optional
        Base seeds (default: each file's own seed).
    variations : sequence of int, optional
        Variations of each seed (default ``[0]``, the seed itself); only an
        arrangement has variations (:func:`synth.seeds.derive_seed`).
    options : RenderOptions
    names : sequence of str or None, optional
        Output name stems per input instead of the file's stem.
    per_input : sequence of mappings, optional
        Per input: ``seeds``, ``variations`` and ``options`` overriding the above.

    Raises
    ------
    BatchError
        A missing or unreadable input, variations of a non-arrangement, or
        two items with the same output name.
    """
    items: list[Item] = []
    index = start
    for k, path in enumerate(inputs):
        over = dict(per_input[k]) if per_input else {}
        info = _inspect_input(os.fspath(path))
        own_seeds = over.get("seeds", seeds)
        own_vars = list(over.get("variations", variations) or [0])
        opts = over.get("options", options)
        if not info.arrangement and own_vars != [0]:
            raise BatchError("variations vary an arrangement's seeded choices; this is not "
                             "an arrangement file (vary it with --seeds)", source=info.label)
        stem = (names[k] if names and names[k] else None) or _stem(info.path)
        for seed in (own_seeds if own_seeds else [info.default_seed]):
            for variation in own_vars:
                items.append(Item(index, info, int(seed), int(variation), opts,
                                  f"{stem}-s{seed}-v{variation}"))
                index += 1
    check_unique_names(items)
    return items


def check_unique_names(items: Iterable[Item]) -> None:
    """Raise :class:`BatchError` if two items would write the same output files."""
    seen: dict[str, Item] = {}
    for it in items:
        if it.name in seen:
            other = seen[it.name]
            raise BatchError(f"items {other.index} ({other.input.label}) and {it.index} "
                             f"({it.input.label}) would both write {it.name}.wav: give the "
                             "rows different inputs, seeds or a 'name'")
        seen[it.name] = it


def _batch_value(key: str, value, where: str, path: str):
    """A batch-file cell/value converted to what :class:`RenderOptions` or the plan needs."""
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    try:
        if key in ("seeds", "variations"):
            if isinstance(value, int) and not isinstance(value, bool):
                return [value]
            if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool)
                                               and v >= 0 for v in value):
                return list(value)
            return parse_range(str(value), option=key)
        if key in ("sample_rate",):
            return int(value)
        if key in ("loudness", "ceiling", "max_seconds"):
            return float(value)
        if key in ("stems", "midi"):
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("1", "true", "yes"):
                return True
            if text in ("0", "false", "no"):
                return False
            raise ValueError(value)
        if key == "bars":
            a, dash, b = str(value).partition("-")
            return int(a), int(b if dash else a)        # "17-" is an error, as for --bars
        return str(value)
    except BatchError as e:
        raise BatchError(f"{where}.{e.message}", source=path) from None
    except (ValueError, TypeError):
        raise BatchError(f"{where}.{key}: bad value {value!r}", source=path) from None


def read_batch_file(path: str | os.PathLike[str], *, defaults: Mapping[str, Any] | None = None,
                    start: int = 0) -> list[Item]:
    """Items from a TOML or CSV batch file (see docs/batch.md).

    TOML: an optional ``[defaults]`` table and ``[[render]]`` tables; CSV: a
    header row and one row per render.  Keys: ``input`` (required, relative
    to the batch file's folder), ``name``, ``seeds``, ``variations`` (a
    range text such as ``"0:10"``, a number or, in TOML, a list), and the
    :class:`RenderOptions` fields (``sample_rate``, ``bit_depth``,
    ``preset``, ``bars`` ``"A-B"``, ``loudness``, ``ceiling``,
    ``max_seconds``, ``stems``, ``midi``).  A row's value wins over
    ``[defaults]``, which wins over ``defaults`` (the command line's).
    """
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise BatchError("no such batch file", source=p)
    folder = os.path.dirname(p)
    rows: list[tuple[str, dict]] = []
    file_defaults: dict = {}
    try:
        if p.lower().endswith(".toml"):
            with open(p, "rb") as f:
                doc = tomllib.load(f)
            unknown = set(doc) - {"defaults", "render"}
            if unknown:
                raise BatchError(f"unknown table {sorted(unknown)[0]!r} (expected [defaults] "
                                 "and [[render]])", source=p)
            file_defaults = dict(doc.get("defaults", {}))
            renders = doc.get("render", [])
            if not isinstance(renders, list) or not renders:
                raise BatchError("no [[render]] tables", source=p)
            rows = [(f"render[{i}]", dict(r)) for i, r in enumerate(renders)]
        elif p.lower().endswith(".csv"):
            with open(p, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                for i, r in enumerate(reader):
                    if None in r:
                        raise BatchError(f"row {i + 2}: more cells than the header has", source=p)
                    rows.append((f"row {i + 2}", {k.strip(): v for k, v in r.items() if k}))
            if not rows:
                raise BatchError("no rows under the header", source=p)
        else:
            raise BatchError("a batch file ends in .toml or .csv", source=p)
    except tomllib.TOMLDecodeError as e:
        raise BatchError(f"not valid TOML: {e}", source=p) from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise BatchError(f"cannot read: {e}", source=p) from None
    import difflib

    def check(table: Mapping, where: str) -> None:
        for key in table:
            if key not in _BATCH_KEYS or (where == "defaults" and key in ("input", "name")):
                close = difflib.get_close_matches(key, _BATCH_KEYS, n=1)
                raise BatchError(f"{where}: unknown key {key!r}"
                                 + (f" (did you mean {close[0]!r}?)" if close else "")
                                 + f"; known: {', '.join(_BATCH_KEYS)}", source=p)

    check(file_defaults, "defaults")
    base = {k: v for k, v in (defaults or {}).items() if v is not None}
    base.update({k: _batch_value(k, v, "defaults", p) for k, v in file_defaults.items()})
    inputs, names, per_input = [], [], []
    for where, row in rows:
        check(row, where)
        values = dict(base)
        values.update({k: v for k, v in ((k, _batch_value(k, v, where, p)) for k, v in row.items())
                       if v is not None})
        if not values.get("input"):
            raise BatchError(f"{where}: no 'input'", source=p)
        inp = values.pop("input")
        joined = inp if os.path.isabs(inp) else os.path.normpath(os.path.join(folder, inp))
        if not os.path.exists(joined) and find_piece(inp) is not None:
            joined = inp                    # a bundled piece by name
        inputs.append(joined)
        names.append(values.pop("name", None))
        over: dict[str, Any] = {}
        for key in ("seeds", "variations"):
            if key in values:
                over[key] = values.pop(key)
        try:
            over["options"] = RenderOptions(**values)
        except BatchError as e:
            raise BatchError(f"{where}: {e.message}", source=p) from None
        per_input.append(over)
    return plan_items(inputs, names=names, per_input=per_input, start=start)


def shard(items: Sequence[Item], i: int, n: int) -> list[Item]:
    """The items of shard ``i`` of ``n``: those with ``index % n == i``."""
    return [it for it in items if it.index % n == i]


def manifest_name(shard_spec: tuple[int, int] | None) -> str:
    """``manifest.jsonl``, or ``manifest.shard-I-of-N.jsonl`` for shard I/N."""
    if shard_spec is None or shard_spec[1] == 1:
        return MANIFEST
    return f"manifest.shard-{shard_spec[0]}-of-{shard_spec[1]}.jsonl"


# --------------------------------------------------------------------------- rendering

#: per process: (path, sha256) -> ("arrangement", Arrangement, source Score) or ("score", Score)
_PREPARED: dict[tuple[str, str], tuple] = {}
_PREPARED_LOCK = threading.Lock()


def _prepare(path: str, sha256: str) -> tuple:
    """Read an input once per process: an arrangement and its source, or a score."""
    key = (os.path.abspath(path), sha256)
    with _PREPARED_LOCK:
        got = _PREPARED.get(key)
    if got is not None:
        return got
    from .loader import is_arrangement, load_source

    try:
        if is_arrangement(path):
            from .arrangement import load_source as arrangement_source, read_arrangement
            arr = read_arrangement(path)
            got = ("arrangement", arr, arrangement_source(arr))
        else:
            got = ("score", load_source(path))
    except SynthError as e:
        raise e.with_source(path) from None
    with _PREPARED_LOCK:
        _PREPARED[key] = got
    return got


def _score_of(item: Item):
    """The score ``synth render INPUT --seed S --variation V`` renders, from the cached input."""
    prepared = _prepare(item.input.path, item.input.sha256)
    if prepared[0] == "arrangement":
        from .arrangement import arrange
        _, arr, source = prepared
        try:
            score = arrange(arr, source, seed=item.render_seed)
        except SynthError as e:
            raise e.with_source(arr.path) from None
    else:
        score = prepared[1].with_metadata(seed=item.seed)
    opts = item.options
    if opts.preset:
        score = score.with_parts(dataclasses.replace(p, preset=opts.preset, patch={})
                                 for p in score.parts)
    if opts.bars:
        score = score.excerpt(*opts.bars)
    return score


def _wav_metadata(item: Item, score, version: str) -> dict:
    """The WAV INFO strings, exactly as ``synth render`` writes them (so the bytes match)."""
    meta = score.metadata
    base = os.path.basename(item.input.label)
    bars = item.options.bars
    comment = (f"source: {base}; seed: {meta.seed}; "
               f"re-render: synth render {base} --seed {meta.seed}"
               + (f" --bars {bars[0]}-{bars[1]}" if bars else "")
               + (" --master limit" if item.options.master == "limit" else ""))
    return {"title": meta.title, "artist": meta.arranger or meta.composer,
            "software": f"synth {version}", "comment": comment}


def render_item(item: Item, outdir: str, *, version: str, jobs: int = 1) -> dict:
    """Render one item into ``outdir`` (atomically) and return its manifest record.

    The WAV (and stems) are byte for byte what ``synth render INPUT --seed
    SEED --variation V`` with the same options writes.
    """
    from .analysis import mean_roughness
    from .audio import BIT_DEPTHS, atomic_output, read_audio_blocks
    from .loudness import integrated_loudness
    from .render import render_to_file

    opts = item.options
    score = _score_of(item)
    wav = os.path.join(outdir, f"{item.name}.wav")
    stems_dir = os.path.join(outdir, item.stems_dir) if opts.stems else None
    result = render_to_file(score, wav, sr=opts.sample_rate, seed=score.metadata.seed,
                            subtype=BIT_DEPTHS[opts.bit_depth], force=True,
                            master=opts.master_settings(),
                            max_seconds=opts.max_seconds,
                            metadata=_wav_metadata(item, score, version),
                            stems_dir=stems_dir, jobs=max(1, int(jobs)))
    names = item.outputs()
    if opts.midi:
        from .midi import midi_bytes
        with atomic_output(os.path.join(outdir, f"{item.name}.mid"), force=True,
                           suffix=".mid") as tmp:
            with open(tmp, "wb") as f:
                f.write(midi_bytes(score))
    if stems_dir is not None:
        from .render import stem_filename
        names += [f"{item.stems_dir}/{stem_filename(i, p.name)}"
                  for i, p in enumerate(score.parts)]
    sr, blocks = read_audio_blocks(wav)         # streamed: memory does not grow with length
    loudness = integrated_loudness(blocks, sr)
    roughness = float(mean_roughness(score))
    return {
        "item": item.index,
        "name": item.name,
        "input": item.input.label,
        "input_sha256": item.input.sha256,
        "source": item.input.source,
        "source_sha256": item.input.source_sha256,
        "seed": item.seed,
        "variation": item.variation,
        "render_seed": int(score.metadata.seed),
        "options": opts.as_dict(),
        "synth_version": version,
        "outputs": [{"path": n, "sha256": _sha256_file(os.path.join(outdir, n)),
                     "bytes": os.path.getsize(os.path.join(outdir, n))} for n in names],
        "duration_seconds": round(result.seconds, 6),
        "sample_rate": result.sr,
        "loudness_lufs": round(loudness, 4) if math.isfinite(loudness) else None,
        "roughness": round(roughness, 6) if math.isfinite(roughness) else None,
    }


def _render_task(item: Item, outdir: str, version: str, jobs: int) -> dict:
    """The unit of work sent to a pool or dask worker."""
    return render_item(item, outdir, version=version, jobs=jobs)


# --------------------------------------------------------------------------- manifest

def read_manifest(path: str | os.PathLike[str]) -> list[dict]:
    """The complete records of a manifest (a torn last line, without newline, is ignored)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    records = []
    for line in data.split(b"\n")[:-1]:       # the part after the last newline is torn
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


def _record_key(rec: dict) -> str:
    return json.dumps([rec.get("name"), rec.get("input_sha256"), rec.get("source_sha256"),
                       rec.get("seed"), rec.get("variation"), rec.get("options"),
                       rec.get("synth_version")])


def _record_valid(rec: dict, outdir: str) -> bool:
    outs = rec.get("outputs")
    if not isinstance(outs, list) or not outs:
        return False
    for out in outs:
        if not isinstance(out, dict) or not isinstance(out.get("path"), str):
            return False
        if _sha256_file(os.path.join(outdir, out["path"]), error=False) != out.get("sha256"):
            return False
    return True


class _ManifestWriter:
    """Appends one record per line: a single ``write`` then ``fsync``."""

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self.fd).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(max(0, size - 1))
                last = f.read(1)
            if last != b"\n":               # a torn last line: cut it off
                with open(path, "rb") as f:
                    data = f.read()
                os.ftruncate(self.fd, data.rfind(b"\n") + 1)
                os.fsync(self.fd)

    def append(self, record: dict) -> None:
        line = (json.dumps(record) + "\n").encode()
        os.write(self.fd, line)
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class BatchProgress:
    """Where a batch is, for progress lines."""

    done: int                 # items finished (rendered + skipped + failed)
    total: int                # items of this shard
    rendered: int
    skipped: int
    failed: int
    elapsed: float            # seconds since rendering started
    last: str | None = None   # name of the item just finished
    error: str | None = None  # its error, if it failed

    @property
    def per_minute(self) -> float:
        return 60.0 * self.rendered / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (None before the first render)."""
        left = self.total - self.done
        if left == 0:
            return 0.0
        return left * self.elapsed / self.rendered if self.rendered else None


@dataclass
class BatchSummary:
    total: int
    rendered: int
    skipped: int
    failed: list[tuple[Item, str]]
    seconds: float
    manifest: str
    workers: int


def default_jobs() -> int:
    """The CPUs this process may use (a Slurm or cgroup allocation, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def _remove_leftovers(items: Sequence[Item], outdir: str) -> None:
    """Delete temporary files a killed run left for these items (never another shard's)."""
    for it in items:
        patterns = [os.path.join(outdir, f".{glob.escape(n)}.*") for n in it.outputs()]
        if it.options.stems:
            patterns.append(os.path.join(outdir, glob.escape(it.stems_dir), ".*"))
        for pattern in patterns:
            for leftover in glob.glob(pattern):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass


def _check_outdir(outdir: str) -> None:
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as e:
        raise BatchError(f"output folder {outdir!r}: cannot create it: {e.strerror or e}") from None
    if not os.path.isdir(outdir):
        raise BatchError(f"output folder {outdir!r}: not a folder")
    try:
        probe = os.path.join(outdir, f".synth-batch-probe-{os.getpid()}")
        with open(probe, "wb"):
            pass
        os.unlink(probe)
    except OSError as e:
        raise BatchError(f"output folder {outdir!r}: not writable: {e.strerror or e}") from None


def _dask_client(scheduler, jobs: int):
    """A ``distributed.Client`` for ``"local"`` (a LocalCluster), an address, or a Client."""
    if not isinstance(scheduler, str):
        return scheduler, None
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BatchError("--scheduler needs dask.distributed, which is not installed: "
                         f"{install_hint('dask')}") from None
    if scheduler == "local":
        # one single-threaded worker process per job, on this machine only; the
        # dashboard (if bokeh is installed) on a free port, not a fixed one
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=":0")
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="20s"), None
    except (OSError, TimeoutError) as e:
        raise BatchError(f"--scheduler {scheduler!r}: cannot connect: {e}") from None


def run_batch(items: Sequence[Item], outdir: str | os.PathLike[str], *, jobs: int | None = None,
              shard_spec: tuple[int, int] | None = None, scheduler: Any = None,
              version: str | None = None,
              progress: Callable[[BatchProgress], None] | None = None) -> BatchSummary:
    """Render the items the manifests in ``outdir`` do not already hold.

    Parameters
    ----------
    items : sequence of Item
        The whole batch (numbered); ``shard_spec`` picks this process's share.
    outdir : str or os.PathLike
        Created if missing.  Holds ``NAME.wav`` (``NAME.mid``, ``NAME.stems/``)
        per item and the manifest(s).
    jobs : int, optional
        Items rendered at once, each in its own process (default: the CPUs
        this process may use).  With fewer items than jobs, each render
        shares the spare processes (``synth render --jobs``).
    shard_spec : (i, n), optional
        Render only the items with ``index % n == i``, into
        :func:`manifest_name` ``(i, n)``.
    scheduler : str or distributed.Client, optional
        ``"local"`` (a dask LocalCluster of ``jobs`` workers), a scheduler
        address (``"tcp://host:8786"``) or a Client: items go to dask
        workers instead of a process pool.  Workers must see ``outdir`` and
        the inputs at the same paths (a shared file system).
    version : str, optional
        synth's version for the manifest and the WAV's software tag (default:
        ``synth.__version__``, as ``synth render`` writes it).
    progress : callable, optional
        Called with a :class:`BatchProgress` after each item.

    Returns
    -------
    BatchSummary
        Failed items are listed there (the others still render); their
        errors do not stop the batch.
    """
    if version is None:
        from .version import __version__ as version     # what synth render tags its WAVs with
    outdir = os.fspath(outdir)
    jobs = max(1, int(jobs or default_jobs()))
    mine = shard(items, *shard_spec) if shard_spec else list(items)
    _check_outdir(outdir)
    manifest_path = os.path.join(outdir, manifest_name(shard_spec))
    writer = _ManifestWriter(manifest_path)      # cuts a torn last line first
    t0 = time.perf_counter()
    done = {}
    for mf in sorted(glob.glob(os.path.join(glob.escape(outdir), "manifest*.jsonl"))):
        for rec in read_manifest(mf):
            done.setdefault(_record_key(rec), []).append(rec)
    todo, skipped = [], 0
    for it in mine:
        recs = done.get(it.key(version), [])
        if any(_record_valid(r, outdir) for r in recs):
            skipped += 1
        else:
            todo.append(it)
    _remove_leftovers(todo, outdir)
    failed: list[tuple[Item, str]] = []
    rendered = 0
    start = time.perf_counter()

    def finished(it: Item, record: dict | None, error: str | None) -> None:
        nonlocal rendered
        if record is not None:
            writer.append(record)
            rendered += 1
        else:
            failed.append((it, error or "failed"))
        if progress:
            progress(BatchProgress(skipped + rendered + len(failed), len(mine), rendered,
                                   skipped, len(failed), time.perf_counter() - start,
                                   it.name, error))

    workers = 0
    try:
        if progress and not todo:
            progress(BatchProgress(skipped, len(mine), 0, skipped, 0, 0.0))
        if todo and scheduler is not None:
            workers = _run_dask(todo, outdir, version, jobs, scheduler, finished)
        elif todo:
            workers = _run_pool(todo, outdir, version, jobs, finished)
    finally:
        writer.close()
    return BatchSummary(len(mine), rendered, skipped, failed, time.perf_counter() - t0,
                        manifest_path, workers)


def _error_text(e: BaseException) -> str:
    if isinstance(e, SynthError):
        return str(e)
    return f"internal error: {type(e).__name__}: {e}"


def _preload() -> None:
    """Import what a render needs once, before forking: the workers inherit it."""
    from . import analysis, audio, loudness, midi, render  # noqa: F401


def _run_pool(todo: list[Item], outdir: str, version: str, jobs: int, finished) -> int:
    """Items across a process pool (fork where possible: the parsed inputs are inherited)."""
    import multiprocessing as mp

    from .render.parallel import can_fork, die_with_parent

    workers = min(jobs, len(todo))
    render_jobs = max(1, jobs // workers)
    fork = can_fork()
    if workers == 1:
        for it in todo:
            try:
                record = render_item(it, outdir, version=version, jobs=render_jobs)
            except Exception as e:  # noqa: BLE001 - reported per item, as in the pool
                finished(it, None, _error_text(e))
                continue
            finished(it, record, None)
        return 1
    if fork:
        _preload()
    ctx = mp.get_context("fork" if fork else "spawn")
    # a pool worker dies with its parent: a killed batch leaves no orphans
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=die_with_parent)
    queue = list(reversed(todo))
    running: dict[cf.Future, Item] = {}
    try:
        while queue or running:
            while queue and len(running) < 2 * workers:      # bounded in-flight items
                it = queue.pop()
                running[pool.submit(_render_task, it, outdir, version, render_jobs)] = it
            ready, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in sorted(ready, key=lambda f: running[f].index):
                it = running.pop(fut)
                try:
                    record = fut.result()
                except cf.process.BrokenProcessPool:
                    raise
                except Exception as e:  # noqa: BLE001 - reported per item
                    finished(it, None, _error_text(e))
                    continue
                finished(it, record, None)
    except BaseException:
        # interrupted: stop the workers now (an item in flight leaves only a
        # temporary file, removed at the next start)
        for proc in list(getattr(pool, "_processes", {}).values()):
            try:
                proc.kill()
            except (OSError, AttributeError):
                pass
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return workers


def _run_dask(todo: list[Item], outdir: str, version: str, jobs: int, scheduler, finished) -> int:
    """The same items as dask.distributed tasks (results come back to write the manifest)."""
    client, cluster = _dask_client(scheduler, jobs)
    try:
        from distributed import as_completed

        workers = max(1, len(client.scheduler_info().get("workers", {})) or jobs)
        queue = list(reversed(todo))
        futures = {}

        def submit(it: Item):
            fut = client.submit(_render_task, it, outdir, version, 1, pure=False,
                                key=f"synth-batch-{it.index}-{it.name}-{time.time_ns()}")
            futures[fut.key] = it
            return fut

        first = [submit(queue.pop()) for _ in range(min(len(queue), 2 * workers))]
        pending = as_completed(first)
        for fut in pending:
            it = futures.pop(fut.key)
            try:
                record = fut.result()
            except Exception as e:  # noqa: BLE001 - reported per item
                finished(it, None, _error_text(e))
            else:
                finished(it, record, None)
            fut.release()
            if queue:
                pending.add(submit(queue.pop()))
        return workers
    finally:
        if isinstance(scheduler, str):
            client.close()
            if cluster is not None:
                cluster.close()
