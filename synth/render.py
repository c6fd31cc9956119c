"""Score + patches -> stereo audio, rendered in chunks with bounded memory.

Rendering happens in two stages:

1. :class:`RenderPlan` turns the score into sample positions (rounded from
   absolute times through the tempo map, so nothing drifts), resolves each
   part's patch and effects, and yields the *raw mix* in chunks.  Every note
   is rendered by :func:`synth.voice.render_note_pieces` when it starts (whole,
   or a long note in pieces of about six seconds with its state carried) and
   dropped when it has rung out; part buffers are summed in note order and
   effects carry their state, so the chunk size never changes a sample.
   Memory is bounded by the chunk size and the number of sounding notes, not
   by the length of the piece or of a note.
2. The master stage scales the raw mix so its peak sits at the ceiling
   (default -1 dBFS).  Because that needs the peak of the whole piece,
   :func:`render_to_file` spools the raw mix to a temporary file on disk,
   then scales and encodes it (see :mod:`synth.audio`).

The render lasts until the last release and the last effect tail have died
away, not until the last note-off.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np

from . import seeds
from .dsp.mix import pan_gains, soft_limit
from .errors import PatchError, RenderError, SynthWarning
from .fx import Chain, build_chain
from .patch import Patch, resolve_patch
from .score import Part, Score
from .units import db_to_amp
from .voice import note_length, render_note_pieces

__all__ = [
    "SR_MIN",
    "SR_MAX",
    "DEFAULT_SR",
    "DEFAULT_CHUNK",
    "DEFAULT_MAX_SECONDS",
    "MasterSettings",
    "RenderPlan",
    "RenderResult",
    "render",
    "render_to_file",
    "stem_filename",
]

SR_MIN, SR_MAX = 22_050, 96_000
DEFAULT_SR = 44_100
DEFAULT_CHUNK = 1 << 16
DEFAULT_MAX_SECONDS = 3600.0


@dataclass(frozen=True)
class MasterSettings:
    """The master stage.

    Parameters
    ----------
    ceiling_db : float
        Highest allowed sample peak in dBFS (default -1).
    normalize : bool
        True: scale the whole mix so its peak is exactly at the ceiling.
        False: apply ``gain_db`` and a soft limiter that keeps every sample
        below the ceiling (see :func:`synth.dsp.mix.soft_limit`).
    gain_db : float
        Master gain before the limiter, used when ``normalize`` is False.
    loudness : float, optional
        Integrated loudness target in LUFS (ITU-R BS.1770, e.g. -16).  The
        whole mix is scaled to it, unless that would put the true peak (4x
        oversampled) above the ceiling: then the gain stops at the ceiling and
        a :class:`~synth.errors.SynthWarning` says what loudness was reached.
        Takes precedence over ``normalize``.
    """

    ceiling_db: float = -1.0
    normalize: bool = True
    gain_db: float = 0.0
    loudness: float | None = None

    def __post_init__(self):
        if not (math.isfinite(self.ceiling_db) and -60.0 <= self.ceiling_db <= 0.0):
            raise RenderError(f"ceiling must be -60..0 dBFS, got {self.ceiling_db!r}")
        if self.loudness is not None and not (math.isfinite(self.loudness)
                                              and -70.0 <= self.loudness <= 0.0):
            raise RenderError(f"loudness target must be -70..0 LUFS, got {self.loudness!r}")

    @property
    def ceiling(self) -> float:
        return float(db_to_amp(self.ceiling_db))


@dataclass
class _PartPlan:
    part: Part
    patch: Patch
    starts: np.ndarray          # sample of each note's onset, sorted
    gates: np.ndarray           # samples each key is held
    lengths: np.ndarray         # samples each note sounds (release included)
    stolen: np.ndarray          # bool per note: cut short by the voice limit
    bends: list                 # per note: None or (offsets_samples, semitones)
    left: float
    right: float
    chain: Chain
    index: int                  # position of the part in the score (for seeds)


@dataclass
class RenderResult:
    """What a render did: enough to reproduce it and to report on it."""

    sr: int
    seed: int
    frames: int
    peak_raw: float = 0.0       # peak of the raw mix before the master stage
    master_gain: float = 1.0    # linear gain the master stage applied
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.frames / self.sr


def _check_sr(sr) -> int:
    if not isinstance(sr, (int, np.integer)) or not SR_MIN <= sr <= SR_MAX:
        raise RenderError(f"sample rate must be an integer {SR_MIN}..{SR_MAX} Hz, got {sr!r}")
    return int(sr)


class RenderPlan:
    """A score laid out in samples, ready to be rendered chunk by chunk.

    Parameters
    ----------
    score : Score
    sr : int
        Sample rate in Hz (22 050..96 000).
    seed : int, optional
        Render seed (defaults to ``score.metadata.seed``).
    max_seconds : float
        Refuse (RenderError) renders longer than this, before allocating audio.
    patches : mapping of part name to Patch, optional
        Patches to use instead of resolving each part's preset.
    """

    def __init__(self, score: Score, *, sr: int = DEFAULT_SR, seed: int | None = None,
                 max_seconds: float = DEFAULT_MAX_SECONDS,
                 patches: Mapping[str, Patch] | None = None):
        self.score = score
        self.sr = _check_sr(sr)
        self.seed = int(score.metadata.seed if seed is None else seed)
        if score.note_count == 0:
            raise RenderError("nothing to render: the score has no notes")
        end_s = score.duration_seconds
        if not math.isfinite(end_s) or end_s > max_seconds:
            raise RenderError(f"the score lasts {end_s:.1f} s, more than the limit of "
                              f"{max_seconds:g} s (raise it with --max-seconds)")
        bpm0 = score.tempo.changes[0].bpm
        self.parts: list[_PartPlan] = []
        for index, part in enumerate(score.parts):
            try:
                patch = (patches or {}).get(part.name) or resolve_patch(part.preset, part.patch)
                chain = build_chain(part.effects, sr=self.sr, bpm=bpm0,
                                    where=f"parts.{part.name}.effects")
            except PatchError as e:
                raise PatchError(f"part {part.name!r}: {e.message}") from None
            self.parts.append(self._plan_part(part, patch, chain, index))
        try:
            self.master_chain = build_chain(score.master_effects, sr=self.sr, bpm=bpm0,
                                            where="master.effects")
        except PatchError as e:
            raise PatchError(e.message) from None
        ends = [int((p.starts + p.lengths).max()) + p.chain.tail_samples
                for p in self.parts if len(p.starts)]
        self.frames = max(ends) + self.master_chain.tail_samples
        if self.frames / self.sr > max_seconds:
            raise RenderError(f"the render lasts {self.frames / self.sr:.1f} s with its release "
                              f"tails, more than the limit of {max_seconds:g} s")

    def _plan_part(self, part: Part, patch: Patch, chain: Chain, index: int) -> _PartPlan:
        sr, tempo = self.sr, self.score.tempo
        if part.notes:
            onsets = np.array([n.start for n in part.notes])
            offs = np.array([n.end for n in part.notes])
            starts = np.rint(tempo.seconds(onsets) * sr).astype(np.int64)
            ends = np.rint(tempo.seconds(offs) * sr).astype(np.int64)
        else:
            starts = ends = np.zeros(0, np.int64)
        gates = np.maximum(ends - starts, 1)
        lengths = np.array([note_length(patch, int(g), sr=sr, pitch=n.pitch)
                            for g, n in zip(gates, part.notes)], dtype=np.int64)
        stolen = np.zeros(len(starts), dtype=bool)
        if patch.max_voices and len(starts):
            from .dsp.fairlight import steal_voices
            # a voice limit (the CMI's 8): a note beyond it steals the oldest
            # sounding one, which stops (fading out) where the thief starts
            cut = steal_voices(starts, starts + lengths, max_voices=patch.max_voices)
            kept = np.maximum(np.minimum(lengths, cut - starts), 1)
            stolen = kept < lengths
            lengths = kept
        bends = []
        for note, s in zip(part.notes, starts):
            if note.bend:
                points = sorted(note.bend, key=lambda p: p[0])   # held in time order
                offs_s = np.rint(tempo.seconds([note.start + b for b, _ in points]) * sr) - s
                bends.append((np.maximum(offs_s.astype(np.int64), 0),
                              np.array([v for _, v in points], dtype=np.float64)))
            else:
                bends.append(None)
        left, right = pan_gains(part.pan)
        gain = float(db_to_amp(part.gain_db))
        return _PartPlan(part, patch, starts, gates, lengths, stolen, bends, left * gain,
                         right * gain, chain, index)

    @property
    def seconds(self) -> float:
        return self.frames / self.sr

    def _voice(self, pp: _PartPlan, i: int) -> Iterator[np.ndarray]:
        """Note ``i`` of a part as consecutive pieces (one piece unless it is long)."""
        note = pp.part.notes[i]
        rng = seeds.LazyRng(self.seed, "part", pp.part.name, "note", i)
        gate = int(pp.gates[i])
        stolen_at = int(pp.lengths[i]) if pp.stolen[i] else None
        prev_pitch = pp.part.notes[i - 1].pitch if pp.patch.glide > 0 and i > 0 else None
        return render_note_pieces(pp.patch, pitch=note.pitch, velocity=note.velocity,
                                  gate_samples=gate, sr=self.sr, rng=rng,
                                  bend_semitones=pp.bends[i], prev_pitch=prev_pitch,
                                  stolen_at=stolen_at)

    def chunks(self, chunk_samples: int = DEFAULT_CHUNK) -> Iterator[np.ndarray]:
        """Yield the raw (pre-master) stereo mix in blocks of ``chunk_samples``.

        Yields
        ------
        np.ndarray [shape=(2, m), dtype=float64]
            Consecutive blocks covering ``frames`` samples.
        """
        for _, mix in self.chunks_with_stems(chunk_samples, stems=False):
            yield mix

    def part_chunks(self, indices, chunk_samples: int = DEFAULT_CHUNK):
        """Yield, block by block, what the parts at ``indices`` contribute.

        Yields
        ------
        list of PartBlock
            One per requested part, for consecutive blocks of
            ``chunk_samples`` covering ``frames``: ``None`` when the part is
            silent in the block (no sounding note and no effects: it adds
            exactly nothing); ``(offset, np.ndarray [shape=(m,)])``, the mono
            sum of its notes over the span of the block they cover, when it
            has no effects (gain and pan are applied by the mixer; outside the
            span it would add zeros); else ``np.ndarray [shape=(2, n)]`` after
            its effects.
        """
        if chunk_samples < 1:
            raise RenderError(f"chunk_samples must be >= 1, got {chunk_samples!r}")
        chosen = [self.parts[i] for i in indices]
        state = [{"next": 0, "active": []} for _ in chosen]
        for a in range(0, self.frames, chunk_samples):
            b = min(a + chunk_samples, self.frames)
            n = b - a
            blocks = []
            for pp, st in zip(chosen, state):
                while st["next"] < len(pp.starts) and pp.starts[st["next"]] < b:
                    i = st["next"]
                    pieces = self._voice(pp, i)
                    # [start of the current piece, the piece, the rest of the note]
                    st["active"].append([int(pp.starts[i]), next(pieces), pieces])
                    st["next"] += 1
                pieces_here = []        # (lo, hi, samples, note start of the piece), in note order
                keep = []
                for note in st["active"]:
                    while True:
                        s, samples, rest = note
                        lo, hi = max(a, s), min(b, s + len(samples))
                        if hi > lo:
                            pieces_here.append((lo, hi, samples, s))
                        if s + len(samples) > b:       # this piece sounds on: keep the note
                            keep.append(note)
                            break
                        following = next(rest, None)    # this piece is done: the next one
                        if following is None:
                            break
                        note[0], note[1] = s + len(samples), following
                st["active"] = keep
                span = None
                if pieces_here:
                    # the mono sum over just the span the notes cover (a short
                    # note in a long block costs its own length, not the block's)
                    first = min(lo for lo, _, _, _ in pieces_here)
                    mono = np.zeros(max(hi for _, hi, _, _ in pieces_here) - first)
                    for lo, hi, samples, s in pieces_here:
                        mono[lo - first:hi - first] += samples[lo - s:hi - s]
                    span = (first - a, mono)
                if pp.chain:
                    stereo = np.zeros((2, n))
                    if span is not None:
                        off, mono = span
                        np.multiply(mono, pp.left, out=stereo[0, off:off + len(mono)])
                        np.multiply(mono, pp.right, out=stereo[1, off:off + len(mono)])
                    blocks.append(pp.chain.process(stereo))
                else:
                    blocks.append(span)
            yield blocks

    def stereo(self, index: int, block, n: int) -> np.ndarray:
        """Part ``index``'s block from :meth:`part_chunks` as stereo ``(2, n)``."""
        pp = self.parts[index]
        if block is None:
            return np.zeros((2, n))
        if not isinstance(block, tuple):
            return block
        off, mono = block
        out = np.zeros((2, n))
        np.multiply(mono, pp.left, out=out[0, off:off + len(mono)])
        np.multiply(mono, pp.right, out=out[1, off:off + len(mono)])
        return out

    def mix_blocks(self, blocks, n: int) -> np.ndarray:
        """Sum part blocks from :meth:`part_chunks` (all parts, in score order).

        A silent part is skipped (adding zeros would change nothing: the sum
        starts at +0.0 and so never holds -0.0), and a mono block goes into
        each channel times the part's pan gain, exactly as its stereo block
        would.
        """
        mix = np.zeros((2, n))
        for pp, block in zip(self.parts, blocks):
            if block is None:
                continue
            if not isinstance(block, tuple):
                mix += block
            else:
                off, mono = block
                mix[0, off:off + len(mono)] += mono * pp.left
                mix[1, off:off + len(mono)] += mono * pp.right
        return mix

    def chunks_with_stems(self, chunk_samples: int = DEFAULT_CHUNK, jobs: int = 1,
                          stems: bool = True):
        """Like :meth:`chunks`, also yielding each part's stereo block.

        Parameters
        ----------
        chunk_samples : int
            Block size; does not change any sample.
        jobs : int
            Worker processes rendering parts in parallel; does not change any
            sample either (parts are always summed in score order).
        stems : bool
            False: yield ``None`` instead of the stems (saves building them).

        Yields
        ------
        stems : list of np.ndarray [shape=(2, m)] or None
            One per part, after the part's gain, pan and effects.
        mix : np.ndarray [shape=(2, m)]
            Their sum, in part order, through the score's master effects
            (so the stems sum to the mix when there are none).
        """
        all_parts = range(len(self.parts))
        source = (self.part_chunks(all_parts, chunk_samples) if jobs <= 1 or len(self.parts) < 2
                  else _parallel_part_chunks(self, chunk_samples, jobs))
        a = 0
        for blocks in source:
            n = min(chunk_samples, self.frames - a)
            a += n
            mix = self.mix_blocks(blocks, n)
            if self.master_chain:
                mix = self.master_chain.process(mix)
            yield ([self.stereo(i, blk, n) for i, blk in enumerate(blocks)] if stems
                   else None), mix

    def part_costs(self) -> list[float]:
        """Estimated rendering cost of each part, for sharing parts between processes.

        The samples its notes sound, weighted by how much work a sample of its
        patch takes (measured ratios, roughly: a plain wavetable note is the
        unit; every extra oscillator, a filter, pitch modulation, a Fairlight
        voice stepping out its clock cost more).
        """
        return [float(pp.lengths.sum()) * _cost_weight(pp.patch) + 2000.0 * len(pp.starts)
                for pp in self.parts]


def _cost_weight(patch: Patch) -> float:
    """Rendering cost of one sample of ``patch`` relative to a plain saw.

    Ratios measured per part on the 180 s benchmark file (ns per sample:
    saw 9, two-voice pad 30, filtered saw bass 31, bell 11.5, ...).
    """
    if patch.source == "unison":
        weight = 1.1 * float(patch.param("voices"))
    else:
        weight = {"pulse": 2.0, "partials": 1.3, "additive": 1.5, "fairlight": 2.0,
                  "pink": 1.5, "fm2": 2.0, "fm3": 3.0, "sync": 4.0, "ring": 2.0,
                  "drums": 1.5}.get(patch.source, 1.0)
    if patch.filter.active:
        weight += 0.6 * (2 if patch.filter.slope == 24 else 1)
        if patch.filter.env_amount:
            weight += 0.8
    if patch.lfo.active or patch.glide or patch.pitch_env.semitones:
        weight += 0.6
    return weight


#: Share of the whole render's cost the parent process spends mixing, spooling
#: and receiving blocks (measured on the 180 s benchmark file: about 10 %).
_PARENT_LOAD = 0.10


def _balance(costs: list[float], jobs: int, parent_load: float = 0.0) -> list[list[int]]:
    """Split part indices into ``jobs`` groups of similar total cost (largest first).

    The last group starts with ``parent_load`` (a fraction of the total) already
    on it: it is the one the parent renders beside its own work.
    """
    groups: list[list[int]] = [[] for _ in range(jobs)]
    loads = [0.0] * jobs
    loads[-1] = parent_load * float(sum(costs))
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        j = loads.index(min(loads))
        groups[j].append(i)
        loads[j] += costs[i]
    return [sorted(g) for g in groups]


def _worker(plan: "RenderPlan", indices, chunk_samples, conn) -> None:
    try:
        for blocks in plan.part_chunks(indices, chunk_samples):
            for block in blocks:
                if block is None:
                    conn.send_bytes(b"0")
                elif isinstance(block, tuple):          # (offset, mono span)
                    conn.send_bytes(b"1" + int(block[0]).to_bytes(8, "little"))
                    conn.send_bytes(np.ascontiguousarray(block[1]).tobytes())
                else:
                    conn.send_bytes(b"2")
                    conn.send_bytes(np.ascontiguousarray(block).tobytes())
    except BaseException as e:  # report, never hang the parent
        try:
            conn.send_bytes(b"E")
            conn.send_bytes(f"{type(e).__name__}: {e}".encode()[:2000])
        except OSError:
            pass
    finally:
        conn.close()


def _parallel_part_chunks(plan: "RenderPlan", chunk_samples: int, jobs: int):
    """:meth:`RenderPlan.part_chunks` for every part, computed by forked workers.

    Each worker renders a group of whole parts and streams their blocks back
    through a pipe (silent parts as one byte, parts without effects as mono),
    while this process renders the lightest group itself;
    blocks are reassembled in part order, so the mix is the same sum, bit for
    bit, as with one process.  Memory stays bounded: a worker blocks when its
    pipe is full.
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    groups = _balance(plan.part_costs(), min(jobs, len(plan.parts)), parent_load=_PARENT_LOAD)
    # the parent renders the last group itself beside mixing and writing, so N
    # jobs are N processes, not N workers plus a mostly idle parent
    own = groups.pop()
    groups = [g for g in groups if g]
    local = plan.part_chunks(own, chunk_samples)
    workers = []
    try:
        for g in groups:
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(plan, g, chunk_samples, send), daemon=True)
            proc.start()
            send.close()
            workers.append((g, recv, proc))
        for a in range(0, plan.frames, chunk_samples):
            n = min(chunk_samples, plan.frames - a)
            blocks: list = [None] * len(plan.parts)
            for i, block in zip(own, next(local)):
                blocks[i] = block
            for g, recv, _ in workers:
                for i in g:
                    try:
                        kind = recv.recv_bytes()
                        if kind == b"E":
                            raise RenderError("a render worker failed: "
                                              + recv.recv_bytes().decode(errors="replace"))
                        if kind != b"0":
                            data = np.frombuffer(recv.recv_bytes(), dtype=np.float64)
                            blocks[i] = ((int.from_bytes(kind[1:], "little"), data)
                                         if kind[:1] == b"1" else data.reshape(2, n))
                    except EOFError:
                        raise RenderError("a render worker died unexpectedly") from None
            yield blocks
    finally:
        for _, recv, proc in workers:
            recv.close()
            proc.join(timeout=0.1)
            if proc.is_alive():
                proc.terminate()
                proc.join()


class _Spool:
    """Stereo float64 frames spooled to an anonymous temporary file."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="synth-spool-")
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(block.T, dtype="<f8").tobytes())
        self.frames += block.shape[1]

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        self.file.seek(0)
        done = 0
        while done < self.frames:
            m = min(size, self.frames - done)
            yield np.frombuffer(self.file.read(m * 16), dtype="<f8").reshape(m, 2).T
            done += m

    def read_all(self) -> np.ndarray:
        self.file.seek(0)
        return np.frombuffer(self.file.read(), dtype="<f8").reshape(-1, 2).T

    def close(self) -> None:
        self.file.close()


def _master_gain(peak: float, master: MasterSettings, raw=None, sr: int = DEFAULT_SR) -> float:
    """Linear gain of the master stage for a raw mix whose sample peak is ``peak``.

    ``raw`` (the whole raw mix, or a callable returning it) is needed only for
    a loudness target.
    """
    if master.loudness is not None:
        from .loudness import integrated_loudness, true_peak

        audio = raw() if callable(raw) else raw
        measured = integrated_loudness(audio, sr)
        if not math.isfinite(measured):
            return 1.0
        gain = float(db_to_amp(master.loudness - measured))
        tp = true_peak(audio, sr) * gain
        if tp > master.ceiling:
            limited = gain * master.ceiling / tp
            reached = master.loudness + 20 * math.log10(limited / gain)
            warnings.warn(SynthWarning(
                f"loudness target {master.loudness:g} LUFS would put the true peak at "
                f"{20 * math.log10(tp):+.1f} dBTP; held at the {master.ceiling_db:g} dBTP "
                f"ceiling instead, reaching {reached:.1f} LUFS"))
            gain = limited
        return gain
    if master.normalize:
        return master.ceiling / peak if peak > 0 else 1.0
    return float(db_to_amp(master.gain_db))


def _apply_master(block: np.ndarray, gain: float, master: MasterSettings) -> np.ndarray:
    y = block * gain
    if not master.normalize and master.loudness is None:
        y = soft_limit(y, master.ceiling)
    if not np.isfinite(y).all():
        raise RenderError("the render produced non-finite samples (NaN or infinity)")
    return y


def render(score: Score, *, sr: int = DEFAULT_SR, seed: int | None = None,
           master: MasterSettings = MasterSettings(), max_seconds: float = DEFAULT_MAX_SECONDS,
           chunk_samples: int = DEFAULT_CHUNK, patches: Mapping[str, Patch] | None = None,
           return_result: bool = False, stems: bool = False, jobs: int = 1):
    """Render ``score`` to a stereo array in memory.

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
    return_result : bool
        Also return a :class:`RenderResult`.
    stems : bool
        Also return each part's stereo stem, scaled by the master gain, so
        that the stems sum to the mix (before the limiter, when there is one).
    jobs : int
        Worker processes (parts rendered in parallel); the output is
        bit-identical for any value.

    Returns
    -------
    audio : np.ndarray [shape=(2, n), dtype=float64]
        Peak at or below the master ceiling.
    stems : dict of str to np.ndarray [shape=(2, n)]
        Only with ``stems=True``.
    result : RenderResult
        Only with ``return_result=True``.
    """
    plan = RenderPlan(score, sr=sr, seed=seed, max_seconds=max_seconds, patches=patches)
    mixes, stem_blocks = [], [[] for _ in plan.parts]
    for part_blocks, mix in plan.chunks_with_stems(chunk_samples, jobs, stems=stems):
        mixes.append(mix)
        if stems:
            for acc, block in zip(stem_blocks, part_blocks or ()):
                acc.append(block)
    raw = np.concatenate(mixes, axis=1)
    peak = float(np.max(np.abs(raw))) if raw.size else 0.0
    gain = _master_gain(peak, master, raw, plan.sr)
    out = [_apply_master(raw, gain, master)]
    if stems:
        out.append({pp.part.name: np.concatenate(b, axis=1) * gain
                    for pp, b in zip(plan.parts, stem_blocks)})
    if return_result:
        out.append(RenderResult(plan.sr, plan.seed, plan.frames, peak, gain))
    return out[0] if len(out) == 1 else tuple(out)


def stem_filename(index: int, name: str) -> str:
    """File name of part ``index`` (0-based) called ``name`` in a stems folder."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "part"
    return f"{index + 1:02d}-{safe}.wav"


def render_to_file(score: Score, path, *, sr: int = DEFAULT_SR, seed: int | None = None,
                   subtype: str = "PCM_24", force: bool = False,
                   master: MasterSettings = MasterSettings(),
                   max_seconds: float = DEFAULT_MAX_SECONDS, chunk_samples: int = DEFAULT_CHUNK,
                   patches: Mapping[str, Patch] | None = None,
                   metadata: Mapping[str, str] | None = None,
                   stems_dir=None, jobs: int = 1,
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
        Worker processes rendering parts in parallel (bit-identical output).
    progress : callable, optional
        ``progress(stage, done_frames, total_frames)``, stage ``"render"``
        or ``"write"``.

    Returns
    -------
    RenderResult
    """
    from . import audio as audio_io   # the only soundfile user

    audio_io.check_writable(path, force=force)
    plan = RenderPlan(score, sr=sr, seed=seed, max_seconds=max_seconds, patches=patches)
    stem_paths = []
    if stems_dir is not None:
        os.makedirs(stems_dir, exist_ok=True)
        stem_paths = [os.path.join(stems_dir, stem_filename(i, pp.part.name))
                      for i, pp in enumerate(plan.parts)]
        for sp in stem_paths:
            audio_io.check_writable(sp, force=force)
    spool = _Spool()
    stem_spools = [_Spool() for _ in stem_paths]
    try:
        peak = 0.0
        for part_blocks, block in plan.chunks_with_stems(chunk_samples, jobs,
                                                         stems=bool(stem_spools)):
            if block.size:
                peak = max(peak, float(np.max(np.abs(block))))
            spool.write(block)
            for sp, b in zip(stem_spools, part_blocks or ()):
                sp.write(b)
            if progress:
                progress("render", spool.frames, plan.frames)
        gain = _master_gain(peak, master, spool.read_all, plan.sr)

        def scaled(blocks, limit=True):
            done = 0
            for raw in blocks:
                done += raw.shape[1]
                if progress and limit:
                    progress("write", done, plan.frames)
                yield _apply_master(raw, gain, master) if limit else raw * gain

        audio_io.write_wav(path, scaled(spool.blocks(chunk_samples)), sr=plan.sr,
                           subtype=subtype, force=force, metadata=metadata)
        for sp_path, sp, pp in zip(stem_paths, stem_spools, plan.parts):
            stem_meta = dict(metadata or {})
            stem_meta["title"] = f"{stem_meta.get('title', score.title)} [{pp.part.name}]"
            audio_io.write_wav(sp_path, scaled(sp.blocks(chunk_samples), limit=False),
                               sr=plan.sr, subtype=subtype, force=force, metadata=stem_meta)
    finally:
        spool.close()
        for sp in stem_spools:
            sp.close()
    return RenderResult(plan.sr, plan.seed, plan.frames, peak, gain)
