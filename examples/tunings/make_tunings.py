"""Write the example tunings of this folder (run from anywhere; files land next to it).

The tunings are generated here from their definitions, so they are free of
any copyright (public domain, CC0): 19 equal divisions of the octave, a
7-limit just-intonation chromatic scale, and a keyboard mapping that puts
degree 0 of a 12-note scale on D with A4 at 440 Hz.
"""

import pathlib
from fractions import Fraction
import math

HERE = pathlib.Path(__file__).resolve().parent
JUST_7 = ["15/14", "8/7", "6/5", "5/4", "4/3", "7/5", "3/2", "8/5", "5/3", "7/4", "15/8", "2/1"]


def edo_scl(n: int) -> str:
    lines = [f"! {n}-edo.scl", "!", f"{n} equal divisions of the octave (generated; public domain)",
             f" {n}", "!"]
    lines += [f" {1200.0 * k / n:.5f}" for k in range(1, n)] + [" 2/1"]
    return "\n".join(lines) + "\n"


def just7_scl() -> str:
    lines = ["! just-7-limit.scl", "!",
             "7-limit just intonation, 12 notes (generated; public domain)", " 12", "!"]
    for r in JUST_7:
        cents = 1200 * math.log2(Fraction(r))
        lines.append(f" {r:<6} ! {cents:8.3f} cents")
    return "\n".join(lines)          # no final newline: a real-world quirk, read all the same


def d_kbm() -> str:
    return "\n".join([
        "! d-a440.kbm: degree 0 on D, A4 (key 69) at 440 Hz (generated; public domain)",
        "! map size", "12", "! first key", "0", "! last key", "127",
        "! middle key (degree 0)", "62", "! reference key", "69", "! reference frequency",
        "440.0", "! formal octave degree", "12", "! mapping",
        *[str(d) for d in range(12)]]) + "\n"


if __name__ == "__main__":
    files = {"19-edo.scl": edo_scl(19), "just-7-limit.scl": just7_scl(), "d-a440.kbm": d_kbm()}
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name}")
