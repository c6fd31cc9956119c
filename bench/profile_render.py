"""Where does ``synth render`` spend its time?  cProfile of one render (issue 7).

Renders a MIDI file (default: the 180 s reference workload, generated on the
fly) in this process with ``jobs=1`` into a temporary 16-bit WAV, the same
work ``synth render FILE --jobs 1 --bit-depth 16`` does after parsing its
arguments, under :mod:`cProfile`, then prints:

* the load / plan / render+write split in wall seconds;
* the self time ("tottime") summed per source file, so the layers show
  (oscillators vs envelopes vs the renderer's mixing loop vs NumPy);
* the top functions by cumulative time and by self time.

Usage::

    python bench/profile_render.py [FILE.mid] [--preset saw] [--top 25]
        [--save out.prof]          # for snakeviz / pstats later

Parts whose default GM preset does not exist yet are played with
``--fallback-preset`` (default ``saw``), and the script says so.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import os
import pstats
import sys
import tempfile
import time
import warnings
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402  (bench/ is a folder of scripts, not a package)

from synth.commands._common import keep_freed_memory  # noqa: E402
from synth.midi import read_midi  # noqa: E402
from synth.patch import preset_names  # noqa: E402
from synth.render import RenderPlan, render_to_file  # noqa: E402

__all__ = ["load_score", "self_time_by_file", "main"]


def load_score(path: str | None, preset: str | None, fallback: str):
    """The score of ``path`` (default: the reference workload), presets resolved.

    Returns
    -------
    score : synth.score.Score
    replaced : list of str
        Presets that were missing and played with ``fallback`` instead.
    """
    source = path or workload.midi_file_bytes(workload.reference_workload(180.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = read_midi(source, source=path or "reference-180s.mid")
    known = set(preset_names())
    replaced = sorted({p.preset for p in score.parts if p.preset not in known})
    if preset or replaced:
        score = score.with_parts(
            dataclasses.replace(p, preset=preset or (p.preset if p.preset in known else fallback),
                                patch={} if (preset or p.preset not in known) else p.patch)
            for p in score.parts)
    return score, replaced


def self_time_by_file(stats: pstats.Stats) -> list[tuple[str, float, int]]:
    """(file, self seconds, calls) per source file, largest first.

    Built-ins (NumPy's C functions, ``{method ...}``) are grouped under their
    printed name so the share spent inside NumPy kernels shows.
    """
    by_file: dict[str, list] = defaultdict(lambda: [0.0, 0])
    for (filename, _line, func), (_cc, ncalls, tottime, _ct, _callers) in stats.stats.items():
        if filename == "~":
            key = func if len(func) < 60 else func[:57] + "..."
        else:
            parts = filename.replace("\\", "/").split("/")
            key = "/".join(parts[parts.index("synth"):]) if "synth" in parts else parts[-1]
        by_file[key][0] += tottime
        by_file[key][1] += ncalls
    return sorted(((k, v[0], v[1]) for k, v in by_file.items()), key=lambda r: -r[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("midi", nargs="?", help="MIDI file (default: the 180 s reference workload)")
    ap.add_argument("--preset", help="play every part with this preset")
    ap.add_argument("--fallback-preset", default="saw",
                    help="preset for parts whose GM preset is missing (default saw)")
    ap.add_argument("--top", type=int, default=25, help="rows per table")
    ap.add_argument("--save", metavar="PATH", help="also dump the raw profile (pstats format)")
    args = ap.parse_args(argv)
    # the same glibc settings as `synth render` (without them every note's
    # arrays are fresh mmaps and the profile shows system time the CLI never pays)
    keep_freed_memory()

    t0 = time.perf_counter()
    score, replaced = load_score(args.midi, args.preset, args.fallback_preset)
    t_load = time.perf_counter() - t0
    if replaced and not args.preset:
        print(f"note: presets not available yet, played with {args.fallback_preset!r}: "
              f"{', '.join(replaced)}")
    print(f"score: {score.note_count} notes, {len(score.parts)} parts, "
          f"{score.duration_seconds:.1f} s; presets: "
          f"{', '.join(sorted({p.preset for p in score.parts}))}")

    t0 = time.perf_counter()
    RenderPlan(score)          # timed alone once; render_to_file plans again, inside the profile
    t_plan = time.perf_counter() - t0

    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "profile.wav")
        t0 = time.perf_counter()
        prof.enable()
        result = render_to_file(score, out, subtype="PCM_16", jobs=1)
        prof.disable()
        t_render = time.perf_counter() - t0
    print(f"wall: load MIDI {t_load:.2f} s, plan {t_plan:.2f} s, plan+render+write "
          f"{t_render:.2f} s under cProfile ({result.seconds / t_render:.1f}x realtime "
          f"with profiling overhead)")
    if args.save:
        prof.dump_stats(args.save)

    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())
    print(f"\n## self time by file (total {total:.2f} s)\n")
    print(f"{'file / built-in':60s} {'self s':>8s} {'share':>6s} {'calls':>9s}")
    for key, secs, calls in self_time_by_file(stats)[:args.top]:
        print(f"{key:60s} {secs:8.2f} {secs / total * 100:5.1f}% {calls:9d}")
    for order in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(order).print_stats(args.top)
        text = buf.getvalue()
        print(f"\n## top {args.top} by {order}\n")
        print(text[text.find("   ncalls"):].rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
