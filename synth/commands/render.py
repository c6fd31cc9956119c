"""``synth render``: score, arrangement or MIDI file -> WAV."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from .. import __version__
from ..audio import BIT_DEPTHS, check_stems_folder, check_suffix, check_writable
from ..files import toml_once
from .. import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
from ..patch import get_preset
from ..render import DEFAULT_CHUNK, MasterSettings, render_to_file
from ._common import Progress, default_output, eprint, input_files, load_input
from ._options import add_master_option, add_render_options, bar_range  # noqa: F401 (batch)

if TYPE_CHECKING:
    import argparse
    from ..score import Score

HELP = """examples:
  synth render examples/first-score.toml -o first.wav
  synth render arrangements/sonnerie-bells-in-the-ice.toml --seed 7 -o ice7.wav --force
  synth render song.mid --preset saw --sample-rate 48000 --bit-depth float
  synth render piece.toml --stems stems/ --loudness -16 -o piece.wav
  synth render piece.toml -o - --master limit | play -t wav -   # plays as it renders"""

#: Block size when streaming to standard output (``-o -``), in frames: the
#: first block goes out after a quarter of the default block's work (a
#: third of a second of audio at 48 kHz) for about 10 % more render time in
#: all; the output is the same for any block size.
STREAM_CHUNK = 1 << 14


def register(sub: argparse._SubParsersAction) -> None:
    import argparse
    p = sub.add_parser("render", help="render a score, arrangement or MIDI file to WAV",
                       description="Render INPUT (score .toml, arrangement .toml, .mid, "
                       ".musicxml) to a stereo WAV file.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output WAV ('-' for standard output; default: INPUT's name with .wav)")
    add_render_options(p)
    p.add_argument("--bit-depth", choices=sorted(BIT_DEPTHS), default="24",
                   help="16, 24 (default) or float (32-bit)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--stems", metavar="DIR",
                   help="also write one WAV per part into DIR (they sum to the mix)")
    p.add_argument("--loudness", type=float, metavar="LUFS",
                   help="normalise to this integrated loudness (ITU-R BS.1770), e.g. -16, "
                   "keeping the true peak under the ceiling")
    add_master_option(p, default="normalize")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no warnings")
    p.add_argument("--no-engine", action="store_true",
                   help="with -o - --master limit: render in this process (with --jobs) even "
                   "when a synth engine runs (which streams it from one process)")
    p.set_defaults(func=run)


def master_settings(args: argparse.Namespace) -> MasterSettings:
    return MasterSettings(ceiling_db=args.ceiling, loudness=getattr(args, "loudness", None),
                          limit=args.master == "limit")


def load_for_render(args: argparse.Namespace) -> tuple[Score, dict[str, str]]:
    """``args.input`` loaded, with ``--preset`` and ``--bars`` applied; and its WAV metadata."""
    if args.preset is not None:      # --preset '' is an unknown preset, not "no preset"
        get_preset(args.preset)
    score = load_input(args, seed=args.seed, variation=args.variation,
                       max_seconds=args.max_seconds)
    if args.preset:
        score = score.with_parts(dataclasses.replace(p, preset=args.preset, patch={})
                                 for p in score.parts)
    if args.bars:
        score = score.excerpt(*args.bars)
    meta = score.metadata
    comment = (f"source: {os.path.basename(args.input)}; seed: {meta.seed}; "
               f"re-render: synth render {os.path.basename(args.input)} --seed {meta.seed}"
               + (f" --bars {args.bars[0]}-{args.bars[1]}" if args.bars else "")
               + (" --master limit" if getattr(args, "master", "") == "limit" else ""))
    metadata = {"title": meta.title, "artist": meta.arranger or meta.composer,
                "software": f"synth {__version__}", "comment": comment}
    return score, metadata


def run(args: argparse.Namespace) -> int:
    out = args.output or default_output(args.input, ".wav")
    check_suffix(out, allowed=(".wav",))          # -o x.mp3: exit 2, not WAV bytes
    if out == "-" and args.master == "limit" and args.stems is None:
        # a running engine streams it at once (numba and the kernels ready)
        from ._engine_client import stream_through_engine

        status = stream_through_engine(args)
        if status is not None:
            return status
    # fail before any work; never replace the file being rendered (or its source)
    with toml_once():          # the input check and the load share one parse of each file
        if out != "-":     # standard output replaces no file (and the check imports
            # the arrangement reader, which a cached load does not need)
            check_writable(out, force=args.force, inputs=input_files(args.input))
        if args.stems is not None:
            check_stems_folder(args.stems)
        master = master_settings(args)
        score, metadata = load_for_render(args)
    meta = score.metadata
    progress = Progress(args.sample_rate, enabled=not args.quiet and out != "-")
    try:
        result = render_to_file(score, out, sr=args.sample_rate, seed=meta.seed,
                                subtype=BIT_DEPTHS[args.bit_depth], force=args.force,
                                master=master,
                                max_seconds=args.max_seconds, metadata=metadata,
                                stems_dir=args.stems, jobs=max(1, args.jobs),
                                progress=progress,
                                chunk_samples=STREAM_CHUNK if out == "-" and master.limit
                                else DEFAULT_CHUNK)
    finally:
        progress.close()
    if not args.quiet and out != "-":
        eprint(f"wrote {out}: {result.seconds:.2f} s, {result.sr} Hz, "
               f"{args.bit_depth}-bit, seed {result.seed}")
    return 0
