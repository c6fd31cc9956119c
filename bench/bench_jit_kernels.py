"""Each compiled kernel against the NumPy code it replaced, in one process (issue 19).

Loads ``synth.dsp`` twice: from this tree, and from a baseline tree (an
extracted older commit, e.g. ``git archive f3e4d4e | tar -x -C /tmp/base``)
under another package name, then times the same call on the same inputs with
both, alternating, and prints nanoseconds per sample (per stereo frame for
the effects), the ratio, and whether the outputs are bit-identical.  Timing
is CPU time of this process (``time.process_time``): less disturbed by other
load than wall time.  The kernels are compiled (or loaded from the cache)
before timing.

Usage::

    python bench/bench_jit_kernels.py /tmp/base [--seconds 2] [--repeats 7]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import statistics
import sys
import time

import numpy as np

SR = 44_100.0


def load_baseline(tree: str):
    """``synth.dsp`` of ``tree``, imported as the package ``basesynth``."""
    spec = importlib.util.spec_from_file_location(
        "basesynth", f"{tree}/synth/__init__.py", submodule_search_locations=[f"{tree}/synth"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["basesynth"] = module
    spec.loader.exec_module(module)
    return importlib.import_module("basesynth.dsp")


def cases(dsp, n: int) -> dict:
    """name -> (samples or frames, zero-argument call) for one ``synth.dsp`` package."""
    osc, env, flt, fx = dsp.oscillators, dsp.envelopes, dsp.filters, dsp.effects
    rng = np.random.default_rng(0)
    stereo = rng.standard_normal((2, n)) * 0.3
    mono = stereo[0].copy()
    runs = -(-n // 32)
    starts, inc, _ = osc.stepped_phase(220.0 * 2 ** (0.01 * np.sin(np.arange(runs) / 50)),
                                       sr=SR, n=n, step=32)
    ratios = 2.0 ** (osc.unison_offsets_cents(2, 12.0) / 1200.0)
    table = osc.harmonic_table("saw", 64)
    cutoff = 300.0 * 2 ** (5 * np.arange(n) / n)
    designs = [flt.design_filter("lowpass", 300.0 * 2 ** (k / 8), sr=SR, q=2.0, order=4)
               for k in range(40)]
    bounds = np.linspace(0, n, 41).astype(int)
    return {
        "saw note, fixed pitch (fixed_pitch)": (n, lambda: osc.fixed_pitch("saw", 220.0, sr=SR, n=n)),
        "pad source: 2-voice stack, stepped pitch": (n, lambda: osc.stack_sum_stepped(
            "saw", starts, inc, ratios, [0.1, 0.7], step=32, n=n, sr=SR, max_freq=230.0)),
        "table read (read_shape)": (n, lambda: osc.read_shape("saw", starts[0] + np.arange(n) * 0.005,
                                                              sr=SR, max_freq=220.0)),
        "table_lookup (additive pages)": (n, lambda: osc.table_lookup(table, np.arange(n) * 0.005)),
        "adsr exp (whole note)": (n, lambda: env.adsr(n, sr=SR, gate_samples=n // 2, attack=0.01,
                                                      decay=0.1, sustain=0.6, release=0.3,
                                                      curve="exp")),
        "adsr exp, 2000-sample note": (2000, lambda: env.adsr(2000, sr=SR, gate_samples=1500,
                                                              attack=0.005, decay=0.01, sustain=0.6,
                                                              release=0.01, curve="exp")),
        "filter 24 dB static (apply)": (n, lambda: flt.apply(mono, designs[0])),
        "filter 24 dB, 40 runs (filter_runs)": (n, lambda: flt.filter_runs(mono, designs, bounds)),
        "filter 24 dB swept (modulated_filter)": (n, lambda: flt.modulated_filter(
            mono, cutoff, sr=SR, q=3.0, order=4)),
        "reverb (stereo frames)": (n, lambda: fx.reverb(stereo, sr=SR)),
        "delay 0.25 s damped (stereo frames)": (n, lambda: fx.delay(stereo, sr=SR, time=0.25,
                                                                   damping=0.3)),
    }


def _first(result):
    return result[0] if isinstance(result, tuple) else result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("baseline_tree")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    import synth.dsp as new_dsp

    n = int(args.seconds * SR)
    old, new = cases(load_baseline(args.baseline_tree), n), cases(new_dsp, n)
    print("| kernel | before (ns/sample) | after (ns/sample) | speed-up | output |")
    print("|---|---:|---:|---:|---|")
    for name in new:
        count, call_new = new[name]
        _, call_old = old[name]
        same = np.array_equal(_first(call_old()), _first(call_new()))   # also compiles
        times = {"old": [], "new": []}
        for _ in range(args.repeats):
            for key, call in (("old", call_old), ("new", call_new)):
                t0 = time.process_time()
                call()
                times[key].append(time.process_time() - t0)
        t_old, t_new = (statistics.median(times[k]) / count * 1e9 for k in ("old", "new"))
        print(f"| {name} | {t_old:.2f} | {t_new:.2f} | {t_old / t_new:.1f}x | "
              f"{'bit-identical' if same else 'differs'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
