"""Render a plan into memory or files: the spool, the WAV stream, stems, the result.

:func:`raw_chunks` is the raw mix of a plan block by block (the lanes, or the
processes sharing them, summed); :func:`limited_chunks` the same through the
streaming master.  :func:`render` collects the mastered mix in memory; :func:`render_to_file`
spools the raw mix to a temporary file on disk (so memory stays bounded by
the block size), then scales and encodes it into a temporary file beside the
output that is renamed into place only when complete (see
:mod:`synth.audio`); with the streaming master (``--master limit``) the
blocks go out as they are rendered, with no spool.  ``"-"`` streams a WAV to
standard output.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

import numpy as np

from ..errors import RenderError
from ..patch import Patch
from ..score import Score
from .lanes import MixBlock, mix_chunks
from .master import (MasterSettings, MasteredBlock, apply_master, check_finite, limit_gain,
                     master_gain)
from .parallel import lane_source, read_ahead
from .plan import DEFAULT_CHUNK, DEFAULT_MAX_SECONDS, DEFAULT_SR, RenderPlan

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["RenderResult", "Spool", "raw_chunks", "limited_chunks", "render", "render_to_file",
           "stem_filename", "stem_gain", "wav_header", "stream_wav"]


@dataclass(frozen=True)
class RenderResult:
    """What a render did and, from :func:`render`, what it made.

    Attributes
    ----------
    sr : int
        Sample rate in Hz.
    seed : int
        The render seed (same score + seed = the same samples).
    frames : int
        Length in samples, release and effect tails included.
    peak_raw : float
        Sample peak of the raw mix before the master stage (linear).
    master_gain : float
        Linear gain the master stage applied to the raw mix (before the
        limiter, when there is one).
    audio : np.ndarray [shape=(2, frames), dtype=float64] or None
        The mastered mix, peak at or below the ceiling; None from
        :func:`render_to_file` (the audio is in the file).
    stems : dict of str to np.ndarray [shape=(2, frames)] or None
        Each part's stereo stem by part name, with ``stems=True``; else None.
    stem_gain : float or None
        The one linear gain every stem was scaled by (see
        :func:`stem_gain`); None without stems.
    extra : dict
        Free-form notes a caller may attach (empty from the renderer).
    """

    sr: int
    seed: int
    frames: int
    peak_raw: float = 0.0
    master_gain: float = 1.0
    audio: np.ndarray | None = field(default=None, repr=False)
    stems: dict[str, np.ndarray] | None = field(default=None, repr=False)
    stem_gain: float | None = None
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return self.frames / self.sr


def stem_gain(master_gain: float, stem_peak: float, ceiling: float) -> float:
    """The gain shared by every stem: the master's, unless a stem would pass the ceiling.

    Stems scaled by the master gain sum to the mix (before its limiter), but
    a stem can be louder than the mix where parts cancel, or where the
    limiter holds the mix down (``normalize=False`` with gain): then every
    stem is scaled by the same smaller gain, so the loudest one peaks exactly
    at the ceiling and they still sum to the mix times ``stem_gain /
    master_gain``.

    Parameters
    ----------
    master_gain : float
        Linear gain of the master stage.
    stem_peak : float
        Largest sample peak of any raw (unscaled) stem.
    ceiling : float
        Linear ceiling of the master stage.
    """
    if stem_peak * master_gain > ceiling:
        return ceiling / stem_peak
    return master_gain


class Spool:
    """Stereo float64 blocks spooled to an anonymous temporary file.

    Each block is written as it comes, channel after channel (the ``(2, m)``
    array's own bytes: no interleaving copy), and read back the same way.
    """

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="synth-spool-")
        self.frames = 0
        self.lengths: list[int] = []      # frames of each block written
        self.peak = 0.0         # largest absolute sample written

    def write(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype="<f8")
        self.file.write(memoryview(block.reshape(-1)).cast("B"))
        self.frames += block.shape[1]
        self.lengths.append(block.shape[1])
        if block.size:
            self.peak = max(self.peak, float(np.max(np.abs(block))))

    def _written(self) -> Iterator[np.ndarray]:
        self.file.seek(0)
        for m in self.lengths:
            yield np.frombuffer(self.file.read(m * 16), dtype="<f8").reshape(2, m)

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        """The spooled frames again, in blocks ``(2, size)`` (the last one shorter)."""
        pending, have = [], 0
        for block in self._written():
            pending.append(block)
            have += block.shape[1]
            while have >= size:
                joined = pending[0] if len(pending) == 1 else np.concatenate(pending, axis=1)
                yield joined[:, :size]
                pending = [joined[:, size:]] if joined.shape[1] > size else []
                have -= size
        if have:
            yield pending[0] if len(pending) == 1 else np.concatenate(pending, axis=1)

    def read_all(self) -> np.ndarray:
        """Every spooled frame, ``(2, frames)``."""
        blocks = list(self._written())
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((2, 0))

    def close(self) -> None:
        self.file.close()


def wav_header(*, sr: int, frames: int, subtype: str, metadata: Mapping[str, str] | None) -> bytes:
    """A complete WAV header for ``frames`` stereo frames that will follow it.

    ``fmt`` (PCM 16/24 bit, or IEEE float with its ``fact`` chunk), a
    ``LIST/INFO`` chunk with the metadata (as libsndfile writes it) and the
    ``data`` chunk's header with its exact size: the length is known from
    the plan, so the header is right for sox, ffmpeg and any reader, with
    no seeking back.
    """
    import struct

    bits = {"PCM_16": 16, "PCM_24": 24, "FLOAT": 32}[subtype]
    tag = 3 if subtype == "FLOAT" else 1
    align = 2 * bits // 8
    data_bytes = frames * align
    chunks = [b"fmt " + struct.pack("<IHHIIHH", 16, tag, 2, sr, sr * align, align, bits)]
    if subtype == "FLOAT":
        chunks.append(b"fact" + struct.pack("<II", 4, frames))
    ids = {"title": b"INAM", "artist": b"IART", "software": b"ISFT", "comment": b"ICMT",
           "copyright": b"ICOP", "date": b"ICRD", "album": b"IPRD", "genre": b"IGNR",
           "tracknumber": b"ITRK", "license": b"ILIC"}
    info = b""
    for key, value in (metadata or {}).items():
        if value and key in ids:
            text = str(value).encode("ascii", "replace") + b"\0"
            info += ids[key] + struct.pack("<I", len(text)) + text + (b"\0" if len(text) % 2 else b"")
    if info:
        chunks.append(b"LIST" + struct.pack("<I", 4 + len(info)) + b"INFO" + info)
    body = b"".join(chunks)
    riff_size = 4 + len(body) + 8 + data_bytes
    if riff_size >= 1 << 32:
        raise RenderError(f"{frames} frames of {subtype} are more than a WAV file can hold (4 GiB)")
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + body
            + b"data" + struct.pack("<I", data_bytes))


def stream_wav(out: str, blocks: Iterable[np.ndarray], *, sr: int, frames: int, subtype: str,
               metadata: Mapping[str, str] | None) -> None:
    """Write a WAV of exactly ``frames`` frames to the binary stream ``out`` as blocks arrive."""
    from ..audio import wav_bytes

    out.write(wav_header(sr=sr, frames=frames, subtype=subtype, metadata=metadata))
    out.flush()             # a player can open its device while the first block renders
    written = 0
    for block in blocks:
        written += block.shape[1]
        if written > frames:
            raise RenderError(f"internal: the stream ran past its planned {frames} frames")
        out.write(wav_bytes(block, subtype))
        out.flush()
    if written != frames:
        raise RenderError(f"internal: the stream had {written} frames, {frames} planned")


def raw_chunks(plan: RenderPlan, chunk_samples: int = DEFAULT_CHUNK, jobs: int = 1,
               stems: bool = False) -> Iterator[MixBlock]:
    """The raw (pre-master) mix of ``plan`` block by block, ``jobs`` processes sharing the lanes.

    A fresh pass each call: the blocks are the same every time, for any
    ``chunk_samples`` and ``jobs`` (see :func:`synth.render.lanes.mix_chunks`).
    """
    return mix_chunks(plan, lane_source(plan, chunk_samples, jobs), chunk_samples, stems=stems)


def limited_chunks(plan: RenderPlan, master: MasterSettings, chunk_samples: int = DEFAULT_CHUNK,
                   jobs: int = 1, stems: bool = False) -> Iterator[MasteredBlock]:
    """The mix through the streaming master (``master.limit``), block by block.

    Yields
    ------
    MasteredBlock
        ``stems``: each part's raw block (before the fixed gain), as
        :func:`raw_chunks`; None unless ``stems``.  ``audio``:
        the limited mix.  It lags the raw mix by a few milliseconds (the
        look-ahead), so its blocks are not aligned with the stems' and the
        first may be shorter; together they cover exactly ``plan.frames``
        samples (the last block holds the limiter's flush and no stems).
    """
    from ..dsp.limiter import limit_block, limiter_flush, limiter_state

    gain = limit_gain(plan, master)
    state = limiter_state(master.ceiling, sr=plan.sr)
    peak = 0.0
    for part_blocks, raw in raw_chunks(plan, chunk_samples, jobs, stems=stems):
        if raw.size:
            peak = max(peak, float(np.max(np.abs(raw))))
        y, state = limit_block(raw * gain, state)
        check_finite(y)
        yield MasteredBlock(part_blocks, y, peak, gain)
    yield MasteredBlock([] if stems else None, limiter_flush(state), peak, gain)


def render(score: Score, *, sr: int = DEFAULT_SR, seed: int | None = None,
           master: MasterSettings = MasterSettings(), max_seconds: float = DEFAULT_MAX_SECONDS,
           chunk_samples: int = DEFAULT_CHUNK, patches: Mapping[str, Patch] | None = None,
           stems: bool = False, jobs: int = 1) -> RenderResult:
    """Render ``score`` into memory.

    Parameters
    ----------
    score : Score
    sr : int
        Sample rate in Hz.
    seed : int, optional
        Render seed; default ``score.metadata.seed``.
    master : MasterSettings
        Ceiling, normalisation or loudness target.
    max_seconds : float
        Longest render accepted.
    chunk_samples : int
        Block size (does not change the result).
    patches : mapping, optional
        Per-part patch overrides.
    stems : bool
        Also keep each part's stereo stem (``RenderResult.stems``), all
        scaled by one gain (:func:`stem_gain`): they sum to the mix before
        its limiter, and none passes the ceiling.
    jobs : int
        Processes sharing the work (lanes of notes rendered in parallel); the
        output is bit-identical for any value.

    Returns
    -------
    RenderResult
        ``audio`` [shape=(2, n), dtype=float64] with its peak at or below
        the master ceiling, ``stems`` with ``stems=True``, and the figures of
        the render (seed, gains, peaks).
    """
    plan = RenderPlan(score, sr=sr, seed=seed, max_seconds=max_seconds, patches=patches)
    mixes, stem_blocks = [], [[] for _ in plan.parts]
    if master.limit:
        gain = peak = 0.0
        for part_blocks, mix, peak, gain in limited_chunks(plan, master, chunk_samples, jobs,
                                                           stems=stems):
            mixes.append(mix)
            for acc, block in zip(stem_blocks, part_blocks or ()):
                acc.append(block)
        audio = np.concatenate(mixes, axis=1)
    else:
        for part_blocks, mix in raw_chunks(plan, chunk_samples, jobs, stems=stems):
            mixes.append(mix)
            for acc, block in zip(stem_blocks, part_blocks or ()):
                acc.append(block)
        raw = np.concatenate(mixes, axis=1)
        peak = float(np.max(np.abs(raw))) if raw.size else 0.0
        gain = master_gain(peak, master, raw, plan.sr)
        audio = apply_master(raw, gain, master)
    if not stems:
        return RenderResult(plan.sr, plan.seed, plan.frames, peak, gain, audio)
    raw_stems = {pp.part.name: np.concatenate(b, axis=1) for pp, b in zip(plan.parts, stem_blocks)}
    stem_peak = max((float(np.max(np.abs(x))) for x in raw_stems.values() if x.size), default=0.0)
    shared = stem_gain(gain, stem_peak, master.ceiling)
    return RenderResult(plan.sr, plan.seed, plan.frames, peak, gain, audio,
                        {name: x * shared for name, x in raw_stems.items()}, shared)


def stem_filename(index: int, name: str) -> str:
    """File name of part ``index`` (0-based) called ``name`` in a stems folder."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "part"
    return f"{index + 1:02d}-{safe}.wav"


def _cleaning_stems(func):
    """``func`` (:func:`render_to_file`) run inside :func:`synth.audio.output_folder`, so
    that a render failing or interrupted while writing its stems leaves nothing: the
    stems folder it created, the stems written so far and the mix it wrote are removed."""
    import functools

    @functools.wraps(func)
    def wrapper(score, path, *args, stems_dir=None, **kwargs):
        from .. import audio as audio_io

        with audio_io.output_folder(stems_dir), audio_io.removed_on_failure(
                path if stems_dir is not None else None):
            return func(score, path, *args, stems_dir=stems_dir, **kwargs)
    return wrapper


@_cleaning_stems
def render_to_file(score: Score, path: str | os.PathLike[str], *, sr: int = DEFAULT_SR,
                   seed: int | None = None,
                   subtype: str = "PCM_24", force: bool = False,
                   master: MasterSettings = MasterSettings(),
                   max_seconds: float = DEFAULT_MAX_SECONDS, chunk_samples: int = DEFAULT_CHUNK,
                   patches: Mapping[str, Patch] | None = None,
                   metadata: Mapping[str, str] | None = None,
                   stems_dir: str | os.PathLike[str] | None = None, jobs: int = 1,
                   progress: Callable[[str, int, int], None] | None = None) -> RenderResult:
    """Render ``score`` into a WAV file, streaming, atomically.

    The raw mix is spooled to a temporary file (so memory stays bounded),
    then scaled by the master stage and encoded into a temporary file beside
    ``path`` that is renamed into place only when complete.  On any error or
    interrupt nothing is left behind.

    Parameters
    ----------
    path : str or os.PathLike or "-"
        Output WAV; ``"-"`` writes to standard output.
    subtype : {"PCM_16", "PCM_24", "FLOAT"}
    force : bool
        Overwrite existing files.
    metadata : mapping, optional
        WAV INFO strings (title, artist, comment, software, ...).
    stems_dir : str or os.PathLike, optional
        Also write one WAV per part into this folder (created if missing),
        named by :func:`stem_filename`, scaled by the master gain so that the
        stems sum to the mix.
    jobs : int
        Processes sharing the work (bit-identical output for any value).
    progress : callable, optional
        ``progress(stage, done_frames, total_frames)``, stage ``"render"``
        or ``"write"``.

    Returns
    -------
    RenderResult
    """
    from .. import audio as audio_io   # the only soundfile user

    audio_io.check_writable(path, force=force)
    plan = RenderPlan(score, sr=sr, seed=seed, max_seconds=max_seconds, patches=patches)
    stem_paths = []
    if stems_dir is not None:
        os.makedirs(stems_dir, exist_ok=True)
        stem_paths = [os.path.join(stems_dir, stem_filename(i, pp.part.name))
                      for i, pp in enumerate(plan.parts)]
        for sp in stem_paths:
            audio_io.check_writable(sp, force=force)
    if master.limit:
        return _limited_to_file(plan, path, score=score, subtype=subtype, force=force,
                                master=master, chunk_samples=chunk_samples, metadata=metadata,
                                stem_paths=stem_paths, jobs=jobs, progress=progress)
    spool = Spool()
    stem_spools = [Spool() for _ in stem_paths]
    try:
        for part_blocks, block in raw_chunks(plan, chunk_samples, jobs, stems=bool(stem_spools)):
            spool.write(block)
            for sp, b in zip(stem_spools, part_blocks or ()):
                sp.write(b)
            if progress:
                progress("render", spool.frames, plan.frames)
        peak = spool.peak
        gain = master_gain(peak, master, lambda: spool.blocks(chunk_samples), plan.sr)

        def mastered(blocks):
            done = 0
            for y in blocks:
                done += y.shape[1]
                if progress:
                    progress("write", done, plan.frames)
                yield y

        scaled = (apply_master(raw, gain, master) for raw in spool.blocks(chunk_samples))
        if jobs > 1:    # the processes have finished: read and scale beside the encoding
            scaled = read_ahead(scaled)
        _write_out(path, mastered(scaled), plan=plan, subtype=subtype, force=force,
                   metadata=metadata)
        shared = _write_stems(stem_paths, stem_spools, plan, score, subtype=subtype, force=force,
                              metadata=metadata, chunk_samples=chunk_samples, gain=gain,
                              ceiling=master.ceiling)
    finally:
        spool.close()
        for sp in stem_spools:
            sp.close()
    return RenderResult(plan.sr, plan.seed, plan.frames, peak, gain, stem_gain=shared)


def _write_out(path, blocks, *, plan: RenderPlan, subtype: str, force: bool, metadata) -> None:
    """The mix to a WAV file (atomically), or to standard output as it comes for ``"-"``."""
    from .. import audio as audio_io

    if str(path) == "-":
        import sys

        stream_wav(sys.stdout.buffer, blocks, sr=plan.sr, frames=plan.frames, subtype=subtype,
                   metadata=metadata)
    else:
        audio_io.write_wav(path, blocks, sr=plan.sr, subtype=subtype, force=force,
                           metadata=metadata)


def _write_stems(stem_paths, stem_spools: list[Spool], plan: RenderPlan, score: Score, *,
                 subtype, force, metadata, chunk_samples, gain: float,
                 ceiling: float) -> float | None:
    """Each spooled raw stem to its WAV, all scaled by :func:`stem_gain`; returns that gain."""
    from .. import audio as audio_io

    if not stem_spools:
        return None
    shared = stem_gain(gain, max(sp.peak for sp in stem_spools), ceiling)
    for sp_path, sp, pp in zip(stem_paths, stem_spools, plan.parts):
        stem_meta = dict(metadata or {})
        stem_meta["title"] = f"{stem_meta.get('title', score.title)} [{pp.part.name}]"
        audio_io.write_wav(sp_path, (b * shared for b in sp.blocks(chunk_samples)), sr=plan.sr,
                           subtype=subtype, force=force, metadata=stem_meta)
    return shared


def _limited_to_file(plan: RenderPlan, path, *, score, subtype, force, master, chunk_samples,
                     metadata, stem_paths, jobs, progress) -> RenderResult:
    """:func:`render_to_file` with the streaming master: no spool, blocks go out as rendered."""
    stem_spools = [Spool() for _ in stem_paths]
    peak, gain = 0.0, 1.0
    try:
        def blocks():
            nonlocal peak, gain
            done = 0
            for part_blocks, y, peak, gain in limited_chunks(plan, master, chunk_samples, jobs,
                                                             stems=bool(stem_spools)):
                for sp, b in zip(stem_spools, part_blocks or ()):
                    sp.write(b)
                done += y.shape[1]
                if progress:
                    progress("render", done, plan.frames)
                yield y

        _write_out(path, blocks(), plan=plan, subtype=subtype, force=force, metadata=metadata)
        shared = _write_stems(stem_paths, stem_spools, plan, score, subtype=subtype, force=force,
                              metadata=metadata, chunk_samples=chunk_samples, gain=gain,
                              ceiling=master.ceiling)
    finally:
        for sp in stem_spools:
            sp.close()
    return RenderResult(plan.sr, plan.seed, plan.frames, peak, gain, stem_gain=shared)
