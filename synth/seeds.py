"""One seed per render, split into independent, named random streams.

A render has one integer seed.  Every consumer (a part's voices, a transform,
one note's noise) asks for its own stream by a *path* of names, e.g.
``rng(seed, "transform", 3, "detune")`` or ``rng(seed, "part", "bells")``.
Streams are derived with :class:`numpy.random.SeedSequence` from the seed and
a stable hash of the path, so adding a part or a transform never changes the
streams of the others, and the same seed gives the same numbers on any run
and any machine.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["stream_key", "seed_sequence", "rng", "derive_seed", "LazyRng"]


def stream_key(*path: str | int) -> tuple[int, ...]:
    """Stable 32-bit words for a path of names/integers (independent of PYTHONHASHSEED)."""
    words = []
    for item in path:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            words.append(int(item) & 0xFFFFFFFF)
        else:
            digest = hashlib.blake2b(str(item).encode("utf-8"), digest_size=4).digest()
            words.append(int.from_bytes(digest, "little"))
    return tuple(words)


def seed_sequence(seed: int, *path: str | int) -> np.random.SeedSequence:
    """The :class:`~numpy.random.SeedSequence` of stream ``path`` under ``seed``."""
    return np.random.SeedSequence(entropy=int(seed) & ((1 << 128) - 1), spawn_key=stream_key(*path))


def rng(seed: int, *path: str | int) -> np.random.Generator:
    """A fresh :class:`~numpy.random.Generator` for stream ``path`` under ``seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *path)))


def derive_seed(seed: int, variation: int) -> int:
    """The seed of variation ``variation`` of a piece whose default seed is ``seed``.

    Variation 0 is the piece itself (returns ``seed``).
    """
    if variation == 0:
        return int(seed)
    return int(seed_sequence(seed, "variation", variation).generate_state(1, np.uint32)[0])


class LazyRng:
    """A :class:`~numpy.random.Generator` for stream ``path`` made on first use.

    Most notes of most patches draw no random numbers; making a generator
    costs about 13 microseconds, so the renderer hands each note one of these
    instead.  It draws exactly what ``rng(seed, *path)`` would.
    """

    __slots__ = ("_seed", "_path", "_gen")

    def __init__(self, seed: int, *path: str | int):
        self._seed, self._path, self._gen = seed, path, None

    def __getattr__(self, name):
        gen = self._gen
        if gen is None:
            gen = self._gen = rng(self._seed, *self._path)
        return getattr(gen, name)
