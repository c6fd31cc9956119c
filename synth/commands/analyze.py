"""``synth analyze``: how rough (dissonant) a score or arrangement is."""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from ..analysis import analyze_roughness, default_partials
from ..loader import is_arrangement, load
from ._common import add_seed_options, load_input

HELP = """examples:
  synth analyze arrangements/sonnerie-ice.toml
  synth analyze arrangements/sonnerie-ice.toml --seed 3 --json
  synth analyze my-version.mid --compare sources/sonnerie.toml"""

IC_NAMES = ("P1/P8", "m2/M7", "M2/m7", "m3/M6", "M3/m6", "P4/P5", "TT")
_SPARKS = " ▁▂▃▄▅▆▇█"


def register(sub) -> None:
    p = sub.add_parser("analyze", help="roughness (sensory dissonance) of a score or arrangement",
                       description="Print the mean and peak roughness of INPUT (Sethares' "
                       "Plomp-Levelt model summed over the partials of sounding notes), a "
                       "roughness-over-time summary, interval-class counts, and the comparison "
                       "with the source (an arrangement's own source, or --compare).",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--compare", metavar="SOURCE",
                   help="compare with this score (default for an arrangement: its source)")
    p.add_argument("--window-bars", type=int, default=8, metavar="N",
                   help="bars per step of the roughness-over-time summary (default 8)")
    add_seed_options(p)
    p.add_argument("--quiet", action="store_true", help="no warnings")
    p.set_defaults(func=run)


def partials_for(preset: str):
    """Partials of ``preset``: the patch model's own if it offers them, else 6 harmonics."""
    try:
        from ..patch import preset_partials   # provided by the patch model when known
    except ImportError:
        return default_partials(preset)
    return preset_partials(preset)


def summarize(score, window_bars: int = 8) -> dict:
    """A JSON-ready roughness summary of ``score``."""
    rep = analyze_roughness(score, partials_for=partials_for)
    bars = rep.bar_means
    windows = []
    for first in range(0, len(bars), window_bars):
        chunk = bars[first:first + window_bars]
        windows.append({"bars": [first + 1, first + len(chunk)], "mean": round(float(chunk.mean()), 6)})
    peak_bar = int(np.argmax(bars)) + 1 if len(bars) else None
    return {
        "title": score.metadata.title,
        "seed": score.metadata.seed,
        "mean_roughness": round(rep.mean, 6),
        "peak_roughness": round(rep.peak, 6),
        "roughest_bar": peak_bar,
        "bars": len(bars),
        "windows": windows,
        "interval_classes": {name: int(c) for name, c in zip(IC_NAMES, rep.interval_classes)},
        "dissonant_fraction": round(rep.dissonant_fraction, 6),
    }


def sparkline(values) -> str:
    """One character per value, scaled to the largest."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or v.max() <= 0:
        return _SPARKS[0] * v.size
    idx = np.rint(v / v.max() * (len(_SPARKS) - 1)).astype(int)
    return "".join(_SPARKS[i] for i in idx)


def _ratio(a: float, b: float) -> str:
    return f"x{a / b:.2f}" if b > 0 else "n/a"


def run(args) -> int:
    if args.window_bars < 1:
        from ..errors import SynthError
        raise SynthError(f"--window-bars must be >= 1, got {args.window_bars!r}")
    score = load_input(args, seed=args.seed, variation=args.variation)
    result = summarize(score, args.window_bars)
    compare_path = args.compare
    if compare_path is None and is_arrangement(args.input):
        from ..arrangement import read_arrangement
        compare_path = read_arrangement(args.input).source_path
    if compare_path is not None:
        source = summarize(load(compare_path), args.window_bars)
        result["compare"] = {
            "source": compare_path,
            "mean_roughness": source["mean_roughness"],
            "peak_roughness": source["peak_roughness"],
            "dissonant_fraction": source["dissonant_fraction"],
            "mean_ratio": (round(result["mean_roughness"] / source["mean_roughness"], 6)
                           if source["mean_roughness"] > 0 else None),
        }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"{result['title']}  (seed {result['seed']})")
    print(f"mean roughness  {result['mean_roughness']:.4g}")
    print(f"peak roughness  {result['peak_roughness']:.4g}"
          + (f"  (roughest bar: {result['roughest_bar']})" if result["roughest_bar"] else ""))
    if result["windows"]:
        means = [w["mean"] for w in result["windows"]]
        print(f"over time, per {args.window_bars} bars: {sparkline(means)}  "
              f"(min {min(means):.3g}, max {max(means):.3g})")
    ic = result["interval_classes"]
    print("interval classes of sounding pairs: "
          + ", ".join(f"{k} {v}" for k, v in ic.items()))
    print(f"dissonant share (m2/M7, M2/m7, TT): {100 * result['dissonant_fraction']:.1f} %")
    if "compare" in result:
        c = result["compare"]
        print(f"compared with {os.path.basename(c['source'])}: mean {c['mean_roughness']:.4g} -> "
              f"{result['mean_roughness']:.4g} ({_ratio(result['mean_roughness'], c['mean_roughness'])}), "
              f"peak {c['peak_roughness']:.4g} -> {result['peak_roughness']:.4g}, dissonant share "
              f"{100 * c['dissonant_fraction']:.1f} % -> {100 * result['dissonant_fraction']:.1f} %")
    return 0
