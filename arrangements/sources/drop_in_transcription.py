"""Replace the Laurel Waltz stand-in with a transcription (MIDI or MusicXML).

The Laurel Waltz arrangements rely on two parts named by role:

``melody``
    the tune;
``accompaniment``
    everything else (the left hand: bass and chords).

A transcription rarely uses those names, so this script reads it, assigns the
roles and writes a score file that the arrangements read in place of the
stand-in (``sources/laurel-waltz.toml``); no arrangement file changes.

Role assignment:

* parts already named ``melody`` / ``accompaniment`` keep their roles;
* ``--melody NAME`` picks the tune's part by name; the other parts are merged
  into ``accompaniment``;
* otherwise, with several parts, the part with the highest mean pitch is the
  melody; with one part (a piano file on one track), the highest note at each
  onset is the melody (unless a higher melody note still sounds over it) and
  the rest the accompaniment.

Usage::

    python arrangements/sources/drop_in_transcription.py \\
        heinrich-laurel-waltz.mid --key "Eb major" \\
        -o arrangements/sources/laurel-waltz.toml

The written file says in ``[provenance]`` that it is a transcription, from
which file, and how the roles were assigned; it no longer claims to be a
stand-in.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from synth.errors import ScoreError, SynthError
from synth.score import KeyChange, Note, Part, Score, parse_key
from synth.scorefile import dump_score_toml
from synth.sources import load_source

ROLES = ("melody", "accompaniment")


def _top_line(part: Part) -> tuple[list[Note], list[Note]]:
    """Split one part into (melody, accompaniment): the highest note at each
    onset is melody unless a higher melody note is still sounding over it
    (the right hand holds the tune while the left hand strikes its chords)."""
    onsets: dict[float, Note] = {}
    for n in part.notes:
        k = round(n.start, 9)
        if k not in onsets or n.pitch > onsets[k].pitch:
            onsets[k] = n
    tune: list[Note] = []
    for k in sorted(onsets):
        cand = onsets[k]
        if tune and tune[-1].end > cand.start + 1e-9 and tune[-1].pitch > cand.pitch:
            continue
        tune.append(cand)
    chosen = {id(n) for n in tune}
    return tune, [n for n in part.notes if id(n) not in chosen]


def assign_roles(score: Score, *, melody: str | None = None) -> tuple[Score, str]:
    """``score`` with exactly the parts ``melody`` and ``accompaniment``.

    Parameters
    ----------
    score : Score
        The transcription as read.
    melody : str, optional
        Name of the part that holds the tune.

    Returns
    -------
    (Score, str)
        The score with the two role parts, and a sentence saying how the
        roles were assigned.

    Raises
    ------
    ScoreError
        If the score has no notes, or ``melody`` names no part.
    """
    parts = [p for p in score.parts if p.notes]
    names = [p.name for p in parts]
    if not parts:
        raise ScoreError("the transcription has no notes")
    if melody is not None and melody not in names:
        raise ScoreError(f"--melody: no part named {melody!r} (parts: {', '.join(names)})")
    if melody is None and set(ROLES) <= set(names):
        tune = score.part("melody")
        rest = [p for p in parts if p.name != "melody"]
        how = "the transcription's own parts 'melody' and 'accompaniment'"
        if len(rest) > 1:
            how += f" (merged into accompaniment: {', '.join(p.name for p in rest)})"
    elif melody is not None or len(parts) > 1:
        if melody is None:
            tune = max(parts, key=lambda p: sum(n.pitch for n in p.notes) / len(p.notes))
            how = f"part {tune.name!r} (highest mean pitch) as melody"
        else:
            tune = score.part(melody)
            how = f"part {tune.name!r} (chosen with --melody) as melody"
        rest = [p for p in parts if p.name != tune.name]
        how += f"; {', '.join(repr(p.name) for p in rest)} merged into accompaniment"
    else:
        top, others = _top_line(parts[0])
        tune = Part("melody", tuple(top))
        rest = [Part("accompaniment", tuple(others))]
        how = (f"one part ({parts[0].name!r}) split: the highest note at each onset is the "
               "melody (unless a higher melody note still sounds), the rest the accompaniment")
    accomp = tuple(n for p in rest for n in p.notes)
    if not accomp:
        raise ScoreError("no accompaniment: every note was assigned to the melody")
    new_parts = (Part("melody", tune.notes, description="the tune (transcription)"),
                 Part("accompaniment", accomp, preset="square", gain_db=-8.0,
                      description="the left hand (transcription)"))
    return replace(score, parts=new_parts), how


def drop_in(input_path: str, output_path: str, *, key: str | None = None,
            melody: str | None = None, title: str | None = None) -> Score:
    """Read a transcription, assign the roles, write it as the waltz's source.

    Parameters
    ----------
    input_path : str
        A MIDI (.mid) or MusicXML (.musicxml, .xml, .mxl) file.
    output_path : str
        The score file to write (normally ``arrangements/sources/laurel-waltz.toml``).
    key : str, optional
        Key at bar 1 (``"Eb major"``), required when the file states none:
        the arrangements' scale remapping reads it.
    melody : str, optional
        Name of the tune's part (see :func:`assign_roles`).
    title : str, optional

    Returns
    -------
    Score
        What was written.
    """
    score = load_source(input_path)
    score, how = assign_roles(score, melody=melody)
    if key is not None:
        tonic, mode = parse_key(key)
        others = tuple(k for k in score.keys if k.beat > 0)
        score = replace(score, keys=(KeyChange(0.0, tonic, mode),) + others)
    if not score.keys or score.keys[0].beat > 0:
        raise ScoreError("the transcription states no key at bar 1; give one with --key "
                         "(e.g. --key 'Eb major')", source=input_path)
    meter = score.meters.changes[0]
    prov = dict(score.metadata.provenance)
    prov.update({
        "stand_in": "no: a transcription of Heinrich's print",
        "composer_dates": "Anthony Philip Heinrich, 1781-1861",
        "transcription": os.path.basename(input_path),
        "roles": how,
        "meter": f"{meter} at bar 1" + ("" if str(meter) == "3/4" else
                                           " (a waltz is expected in 3/4; check the file)"),
    })
    md = replace(score.metadata, title=title or "The Laurel Waltz", composer="Anthony Philip Heinrich",
                 provenance=prov,
                 description="The Laurel Waltz by A. P. Heinrich, from a transcription.")
    score = replace(score, metadata=md)
    text = dump_score_toml(score)
    tmp = output_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, output_path)
    return score


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a Laurel Waltz transcription as the source "
                                 "of the Laurel Waltz arrangements.")
    ap.add_argument("input", help="MIDI or MusicXML transcription")
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "laurel-waltz.toml"))
    ap.add_argument("--key", help="key at bar 1 if the file gives none, e.g. 'Eb major'")
    ap.add_argument("--melody", help="name of the part that holds the tune")
    ap.add_argument("--title")
    args = ap.parse_args(argv)
    try:
        score = drop_in(args.input, args.output, key=args.key, melody=args.melody, title=args.title)
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}: {score.bar_count} bars; roles: "
          f"{score.metadata.provenance['roles']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
