"""``synth info``: what a score, arrangement or MIDI file contains."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..units import note_name
from ._common import add_seed_options, load_input

if TYPE_CHECKING:
    import argparse
    from ..score import Score


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a score: parts, notes, duration, provenance",
                       description="Print the parts, note counts, duration, tempo, meter, key "
                       "and provenance of INPUT.",
                       epilog="example:\n  synth info examples/first-score.toml --json")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_seed_options(p)
    p.add_argument("--quiet", action="store_true", help="no warnings")
    p.set_defaults(func=run)


def position(score: Score, beat: float) -> tuple[int, float]:
    """``(bar, beat in the bar)`` of an absolute beat; the beat is 1-based and
    counted in the meter's unit (its denominator), as score files write it.
    In a pickup bar (bar 0) it counts the last beats of a full bar."""
    meters = score.meters
    bar = meters.bar_at(beat)
    meter = meters.meter_at(beat)
    unit = 4.0 / meter.denominator
    start = meters.bar_start(bar)
    if bar == 0:
        start -= float(meter.bar_beats) - meters.pickup
    return bar, round((beat - start) / unit + 1.0, 6)


def _where(score, beat: float) -> dict:
    bar, bar_beat = position(score, beat)
    return {"bar": bar, "bar_beat": bar_beat}


def _at(entry: dict) -> str:
    where = f"bar {entry['bar']}"
    return where if entry["bar_beat"] == 1 and entry["bar"] else f"{where} beat {entry['bar_beat']:g}"


def describe(score: Score) -> dict:
    """A JSON-ready summary of ``score``."""
    md = score.metadata
    parts = []
    for p in score.parts:
        pitches = [n.pitch for n in p.notes]
        parts.append({
            "name": p.name, "preset": p.preset, "notes": len(p.notes),
            "range": [note_name(min(pitches)), note_name(max(pitches))] if pitches else None,
            "generated": p.generated, "description": p.description,
        })
    return {
        "title": md.title, "composer": md.composer, "arranger": md.arranger,
        "description": md.description, "seed": md.seed,
        "duration_seconds": round(score.duration_seconds, 3),
        "beats": round(score.end_beat, 6), "bars": score.bar_count,
        "notes": score.note_count,
        "tempo": [{"beat": c.beat, **_where(score, c.beat), "bpm": c.bpm, "ramp": c.ramp}
                  for c in score.tempo.changes],
        "meter": [{"beat": c.beat, "bar": score.meters.bar_at(c.beat), "meter": str(c)}
                  for c in score.meters.changes],
        "key": [{"beat": k.beat, **_where(score, k.beat), "key": str(k)} for k in score.keys],
        "parts": parts,
        "provenance": dict(md.provenance),
    }


def run(args: argparse.Namespace) -> int:
    score = load_input(args, seed=args.seed, variation=args.variation)
    info = describe(score)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    minutes, seconds = divmod(info["duration_seconds"], 60)
    print(f"{info['title']}" + (f" — {info['composer']}" if info["composer"] else ""))
    if info["arranger"]:
        print(f"arranged by {info['arranger']}")
    if info["description"]:
        print(info["description"].strip())
    print(f"duration  {int(minutes)}:{seconds:05.2f} ({info['bars']} bars, {info['notes']} notes), "
          f"seed {info['seed']}")
    print("tempo     " + ", ".join(
        f"{t['bpm']:g} bpm @ {_at(t)}" + (f" ({t['ramp']} ramp to the next)" if t["ramp"] != "step"
                                           else "") for t in info["tempo"]))
    print("meter     " + ", ".join(f"{m['meter']} @ bar {m['bar']}" for m in info["meter"]))
    if info["key"]:
        print("key       " + ", ".join(f"{k['key']} @ {_at(k)}" for k in info["key"]))
    print("parts")
    width = max(len(p["name"]) for p in info["parts"]) if info["parts"] else 4
    for p in info["parts"]:
        rng = "-".join(p["range"]) if p["range"] else "-"
        gen = "  [generated]" if p["generated"] else ""
        print(f"  {p['name']:<{width}}  {p['preset']:<16} {p['notes']:6d} notes  {rng}{gen}")
    if info["provenance"]:
        print("provenance")
        for k, v in info["provenance"].items():
            text = " ".join(str(v).split())
            print(f"  {k}: {text}")
    return 0
