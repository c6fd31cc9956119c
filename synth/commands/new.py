"""``synth new``: write a commented starter arrangement that renders as it is.

Without ``--from`` the arrangement gets a small score of its own, written
beside it (``NAME-source.toml``: a tune over a descending ground bass), so
``synth new foo && synth render foo.toml`` works in any folder.  With
``--from SOURCE`` it arranges that score, MIDI or MusicXML file (referred to
by a path relative to the new file) and has one orchestration table per part
of the source.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import TYPE_CHECKING

from ..audio import atomic_output, check_writable
from ..errors import ArrangementError
from ._common import eprint

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from ..score import Part

HELP = """examples:
  synth new bells                       # writes bells.toml and bells-source.toml
  synth render bells.toml -o bells.wav
  synth new waltz --from sources/laurel-waltz -o my-waltz.toml   # a bundled source

The file explains itself: edit the seed, uncomment a transform, change a preset,
render again.  What each takes: synth transforms NAME, synth presets NAME,
synth effects NAME.  The bundled pieces, and the folder of the docs (tutorial.md,
reference.md, sound-design.md): synth pieces."""

#: the built-in source: a tune over a four-note descending ground (9 bars of 4/4 at 120 bpm)
STARTER_SCORE = '''\
# The source piece of the arrangement {arrangement}: a tune over a
# descending ground bass (D-C-Bb-A), 9 bars of 4/4 at 120 bpm = 18 seconds.
# Score-file format: docs/score-format.md.  Edit the notes freely.

[score]
title = {title_q}
composer = "synth new"
seed = 1
tempo = 120
meter = "4/4"
key = "D minor"

[provenance]
source = "written by 'synth new' as a starting point"

[parts.tune]
preset = "triangle"
notes = """
  mf A4:4 D5 E5 C5 | D5:4. C5:8 C#5:2 | F5:4 E5 D5 E5 | D5:2 C#5 |
  f A5:4 F5 G5 E5 | F5:4 D5 E5 C#5 | mp D5:8 E5 F5 G5 A5:4 G5 | F5:4 E5 D5 C#5 |
  p D5:1 |
"""

[parts.ground]
preset = "saw"
notes = """
  mp D3:2 C3 | Bb2:2 A2 | D3:2 C3 | Bb2:2 A2 |
  D3:2 C3 | Bb2:2 A2 | D3:2 C3 | Bb2:2 A2 | D3:1 |
"""
'''

_HEADER = '''\
# {title}: an arrangement for synth.
#
{commands}
#
# An arrangement is a source piece + transforms (applied from top to bottom)
# + an orchestration (which preset plays each part).  Lines starting with '#'
# are comments: remove the '#' in front of a [[transform]] block to try it.
# What each transform, preset and effect takes: synth transforms NAME, synth
# presets NAME, synth effects NAME.{docs}

[arrangement]
title = {title_q}
arranger = ""
seed = 1                 # every random choice comes from this seed: same seed = same file
description = """A starting point made by 'synth new'."""
source = {source_q}{source_comment}
# tempo = 90             # one tempo (quarter notes per minute) instead of the source's
# tempo_scale = 0.8      # or: the source's tempo map, slower (< 1) or faster (> 1)
'''


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="write a commented starter arrangement file",
                       description="Write NAME.toml, a commented arrangement that renders as it "
                       "is: of SOURCE (--from) or of a small tune written beside it "
                       "(NAME-source.toml).",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", help="title of the arrangement (and the file name)")
    p.add_argument("--from", dest="source", metavar="SOURCE",
                   help="arrange this score (.toml), MIDI or MusicXML file")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="arrangement file to write (default: NAME.toml)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--quiet", action="store_true", help="no warnings, no summary line")
    p.set_defaults(func=run)


def slug(name: str) -> str:
    """A file name stem for ``name``: 'My Piece!' -> 'my-piece'."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.strip()).strip("-.").lower()
    return s or "arrangement"


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def toml_key(name: str) -> str:
    """``name`` as a TOML key: bare when it can be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else toml_string(name)


def _fmt(x: float) -> str:
    return f"{x:g}"


def starter_arrangement(title: str, file_name: str, source_rel: str, parts: Sequence[Part], *,
                        builtin: bool, preset_names: Collection[str]) -> str:
    """The text of a starter arrangement.

    Parameters
    ----------
    title : str
    file_name : str
        Base name of the arrangement file (for the commands in the header).
    source_rel : str
        Path of the source relative to the arrangement's folder.
    parts : sequence of synth.score.Part
        The source's parts (their names, presets, gain and pan are used).
    builtin : bool
        The source is :data:`STARTER_SCORE` (parts ``tune`` and ``ground``).
    preset_names : sequence of str
        The presets to list in a comment.
    """
    stem = os.path.splitext(file_name)[0]
    names = [p.name for p in parts]
    first = names[0]
    comment = ("   # the tune written beside this file" if builtin
               else "   # relative to this file: a score file, .mid or .musicxml")
    commands = [(f"synth render {file_name} -o {stem}.wav", "render it"),
                (f"synth render {file_name} --seed 2 -o {stem}-2.wav", "another seeded variation"),
                (f"synth plot {file_name} -o {stem}.png", "see it (needs matplotlib)"),
                (f"synth analyze {file_name}", "how rough (dissonant) it is")]
    pad = max(len(c) for c, _ in commands)
    listing = "\n".join(f"#   {c:<{pad}}  {what}" for c, what in commands)
    from ..resources import data_dir
    docs = data_dir("docs")
    docs = (f"  Walk-through: {docs / 'tutorial.md'}" if docs else "")
    out = [_HEADER.format(title=title, commands=listing, title_q=toml_string(title), docs=docs,
                          source_q=toml_string(source_rel.replace(os.sep, "/")),
                          source_comment=comment)]
    q = toml_string
    out.append("\n# ---------------------------------------------------------------- transforms\n"
               "# Each [[transform]] takes `name`, optional `parts = [...]` and `bars = [first, "
               "last]`,\n# and the transform's parameters.\n")
    out.append(f'''
[[transform]]            # bells that are never quite in tune: a seeded slow drift
name = "detune"
parts = [{q(first)}]
drift_cents = 12         # how far it wanders (standard deviation, cents)
spread_cents = 3         # plus a small random offset per note

# [[transform]]          # a shadow a quarter-tone above, in a part of its own
# name = "shadow"
# parts = [{q(first)}]
# interval = 0.5         # semitones: 1 = minor second, 6 = tritone, 0.5 = quarter-tone
# part = "shadow"        # orchestrate it below: [parts.shadow]
''')
    if builtin:
        out.append('''
# [[transform]]          # seeded chaconne divisions over the ground bass (a new part)
# name = "divisions"
# ground = "ground"
# styles = ["bells", "arpeggio"]
''')
    else:
        out.append(f'''
# [[transform]]          # a canon: the part again, two beats later, a fifth up
# name = "canon"
# parts = [{q(first)}]
# delay_beats = 2
# interval = 7
''')
    out.append('''
# [[transform]]          # the same bars, re-metered into an uneven 7/8
# name = "remeter"
# meter = "7/8"

# [[transform]]          # swing and a little seeded looseness
# name = "humanise"
# swing = 0.5
# jitter_beats = 0.01
''')
    out.append("\n# ---------------------------------------------------------------- orchestration\n"
               "# One table per part (of the source, or made by a transform).  Keys: preset,\n"
               "# patch (overrides such as envelope.release), gain_db, pan (-1 left .. 1 right),\n"
               "# effects.  Presets: " + _wrap(", ".join(preset_names), "#   ") + "\n")
    for p in parts:
        preset = p.preset
        if builtin and p.name == "ground":
            out.append('''
[parts.ground]
preset = "saw"
gain_db = -6
pan = -0.25
[parts.ground.patch]     # overrides of the preset's settings
envelope.release = 0.4   # seconds
''')
            continue
        if builtin and p.name == "tune":
            out.append('''
[parts.tune]
preset = "triangle"
pan = 0.25
''')
            continue
        out.append(f"\n[parts.{toml_key(p.name)}]\npreset = {q(preset)}\n"
                   f"gain_db = {_fmt(p.gain_db)}\npan = {_fmt(p.pan)}\n")
    out.append('''
# [parts.shadow]         # with the shadow transform above
# preset = "square"
# gain_db = -9
''')
    if builtin:
        out.append('''
# [parts.divisions]      # with the divisions transform above
# preset = "sine"
# gain_db = -6
''')
    return "".join(out)


def _wrap(text: str, prefix: str, width: int = 78) -> str:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(prefix) + len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return ("\n" + prefix).join(lines) if len(lines) > 1 else lines[0]


def run(args: argparse.Namespace) -> int:
    from ..arrangement import load_arrangement
    from .. import presets as _presets  # noqa: F401  (registers the preset table)
    from ..patch import preset_names
    from ..sources import load_source

    out = args.output or slug(args.name) + ".toml"
    if not out.lower().endswith(".toml"):
        raise ArrangementError(f"output {out!r} must end in .toml")
    out_abs = os.path.abspath(out)
    folder = os.path.dirname(out_abs)
    check_writable(out, force=args.force)
    builtin = args.source is None
    if builtin:
        source_path = os.path.join(folder, os.path.splitext(os.path.basename(out))[0]
                                   + "-source.toml")
        check_writable(source_path, force=args.force)
    else:
        from ..resources import resolve_input
        bundled = resolve_input(args.source)
        if bundled != args.source:        # a bundled piece's name: copy its file beside NAME.toml
            copy = os.path.join(folder, os.path.basename(bundled))
            if copy == out_abs:       # checked before copying, so a refusal leaves no file
                raise ArrangementError(f"--from {args.source!r} is copied to {out}, the file "
                                       "to write; choose another NAME or -o")
            with atomic_output(copy, force=args.force, suffix=".toml") as tmp:
                with open(bundled, "rb") as f, open(tmp, "wb") as g:
                    g.write(f.read())
            if not args.quiet:
                eprint(f"copied the bundled {args.source!r} to {os.path.relpath(copy)}")
            args.source = copy
        source_path = os.path.abspath(args.source)
        if source_path == out_abs:
            raise ArrangementError(f"--from {args.source!r} is the file to write")
        source = _load_source(args, load_source)
        if not source.parts or source.note_count == 0:
            raise ArrangementError(f"{args.source}: the source has no notes to arrange")

    if builtin:
        with atomic_output(source_path, force=args.force, suffix=".toml") as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(STARTER_SCORE.format(arrangement=os.path.basename(out),
                                             title_q=toml_string(f"{args.name} (source)")))
        source = load_source(source_path)
    rel = os.path.relpath(source_path, folder)
    text = starter_arrangement(args.name, os.path.basename(out), rel, source.parts,
                               builtin=builtin, preset_names=preset_names())
    with atomic_output(out, force=args.force, suffix=".toml") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        load_arrangement(tmp)       # never leave a file that does not load
    if not args.quiet:
        made = f" and {os.path.relpath(source_path)}" if builtin else ""
        eprint(f"wrote {out}{made}; render it with: synth render {out}")
    return 0


def _load_source(args, load_source):
    """The source score, its repairs reported as warnings (CLI layer)."""
    import warnings

    from ..errors import SynthWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SynthWarning)
        score = load_source(args.source)
    if not args.quiet:
        for w in caught:
            if issubclass(w.category, SynthWarning):
                eprint(f"synth: warning: {args.source}: {w.message}")
    return score
