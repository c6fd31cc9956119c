"""Test oracles of the Fairlight player (``synth.dsp.fairlight``), kept out of the package.

* :func:`play_mode1` is Mode 1 as the machine's held DAC output with one
  band-limited step per clock tick: the reference that the runtime Mode-1
  player (:func:`synth.dsp.fairlight.play_fourier`, a wavetable read) is
  measured against.  It unrolls the Mode-1 memory (each segment ``loops``
  times) into a Mode-4 sample whose last cycle is the sustain loop and plays
  it with :func:`synth.dsp.fairlight.play`: the same word at every tick as the
  Mode-1 address law.
* :func:`play_fourier_numpy` is the NumPy formulation of ``play_fourier``
  that the compiled kernels ``_read_mode1`` and ``_exact_sums`` replaced
  (table reads with ``np.take``, the exact sums next to jumps as a padded
  ``cumsum``); the kernels must equal it bit for bit.
* :func:`card_envelope_numpy` is the CMI-01A envelope counter as NumPy
  computed it before the kernels ``_counter_run`` and ``_hold_counts``.
"""

from __future__ import annotations

import numpy as np

from synth.dsp import fairlight as fl
from synth.dsp.oscillators import BLEP_OVERSAMPLING, BLEP_TAPS, blep_step_table, phase_ramp

SEGMENT = fl.SEGMENT_LENGTH


def mode1_memory(stored, loops: int):
    """The Mode-1 memory as a Mode-4 sample and sustain loop: ``(words, (start, end))``."""
    stored = np.asarray(stored, dtype=np.float64)
    words = np.repeat(stored, int(loops), axis=0).reshape(-1)
    return words, (len(words) - SEGMENT, len(words))


def play_mode1(stored, clock_hz, *, sr, n=None, loops=1, bandlimited=True, state=None):
    """Mode 1 through band-limited steps (or the naive hold): the reference."""
    words, loop = mode1_memory(stored, loops)
    return fl.play(words, clock_hz, sr=sr, n=n, bandlimited=bandlimited, loop=loop, state=state)


def _lookup_mode1(stored, loops, ticks):
    seg = np.minimum(ticks // (SEGMENT * loops), stored.shape[0] - 1)
    return stored[seg, ticks % SEGMENT]


def _exact_windows(stored, loops, ext_pos, lead, start, spans):
    """The samples of ``spans`` summed from the ticks' band-limited steps (NumPy, vectorised)."""
    step = blep_step_table()
    span = len(step) - 1
    window_len = BLEP_TAPS + 2
    parts = {"rows": [], "tick_at": [], "offset": [], "heights": [], "begin": [], "length": [],
             "base": []}
    ticks_so_far = 0
    for lo, hi in spans:
        rows = np.arange(lo, hi)
        back = np.maximum(rows - window_len, -start)
        from_note_on = back == -start
        first_tick = np.where(from_note_on, 0, np.floor(ext_pos[lead + back]) + 1).astype(np.int64)
        last_tick = np.floor(ext_pos[lead + rows]).astype(np.int64)
        ticks = np.arange(first_tick.min(), last_tick.max() + 1)
        origin = int(back.min())
        window = ext_pos[lead + origin:lead + hi]
        m = np.searchsorted(window, ticks, side="left")
        before = window[np.maximum(m - 1, 0)]
        parts["offset"].append(np.where(m > 0, (window[m] - ticks)
                                        / np.where(m > 0, window[m] - before, 1.0), 0.0))
        heights = _lookup_mode1(stored, loops, ticks) - _lookup_mode1(stored, loops, ticks - 1)
        if ticks[0] == 0:
            heights[0] = _lookup_mode1(stored, loops, ticks[:1])[0]
        parts["heights"].append(heights)
        parts["tick_at"].append(origin + m)
        parts["base"].append(np.where(from_note_on, 0.0, _lookup_mode1(stored, loops, first_tick - 1)))
        parts["begin"].append(ticks_so_far + (first_tick - ticks[0]))
        parts["length"].append(last_tick - first_tick + 1)
        parts["rows"].append(rows)
        ticks_so_far += len(ticks)
    rows, tick_at, offset, heights, begin, length, base = (
        np.concatenate(parts[key]) for key in ("rows", "tick_at", "offset", "heights", "begin",
                                               "length", "base"))
    j = np.arange(max(int(length.max()), 1))
    valid = j[None, :] < length[:, None]
    idx = np.where(valid, begin[:, None] + j[None, :], 0)
    tau = (rows[:, None] - tick_at[idx]) + offset[idx]
    pos = np.clip(tau, 0.0, float(BLEP_TAPS)) * BLEP_OVERSAMPLING
    i = np.minimum(pos.astype(np.intp), span - 1)
    settled = step[i] + (pos - i) * (step[i + 1] - step[i])
    terms = np.where(valid, settled * heights[idx], 0.0)
    terms[:, 0] += base
    return np.cumsum(terms, axis=1)[:, -1]


def play_fourier_numpy(stored, clock, *, sr, loops=1, state=None):
    """``play_fourier`` as NumPy computed it before its kernels (one implementation, for tests)."""
    stored = np.ascontiguousarray(stored, dtype=np.float64)
    clock = np.asarray(clock, dtype=np.float64)
    fir, _ = fl._blep_fir()
    taps = len(fir)
    window_len = BLEP_TAPS + 2
    if state is None:
        state = {"pos": 0.0, "prev_pos": None, "history": np.zeros(taps - 1), "tail_pos": np.zeros(0),
                 "exact_left": 0, "start": 0}
    pos, pos_out = phase_ramp(clock, sr=sr, phase=state["pos"])
    count = len(pos)
    segments = stored.shape[0]
    ticks_per_segment = SEGMENT * loops
    note_on = state["prev_pos"] is None
    prev_first = pos[0] if note_on else state["prev_pos"]
    first_segment = min(int(np.floor(prev_first) // ticks_per_segment), segments - 1)
    last_segment = min(int(pos[-1] // ticks_per_segment), segments - 1)
    switches = [int(np.searchsorted(pos, s * ticks_per_segment, side="left"))
                for s in range(first_segment + 1, last_segment + 1)]
    run_starts, run_ends = [0, *switches], [*switches, count]
    harmonics = fl._harmonic_counts(clock / SEGMENT, sr)
    segment_of = np.repeat(np.arange(first_segment, last_segment + 1), np.subtract(run_ends, run_starts))
    held = np.empty(count)
    for h in np.unique(harmonics):
        coefficients, size = fl._hermite_tables(stored.tobytes(), segments, int(h))
        c0, c1, c2, c3 = coefficients.T
        at = harmonics == h
        x = pos[at] * (size / SEGMENT)
        whole = np.floor(x)
        x -= whole
        index = whole.astype(np.int64)
        index &= size - 1
        index += segment_of[at] * size
        y = np.take(c3, index)
        y *= x
        y += np.take(c2, index)
        y *= x
        y += np.take(c1, index)
        y *= x
        y += np.take(c0, index)
        held[at] = y
    out = np.convolve(np.concatenate([state["history"], held]), fir, mode="valid")
    jumps = [0, *switches] if note_on else switches
    exact = np.zeros(count, dtype=bool)
    exact[:min(state["exact_left"], count)] = True
    for m in jumps:
        exact[m:m + window_len] = True
    exact_left = max([state["exact_left"] - count] + [m + window_len - count for m in jumps] + [0])
    tail = state["tail_pos"]
    ext_pos = np.concatenate([tail, pos])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], exact.view(np.int8), [0]])))
    spans = [(int(lo), int(hi)) for lo, hi in zip(edges[::2], edges[1::2])]
    if spans:
        values = _exact_windows(stored, loops, ext_pos, len(tail), state["start"], spans)
        done = 0
        for lo, hi in spans:
            out[lo:hi] = values[done:done + hi - lo]
            done += hi - lo
    new_state = {"pos": pos_out, "prev_pos": float(pos[-1]),
                 "history": np.concatenate([state["history"], held])[-(taps - 1):].copy(),
                 "tail_pos": ext_pos[-(window_len + 1):].copy(), "exact_left": exact_left,
                 "start": state["start"] + count}
    return out, new_state


def _counter_run_numpy(level, up, t0, full_samples, until):
    """The counter's events from ``level`` as NumPy computed them (``cumsum`` of the
    counts' durations) before the kernel ``fairlight._counter_run``."""
    if up:
        counts = np.arange(level, 255)
        steps = 64.0 / fl._envelope_divider(counts, True)
        values = counts + 1
    else:
        counts = np.arange(level, 0, -1)
        steps = 64.0 / fl._envelope_divider(counts, False)
        values = counts - 1
    unit = full_samples / (fl._FULL_UP if up else fl._FULL_DOWN)
    times = t0 + np.cumsum(steps * unit)
    keep = times < until
    return times[keep], values[keep]


def card_envelope_numpy(n, *, sr, gate_samples, attack, damping, zero_crossing_samples,
                        held_damping=None, start=0):
    """``fairlight.channel_card_envelope`` as NumPy computed it (its events by
    :func:`_counter_run_numpy`, each sample's count by ``searchsorted``)."""
    zc = float(zero_crossing_samples)
    g = int(gate_samples)
    r = int(round(damping * 80.0 / 60.0 * sr))
    key_up = np.ceil(g / zc) * zc
    times, values = [np.array([0.0])], [np.array([0 if attack > 0 else 255])]
    level, t = int(values[0][0]), 0.0
    if level < 255:
        tt, vv = _counter_run_numpy(level, True, 0.0, attack * sr, key_up)
        times.append(tt)
        values.append(vv)
        if len(vv):
            level, t = int(vv[-1]), float(tt[-1])
    if held_damping is not None and level == 255:
        turn = np.ceil(t / zc) * zc
        if turn < key_up:
            tt, vv = _counter_run_numpy(255, False, turn, held_damping * 80.0 / 60.0 * sr, key_up)
            times.append(tt)
            values.append(vv)
            if len(vv):
                level = int(vv[-1])
    full_release = max(float(g + r - key_up) - 1.0, 0.0)
    if level > 0:
        tt, vv = _counter_run_numpy(level, False, key_up, full_release, np.inf)
        if full_release <= 0:
            tt, vv = np.array([key_up]), np.array([0])
        times.append(tt)
        values.append(vv)
    times, counts = np.concatenate(times), np.concatenate(values).astype(np.float64)
    k = np.arange(int(start), int(start) + int(n), dtype=np.float64)
    return counts[np.maximum(np.searchsorted(times, k, side="right") - 1, 0)] / 255.0
