"""Compiled kernels: when numba is imported, and where its compiled code is kept.

The per-sample loops of the engine (filter recursions, wavetable reads, the
reverb's feedback network) are plain Python functions written for
``numba.njit``.  :func:`kernel` marks one; nothing is imported or compiled
until the kernel is first called, so ``synth --version`` or ``synth info``
never pay for numba (importing it costs about 0.3 s, loading a cached kernel
a few milliseconds, compiling one from scratch 0.2-1 s).  A kernel found in
the cache is loaded without numba's target refresh (see
:func:`_load_without_refresh`).

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

import contextlib
import functools
import os
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["kernel", "cache_dir", "preload", "for_command_line"]

#: True in the ``synth`` command (:func:`for_command_line`): numba is set up
#: without its cffi support and without its extension lookup.
_COMMAND_LINE = False


def for_command_line() -> None:
    """Set numba up without its cffi support in this process (the ``synth`` command calls it).

    numba's set-up imports ``cffi`` and its C parser (pycparser) so that
    compiled code may call cffi functions: about 0.05 s CPU of every
    rendering process, before its first block, for a feature no kernel here
    uses.  A library user's process keeps it (their own compiled code may
    call cffi functions); so does a process that imported ``cffi`` first.
    numba's lookup of third-party extensions (``importlib.metadata``, ~35 ms)
    is skipped the same way (:class:`_NoEntryPoints`).
    """
    global _COMMAND_LINE
    _COMMAND_LINE = True


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
    """``numba.njit`` configured for the engine, imported and set up on first use."""
    folder = cache_dir()
    if folder is not None and not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = folder      # read by numba when it is imported
    # numba's import also imports scipy only to check its version (~10 ms) and
    # PyYAML only to read a .numba_config.yaml in the working folder (~22 ms):
    # hidden while it loads (PyYAML only when there is no such file)
    yaml = None if os.path.isfile(".numba_config.yaml") else "yaml"
    with _without_scipy_blas(), _without_cffi(), _hidden("scipy"), _hidden(yaml), \
            _hidden("importlib.metadata" if _COMMAND_LINE else None, stand_in=_NoEntryPoints):
        import numba
    if folder is not None and numba.config.CACHE_DIR != folder:
        numba.config.CACHE_DIR = folder             # numba was imported earlier (librosa)
    return functools.partial(numba.njit, cache=True, nogil=True, error_model="numpy")


class _NoEntryPoints:
    """``importlib.metadata`` as numba sees it while it is imported in the command line.

    ``numba.core.entrypoints`` imports ``importlib.metadata`` (and with it
    ``email`` & co.) and scans every installed distribution for third-party
    numba extensions, which only a user's own compiled code could need
    (~35 ms of every rendering process).  This stand-in lists none; the real
    module is imported as usual by anything later.
    """

    @staticmethod
    def entry_points():
        return _NoEntryPoints()

    def select(self, **_):
        return ()


_BLAS = "scipy.linalg.cython_blas"


def _without_scipy_blas():
    """Let numba's set-up find no BLAS: it would import ``scipy.linalg`` (0.3 s CPU) for it.

    ``numba.np.arraymath`` asks once, when the CPU target loads, whether a
    BLAS is there; the answer only chooses how ``np.correlate`` /
    ``np.convolve`` compile, which no kernel here uses (``np.dot`` and
    ``np.linalg`` ask again when they are compiled, and then find SciPy).
    A process that has already imported it (librosa) keeps it.
    """
    return _hidden(_BLAS)


def _without_cffi():
    """In the command line, numba is set up without its cffi support (:func:`for_command_line`)."""
    return _hidden("cffi" if _COMMAND_LINE else None)


@contextlib.contextmanager
def _hidden(module: str | None, stand_in=None):
    """Within the block, importing ``module`` raises ImportError (unless it is already imported).

    With ``stand_in``, the import gives that object instead.
    """
    if module is None or module in sys.modules:
        yield
        return
    sys.modules[module] = stand_in                  # None: "import" of it raises ImportError
    try:
        yield
    finally:
        if sys.modules.get(module, 0) is stand_in:
            del sys.modules[module]


def kernel(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``func`` as a compiled kernel: ``numba.njit(cache=True)`` on first call.

    The returned callable takes the same arguments; ``.py_func`` is the
    plain Python function (slow, for reading and debugging).  Call kernels
    with C-contiguous float64 arrays: each other layout or dtype is compiled
    again.

    A kernel may call other kernels (module globals made with this
    decorator): they are compiled into it, and its cached code is
    invalidated when any of their source files changes (numba itself only
    watches the caller's file).
    """
    compiled = None

    def dispatcher():
        nonlocal compiled
        if compiled is None:
            compiled = _compile(func)
        return compiled

    @functools.wraps(func)
    def call(*args):
        if compiled is None:
            dispatcher()
        return compiled(*args)

    call.py_func = func
    call.dispatcher = dispatcher
    return call


def _callees(func) -> dict:
    """The kernels ``func`` calls, by global name."""
    found = {}
    for name in func.__code__.co_names:
        value = func.__globals__.get(name)
        if callable(getattr(value, "dispatcher", None)) and hasattr(value, "py_func"):
            found[name] = value
    return found


def _compile(func):
    """numba's dispatcher for ``func``, its kernel callees resolved to theirs."""
    callees = _callees(func)
    if not callees:
        return _load_without_refresh(_njit()(func))
    scope = dict(func.__globals__)
    scope.update({name: callee.dispatcher() for name, callee in callees.items()})
    bound = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                               func.__closure__)
    bound.__qualname__, bound.__module__, bound.__doc__ = (func.__qualname__, func.__module__,
                                                           func.__doc__)
    compiled = _njit()(bound)
    _load_without_refresh(compiled)
    cache = getattr(getattr(compiled, "_cache", None), "_cache_file", None)
    if cache is not None and hasattr(cache, "_source_stamp"):
        files = sorted(_source_files(func))
        cache._source_stamp = tuple((f, os.stat(f).st_mtime, os.stat(f).st_size) for f in files)
    return compiled


def _load_without_refresh(compiled):
    """``compiled`` (a numba dispatcher) loading its cached code without a target refresh.

    Before it loads a kernel from its cache, numba refreshes the CPU target:
    it imports and installs every implementation registry (``numba.np.arraymath``
    & co.; about 0.2 s, the largest part of numba's start-up after its
    import).  Cached machine code needs none of them: it is linked as it
    is.  Only a kernel missing from the cache (compiled, which refreshes the
    target itself) needs them: they are then loaded first, without SciPy's
    BLAS (see :func:`_without_scipy_blas`) and, in the command line, without
    cffi (see :func:`for_command_line`).  Returns ``compiled``.
    """
    cache = getattr(compiled, "_cache", None)
    if not (hasattr(cache, "_load_overload") and hasattr(cache, "_guard_against_spurious_io_errors")):
        return compiled                     # another numba: its own loading, unchanged

    def load_overload(sig, target_context):
        from numba.core.runtime import rtsys

        rtsys.initialize(target_context)    # the allocator np.empty & co. call (once)
        # a kernel built from numba's NumPy implementations (np.sum, say) imports
        # numba.np.arraymath as it loads, which would import scipy.linalg for a BLAS
        with _without_scipy_blas():
            with cache._guard_against_spurious_io_errors():
                found = cache._load_overload(sig, target_context)
            if found is None:               # to be compiled
                with _without_cffi():
                    target_context.refresh()
        return found

    cache.load_overload = load_overload
    return compiled


def _source_files(func, seen=None) -> set:
    """Source files of ``func`` and of every kernel it calls, transitively."""
    seen = set() if seen is None else seen
    seen.add(os.path.abspath(func.__code__.co_filename))
    for callee in _callees(func).values():
        _source_files(callee.py_func, seen)
    return seen


def preload() -> None:
    """Import numba and set up its CPU target now, in this process.

    The first kernel call of a process costs about 0.4 s of CPU (numba's
    import and its JIT's set-up); later kernels load from the cache in a few
    milliseconds.  A parent that is
    about to fork workers calls this first, so that each worker inherits the
    set-up instead of paying it again.
    """
    import numpy as np

    _warm_up(np.zeros(1))


def _warm_up_loop(x):
    """A trivial loop: compiling (or loading) it sets numba's CPU target up."""
    total = 0.0
    for value in x:
        total += value
    return total


_warm_up = kernel(_warm_up_loop)
