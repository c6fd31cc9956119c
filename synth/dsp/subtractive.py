"""One compiled pass per piece of a note: source -> filter -> amplitude envelope.

A subtractive note used to cost a NumPy pass (and an array the piece long)
for each stage: the oscillator's samples, the filter's copy, the envelope,
their product.  :func:`render_piece` runs the stages in one compiled loop over
blocks of :data:`BLOCK` samples that stay in the CPU's cache and writes the
piece once.  Each stage is the kernel that also serves the rest of the engine
(:func:`synth.dsp.oscillators.fixed_row`, :func:`~synth.dsp.oscillators.read_steps`,
:func:`~synth.dsp.oscillators.stack_stepped`, :func:`synth.dsp.filters.sos_segment`,
:func:`synth.dsp.envelopes.adsr_kernel`), called on the block: the same operations in the same
order, so the samples are the same, bit for bit, as the stages run one after
the other.

What the source is (``mode``):

- :data:`GIVEN`: samples computed elsewhere (any source: noise, FM, a sine);
- :data:`FIXED`: a wavetable at constant frequency, unison voices summed in
  order (phase in closed form);
- :data:`STACK`: a unison stack over a stepped (control-rate) pitch;
- :data:`STEPS`: one wavetable voice, or an AC-coupled pulse, over a stepped pitch.

The envelope (``env_mode``): :data:`ADSR` (computed in the loop from its
segment lengths), :data:`ENV_GIVEN` (an array: other envelope kinds,
tremolo) or :data:`ENV_NONE` (the source applied it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .envelopes import EXP_GAIN, EXP_ROW, adsr_columns, adsr_kernel
from .filters import sos_segment, two_section_coefficients, two_sections
from .jit import kernel
from .oscillators import (fixed_positions, fixed_row, pulse_read, read_steps, stack_stepped,
                          steps_positions)

__all__ = ["GIVEN", "FIXED", "STACK", "STEPS", "ADSR", "ENV_GIVEN", "ENV_NONE", "BLOCK",
           "TableRead", "render_piece"]

GIVEN, FIXED, STACK, STEPS = 0, 1, 2, 3
ADSR, ENV_GIVEN, ENV_NONE = 0, 1, 2
#: Samples per block of the fused loop (a multiple of the control step of
#: 32 samples; source and envelope blocks, 16 KB each, stay in the L1 cache).
BLOCK = 2048

_EMPTY = np.zeros(0)
_EMPTY.setflags(write=False)
_NOTHING = np.zeros(0)             # a writable empty array (no samples given)
_NO_DESIGNS = np.zeros((0, 1, 6))
_NO_BOUNDS = np.zeros(1, dtype=np.int64)
_NO_STATE = np.zeros((1, 2))
_NO_ADSR = (0, 0, 0, 0, 0, 0.0, 0.0, False)


class TableRead(NamedTuple):
    """A wavetable source's piece, described for :func:`render_piece` instead of rendered.

    Attributes
    ----------
    mode : int
        :data:`FIXED`, :data:`STACK` or :data:`STEPS`.
    table, slopes : np.ndarray [shape=(size,)]
        The band-limited cycle and its slopes (see ``oscillators.read_shape``).
    start : int
        :data:`FIXED`: index of the piece's first sample in the note.
    increments, phases0 : np.ndarray [shape=(voices,)]
        :data:`FIXED`: cycles per sample and start phase of each voice.
    run_starts, run_increments : np.ndarray [shape=(runs,)]
        :data:`STACK`, :data:`STEPS`: the stepped centre phase
        (``oscillators.stepped_phase``).
    ratios, offsets : np.ndarray [shape=(voices,)]
        :data:`STACK`: each voice's frequency ratio and start phase.
    step : int
        Samples per run.
    width : float
        :data:`STEPS`: 0, or the width of an AC-coupled pulse.
    """

    mode: int
    table: np.ndarray
    slopes: np.ndarray
    start: int = 0
    increments: np.ndarray = _NOTHING
    phases0: np.ndarray = _NOTHING
    run_starts: np.ndarray = _NOTHING
    run_increments: np.ndarray = _NOTHING
    ratios: np.ndarray = _NOTHING
    offsets: np.ndarray = _NOTHING
    step: int = 32
    width: float = 0.0


_GIVEN_READ = TableRead(GIVEN, _EMPTY, _EMPTY)



def render_piece(m: int, source: TableRead | np.ndarray, designs: np.ndarray | None = None,
                 bounds: np.ndarray | None = None, state: np.ndarray | None = None,
                 envelope: np.ndarray | None = None, adsr: tuple | None = None) -> np.ndarray:
    """One piece of a note: source, filter runs, amplitude envelope, in one pass.

    Parameters
    ----------
    m : int
        Samples.
    source : TableRead or np.ndarray [shape=(m,)]
        The source's samples, or the wavetable read that makes them.
    designs : np.ndarray [shape=(runs, sections, 6)], optional
        Filter designs, run ``r`` over samples ``bounds[r]:bounds[r + 1]``
        (None: no filter).
    bounds : np.ndarray [shape=(runs + 1,), dtype=int64], optional
    state : np.ndarray [shape=(sections, 2)], optional
        The filter's state, updated in place (carried to the next piece).
    envelope : np.ndarray [shape=(m,)], optional
        Amplitude per sample (when not ``adsr``).
    adsr : tuple, optional
        The envelope computed in the loop, as
        :func:`synth.dsp.envelopes.adsr_segments` gives it (``start`` the
        piece's first sample in the note).  Neither: no envelope.

    Returns
    -------
    np.ndarray [shape=(m,), dtype=float64]
    """
    out = np.empty(int(m))
    if isinstance(source, TableRead):
        read, given = source, _NOTHING
    else:
        read = _GIVEN_READ
        given = _writable(np.asarray(source))
    if designs is None:
        designs, bounds, state = _NO_DESIGNS, _NO_BOUNDS, _NO_STATE
    if adsr is not None:
        env_mode, env, a = ADSR, _NOTHING, adsr
    else:
        env_mode = ENV_NONE if envelope is None else ENV_GIVEN
        env = _NOTHING if envelope is None else _writable(np.asarray(envelope))
        a = _NO_ADSR
    # every call passes the same types (the tables read-only, as cached; every
    # other array writable), so the kernel is compiled, and loaded, once
    _piece(read.mode, given, _read_only(read.table), _read_only(read.slopes), int(read.start),
           _writable(read.increments), _writable(read.phases0), _writable(read.run_starts),
           _writable(read.run_increments), _writable(read.ratios), _writable(read.offsets),
           int(read.step), float(read.width), _writable(designs),
           np.asarray(bounds, dtype=np.int64), state, env_mode, env, *a, EXP_GAIN, out)
    return out


def _read_only(x: np.ndarray) -> np.ndarray:
    """``x`` as a read-only, C-contiguous float64 array (itself when it is one)."""
    if x.flags.writeable or not x.flags.c_contiguous or x.dtype != np.float64:
        x = np.array(x, dtype=np.float64)
        x.flags.writeable = False
    return x


_FLOAT64 = np.dtype(np.float64)


def _writable(x: np.ndarray) -> np.ndarray:
    """``x`` as a writable, C-contiguous float64 array (itself when it is one; never written)."""
    if x.flags.carray and x.dtype is _FLOAT64:     # the usual case, in one flag (9 a piece)
        return x
    if not x.flags.writeable or not x.flags.c_contiguous or x.dtype != np.float64:
        x = np.array(x, dtype=np.float64)
    return x


@kernel
def _piece(mode, given, table, slopes, start, increments, phases0, run_starts, run_increments,
           ratios, offsets, step, width, designs, bounds, state, env_mode, env,
           env_start, attack, decay, release, gate, peak, held, exp_curve, exp_gain, out):
    """:func:`render_piece`'s loop: block by block, source -> filter -> envelope -> ``out``."""
    m = out.shape[0]
    buf = np.empty(BLOCK)
    gain = np.empty(BLOCK)
    columns = np.zeros((3, EXP_ROW))
    if env_mode == ADSR and exp_curve:
        adsr_columns(attack, decay, release, columns)
    # one wavetable voice through a 24 dB filter: the table reads, the filter and the
    # envelope sample by sample in one loop (_filtered_read), so that the filter's
    # latency-bound recursion overlaps the reads
    fused = (designs.shape[0] > 0 and designs.shape[1] == 2 and env_mode != ENV_NONE
             and ((mode == FIXED and increments.shape[0] == 1) or mode == STEPS)
             and bounds[0] <= 0 and bounds[designs.shape[0]] >= m)     # runs cover the piece
    index = np.empty((2 if fused else 0, BLOCK), dtype=np.uint64)
    frac = np.empty((2 if fused else 0, BLOCK))
    for lo in range(0, m, BLOCK):
        hi = min(lo + BLOCK, m)
        if fused:
            block, g = out[lo:hi], gain[:hi - lo]
            if env_mode == ADSR:
                adsr_kernel(g, env_start + lo, attack, decay, release, gate, peak, held,
                            exp_curve, exp_gain, columns)
            else:
                g = env[lo:hi]
            if mode == FIXED:
                fixed_positions(table.shape[0], increments[0], phases0[0], start + lo,
                                index[0, :hi - lo], frac[0, :hi - lo])
            else:
                steps_positions(table.shape[0], run_starts[lo // step:(hi - 1) // step + 1],
                                run_increments[lo // step:(hi - 1) // step + 1], step, width,
                                hi - lo, index, frac)
            for r in range(designs.shape[0]):
                t0, t1 = max(bounds[r], lo), min(bounds[r + 1], hi)
                if t1 > t0:
                    _filtered_read(table, slopes, index, frac, width, designs[r], state,
                                   t0 - lo, t1 - lo, g, block)
            continue
        y = buf[:hi - lo]
        if mode == GIVEN:
            if designs.shape[0]:
                y[:] = given[lo:hi]
            else:                   # nothing writes it: read in place
                y = given[lo:hi]
        elif mode == FIXED:
            for v in range(increments.shape[0]):
                fixed_row(table, slopes, increments[v], phases0[v], start + lo, y,
                                      v > 0)
        else:
            k0, k1 = lo // step, (hi - 1) // step + 1
            if mode == STACK:
                stack_stepped(table, slopes, run_starts[k0:k1],
                                          run_increments[k0:k1], ratios, offsets, step, y)
            else:
                read_steps(table, slopes, run_starts[k0:k1], run_increments[k0:k1],
                                       step, width, y)
        for r in range(designs.shape[0]):
            t0, t1 = max(bounds[r], lo), min(bounds[r + 1], hi)
            if t1 > t0:
                sos_segment(designs[r], y, t0 - lo, t1 - lo, state)
        block = out[lo:hi]          # indexed from 0: no wrap-around of negative indices
        if env_mode == ADSR:
            g = gain[:hi - lo]
            adsr_kernel(g, env_start + lo, attack, decay, release, gate, peak, held,
                        exp_curve, exp_gain, columns)
            for i in range(hi - lo):
                block[i] = y[i] * g[i]
        elif env_mode == ENV_GIVEN:
            e = env[lo:hi]
            for i in range(hi - lo):
                block[i] = y[i] * e[i]
        else:
            block[:] = y


@kernel
def _filtered_read(table, slopes, index, frac, width, sos, state, t0, t1, gain, out):
    """Samples ``t0:t1`` of a block: table read, two filter sections, envelope, into ``out``.

    The read of :func:`synth.dsp.oscillators.read_steps` (``index[0], frac[0]``
    from its first pass; a pulse, ``width > 0``, also reads ``index[1],
    frac[1]``), then :func:`synth.dsp.filters.two_sections` from ``state``
    (updated), times ``gain``: the operations of the stages run one after
    the other, in one loop.
    """
    c = two_section_coefficients(sos)
    z = (state[0, 0], state[0, 1], state[1, 0], state[1, 1])
    saw, saw_frac = index[0], frac[0]
    if width > 0.0:
        mean = 2.0 * width - 1.0
        late, late_frac = index[1], frac[1]
        for t in range(t0, t1):
            y = pulse_read(table, slopes, saw[t], saw_frac[t], late[t], late_frac[t], mean)
            y, z = two_sections(y, c, z)
            out[t] = y * gain[t]
    else:
        for t in range(t0, t1):
            k = saw[t]
            y, z = two_sections(table[k] + slopes[k] * saw_frac[t], c, z)
            out[t] = y * gain[t]
    state[0, 0], state[0, 1], state[1, 0], state[1, 1] = z
