"""What a sample of each preset costs, against a plain saw (issue 7).

Renders six 2-second notes (A2 to E5) of every preset, after a warm-up that
builds their tables, and prints nanoseconds per sample and the ratio to
``saw``: where the time of a piece goes, preset by preset.  (``--jobs`` no
longer shares work by a cost model fitted to this table: its processes claim
lanes as the render reaches them, see ``synth.render.parallel``.)  Timings
vary a few per cent between runs.

Usage::

    python bench/bench_presets.py [--sample-rate 44100]
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np

from synth.patch import preset_names, resolve_patch

voice = importlib.import_module("synth.voice")

__all__ = ["time_preset", "main"]


def time_preset(name: str, sr: int) -> float:
    """Nanoseconds per sample of six 2 s notes of preset ``name`` (release included)."""
    patch = resolve_patch(name, {})
    rng = np.random.default_rng(0)
    for pitch in (48, 60, 72):                       # warm the table caches
        voice.render_note(patch, pitch=pitch, velocity=100, gate_samples=sr // 4, sr=sr, rng=rng)
    samples, start = 0, time.perf_counter()
    for pitch in (45, 52, 57, 64, 69, 76):
        samples += len(voice.render_note(patch, pitch=pitch, velocity=100, gate_samples=2 * sr,
                                         sr=sr, rng=rng))
    return (time.perf_counter() - start) * 1e9 / samples


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-rate", type=int, default=44100)
    args = parser.parse_args(argv)
    costs = {name: time_preset(name, args.sample_rate) for name in preset_names()}
    saw = costs["saw"]
    print("| preset | ns per sample | vs saw |")
    print("|---|---:|---:|")
    for name, ns in sorted(costs.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {ns:.1f} | {ns / saw:.2f} |")


if __name__ == "__main__":
    main()
