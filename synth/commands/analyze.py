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
  synth analyze arrangements/sonnerie-bells-in-the-ice.toml
  synth analyze arrangements/sonnerie-bells-in-the-ice.toml --seed 3 --json
  synth analyze my-version.mid --compare arrangements/sources/sonnerie.toml
  synth analyze march.wav                       # loudness, true peak, duration of a render
  synth analyze arrangements/laurel-waltz-nightmare-march.toml --audio"""

#: Files analysed as audio (loudness, peaks, duration) rather than as scores.
AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")

IC_NAMES = ("P1/P8", "m2/M7", "M2/m7", "m3/M6", "M3/m6", "P4/P5", "TT")
_SPARKS = " ▁▂▃▄▅▆▇█"


def register(sub) -> None:
    p = sub.add_parser("analyze", help="roughness of a score; loudness and peaks of audio",
                       description="Print the mean and peak roughness of INPUT (Sethares' "
                       "Plomp-Levelt model summed over the partials of sounding notes), a "
                       "roughness-over-time summary, interval-class counts, and the comparison "
                       "with the source (an arrangement's own source, or --compare). For an "
                       "audio file (or a score with --audio): integrated loudness (ITU-R "
                       "BS.1770), true peak, sample peak and duration.",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--compare", metavar="SOURCE",
                   help="compare with this score (default for an arrangement: its source)")
    p.add_argument("--audio", action="store_true",
                   help="also render INPUT and report its loudness, true peak and duration")
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


def audio_summary(audio: np.ndarray, sr: int) -> dict:
    """Loudness (BS.1770), true and sample peak, and duration of ``audio`` (channels, n)."""
    from ..loudness import integrated_loudness, sample_peak_db, true_peak_db

    lufs = integrated_loudness(audio, sr)
    return {
        "duration_seconds": round(audio.shape[1] / sr, 6),
        "sample_rate": sr,
        "channels": int(audio.shape[0]),
        "integrated_loudness_lufs": round(lufs, 3) if np.isfinite(lufs) else None,
        "true_peak_dbtp": round(true_peak_db(audio, sr), 3),
        "sample_peak_dbfs": round(sample_peak_db(audio), 3),
    }


def _print_audio(a: dict) -> None:
    lufs = a["integrated_loudness_lufs"]
    minutes, seconds = divmod(a["duration_seconds"], 60)
    print(f"duration        {int(minutes)}:{seconds:06.3f} ({a['sample_rate']} Hz, "
          f"{a['channels']} channels)")
    print(f"loudness        {lufs:.1f} LUFS (integrated, ITU-R BS.1770)" if lufs is not None
          else "loudness        silent")
    print(f"true peak       {a['true_peak_dbtp']:+.2f} dBTP   sample peak "
          f"{a['sample_peak_dbfs']:+.2f} dBFS")


def run(args) -> int:
    if args.window_bars < 1:
        from ..errors import SynthError
        raise SynthError(f"--window-bars must be >= 1, got {args.window_bars!r}")
    if os.path.splitext(args.input)[1].lower() in AUDIO_SUFFIXES:
        from ..audio import read_audio

        audio, sr = read_audio(args.input)
        result = {"file": args.input, **audio_summary(audio, sr)}
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(os.path.basename(args.input))
            _print_audio(result)
        return 0
    score = load_input(args, seed=args.seed, variation=args.variation)
    result = summarize(score, args.window_bars)
    if args.audio:
        from ..render import render

        result["audio"] = audio_summary(render(score, sr=44100), 44100)
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
    if "audio" in result:
        print("rendered at 44100 Hz:")
        _print_audio(result["audio"])
    return 0
