"""Compiled kernels: when numba is imported, and where its compiled code is kept.

The per-sample loops of the engine (filter recursions, wavetable reads, the
reverb's feedback network) are plain Python functions written for
``numba.njit``.  :func:`kernel` marks one; nothing is imported or compiled
until the kernel is first called, so ``synth --version`` or ``synth info``
never pay for numba (importing it costs about 0.2 s, loading a cached kernel
a few milliseconds, compiling one from scratch 0.2-1 s).

Where the compiled code is cached (``cache=True``), in this order:

1. ``NUMBA_CACHE_DIR`` when the user has set it (numba's own variable);
2. numba's default, ``__pycache__`` next to the module, when that folder can
   be written (a source checkout, a user's virtual environment);
3. otherwise (a read-only, system-wide install) a per-user folder:
   ``$XDG_CACHE_HOME/synth/numba``, ``~/.cache/synth/numba`` by default
   (``%LOCALAPPDATA%\\synth\\numba`` on Windows).

The first render on a machine compiles each kernel it uses once; later
processes load them from the cache.  A forked ``--jobs`` worker inherits the
kernels its parent has already loaded.

Compilation is strict IEEE arithmetic (no ``fastmath``, no fused
multiply-add contraction): a kernel computes exactly the expression it is
written as, so results are the same bit for bit on every run and equal the
NumPy formulation whose operations it repeats in the same order.
"""

from __future__ import annotations

import functools
import os

import numpy as np

__all__ = ["kernel", "cache_dir", "preload"]


def cache_dir() -> str | None:
    """The folder numba will keep compiled kernels in, or ``None`` for numba's default.

    See the module notes for the order the choice is made in.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    here = os.path.dirname(os.path.abspath(__file__))
    pycache = os.path.join(here, "__pycache__")
    if os.access(pycache if os.path.isdir(pycache) else here, os.W_OK):
        return None
    if os.name == "nt":
        root = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    else:
        root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "synth", "numba")


@functools.lru_cache(maxsize=1)
def _njit():
    """``numba.njit`` configured for the engine, imported on first use."""
    folder = cache_dir()
    if folder is not None and not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = folder      # read by numba when it is imported
    import numba

    if folder is not None and numba.config.CACHE_DIR != folder:
        numba.config.CACHE_DIR = folder             # numba was imported earlier (librosa)
    return functools.partial(numba.njit, cache=True, nogil=True, error_model="numpy")


def kernel(func):
    """Mark ``func`` as a compiled kernel: ``numba.njit(cache=True)`` on first call.

    The returned callable takes the same arguments; ``.py_func`` is the
    plain Python function (slow, for reading and debugging).  Call kernels
    with C-contiguous float64 arrays: each other layout or dtype is compiled
    again.
    """
    compiled = None

    @functools.wraps(func)
    def call(*args):
        nonlocal compiled
        if compiled is None:
            compiled = _njit()(func)
        return compiled(*args)

    call.py_func = func
    return call


def preload() -> None:
    """Import numba and set up its CPU target now, in this process.

    The first kernel call of a process costs about 1 s of CPU (numba's
    import and target set-up, which also imports ``scipy.linalg``); later
    kernels load from the cache in a few milliseconds.  A parent that is
    about to fork workers calls this first, so that each worker inherits the
    set-up instead of paying it again.
    """
    _warm_up(np.zeros(1))


def _warm_up_loop(x):
    """A trivial loop: compiling (or loading) it sets numba's CPU target up."""
    total = 0.0
    for value in x:
        total += value
    return total


_warm_up = kernel(_warm_up_loop)
