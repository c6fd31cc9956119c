"""Load any supported input as a :class:`~synth.score.Score`, by file suffix.

========================  =============================================
suffix                    read by
========================  =============================================
``.toml`` (score file)    :func:`synth.scorefile.load_score_file`
``.toml`` (arrangement)   :func:`synth.arrangement.load_arrangement`
``.mid``, ``.midi``       :func:`synth.midi.read_midi`
``.musicxml``, ``.mxl``,  :func:`synth.musicxml.read_musicxml`
``.xml``
========================  =============================================

A ``.toml`` file with an ``[arrangement]`` table is an arrangement (a source
plus transforms plus orchestration); otherwise it is a score file.  Repairs
and other changes made on the user's behalf are reported as
:class:`~synth.errors.SynthWarning` through :mod:`warnings`.
"""

from __future__ import annotations

import os
import tomllib

from .errors import ScoreError, SynthError
from .score import Score

__all__ = ["load", "is_arrangement", "SUFFIXES"]

SUFFIXES = (".toml", ".mid", ".midi", ".musicxml", ".mxl", ".xml")


def is_arrangement(path) -> bool:
    """True if ``path`` is a TOML file with an ``[arrangement]`` table."""
    p = os.fspath(path)
    if not p.lower().endswith(".toml"):
        return False
    try:
        with open(p, "rb") as f:
            return "arrangement" in tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def load(path, *, seed: int | None = None, variation: int = 0,
         max_seconds: float | None = None) -> Score:
    """Read ``path`` (score file, arrangement, MIDI or MusicXML) as a Score.

    Parameters
    ----------
    path : str or os.PathLike
    seed : int, optional
        For arrangements: the seed of the seeded transforms (default: the
        file's own).  The seed used is stored in ``score.metadata.seed``.
    variation : int
        For arrangements: a reproducible variation of the default seed.
    max_seconds : float, optional
        For MIDI: refuse longer files before reading their events.

    Raises
    ------
    SynthError
        Naming the file and the problem.
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ScoreError("no such file", source=p)
    if os.path.isdir(p):
        raise ScoreError("is a directory, not a score", source=p)
    suffix = os.path.splitext(p)[1].lower()
    try:
        if suffix == ".toml":
            if is_arrangement(p):
                from .arrangement import load_arrangement
                return load_arrangement(p, seed=seed, variation=variation)
            from .scorefile import load_score_file
            score = load_score_file(p)
        elif suffix in (".mid", ".midi"):
            from .midi import read_midi
            score = read_midi(p, max_seconds=max_seconds)
            if isinstance(score, tuple):
                score = score[0]
        elif suffix in (".musicxml", ".mxl", ".xml"):
            from .musicxml import read_musicxml
            score = read_musicxml(p)
        else:
            raise ScoreError(f"unknown file type {suffix or '(none)'!r}; expected one of "
                             f"{', '.join(SUFFIXES)}", source=p)
    except SynthError as e:
        raise e.with_source(p) from None
    if seed is not None:
        score = score.with_metadata(seed=int(seed))
    return score
