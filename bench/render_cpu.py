"""CPU time of one render in this process, split into load, kernel start-up and render.

Loads a file (MIDI, score or arrangement; default: the 180 s reference
workload), then loads the compiled kernels (numba's import and cache load,
timed on their own: zero for a tree without them), then renders to a
temporary WAV with ``jobs=1``.  CPU time (``time.process_time``) is less
disturbed by other load than wall time, which makes before/after figures of
two trees comparable on a busy machine::

    PYTHONPATH=/tmp/base python bench/render_cpu.py [FILE]   # a baseline tree
    PYTHONPATH=.         python bench/render_cpu.py [FILE]   # this tree

``--excerpt FIRST LAST`` renders only bars FIRST..LAST of an arrangement
(``Score.excerpt``), e.g. ``arrangements/sonnerie-seven-bells.toml --excerpt
1 24``; ``--rounds N`` renders it N times in the process and prints each.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402  (bench/ is a folder of scripts, not a package)

from synth.dsp import envelopes  # noqa: E402
from synth.loader import load  # noqa: E402
from synth.midi import read_midi  # noqa: E402
from synth.render import render_to_file  # noqa: E402


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", nargs="?")
    parser.add_argument("--excerpt", nargs=2, type=int, metavar=("FIRST", "LAST"))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path = args.file
    t0 = time.process_time()
    if path is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = read_midi(workload.midi_file_bytes(workload.reference_workload(180.0)),
                              source="reference-180s.mid")
    else:
        score = load(path)
        if args.excerpt:
            score = score.excerpt(*args.excerpt)
    t_load = time.process_time() - t0
    t0 = time.process_time()
    envelopes.adsr(64, sr=44100, gate_samples=32, attack=0.0, decay=0.0, sustain=1.0, release=0.0)
    t_kernels = time.process_time() - t0
    name = os.path.basename(path) if path else "reference-180s.mid"
    if args.excerpt:
        name += f" bars {args.excerpt[0]}-{args.excerpt[1]}"
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.process_time()
            render_to_file(score, os.path.join(folder, "out.wav"), sr=44100, jobs=1)
            t_render = time.process_time() - t0
        print(f"{name}: load {t_load:.2f} s, kernel start-up {t_kernels:.2f} s, "
              f"render + write {t_render:.2f} s (CPU, jobs 1)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
