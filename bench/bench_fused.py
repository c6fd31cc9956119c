"""The voice's fused kernel against the same stages run one after the other (issue 19).

CPU nanoseconds per sample of a 65536-sample piece (one piece of a long
note), the best of ``--rounds`` rounds of ``--repeats`` calls, the two forms
alternating, in one process of this tree:

* *stages*: the public stage functions the voice called before the fused
  kernel (``stack_sum_stepped`` / ``fixed_pitch``, ``filter_runs``,
  ``envelopes.adsr``, a NumPy multiply), each writing an array the piece long;
* *fused*: :func:`synth.dsp.subtractive.render_piece`, one compiled pass;
* bells: the two ``einsum`` products with the per-piece complex exponentials
  (the formulation before) against :func:`synth.sound_sources.spectral.damped_partials`.

Both forms give the same samples (checked here, and in tests/test_dsp_subtractive.py)::

    python bench/bench_fused.py [--rounds 7] [--repeats 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from synth.dsp import envelopes, filters, oscillators, subtractive
from synth.sound_sources import spectral

SR = 44100.0
N = 65536
ADSR = dict(gate_samples=100_000, attack=0.3, decay=0.5, sustain=0.6, release=1.0, curve="exp",
            peak=0.3)
BELL = ((0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011, 4.166),
        (0.35, 1.0, 0.45, 0.3, 0.55, 0.2, 0.22, 0.15, 0.08),
        (7.0, 5.0, 3.5, 3.0, 2.5, 1.8, 1.6, 1.2, 0.8), 523.25, SR)


def _cases():
    runs = N // 32
    inc = np.full(runs, 110.0 / SR) * 2 ** (np.sin(np.arange(runs) / 200.0) * 4 / 1200)
    starts, inc, _ = oscillators.stepped_phase(inc * SR, sr=SR, n=N, step=32, phase=0.3)
    ratios = 2.0 ** (np.array([-6.0, 6.0]) / 1200.0)
    offsets = np.array([0.2, 0.7])
    top = 110.0 * 1.01 * ratios.max()
    table, slopes = oscillators.wavetable("saw", top, sr=SR)
    seg = envelopes.adsr_segments(sr=SR, start=0, **ADSR)
    sos = [filters.design_filter("lowpass", c, sr=SR, q=0.9, order=4)
           for c in (4000.0, 3000.0, 2000.0, 1500.0)]
    bounds = np.array([0, 4096, 12288, 30016, N])

    def pad_stages():
        y = oscillators.stack_sum_stepped("saw", starts, inc, ratios, offsets, step=32, n=N,
                                          sr=SR, max_freq=top)
        return y * envelopes.adsr(N, sr=SR, **ADSR)

    def pad_fused():
        read = subtractive.TableRead(subtractive.STACK, table, slopes, run_starts=starts,
                                     run_increments=inc, ratios=ratios, offsets=offsets)
        return subtractive.render_piece(N, read, adsr=seg)

    ftable, fslopes = oscillators.wavetable("saw", 110.0, sr=SR)

    def pluck_stages():
        y = oscillators.fixed_pitch("saw", 110.0, sr=SR, n=N, max_freq=110.0)
        y, _ = filters.filter_runs(y, sos, bounds)
        return y * envelopes.adsr(N, sr=SR, **ADSR)

    def pluck_fused():
        read = subtractive.TableRead(subtractive.FIXED, ftable, fslopes,
                                     increments=np.array([110.0 / SR]), phases0=np.zeros(1))
        return subtractive.render_piece(N, read, np.array(sos), bounds, np.zeros((2, 2)),
                                        adsr=seg)

    def arp_stages():
        y = oscillators.fixed_pitch("saw", 440.0, sr=SR, n=N, max_freq=440.0)
        return y * envelopes.adsr(N, sr=SR, **dict(ADSR, curve="linear"))

    atable, aslopes = oscillators.wavetable("saw", 440.0, sr=SR)
    aseg = envelopes.adsr_segments(sr=SR, start=0, **dict(ADSR, curve="linear"))

    def arp_fused():
        read = subtractive.TableRead(subtractive.FIXED, atable, aslopes,
                                     increments=np.array([440.0 / SR]), phases0=np.zeros(1))
        return subtractive.render_piece(N, read, adsr=aseg)

    def bell_einsum():
        r, a, T = (np.asarray(v, dtype=np.float64) for v in BELL[:3])
        freq, sr = BELL[3], BELL[4]
        w = 2 * np.pi * r * freq / sr
        limit = oscillators.NYQUIST_FRACTION * 0.5 * sr
        fade = np.clip((limit - r * freq) / (0.1 * limit), 0.0, 1.0)
        keep = (fade > 0) & (a > 0)
        w, a, T = w[keep], (a * fade)[keep], T[keep]
        d = np.where(T > 0, 3.0 * np.log(10.0) / (np.where(T > 0, T, 1.0) * sr), 0.0)
        s = -d + 1j * w
        nb = -(-N // 1024)
        left = a[None, :] * np.exp(np.outer(np.arange(nb) * 1024 + N, s))
        right = np.exp(np.outer(s, np.arange(1024)))
        out = np.einsum("bp,pk->bk", np.ascontiguousarray(left.real),
                        np.ascontiguousarray(right.imag))
        out += np.einsum("bp,pk->bk", np.ascontiguousarray(left.imag),
                         np.ascontiguousarray(right.real))
        return out.ravel()[:N]

    def bell_compiled():
        return spectral.damped_partials(*BELL, N, start=N)

    return {"pad: 2-voice stack, stepped pitch, exp ADSR": (pad_stages, pad_fused),
            "pluck: fixed saw, 24 dB filter in 4 runs, exp ADSR": (pluck_stages, pluck_fused),
            "arpeggio: fixed saw, linear ADSR": (arp_stages, arp_fused),
            "bell: 9 damped partials": (bell_einsum, bell_compiled)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args(argv)
    cases = _cases()
    print("| piece of 65536 samples | stages (CPU ns/sample) | fused | speed-up | same samples |")
    print("|---|---:|---:|---:|---|")
    for name, (before, after) in cases.items():
        same = np.array_equal(before(), after())
        best = [float("inf"), float("inf")]
        for _ in range(args.rounds):
            for i, f in enumerate((before, after)):
                t = time.process_time()
                for _ in range(args.repeats):
                    f()
                best[i] = min(best[i], (time.process_time() - t) / args.repeats / N * 1e9)
        print(f"| {name} | {best[0]:.2f} | {best[1]:.2f} | {best[0] / best[1]:.2f}x | "
              f"{'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
