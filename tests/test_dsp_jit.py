"""Compiled kernels (synth/dsp/jit.py): lazy numba, cache folder policy, NumPy oracles.

The oracles here are the NumPy formulations the compiled kernels replaced
(same operations, same order): the kernels must give the same samples, bit
for bit.  They live only in the tests.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from synth.dsp import jit, oscillators

SR = 44100.0


def _child(code: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """``code`` run by a fresh interpreter (its own imports, numba set up from scratch)."""
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, check=True)


def test_importing_the_engine_and_the_cli_does_not_import_numba():
    # numba costs ~0.5 s and ~70 MB to import: only a render that calls a kernel pays it
    code = ("import sys\n"
            "import synth.cli, synth.voice, synth.dsp.effects, synth.dsp.filters\n"
            "import synth.dsp.oscillators, synth.dsp.fairlight\n"
            "print(int('numba' in sys.modules))\n")
    out = _child(code)
    assert out.stdout.split() == ["0"]


def test_cache_dir_prefers_numbas_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert jit.cache_dir() == str(tmp_path / "mine")


def test_cache_dir_is_numbas_default_where_the_package_is_writable(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(os, "access", lambda path, mode: True)
    assert jit.cache_dir() is None


@pytest.mark.skipif(os.name == "nt", reason="the XDG layout is for POSIX systems")
def test_cache_dir_of_a_read_only_install_is_a_user_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jit.cache_dir() == str(tmp_path / "xdg" / "synth" / "numba")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert jit.cache_dir() == str(tmp_path / "home" / ".cache" / "synth" / "numba")


def test_a_read_only_install_compiles_into_the_user_cache(tmp_path):
    # a copy of the package whose folders report "not writable" (os.access, as for a
    # system-wide install; the tests may run as root, who can write anywhere): the
    # kernels land in $XDG_CACHE_HOME/synth/numba, and a second process loads them
    import shutil

    root = tmp_path / "site"
    shutil.copytree(os.path.dirname(os.path.dirname(jit.__file__)), root / "synth",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env.update(PYTHONPATH=str(root), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONDONTWRITEBYTECODE="1")
    code = (f"import os\n"
            f"real = os.access\n"
            f"os.access = lambda p, m, **k: not str(p).startswith({str(root)!r}) and real(p, m, **k)\n"
            "import numpy as np\n"
            "from synth.dsp import filters\n"
            "print(filters.sosfilt(np.array([[0.5, 0, 0, 1, -0.5, 0]]), np.ones(3)).tolist())\n"
            "print(filters.__file__)\n")
    for _ in range(2):
        out = _child(code, env=env, cwd=tmp_path)
        result, where = out.stdout.split("\n")[:2]
        assert result == "[0.5, 0.75, 0.875]" and where.startswith(str(root)), out.stdout
    cached = list((tmp_path / "cache" / "synth" / "numba").rglob("*.nbi"))
    assert any("_sosfilt_runs" in p.name for p in cached), cached
    assert not list(root.rglob("*.nbi"))


def test_a_cached_kernel_loads_without_numbas_implementation_registries():
    # numba refreshes its whole CPU target (every implementation registry, ~0.2 s)
    # before loading from its cache; the engine skips that for a kernel found there,
    # and the kernel still computes the same samples.  The first process may compile
    # (then the registries load); the second finds the kernel in the cache.
    code = ("import sys\n"
            "import numpy as np\n"
            "from synth.dsp import filters\n"
            "print(filters.sosfilt(np.array([[0.5, 0, 0, 1, -0.5, 0]]), np.ones(3)).tolist())\n"
            "print(int('numba.np.arraymath' in sys.modules))\n")
    for _ in range(2):
        out = _child(code)
    assert out.stdout.split("\n")[:2] == ["[0.5, 0.75, 0.875]", "0"], out.stdout


# ---------------------------------------------------------------- NumPy oracles

def _oracle_read(table, slopes, phases):
    """The NumPy table read the compiled kernel replaced."""
    pos = phases * len(table)
    whole = np.floor(pos)
    frac = pos - whole
    index = whole.astype(np.int64) & (len(table) - 1)
    return table[index] + slopes[index] * frac


@pytest.mark.parametrize("shape", ["saw", "square", "triangle"])
def test_table_read_equals_the_numpy_formulation(shape):
    rng = np.random.default_rng(5)
    phases = rng.uniform(-50.0, 1e5, (3, 7001))
    table, slopes = oscillators._table_and_slopes(shape, oscillators.max_harmonics(523.0, sr=SR))
    y = oscillators.read_shape(shape, phases, sr=SR, max_freq=523.0)
    assert y.shape == phases.shape
    assert np.array_equal(y, _oracle_read(table, slopes, phases))


def test_fixed_pitch_equals_the_closed_form_phase_read_by_numpy():
    freqs, phase0, start, n = np.array([219.0, 220.0, 221.5]), np.array([0.1, 0.5, 0.9]), 12345, 5000
    y = oscillators.fixed_pitch("saw", freqs, sr=SR, n=n, phase=phase0, start=start)
    phases = np.arange(start, start + n, dtype=np.float64) * (freqs[:, None] / SR) + phase0[:, None]
    table, slopes = oscillators._table_and_slopes("saw", oscillators.max_harmonics(221.5, sr=SR))
    assert np.array_equal(y, _oracle_read(table, slopes, phases))


def test_stepped_stack_equals_the_numpy_formulation_summed_voice_by_voice():
    rng = np.random.default_rng(9)
    n, step = 10_000, 32
    runs = -(-n // step)
    starts, inc, _ = oscillators.stepped_phase(330.0 * 2 ** rng.normal(0, 0.02, runs), sr=SR,
                                               n=n, step=step, phase=0.3)
    ratios = 2.0 ** (oscillators.unison_offsets_cents(5, 25.0) / 1200.0)
    offsets = rng.uniform(0, 1, 5)
    y = oscillators.stack_sum_stepped("saw", starts, inc, ratios, offsets, step=step, n=n,
                                      sr=SR, max_freq=340.0)
    table, slopes = oscillators._table_and_slopes("saw", oscillators.max_harmonics(340.0, sr=SR))
    size = len(table)
    ramp = np.arange(step, dtype=np.float64)
    expected = None
    for ratio, offset in zip(ratios, offsets):
        first = (ratio * starts + offset) * size
        slope = (ratio * inc) * size
        pos = (slope[:, None] * ramp + first[:, None]).reshape(-1)[:n]
        whole = np.floor(pos)
        index = whole.astype(np.int64) & (size - 1)
        voice = table[index] + slopes[index] * (pos - whole)
        expected = voice if expected is None else expected + voice
    assert np.array_equal(y, expected)


# ---------------------------------------------------------------- reverb

def _oracle_hadamard8(v):
    """Unnormalised 8x8 Hadamard by butterflies along axis 0 (pairs 4, 2, 1 apart)."""
    a = v
    for half in (4, 2, 1):
        pairs = a.reshape(8 // (2 * half), 2, half, a.shape[1])
        a = np.concatenate([pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]],
                           axis=1).reshape(8, -1)
    return a


def _oracle_reverb(x, *, sr, rt60, damping, size, mix):
    """The NumPy reverb the compiled network replaced: sub-blocks no longer than
    the shortest line, the damping filter through SciPy's lfilter."""
    from scipy.signal import lfilter

    from synth.dsp.effects import _fdn_delays

    d = _fdn_delays(sr, size)
    offsets = np.concatenate([[0], np.cumsum(d)[:-1]])
    line_gains = (10.0 ** (-3.0 * d / (rt60 * sr)) / np.sqrt(8.0))[:, None]
    a = 0.85 * damping
    buf, zi, n, step = np.zeros(int(d.sum())), np.zeros((8, 1)), x.shape[1], int(d.min())
    wet = np.empty((2, n))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        idx = (offsets + lo % d)[:, None] + np.arange(hi - lo)
        idx = np.where(idx >= (offsets + d)[:, None], idx - d[:, None], idx)
        out = buf[idx]
        damped, zi = lfilter([1.0 - a], [1.0, -a], out, axis=-1, zi=zi)
        buf[idx] = _oracle_hadamard8(damped * line_gains) + x[[0, 1] * 4, lo:hi]
        diff, total = out[0::2] - out[1::2], out[0::2] + out[1::2]
        wet[0, lo:hi] = (diff[0] + diff[1]) + (diff[2] + diff[3])
        wet[1, lo:hi] = (total[0] - total[1]) + (total[2] - total[3])
    return (1.0 - mix) * x + (mix * 0.5) * wet


@pytest.mark.parametrize("damping", [0.0, 0.3, 0.9])
def test_reverb_network_matches_the_numpy_oracle(damping):
    from synth.dsp.effects import reverb

    rng = np.random.default_rng(3)
    sr = 8000.0
    x = np.zeros((2, 6000))
    x[:, :400] = rng.uniform(-1, 1, (2, 400))
    params = dict(sr=sr, rt60=1.2, damping=damping, size=0.7, mix=0.4)
    y, _ = reverb(x, **params)
    expected = _oracle_reverb(x, **params)
    # lfilter's direct form may round the damping recursion differently from
    # the section kernel: equal to within rounding, far below audibility
    assert np.max(np.abs(y - expected)) < 1e-12
    # and the tail really is the network's (the oracle is not trivially silent)
    assert np.max(np.abs(expected[:, 3000:])) > 1e-3


def _oracle_delay(x, *, sr, time, feedback, mix, damping):
    """The NumPy feedback delay the compiled loop replaced (sub-blocks of one delay)."""
    from scipy.signal import lfilter

    size, a = int(round(time * sr)), 0.9 * damping
    buf, zi, n = np.zeros((2, size)), np.zeros((2, 1)), x.shape[1]
    wet = np.empty((2, n))
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        idx = np.arange(lo, hi) % size
        out = buf[:, idx]
        wet[:, lo:hi] = out
        fed, zi = lfilter([1.0 - a], [1.0, -a], out, axis=-1, zi=zi)
        buf[:, idx] = x[:, lo:hi] + feedback * fed
    return (1.0 - mix) * x + mix * wet


@pytest.mark.parametrize("damping", [0.0, 0.6])
def test_delay_loop_matches_the_numpy_oracle(damping):
    from synth.dsp.effects import delay

    rng = np.random.default_rng(4)
    x = np.zeros((2, 5000))
    x[:, :300] = rng.uniform(-1, 1, (2, 300))
    params = dict(sr=8000.0, time=0.11, feedback=0.7, mix=0.5, damping=damping)
    y, _ = delay(x, **params)
    expected = _oracle_delay(x, **params)
    assert np.max(np.abs(y - expected)) < 1e-12
    assert np.max(np.abs(expected[:, 4000:])) > 1e-3      # the repeats are still there


def test_table_lookup_equals_the_numpy_formulation_at_wraps_and_edges():
    rng = np.random.default_rng(6)
    table = rng.normal(size=1001)
    table[-1] = table[0]
    phases = np.concatenate([rng.uniform(-40.0, 4e4, 5000),
                             [0.0, -0.0, 1.0, 0.5, -1e-17, np.nextafter(1.0, 0.0)]])
    pos = (phases - np.floor(phases)) * 1000
    i = np.minimum(pos.astype(np.intp), 999)
    expected = table[i] + (pos - i) * (table[i + 1] - table[i])
    assert np.array_equal(oscillators.table_lookup(table, phases), expected)


def test_preload_sets_numba_up_in_this_process():
    code = ("import sys\n"
            "from synth.dsp import jit\n"
            "before = 'numba' in sys.modules\n"
            "jit.preload()\n"
            "print(int(before), int('numba' in sys.modules))\n")
    out = _child(code)
    assert out.stdout.split() == ["0", "1"]


def test_a_parallel_render_sets_numba_up_before_forking_its_workers(monkeypatch):
    # each forked worker then inherits numba's ~1 s CPU set-up instead of paying it again
    import multiprocessing

    from synth.render import parallel
    from synth.render import render as render_score
    from synth.score import Metadata, Note, Part, Score, TempoMap

    events = []
    fork = multiprocessing.get_context("fork").Process
    start = fork.start
    monkeypatch.setattr(parallel.jit, "preload", lambda: events.append("preload"))
    monkeypatch.setattr(fork, "start", lambda self: (events.append("fork"), start(self))[1])
    parts = [Part(f"p{k}", [Note(0.1 * k, 0.3, 50 + k)], preset="saw") for k in range(3)]
    render_score(Score(parts=parts, tempo=TempoMap.constant(120), metadata=Metadata(seed=0)),
                 sr=22050, jobs=2)
    assert events[:1] == ["preload"] and "fork" in events


def _fairlight_lookup_oracle(stored, mode, loops, ticks, loop=None):
    """The NumPy table read that ``fairlight._lookup_ticks`` replaced."""
    from synth.dsp.fairlight import SEGMENT_LENGTH

    if mode == 1:
        seg = np.minimum(ticks // (SEGMENT_LENGTH * loops), stored.shape[0] - 1)
        return stored[seg, ticks % SEGMENT_LENGTH]
    if loop is not None:
        start, end = loop
        ticks = np.where(ticks >= end, start + (ticks - start) % (end - start), ticks)
    out = np.zeros(ticks.shape)
    inside = ticks < len(stored)
    out[inside] = stored[ticks[inside]]
    return out


def _fairlight_play_oracle(stored, clock, sr, mode, loops, loop):
    """One block of band-limited Fairlight playback from note-on, as NumPy computed it:
    every clock tick a step found by ``searchsorted``, the residuals summed by ``bincount``."""
    from synth.dsp import fairlight

    pos, _ = oscillators.phase_ramp(clock, sr=sr)
    n = len(pos)
    naive = _fairlight_lookup_oracle(stored, mode, loops, np.floor(pos).astype(np.int64), loop)
    ticks = np.arange(np.floor(pos[0]) + 1, np.floor(pos[-1]) + 1).astype(np.int64)
    m = np.searchsorted(pos, ticks, side="left")
    before = np.concatenate([[pos[0]], pos[:-1]])[m]
    offset = (pos[m] - ticks) / (pos[m] - before)
    heights = (_fairlight_lookup_oracle(stored, mode, loops, ticks, loop)
               - _fairlight_lookup_oracle(stored, mode, loops, ticks - 1, loop))
    keep = heights != 0.0
    sample = np.concatenate([[0], m[keep]])
    offset = np.concatenate([[0.0], offset[keep]])
    height = np.concatenate([[naive[0]], heights[keep]])
    rows, _ = fairlight._step_residual_rows()
    over, taps = rows.shape[0] - 1, rows.shape[1]
    p = offset * over
    i0 = np.minimum(p.astype(np.intp), over - 1)
    frac = p - i0
    terms = ((rows[i0 + 1] - rows[i0]) * frac[:, None] + rows[i0]) * height[:, None]
    full = np.bincount((sample[:, None] + np.arange(taps)).ravel(), weights=terms.ravel(),
                       minlength=n + taps)
    delayed = np.concatenate([np.zeros(fairlight.BLEP_LATENCY), naive])
    return delayed[:n] + full[:n]


@pytest.mark.parametrize("mode, loop, clock_hz", [(1, None, 128 * 523.25), (1, None, 128 * 55.0),
                                                  (4, None, 30000.0), (4, (300, 1700), 61000.0)])
def test_fairlight_playback_equals_the_numpy_formulation(mode, loop, clock_hz):
    from synth.dsp import fairlight

    rng = np.random.default_rng(7)
    shape = (3, fairlight.SEGMENT_LENGTH) if mode == 1 else (2000,)
    stored = fairlight.quantize_8bit(rng.uniform(-1.0, 1.0, shape))
    n = 4000                                          # one block of play()
    clock = clock_hz * (1.0 + 0.03 * np.sin(np.arange(n) / 400.0))   # vibrato: uneven ticks
    if mode == 1:                                     # Mode 1's reference: its memory unrolled
        from fairlight_oracle import play_mode1

        got, _ = play_mode1(stored, clock, sr=SR, loops=2)
    else:
        got, _ = fairlight.play(stored, clock, sr=SR, loop=loop)
    assert np.array_equal(got, _fairlight_play_oracle(stored, clock, SR, mode, 2, loop))


def _subprocess_env(tmp_path) -> dict:
    """A child's environment: this checkout and ``tmp_path`` importable, an empty kernel cache."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(jit.__file__)))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), root]),
                NUMBA_CACHE_DIR=str(tmp_path / "c"))


def _fresh_kernel_env(tmp_path) -> dict:
    """:func:`_subprocess_env` with a module ``fresh`` whose kernel ``halve`` no cache holds:
    calling it compiles, which is when numba sets its target up."""
    (tmp_path / "fresh.py").write_text("from synth.dsp.jit import kernel\n\n@kernel\n"
                                       "def halve(x):\n    return 0.5 * x\n")
    return _subprocess_env(tmp_path)


def test_setting_numba_up_and_compiling_do_not_import_scipy_linalg(tmp_path):
    # numba's target set-up asks for a BLAS by importing scipy.linalg (0.3 s CPU); no
    # kernel needs it.  The set-up runs when a kernel is missing from the cache (here a
    # new one, compiled into an empty cache folder)
    env = _fresh_kernel_env(tmp_path)
    code = ("import sys\n"
            "from synth.dsp import jit\n"
            "jit.preload()\n"
            "from fresh import halve\n"
            "print(halve(3.0))\n"
            "print(int('numba.np.arraymath' in sys.modules), int('scipy.linalg' in sys.modules))\n"
            "import scipy.linalg.cython_blas\n"        # and it can still be imported later
            "print(int('scipy.linalg' in sys.modules))\n")
    out = _child(code, env=env)
    assert out.stdout.split() == ["1.5", "1", "0", "1"], out.stdout + out.stderr


def test_loading_a_cached_kernel_does_not_import_scipy_linalg(tmp_path):
    # a cached kernel whose code came from numba's NumPy implementations (np.sum here;
    # the reverb's FDN is one) imports numba.np.arraymath when it loads, and that
    # module asks for a BLAS by importing scipy.linalg (0.24 s, in the serial start
    # of every arrangement with a reverb).  Compiled in one process, loaded in another
    (tmp_path / "summing.py").write_text("import numpy as np\nfrom synth.dsp.jit import kernel\n\n"
                                         "@kernel\ndef total(x):\n    return np.sum(x)\n")
    env = _subprocess_env(tmp_path)
    code = ("import sys\n"
            "import numpy as np\n"
            "from summing import total\n"
            "print(total(np.arange(4.0)))\n"
            "print(int('numba.np.arraymath' in sys.modules), int('scipy.linalg' in sys.modules))\n")
    runs = [_child(code, env=env) for _ in range(2)]       # compiles, then loads from the cache
    assert [r.stdout.split() for r in runs] == [["6.0", "1", "0"]] * 2, [r.stderr for r in runs]


@pytest.mark.parametrize("numba_config", [False, True])
def test_numba_is_imported_without_scipy_and_pyyaml(numba_config, tmp_path):
    # numba imports scipy only to check its version and PyYAML only to read a
    # .numba_config.yaml in the working folder (~0.05 s CPU of every render together):
    # both hidden while it loads, PyYAML only when there is no such file
    if numba_config:
        (tmp_path / ".numba_config.yaml").write_text("# empty\n")
    code = ("import sys\n"
            "from synth.dsp import jit\n"
            "jit.preload()\n"
            "print(int('scipy' in sys.modules), int('yaml' in sys.modules))\n"
            "import scipy, yaml\n"                    # and both can still be imported later
            "print(int(callable(yaml.safe_load)))\n")
    out = _child(code, cwd=tmp_path)
    assert out.stdout.split() == ["0", "1" if numba_config else "0", "1"], out.stdout + out.stderr


@pytest.mark.parametrize("command_line", [False, True])
def test_the_command_line_sets_numba_up_without_its_cffi_support(command_line, tmp_path):
    # the C parser numba's cffi support imports costs ~0.05 s CPU per rendering process;
    # a library user's process keeps the support (their compiled code may call cffi).
    # numba's target set-up, which imports it, runs when a kernel is compiled (a new
    # one here, into an empty cache folder)
    env = _fresh_kernel_env(tmp_path)
    code = ("import sys\n"
            "from synth.dsp import jit\n"
            + ("jit.for_command_line()\n" if command_line else "")
            + "jit.preload()\n"
            "from fresh import halve\n"
            "assert halve(3.0) == 1.5\n"
            "from numba.core.typing import cffi_utils\n"
            "print(int('pycparser' in sys.modules), int(cffi_utils.SUPPORTED))\n"
            "import cffi\n"                            # and it can still be imported later
            "print(int(callable(cffi.FFI)))\n")
    out = _child(code, env=env)
    expected = ["0", "0", "1"] if command_line else ["1", "1", "1"]
    assert out.stdout.split() == expected, out.stdout + out.stderr


@pytest.mark.parametrize("command_line", [False, True])
def test_the_command_line_imports_numba_without_its_extension_lookup(command_line, tmp_path):
    # numba looks for third-party extensions through importlib.metadata (~35 ms of every
    # rendering process's start); the command line has none to load, a library user may
    (tmp_path / "ext.py").write_text("import os\ndef init():\n    os.environ['EXT_LOADED'] = '1'\n")
    info = tmp_path / "numba_ext_probe-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: numba-ext-probe\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[numba_extensions]\ninit = ext:init\n")
    env = _fresh_kernel_env(tmp_path)
    code = ("import os, sys\n"
            "from synth.dsp import jit\n"
            + ("jit.for_command_line()\n" if command_line else "")
            + "jit.preload()\n"
            "from fresh import halve\n"
            "assert halve(3.0) == 1.5\n"
            "print(int('importlib.metadata' in sys.modules), os.environ.get('EXT_LOADED', '0'))\n"
            "import importlib.metadata\n"             # and the real module is there later
            "print(importlib.metadata.version('numba-ext-probe'))\n")
    out = _child(code, env=env)
    expected = ["0", "0", "1.0"] if command_line else ["1", "1", "1.0"]
    assert out.stdout.split() == expected, out.stdout + out.stderr


def test_a_kernel_calling_a_kernel_is_recompiled_when_the_callee_changes(tmp_path):
    # numba's cache watches only the caller's file; jit.kernel adds its callees' files
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    callee = pkg / "callee.py"
    callee.write_text("from synth.dsp.jit import kernel\n\n@kernel\ndef twice(x):\n"
                      "    return 2.0 * x\n")
    (pkg / "caller.py").write_text("from synth.dsp.jit import kernel\nfrom .callee import twice\n\n"
                                   "@kernel\ndef plus_one(x):\n    return twice(x) + 1.0\n")
    env = _subprocess_env(tmp_path)
    code = "from pkg.caller import plus_one\nprint(plus_one(5.0))\n"

    def run():
        return _child(code, env=env).stdout.strip()

    assert run() == "11.0"
    assert run() == "11.0"                          # from the cache
    assert list((tmp_path / "c").rglob("*plus_one*.nbi"))
    callee.write_text(callee.read_text().replace("2.0 * x", "3.0 * x  # changed"))
    assert run() == "16.0"


def _card_envelope_oracle(times, counts, start, n):
    """The NumPy read of the counter's events that ``fairlight._hold_counts`` replaced."""
    k = np.arange(int(start), int(start) + int(n), dtype=np.float64)
    idx = np.searchsorted(times, k, side="right") - 1
    return counts[np.maximum(idx, 0)] / 255.0


def test_card_envelope_events_are_held_as_the_numpy_formulation_holds_them():
    from synth.dsp import fairlight

    rng = np.random.default_rng(3)
    for _ in range(200):
        times = np.sort(np.concatenate([[0.0], rng.uniform(0, 3000, rng.integers(0, 60)),
                                        np.full(rng.integers(0, 3), 1000.0)]))   # ties too
        counts = rng.integers(0, 256, len(times)).astype(np.float64)
        start, n = int(rng.integers(0, 2000)), int(rng.integers(0, 3000))
        got = np.empty(n)
        fairlight._hold_counts(times, counts, start, got)
        assert np.array_equal(got, _card_envelope_oracle(times, counts, start, n))


def _quantize_clock_oracle(clock, tune):
    """The NumPy IIx clock law that ``fairlight._divider_clocks`` replaced."""
    from synth.dsp import fairlight

    f_master = (3840 + int(tune)) * (fairlight._MASTER_CLOCK_HZ / 2.0) / 4096.0
    base = f_master / 16.0 / 2.0 ** (8 - np.arange(8))
    octave = np.clip(np.searchsorted(base, clock, side="right"), 0, 7)
    b = base[octave]
    pitch10 = np.clip(np.round((clock / b * 4096.0 - 2048.0) / 2.0), 0, 1023)
    return (2048.0 + 2.0 * pitch10) / 4096.0 * b, base


@pytest.mark.parametrize("tune", [0, 128, 255])
def test_iix_clock_law_equals_the_numpy_formulation(tune):
    from synth.dsp import fairlight

    rng = np.random.default_rng(11)
    clock = np.exp(rng.uniform(np.log(50.0), np.log(4e6), 20000))
    _, base = _quantize_clock_oracle(clock, tune)
    halves = np.concatenate([(2048 + 2 * (np.arange(1024) + 0.5)) / 4096 * b for b in base])  # ties
    for x in (clock, halves, base, base / 2, np.array([0.0, 1e12])):
        assert np.array_equal(fairlight.quantize_clock(x, tune=tune), _quantize_clock_oracle(x, tune)[0])
    assert fairlight.quantize_clock(5000.0) == _quantize_clock_oracle(np.float64(5000.0), 128)[0]
