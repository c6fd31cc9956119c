"""Generate ``docs/reference.md`` from the code, so the reference cannot drift.

Every transform comes from the registry (:data:`synth.transforms.REGISTRY`:
name, family, docstring, parameters with kinds, defaults, ranges, units and
one-line docs), every preset from :data:`synth.patch.PRESETS` (name,
sound source, envelope, level, description), every patch key and effect
parameter from :mod:`synth.catalog` (which reads them from the validators
and :data:`synth.fx.EFFECTS`).  ``synth presets NAME``, ``synth transforms
NAME`` and ``synth effects NAME`` print the same facts.

Usage::

    python -m synth.docgen             # rewrite docs/reference.md
    python -m synth.docgen --check     # exit 1 if docs/reference.md is stale
    python -m synth.docgen -o -        # print to standard output

A test regenerates the text and compares it with the committed file.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from .audio import atomic_output
from . import presets as _presets  # noqa: F401  (registers the preset table in synth.patch)
from .patch import PRESETS
from .transforms import REGISTRY
from .transforms.base import Param
from .catalog import paragraphs, rst_to_md

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["reference_markdown", "REGENERATE", "DEFAULT_PATH", "main"]

#: the command that regenerates the reference (quoted in the file and in test failures)
REGENERATE = "python -m synth.docgen"
#: where the reference lives, relative to the repository root
DEFAULT_PATH = os.path.join("docs", "reference.md")

FAMILIES = (("pitch", "Pitch transforms"), ("time", "Time transforms"),
             ("texture", "Texture transforms"), ("generate", "Generation transforms"))
def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(v) -> str:
    if isinstance(v, tuple):
        v = list(v)
    return f"`{v!r}`"


def param_range(p: Param, quote: Callable[[Any], str] = lambda c: f"`{c!r}`") -> str:
    """A transform parameter's choices, bounds, pitch note and unit, joined by "; ".

    ``quote`` writes each choice (Markdown code here; ``synth transforms NAME``
    passes ``str``).
    """
    bits = []
    if p.choices is not None:
        bits.append(", ".join(map(quote, p.choices)))
    if p.lo is not None or p.hi is not None:
        lo = "" if p.lo is None else f"{p.lo:g}"
        hi = "" if p.hi is None else f"{p.hi:g}"
        bits.append(f"{lo} .. {hi}")
    if p.kind in ("pitch", "pitches"):
        bits.append("MIDI number or note name")
    if p.unit:
        bits.append(p.unit)
    return "; ".join(bits)


def _transform_section(name: str) -> list[str]:
    sp = REGISTRY[name]
    out = [f"### `{name}`", ""]
    for para in paragraphs(sp.doc) or ["(no description)"]:
        out += [para, ""]
    if sp.whole_score:
        out += ["Acts on every part at once (it changes the shared bar grid), so `parts` "
                "is refused; `bars` is allowed.", ""]
    if not sp.params:
        out += ["No parameters.", ""]
        return out
    out += ["| parameter | kind | default | range / unit | what it does |",
            "|---|---|---|---|---|"]
    for key, p in sp.params.items():
        default = "required" if p.required else _value(p.default)
        out.append(f"| `{key}` | {p.kind} | {_cell(default)} | {_cell(param_range(p))} | "
                   f"{_cell(rst_to_md(p.doc))} |")
    out.append("")
    return out


def _preset_table() -> list[str]:
    out = ["| preset | source | envelope A / D / S / R | level | description |",
           "|---|---|---|---|---|"]
    for name in sorted(PRESETS):
        p = PRESETS[name]
        e = p.envelope
        env = f"{e.attack:g} s / {e.decay:g} s / {e.sustain:g} / {e.release:g} s"
        level = f"{p.gain_db:g} dB" + (f", octave {p.octave:+d}" if p.octave else "") \
            + (f", {p.detune_cents:+g} cents" if p.detune_cents else "")
        out.append(f"| `{name}` | {_cell(p.source)} | {env} | {level} | "
                   f"{_cell(rst_to_md(p.description))} |")
    return out + [""]


def _sample_library_section() -> list[str]:
    """The Fairlight sample library and kit (tables kept with the data in synth.dsp)."""
    from .dsp import cmi_kit, cmi_library
    return (["### Sampled voices (the built-in Fairlight library)", "",
             "Made by synth's own DSP (no recordings) and stored as the CMI stored a "
             "sample: 8-bit words, at most 16384 per voice, a recording rate, a recorded "
             "root (the pitch at that rate) and a recording level (a quiet recording keeps "
             "its 8-bit noise when turned up).  Play one with `source = \"fairlight\"`, "
             "`params.mode = 4`, `params.voice = NAME` (the `cmi_*` presets do).", ""]
            + cmi_library.reference_table()
            + ["### The sampled percussion kit (`params.voice = \"kit\"`, preset `cmi_drums`)",
               "", "The GM drum note (MIDI channel 10, or a drum name in a score) picks the hit.",
               ""]
            + cmi_kit.reference_table())


def _patch_key_tables() -> list[str]:
    from .catalog import SOURCE_DOCS, patch_keys_info
    from .patch import SOURCE_PARAMS, Patch
    out = ["| key | kind | range / unit | default | what it does |", "|---|---|---|---|---|"]
    for k in patch_keys_info(None):
        rng = " ".join(x for x in (k.range, k.unit) if x)
        out.append(f"| `{k.key}` | {k.kind} | {_cell(rng)} | {_cell(_value(k.default))} | "
                   f"{_cell(rst_to_md(k.doc))} |")
    out += ["", "Source parameters (`params.*`) depend on the `source`:", "",
            "| source | key | kind | range / unit | default | what it does |",
            "|---|---|---|---|---|---|"]
    for source in sorted(SOURCE_PARAMS):
        keys = [k for k in patch_keys_info(Patch("probe", source=source))
                if k.key.startswith("params.")]
        if not keys:
            out.append(f"| `{source}` | | | | | {_cell(SOURCE_DOCS.get(source, ''))}; "
                       "no parameters |")
        for k in keys:
            rng = " ".join(x for x in (k.range, k.unit) if x)
            default = _value(k.default) if len(repr(k.default)) < 40 else "(long list)"
            out.append(f"| `{source}` | `{k.key}` | {k.kind} | {_cell(rng)} | {_cell(default)} | "
                       f"{_cell(rst_to_md(k.doc))} |")
    return out + [""]


def _effect_sections() -> list[str]:
    from .catalog import EFFECT_PARAMS, effect_info
    out = []
    for name in sorted(EFFECT_PARAMS):
        info = effect_info(name)
        out += [f"### `{name}` effect", "", info["doc"][0].upper() + info["doc"][1:] + ".", "",
                "| parameter | default | range | unit | what it does |", "|---|---|---|---|---|"]
        for p in info["params"]:
            default = "-" if p["default"] is None else _value(p["default"])
            out.append(f"| `{p['name']}` | {default} | {_cell(p['range'])} | {p['unit']} | "
                       f"{_cell(p['doc'])} |")
        out += ["", f"Example: `{info['example']}`", ""]
    return out


def reference_markdown() -> str:
    """The whole reference page as Markdown text (deterministic)."""
    out = ["# Reference: transforms, presets, patch keys and effects", "",
           "<!-- GENERATED FILE: do not edit.  It is made from the code by "
           f"`{REGENERATE}`; a test fails when it is stale. -->", "",
           f"This page is generated from the code (`{REGENERATE}`), so it lists exactly "
           "the transforms, presets, patch keys and effects this version of synth has.  What the transforms do "
           "musically, selections, seeds and the arrangement format: "
           "[transforms.md](transforms.md).", "",
           "## Transforms", "",
           "Use them as `[[transform]]` tables in an arrangement file (`name = \"...\"`, "
           "optional `parts` and `bars`, then the parameters below) or from Python with "
           "`synth.transforms.make(name, parts=..., bars=..., **params)`.", ""]
    known = {f for f, _ in FAMILIES}
    families = list(FAMILIES) + [(f, f"{f.capitalize()} transforms") for f in
                                  sorted({s.family for s in REGISTRY.values()} - known)]
    index = []
    for family, heading in families:
        members = sorted(n for n, s in REGISTRY.items() if s.family == family)
        if members:
            index.append(f"* {heading.split()[0]}: " + ", ".join(f"[`{n}`](#{n})" for n in members))
    out += index + [""]
    for family, heading in families:
        members = sorted(n for n, s in REGISTRY.items() if s.family == family)
        if not members:
            continue
        out += [f"## {heading}", ""]
        for name in members:
            out += _transform_section(name)
    out += ["## Presets", "",
            "Name a preset in a part (`preset = \"...\"` in a score or arrangement file, "
            "`Part(..., preset=...)` in Python, `--preset` on the command line); "
            "override any setting with `patch` keys such as `envelope.release`.  "
            "`synth presets` prints the same list.", ""]
    out += _preset_table()
    out += _sample_library_section()
    out += ["## Patch keys", "",
            "Every key a part's `patch` table (or `synth.resolve_patch`) may set; "
            "`synth presets NAME` shows a preset's values.  What they do to the sound, "
            "with examples: [sound-design.md](sound-design.md).", ""]
    out += _patch_key_tables()
    out += ["## Effects", "",
            "A part's `effects` (a list of `{type = NAME, ...}` tables, applied in order); "
            "`synth effects NAME` prints the same.", ""]
    out += _effect_sections()
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synth.docgen",
                                     description="Write docs/reference.md from the code.")
    parser.add_argument("-o", "--output", default=DEFAULT_PATH,
                        help=f"file to write, '-' for standard output (default {DEFAULT_PATH})")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the file differs from the code")
    args = parser.parse_args(argv)
    text = reference_markdown()
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            print(f"{args.output} is stale; regenerate it with: {REGENERATE}", file=sys.stderr)
        return 0 if same else 1
    with atomic_output(args.output, force=True, suffix=".md") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
