"""``synth batch``: many seeded renders into one folder, with a manifest; sharded, resumable."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from .. import __version__
from ..audio import BIT_DEPTHS
from ..batch import (BatchError, RenderOptions, check_unique_names, parse_range,
                     parse_shard, plan_items, read_batch_file, run_batch, shard)
from ..render import DEFAULT_MAX_SECONDS, DEFAULT_SR
from ._common import eprint
from .render import bar_range

HELP = """examples:
  synth batch arrangements/laurel-waltz-nightmare-march.toml --variations 0:10 -o march/
  synth batch piece.toml --seeds 1:1001 --sample-rate 22050 --stems --midi -o corpus/
  synth batch --batch-file renders.toml -o out/ --shard 3/8   # items 3, 11, 19, ...
  synth batch piece.toml --seeds 0:100 -o out/ --scheduler tcp://10.0.0.5:8786

ranges are Python-style: A:B is A up to but not including B (0:10 = 0..9);
also N alone or a comma list (1,4,10:20).  Files are named INPUT-sSEED-vVARIATION.wav;
each finished item appends one line to DIR/manifest.jsonl (or
manifest.shard-I-of-N.jsonl); a re-run renders only what is missing.
See docs/batch.md."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="render many seeds/variations into a folder, with a manifest",
                       description="Render numbered items (input x seed x variation) into a "
                       "folder, each byte for byte what `synth render` writes, appending a "
                       "JSON Lines manifest as each finishes. Re-running skips finished items; "
                       "--shard I/N splits the items between processes or machines.",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="score, arrangement, MIDI or MusicXML files")
    p.add_argument("-o", "--output-dir", required=True, metavar="DIR",
                   help="output folder (created if missing; it holds the manifest)")
    p.add_argument("--batch-file", metavar="FILE",
                   help="a .toml or .csv file listing inputs and options per row "
                   "(see docs/batch.md); command-line options are its defaults")
    p.add_argument("--seeds", metavar="A:B",
                   help="base seeds A..B-1 (default: each file's own seed)")
    p.add_argument("--variations", metavar="A:B",
                   help="variations A..B-1 of each seed (arrangements; default 0, the seed itself)")
    p.add_argument("--sample-rate", type=int, metavar="HZ",
                   help=f"sample rate, 22050..96000 (default {DEFAULT_SR})")
    p.add_argument("--bit-depth", choices=sorted(BIT_DEPTHS), help="16, 24 (default) or float")
    p.add_argument("--preset", metavar="NAME", help="play every part with this preset")
    p.add_argument("--bars", metavar="A-B", type=bar_range,
                   help="render only bars A to B (inclusive)")
    p.add_argument("--loudness", type=float, metavar="LUFS",
                   help="normalise each render to this integrated loudness")
    p.add_argument("--ceiling", type=float, metavar="DB", help="peak ceiling (default -1)")
    p.add_argument("--master", choices=("normalize", "limit"),
                   help="the master stage, as synth render --master (default normalize)")
    p.add_argument("--max-seconds", type=float, metavar="S",
                   help=f"refuse renders longer than S seconds (default {DEFAULT_MAX_SECONDS:g})")
    p.add_argument("--stems", action="store_true", default=None,
                   help="also write NAME.stems/ (one WAV per part) per item")
    p.add_argument("--midi", action="store_true", default=None,
                   help="also write NAME.mid (the rendered score) per item")
    p.add_argument("--shard", metavar="I/N",
                   help="render only the items with index %% N == I (I from 0)")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="items rendered at once, one process each (default: the CPUs "
                   "this process may use)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="send the items to dask.distributed: 'local' (a LocalCluster of "
                   "--jobs workers) or a scheduler address tcp://HOST:PORT "
                   "(needs: pip install 'synth-liquidsky[dask]')")
    p.add_argument("--dry-run", action="store_true",
                   help="list the items (index, name, seed, variation) and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines, no summary")
    p.set_defaults(func=run)


def _options(args) -> dict:
    """Options given on the command line (the rest keep RenderOptions' defaults)."""
    values = {"sample_rate": args.sample_rate, "bit_depth": args.bit_depth,
              "preset": args.preset, "loudness": args.loudness, "ceiling": args.ceiling,
              "master": args.master, "bars": args.bars,
              "max_seconds": args.max_seconds, "stems": args.stems, "midi": args.midi}
    return {k: v for k, v in values.items() if v is not None}


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class _Reporter:
    """Progress lines on stderr: one updating line on a terminal, else one every few seconds."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, p) -> None:
        if p.error:
            eprint(("\n" if self.tty and self.enabled else "")
                   + f"synth: error: {p.last}: {p.error}")
        if not self.enabled:
            return
        now = time.monotonic()
        final = p.done == p.total
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        line = (f"batch: {p.done}/{p.total} items ({p.skipped} already done, {p.failed} failed), "
                f"{p.per_minute:.1f} renders/min, ETA {_clock(p.eta)}")
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if final else ""))
            sys.stderr.flush()
        else:
            eprint(line)


def run(args: argparse.Namespace) -> int:
    shard_spec = parse_shard(args.shard) if args.shard else None
    seeds = parse_range(args.seeds, "--seeds") if args.seeds is not None else None
    variations = parse_range(args.variations, "--variations") if args.variations is not None else None
    if args.jobs is not None and args.jobs < 1:
        raise BatchError(f"--jobs {args.jobs}: must be >= 1")
    if args.scheduler is not None and not args.scheduler.strip():
        raise BatchError("--scheduler: expected 'local' or tcp://HOST:PORT")
    if not args.inputs and not args.batch_file:
        raise BatchError("nothing to render: give INPUT files or --batch-file")
    options = _options(args)
    items = []
    if args.inputs:
        items += plan_items(args.inputs, seeds=seeds, variations=variations,
                            options=RenderOptions(**options))
    if args.batch_file:
        defaults = dict(options)
        if seeds is not None:
            defaults["seeds"] = seeds
        if variations is not None:
            defaults["variations"] = variations
        items += read_batch_file(args.batch_file, defaults=defaults, start=len(items))
        check_unique_names(items)           # the INPUT items against the file's
    if args.dry_run:
        for it in shard(items, *shard_spec) if shard_spec else items:
            print(f"{it.index}\t{it.name}\t{it.input.label}\tseed {it.seed}\t"
                  f"variation {it.variation}")
        return 0
    reporter = _Reporter(enabled=not args.quiet)
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(signum, frame):       # a scheduler's polite kill: stop like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        summary = run_batch(items, args.output_dir, jobs=args.jobs, shard_spec=shard_spec,
                            scheduler=args.scheduler, version=__version__, progress=reporter)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not args.quiet:
        rate = 60.0 * summary.rendered / summary.seconds if summary.seconds > 0 else 0.0
        where = f" (shard {shard_spec[0]}/{shard_spec[1]})" if shard_spec else ""
        eprint(f"batch{where}: {summary.total} items: {summary.rendered} rendered, "
               f"{summary.skipped} already done, {len(summary.failed)} failed in "
               f"{summary.seconds:.1f} s ({rate:.1f} renders/min, {summary.workers} "
               f"worker{'s' if summary.workers != 1 else ''}); manifest {summary.manifest}")
    return 2 if summary.failed else 0
