"""Read a *source* (score file, MIDI or MusicXML) as a Score, by file suffix.

This is the layer arrangements read their sources through; the top-level
:func:`synth.loader.load` adds arrangements on top of it (so an arrangement's
source is a score, never another arrangement, and imports flow one way).
"""

from __future__ import annotations

import os

from .errors import ScoreError, SynthError
from .files import read_toml, toml_once
from .score import Score

__all__ = ["load_source", "is_arrangement", "arrangement_source", "source_path", "SUFFIXES"]

SUFFIXES = (".toml", ".mid", ".midi", ".musicxml", ".mxl", ".xml")


def _toml_data(path: str | os.PathLike[str]) -> dict | None:
    """The parsed document of a ``.toml`` file, or None (another suffix, unreadable, unparsable)."""
    p = os.fspath(path)
    if not p.lower().endswith(".toml"):
        return None
    try:
        data = read_toml(p, error_type=SynthError).data
    except SynthError:
        return None
    return data if isinstance(data, dict) else None


def is_arrangement(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a TOML file with an ``[arrangement]`` table."""
    data = _toml_data(path)
    return data is not None and "arrangement" in data


def source_path(arrangement_path: str | os.PathLike[str], source: str) -> str:
    """Where an arrangement's ``source = "..."`` points: relative to the arrangement's folder."""
    folder = os.path.dirname(os.path.abspath(os.fspath(arrangement_path)))
    return os.path.normpath(os.path.join(folder, source))


def arrangement_source(path: str | os.PathLike[str]) -> str | None:
    """The source file an arrangement names, or None (not an arrangement, no usable ``source``).

    Reads only the ``[arrangement]`` table (the parse is shared within a
    :func:`~synth.files.toml_once` block): no transform, tension curve or
    patch is resolved, so asking costs one TOML parse at most.  Errors are
    left to :func:`synth.arrangement.read_arrangement`, which words them.
    """
    data = _toml_data(path)
    head = data.get("arrangement") if data is not None else None
    if not isinstance(head, dict) or not isinstance(head.get("source"), str):
        return None
    return source_path(path, head["source"])


def load_source(path: str | os.PathLike[str], *, max_seconds: float | None = None) -> Score:
    """Read a score file, MIDI file or MusicXML file as a Score.

    Raises
    ------
    SynthError
        Naming the file and the problem (also for an arrangement file, which
        is not a source).
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ScoreError("no such file", source=p)
    if os.path.isdir(p):
        raise ScoreError("is a directory, not a score", source=p)
    suffix = os.path.splitext(p)[1].lower()
    try:
        if suffix == ".toml":
            with toml_once():            # read and parsed once for both questions
                return _load_score_toml(p)
        if suffix in (".mid", ".midi"):
            from .midi import read_midi
            score = read_midi(p, max_seconds=max_seconds)
            return score[0] if isinstance(score, tuple) else score
        if suffix in (".musicxml", ".mxl", ".xml"):
            from .musicxml import read_musicxml
            return read_musicxml(p)
        raise ScoreError(f"unknown file type {suffix or '(none)'!r}; expected one of "
                         f"{', '.join(SUFFIXES)}", source=p)
    except SynthError as e:
        raise e.with_source(p) from None


def _load_score_toml(p: str) -> Score:
    if is_arrangement(p):
        raise ScoreError("is an arrangement; a source must be a score file, "
                         "a MIDI file or a MusicXML file", source=p)
    from .scorefile import load_score_file
    return load_score_file(p)
