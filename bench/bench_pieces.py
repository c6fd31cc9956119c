"""The fused note kernel, kind by kind, on pieces captured from a real render (issue 19).

Two steps, so that two trees can be compared on the same pieces:

1. ``--capture FILE`` renders a MIDI file (default: the 180 s reference
   workload) in this process with ``jobs=1`` and keeps the arguments of the
   first ``--keep`` calls of :func:`synth.dsp.subtractive.render_piece` of
   each kind (source mode, unison voices, filter sections) in ``FILE``
   (a pickle; read it only from a trusted place).
2. ``python bench/bench_pieces.py FILE`` replays them: CPU nanoseconds per
   sample of each kind (best of ``--rounds``) and a digest of the samples,
   which must be equal between trees whose kernels compute the same
   samples.

Usage::

    python bench/bench_pieces.py --capture /tmp/pieces.pkl
    for t in /tmp/base .; do PYTHONPATH=$t python -P bench/bench_pieces.py /tmp/pieces.pkl; done

Run the trees alternately a few times: the load moves between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402  (bench/ is a folder of scripts, not a package)

from synth.dsp import subtractive  # noqa: E402

try:                                    # the CLI's allocator settings, in older trees too
    from synth.commands._common import keep_freed_memory  # noqa: E402
except ImportError:
    from synth.cli import _keep_freed_memory as keep_freed_memory  # noqa: E402

__all__ = ["capture", "replay", "main"]

MODES = {subtractive.GIVEN: "given", subtractive.FIXED: "fixed", subtractive.STACK: "stack",
         subtractive.STEPS: "steps"}


def _kind(source, designs) -> str:
    if isinstance(source, subtractive.TableRead):
        mode = source.mode
        voices = len(source.increments if mode == subtractive.FIXED else source.ratios) or 1
    else:
        mode, voices = subtractive.GIVEN, 1
    sections = 0 if designs is None else designs.shape[1]
    return f"{MODES[mode]}, {voices} voice(s), {sections} filter section(s)"


def capture(midi: str | None, path: str, keep: int) -> dict[str, int]:
    """Render ``midi`` and pickle the first ``keep`` pieces of each kind into ``path``."""
    from synth import voice
    from synth.midi import read_midi
    from synth.render import render_to_file

    calls: dict[str, list] = {}
    original = subtractive.render_piece

    def recording(m, source, designs=None, bounds=None, state=None, envelope=None, adsr=None):
        found = calls.setdefault(_kind(source, designs), [])
        if len(found) < keep:
            copy = lambda x: None if x is None else np.array(x)      # noqa: E731
            found.append((m, source if isinstance(source, subtractive.TableRead)
                          else copy(source), copy(designs), copy(bounds), copy(state),
                          copy(envelope), adsr))
        return original(m, source, designs, bounds, state, envelope, adsr)

    source = midi or workload.midi_file_bytes(workload.reference_workload(180.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = read_midi(source, source=midi or "reference-180s.mid")
    voice.subtractive.render_piece = recording
    try:
        out = path + ".wav"
        render_to_file(score, out, sr=44100, subtype="PCM_16", force=True, jobs=1)
        os.remove(out)
    finally:
        voice.subtractive.render_piece = original
    with open(path, "wb") as f:
        pickle.dump(calls, f)
    return {kind: len(found) for kind, found in calls.items()}


def _aligned(x):
    """A fresh (aligned, C-contiguous) copy of an unpickled array, read-only as it was."""
    if not isinstance(x, np.ndarray):
        return x
    y = np.array(x)
    y.flags.writeable = x.flags.writeable
    return y


def replay(path: str, rounds: int) -> list[tuple[str, float, str]]:
    """``(kind, CPU ns per sample, digest)`` of the pieces pickled in ``path``."""
    with open(path, "rb") as f:
        calls = pickle.load(f)
    results = []
    for kind in sorted(calls):
        pieces = []
        for m, source, designs, bounds, state, envelope, adsr in calls[kind]:
            if isinstance(source, subtractive.TableRead):
                source = subtractive.TableRead(*map(_aligned, source))
            pieces.append((m, _aligned(source), _aligned(designs), _aligned(bounds),
                           _aligned(state), _aligned(envelope), adsr))

        def run(digest=None):
            for m, source, designs, bounds, state, envelope, adsr in pieces:
                y = subtractive.render_piece(m, source, designs, bounds,
                                             None if state is None else state.copy(),
                                             envelope, adsr)
                if digest is not None:
                    digest.update(y.tobytes())

        digest = hashlib.sha256()
        run(digest)                         # also loads (or compiles) the kernel
        best = float("inf")
        for _ in range(rounds):
            t = time.process_time()
            run()
            best = min(best, time.process_time() - t)
        samples = sum(p[0] for p in pieces)
        results.append((kind, best / samples * 1e9, digest.hexdigest()[:12]))
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pieces", help="pickle of captured pieces (written with --capture)")
    ap.add_argument("--capture", action="store_true", help="render and write the pieces")
    ap.add_argument("--midi", help="MIDI file to capture from (default: the 180 s reference)")
    ap.add_argument("--keep", type=int, default=200, help="pieces kept per kind (200)")
    ap.add_argument("--rounds", type=int, default=5, help="replays timed; the best is shown")
    args = ap.parse_args(argv)
    keep_freed_memory()
    if args.capture:
        for kind, count in capture(args.midi, args.pieces, args.keep).items():
            print(f"{kind}: {count} pieces")
        return
    import synth

    print(f"synth from {os.path.dirname(synth.__file__)}")
    print("| kind | CPU ns / sample | samples digest |\n|---|---:|---|")
    for kind, ns, digest in replay(args.pieces, args.rounds):
        print(f"| {kind} | {ns:.2f} | `{digest}` |")


if __name__ == "__main__":
    main()
