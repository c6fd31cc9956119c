"""Time every DSP kernel in samples per second, against a plain ``np.sin`` baseline.

Each kernel renders (or processes) ``--seconds`` of audio at 44.1 kHz in one
call, ``--repeats`` times; the median wall time (``time.perf_counter``) gives
samples per second (for stereo effects: stereo frames per second).  The
baseline, measured in the same run the same way, is ``np.sin`` of a phase
ramp of the same length, so the ratio column says how many sines each kernel
costs and stays comparable across machines.

Usage::

    python bench/bench_kernels.py [--seconds 2] [--repeats 5] [--only fairlight]

Prints a markdown table on standard output.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from synth.dsp import additive, effects, envelopes, fairlight, filters, fm, modulation, oscillators

SR = 44_100


def kernels(n: int) -> dict:
    """name -> zero-argument callable rendering ``n`` samples (inputs built once, outside the timing)."""
    rng = np.random.default_rng(0)
    stereo = rng.standard_normal((2, n)) * 0.3
    mono = stereo[0].copy()
    sweep = 220.0 * 2 ** (np.arange(n) / n)
    cutoff = 300.0 * 2 ** (5 * np.arange(n) / n)
    table = fairlight.mode1_table_from_harmonics(rng.uniform(0, 1, (32, 32)))
    sample = fairlight.quantize_8bit(rng.uniform(-1, 1, 60000))
    pages = rng.uniform(0, 1, (32, 32))
    lp4 = filters.design_filter("lowpass", 2000.0, sr=SR, q=2.0, order=4)
    return {
        "sine (oscillators.sine)": lambda: oscillators.sine(440.0, sr=SR, n=n),
        "saw (wavetable)": lambda: oscillators.saw(440.0, sr=SR, n=n),
        "naive_saw": lambda: oscillators.naive_saw(440.0, sr=SR, n=n),
        "pulse PWM": lambda: oscillators.pulse(440.0, sr=SR, n=n, width=0.5 + 0.3 * np.sin(np.arange(n) / 9000)),
        "hard_sync (BLEP)": lambda: oscillators.hard_sync(220.0, 2.5 + sweep / 220.0, sr=SR, n=n),
        "pink_noise": lambda: oscillators.pink_noise(n, np.random.default_rng(1)),
        "unison saw x7": lambda: oscillators.unison(oscillators.saw, 220.0, sr=SR, n=n, voices=7,
                                                    rng=np.random.default_rng(2)),
        "adsr": lambda: envelopes.adsr(n, sr=SR, gate_samples=n // 2, attack=0.01, decay=0.1,
                                       sustain=0.6, release=0.3, curve="exp"),
        "cmi_envelope": lambda: modulation.cmi_envelope(n, sr=SR, gate_samples=n // 2, attack=0.01,
                                                        damping=0.5, held_damping=3.0),
        "multi_segment (4 seg)": lambda: modulation.multi_segment(
            n, sr=SR, levels=[0, 1, .3, .6, 0], times=[.01, .2, .5, .5], curves="exp"),
        "lfo sample_hold": lambda: modulation.lfo("sample_hold", 6.0, sr=SR, n=n, rng=np.random.default_rng(3)),
        "filter 24 dB static": lambda: filters.apply(mono, lp4),
        "filter 24 dB swept": lambda: filters.modulated_filter(mono, cutoff, sr=SR, q=3.0, order=4),
        "harmonic_pages 32x32": lambda: additive.harmonic_pages(pages, 220.0, sr=SR, n=n, segment_seconds=0.05),
        "partials (8)": lambda: additive.partials(np.linspace(1, 6.3, 8), np.ones(8), np.ones(8), 220.0,
                                                  sr=SR, n=n),
        "drawn_wave (128)": lambda: additive.drawn_wave(table[5], 220.0, sr=SR, n=n),
        "fm2 index env": lambda: fm.fm2(220.0, sr=SR, n=n, ratio=1.4, index=np.linspace(0, 5, n)),
        "fm3": lambda: fm.fm3(220.0, sr=SR, n=n, ratios=(2.0, 0.5), indices=(2.0, 1.0)),
        "fairlight mode1 110 Hz": lambda: fairlight.voice(table, 110.0, sr=SR, n=n, loops=5),
        "fairlight mode1 440 Hz": lambda: fairlight.voice(table, 440.0, sr=SR, n=n, loops=20),
        "fairlight mode1 1760 Hz": lambda: fairlight.voice(table, 1760.0, sr=SR, n=n, loops=80),
        "fairlight mode4 root": lambda: fairlight.voice(sample, 261.63, sr=SR, n=n, mode=4, root_freq=261.63),
        "reverb (stereo)": lambda: effects.reverb(stereo, sr=SR),
        "delay (stereo)": lambda: effects.delay(stereo, sr=SR, time=0.25, damping=0.3),
        "chorus (stereo)": lambda: effects.chorus(stereo, sr=SR),
        "bitcrush (stereo)": lambda: effects.bitcrush(stereo, bits=8),
        "decimate (stereo)": lambda: effects.decimate(stereo, sr=SR, rate_hz=8000.0),
        "saturate (stereo)": lambda: effects.saturate(stereo, shape="tanh"),
        "saturate 4x os (stereo)": lambda: effects.saturate(stereo, shape="tanh", oversample=4),
    }


def time_median(fn, repeats: int) -> float:
    fn()                                              # warm caches (tables, FIRs)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="audio per call (default 2 s)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per kernel (median)")
    parser.add_argument("--only", default="", help="only kernels whose name contains this text")
    args = parser.parse_args(argv)
    n = int(args.seconds * SR)
    phases = np.arange(n) * (440.0 / SR)
    baseline = time_median(lambda: np.sin(2 * np.pi * phases), args.repeats)
    base_rate = n / baseline
    print(f"{n} samples per call, median of {args.repeats}; baseline np.sin: "
          f"{base_rate / 1e6:.1f} M samples/s\n")
    print("| kernel | M samples/s | x realtime | cost in np.sin |")
    print("|---|---:|---:|---:|")
    for name, fn in kernels(n).items():
        if args.only and args.only not in name:
            continue
        t = time_median(fn, args.repeats)
        rate = n / t
        print(f"| {name} | {rate / 1e6:.2f} | {rate / SR:.0f} | {base_rate / rate:.1f} |")


if __name__ == "__main__":
    main()
