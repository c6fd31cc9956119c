"""``synth analyze``: how rough (dissonant) a score or arrangement is."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

import numpy as np

from ..analysis import analyze_roughness, default_partials, windowed_roughness
from ..analysis import music
from ..loader import is_arrangement, load
from ._common import add_seed_options, load_input

if TYPE_CHECKING:
    from collections.abc import Sequence
    from ..score import Score

HELP = """examples:
  synth analyze arrangements/sonnerie-bells-in-the-ice.toml
  synth analyze arrangements/sonnerie-bells-in-the-ice.toml --seed 3 --json
  synth analyze my-version.mid --compare arrangements/sources/sonnerie.toml
  synth analyze march.wav                       # loudness, true peak, duration of a render
  synth analyze arrangements/laurel-waltz-nightmare-march.toml --audio
  synth analyze arrangements/sources/sonnerie.toml --parts violin,viol   # key of the upper voices"""

#: Files analysed as audio (loudness, peaks, duration) rather than as scores.
AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")

IC_NAMES = ("P1/P8", "m2/M7", "M2/m7", "m3/M6", "M3/m6", "P4/P5", "TT")
_SPARKS = " ▁▂▃▄▅▆▇█"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="roughness of a score; loudness and peaks of audio",
                       description="Print the mean and peak roughness of INPUT (Sethares' "
                       "Plomp-Levelt model summed over the partials of sounding notes, divided "
                       "by their energy, so loudness and unison doubling do not change it), a "
                       "roughness-over-time summary with its coefficient of variation, "
                       "interval-class counts, and the comparison with the source (an arrangement's own source, or --compare). For an "
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
    p.add_argument("--parts", metavar="NAMES",
                   help="comma-separated parts whose notes the key finding uses (default: all)")
    p.add_argument("--key-profile", choices=sorted(music.PROFILES), default="krumhansl",
                   help="key profiles: Krumhansl & Kessler 1982 (default) or Kostka-Payne "
                   "(Temperley 2007)")
    add_seed_options(p)
    p.add_argument("--quiet", action="store_true", help="no warnings")
    p.set_defaults(func=run)


#: The partials of the roughness model: the analysis layer's default (the presets' real spectra).
partials_for = default_partials


def summarize(score: Score, window_bars: int = 8) -> dict:
    """A JSON-ready roughness summary of ``score`` (normalised roughness; the raw
    pair sum's mean is ``raw_mean_roughness``, for reference only)."""
    rep = analyze_roughness(score, partials_for=partials_for)
    bars = rep.bar_means
    win = windowed_roughness(score, window_bars=window_bars, timeline=rep.timeline)
    windows = [{"bars": [int(a), int(b)], "mean": round(float(v), 6)}
               for a, b, v in zip(win.first_bars, win.last_bars, win.values)]
    wmean = float(win.values.mean()) if win.values.size else 0.0
    peak_bar = int(np.argmax(bars)) + 1 if len(bars) else None
    return {
        "title": score.metadata.title,
        "seed": score.metadata.seed,
        "mean_roughness": round(rep.mean, 6),
        "peak_roughness": round(rep.peak, 6),
        "raw_mean_roughness": round(rep.raw_mean, 6),
        "roughest_bar": peak_bar,
        "bars": len(bars),
        "windows": windows,
        "window_cv": round(float(win.values.std()) / wmean, 6) if wmean > 0 else None,
        "interval_classes": {name: int(c) for name, c in zip(IC_NAMES, rep.interval_classes)},
        "dissonant_fraction": round(rep.dissonant_fraction, 6),
    }


def tension_summary(path: str, windows: list[dict]) -> dict | None:
    """The arrangement's requested tension against the measured roughness, per window.

    Parameters
    ----------
    path : str
        The arrangement file (its ``[tension]`` table; None is returned without one).
    windows : list of dict
        :func:`summarize`'s ``windows`` (``bars`` and normalised ``mean``).

    Returns
    -------
    dict or None
        ``windows`` (``bars``, ``requested`` = the curve's mean over the
        window's bars, ``roughness``), ``correlation`` (Pearson),
        ``roughness_cv`` (coefficient of variation of the measured windows)
        and ``sections``.
    """
    from ..arrangement import read_arrangement, requested_tension
    from ..tension import bar_window_means, coefficient_of_variation, pearson

    arr = read_arrangement(path)
    per_bar = requested_tension(arr)
    if per_bar is None or not windows:
        return None
    first, last = zip(*(w["bars"] for w in windows))
    rows = [{"bars": w["bars"], "requested": round(float(want), 6), "roughness": w["mean"]}
            for w, want in zip(windows, bar_window_means(per_bar, first, last))]
    measured = [r["roughness"] for r in rows]
    wanted = [r["requested"] for r in rows]
    return {
        "windows": rows,
        "correlation": round(pearson(measured, wanted), 6),
        "roughness_cv": round(coefficient_of_variation(measured), 6),
        "sections": [{"name": s.name, "bars": [s.first, s.last], "release": s.release}
                     for s in arr.tension.sections],
    }


def _print_tension(t: dict, window_bars: int) -> None:
    wanted = [w["requested"] for w in t["windows"]]
    measured = [w["roughness"] for w in t["windows"]]
    print(f"tension, per {window_bars} bars: requested {sparkline(wanted)}")
    print(f"{'':>{len(f'tension, per {window_bars} bars: ')}}measured  {sparkline(measured)}  "
          f"(correlation {t['correlation']:.2f}, CV {t['roughness_cv']:.2f})")
    if t["sections"]:
        print("sections: " + ", ".join(f"{s['name']} {s['bars'][0]}-{s['bars'][1]}"
                                       + (" (release)" if s["release"] else "")
                                       for s in t["sections"]))


def sparkline(values: Sequence[float] | np.ndarray) -> str:
    """One character per value, scaled to the largest."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or v.max() <= 0:
        return _SPARKS[0] * v.size
    idx = np.rint(v / v.max() * (len(_SPARKS) - 1)).astype(int)
    return "".join(_SPARKS[i] for i in idx)


def _ratio(a: float, b: float) -> str:
    return f"x{a / b:.2f}" if b > 0 else "n/a"


def audio_summary(audio: np.ndarray, sr: int) -> dict:
    """Loudness (BS.1770), true and sample peak, LRA and duration of ``audio``.

    ``audio`` is an array [shape=(channels, n)] or an iterable of such blocks
    (read once, in one streaming pass: memory does not grow with the length).
    """
    from ..loudness import measure

    m = measure(audio, sr, lra=True)

    def db(v):
        return float(20 * np.log10(v)) if v > 0 else float("-inf")

    lufs = m["lufs"]
    return {
        "duration_seconds": round(m["frames"] / sr, 6),
        "sample_rate": sr,
        "channels": int(m["channels"]),
        "integrated_loudness_lufs": round(lufs, 3) if np.isfinite(lufs) else None,
        "true_peak_dbtp": round(db(m["true_peak"]), 3),
        "sample_peak_dbfs": round(db(m["sample_peak"]), 3),
        "loudness_range_lu": round(m["lra"], 3),
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
    print(f"loudness range  {a['loudness_range_lu']:.1f} LU (EBU Tech 3342)")


def _parts_option(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        from ..errors import SynthError
        raise SynthError(f"--parts needs part names separated by commas, got {text!r}")
    return names


def music_summary(score: Score, window_bars: int = 8, parts: Sequence[str] | None = None,
                  profile: str = "krumhansl") -> dict:
    """A JSON-ready summary of the composer's measures (:mod:`synth.analysis.music`).

    Keys: ``keys`` (heard key per window), ``key_agreement`` (per written key
    area), ``repeats``, ``density``, ``velocities`` and ``note_values``.
    """
    windows = music.key_windows(score, window_bars=window_bars, parts=parts, profile=profile)
    r6 = lambda v: round(float(v), 6)   # noqa: E731
    vel = lambda v: {"min": v.min, "max": v.max, "distinct": v.distinct} if v else None  # noqa: E731
    values = music.note_values(score)
    return {
        "key_profile": profile,
        "key_parts": list(parts) if parts is not None else None,
        "keys": [{"bars": [w.first_bar, w.last_bar], "written": w.written_key, "heard": w.key,
                  "correlation": r6(w.correlation), "runner_up": w.runner_up,
                  "runner_up_correlation": r6(w.runner_up_correlation), "agrees": w.agrees}
                 for w in windows],
        "key_agreement": [{"written": a.written_key, "bars": [a.first_bar, a.last_bar],
                           "windows": a.windows, "agreeing": a.agreeing,
                           "share": r6(a.share) if a.share is not None else None}
                          for a in music.key_agreement(windows)],
        "repeats": {name: {"longest_run": r.longest_run, "repeated_bars": r.repeats,
                           "runs": [list(run) for run in r.runs]}
                    for name, r in music.repeated_bars(score).items()},
        "density": {name: {"per_bar": list(d.per_bar),
                           "window_means": [r6(m) for m in d.window_means]}
                    for name, d in music.density(score, window_bars=window_bars).items()},
        "velocities": {"parts": {name: vel(v) for name, v in music.velocity_ranges(score).items()},
                       "all": vel(music.velocity_range(n for p in score.parts for n in p.notes))},
        "note_values": {"count": len(values), "beats": list(values)},
    }


def _print_music(m: dict, window_bars: int) -> None:
    if m["keys"]:
        source = "all parts" if m["key_parts"] is None else ", ".join(m["key_parts"])
        profile = {"krumhansl": "Krumhansl-Kessler", "temperley": "Kostka-Payne"}[m["key_profile"]]
        print(f"key per {window_bars} bars ({profile} profiles; {source}):")
        print(f"  {'bars':<9} {'written':<10} {'heard':<10} {'r':>5}  runner-up")
        for k in m["keys"]:
            bars = f"{k['bars'][0]}-{k['bars'][1]}"
            mark = {True: "", False: "  *", None: ""}[k["agrees"]]
            heard = (f"{k['heard']:<10} {k['correlation']:5.2f}  {k['runner_up']} "
                     f"{k['runner_up_correlation']:.2f}" if k["heard"] else "-")
            print(f"  {bars:<9} {k['written'] or '-':<10} {heard}{mark}")
        shares = [f"{a['written']} (bars {a['bars'][0]}-{a['bars'][1]}) in {a['agreeing']} of "
                  f"{a['windows']}" for a in m["key_agreement"] if a["share"] is not None]
        if shares:
            print("written key heard: " + "; ".join(shares) + " windows")
    for name, r in m["repeats"].items():
        if r["longest_run"] == 0:
            continue
        longest = sorted(r["runs"], key=lambda run: (-run[1], run[0]))[:3]
        where = ", ".join(f"bars {a}-{a + n - 1}" for a, n in longest)
        n = r["repeated_bars"]
        print(f"repeated bars   {name}: longest run {r['longest_run']}"
              + (f" ({where})" if where else "")
              + f"; {n} bar{'' if n == 1 else 's'} identical to the bar before")
    for name, d in m["density"].items():
        if not any(d["per_bar"]):
            continue
        means = d["window_means"]
        print(f"notes per bar   {name}: {sparkline(means)}  (per {window_bars} bars, "
              f"max {max(means):.3g}; busiest bar {max(d['per_bar'])})")
    v = m["velocities"]
    if v["all"]:
        parts = ", ".join(f"{name} {p['min']}-{p['max']} ({p['distinct']})"
                          for name, p in v["parts"].items() if p)
        print(f"velocities      {v['all']['min']}-{v['all']['max']}, {v['all']['distinct']} "
              f"distinct values; {parts}")
    nv = m["note_values"]
    if nv["count"]:
        print(f"note values     {nv['count']} distinct: "
              + ", ".join(f"{b:g}" for b in nv["beats"][:12])
              + (" ..." if nv["count"] > 12 else "") + " beats")


def run(args: argparse.Namespace) -> int:
    if args.window_bars < 1:
        from ..errors import SynthError
        raise SynthError(f"--window-bars must be >= 1, got {args.window_bars!r}")
    if os.path.splitext(args.input)[1].lower() in AUDIO_SUFFIXES:
        from ..audio import read_audio_blocks

        sr, blocks = read_audio_blocks(args.input)
        try:
            result = {"file": args.input, **audio_summary(blocks, sr)}
        except ValueError as e:         # NaN or infinite samples
            from ..errors import AudioFileError
            raise AudioFileError(f"cannot measure: {e}", source=args.input) from None
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(os.path.basename(args.input))
            _print_audio(result)
        return 0
    score = load_input(args, seed=args.seed, variation=args.variation)
    result = summarize(score, args.window_bars)
    if is_arrangement(args.input):
        tension = tension_summary(args.input, result["windows"])
        if tension is not None:
            result["tension"] = tension
    result.update(music_summary(score, args.window_bars, _parts_option(args.parts),
                                args.key_profile))
    if args.audio:
        from ..render import render

        result["audio"] = audio_summary(render(score, sr=44100).audio, 44100)
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
    print(f"mean roughness  {result['mean_roughness']:.4g}  (normalised: pair sum / partial energy; "
          f"raw {result['raw_mean_roughness']:.4g})")
    print(f"peak roughness  {result['peak_roughness']:.4g}"
          + (f"  (roughest bar: {result['roughest_bar']})" if result["roughest_bar"] else ""))
    if result["windows"]:
        means = [w["mean"] for w in result["windows"]]
        print(f"over time, per {args.window_bars} bars: {sparkline(means)}  "
              f"(min {min(means):.3g}, max {max(means):.3g}"
              + (f", CV {result['window_cv']:.2f})" if result["window_cv"] is not None else ")"))
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
    if "tension" in result:
        _print_tension(result["tension"], args.window_bars)
    _print_music(result, args.window_bars)
    if "audio" in result:
        print("rendered at 44100 Hz:")
        _print_audio(result["audio"])
    return 0
