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

from .errors import SynthError
from .files import read_toml, toml_once
from .resources import resolve_input
from .score import Score, check_budget
from .sources import SUFFIXES, is_arrangement, load_source

__all__ = ["load", "is_arrangement", "load_source", "SUFFIXES"]


def load(path: str | os.PathLike[str], *, seed: int | None = None, variation: int = 0,
         max_seconds: float | None = None, cache: bool = False) -> Score:
    """Read ``path`` (score file, arrangement, MIDI or MusicXML) as a Score.

    Parameters
    ----------
    path : str or os.PathLike
        A file, or the name of a bundled piece (``"sonnerie-bells-in-the-ice"``,
        ``"sources/sonnerie"``: see :func:`synth.resources.pieces`) when no
        such file exists.
    seed : int, optional
        The seed of the seeded transforms (arrangements) and voices (default:
        the file's own).  The seed used is stored in ``score.metadata.seed``.
    variation : int
        For arrangements: a reproducible variation of the default seed.
    max_seconds : float, optional
        For MIDI: refuse longer files before reading their events.
    cache : bool
        Keep the loaded score of a ``.toml`` file (for an arrangement, the
        composed one) in the composed-score cache and read it from there
        while the file, its source and synth are unchanged (see
        :mod:`synth.cache`; ``SYNTH_NO_CACHE=1`` turns it off everywhere).
        The commands use it; off by default for library calls.

    Raises
    ------
    SynthError
        Naming the file and the problem.
    """
    p = resolve_input(path)
    with toml_once():        # each TOML file (arrangement, source) read and parsed once
        if cache and p.lower().endswith(".toml") and _cache_enabled():
            try:
                data = read_toml(p, error_type=SynthError).raw
            except SynthError:
                data = None         # reported by the load itself
            if data is not None:
                from .cache import cached
                # max_seconds limits MIDI reading only: a .toml load does not depend on it
                options = {"seed": seed, "variation": variation}
                score = cached(p, data, lambda: load(p, seed=seed, variation=variation,
                                                     max_seconds=max_seconds),
                               options=options)
                try:
                    check_budget(score)     # the budgets may have been lowered since
                except SynthError as e:
                    raise e.with_source(p) from None
                return score
        return _load(p, seed=seed, variation=variation, max_seconds=max_seconds)


def _cache_enabled() -> bool:
    """The composed-score cache is on (``SYNTH_NO_CACHE`` unset): only then is it asked."""
    from .cache import enabled
    return enabled()


def _load(p: str, *, seed: int | None, variation: int, max_seconds: float | None) -> Score:
    try:
        if is_arrangement(p):
            from .arrangement import load_arrangement
            try:
                score = load_arrangement(p, seed=seed, variation=variation)
                check_budget(score)
            except SynthError as e:
                raise e.with_source(p) from None
            return score
        score = load_source(p, max_seconds=max_seconds)
        try:
            check_budget(score)            # after MIDI or MusicXML import too
        except SynthError as e:
            raise e.with_source(p) from None
    except RecursionError:
        # tomllib and the notation parser recurse per level of nesting
        raise SynthError("nested too deeply (tables, arrays or note groups many hundreds of "
                         "levels deep); flatten the nesting", source=p) from None
    if seed is not None:
        score = score.with_metadata(seed=int(seed))
    return score
