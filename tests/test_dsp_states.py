"""Kernel states are typed (STYLE.md: explicit, typed state, no string-keyed dicts).

Every stateful kernel of ``synth.dsp`` returns ``(y, state)`` with ``state`` a
NamedTuple whose fields are documented in its class; these tests check the
ones that carried dicts until issue 16's last pass (the swept filter, hard
sync and its band-limited steps, the Fairlight players and voice), that a
state holds no dict anywhere inside, and that two blocks still equal one pass.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

from synth.dsp import fairlight, filters, oscillators

SR = 16000
N = 900
CUT = 371


def _no_dicts(state, where="state"):
    """Walk a state's fields: NamedTuples all the way down, arrays and scalars at the leaves."""
    assert not isinstance(state, dict), f"{where} is a dict"
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        for name in state._fields:
            _no_dicts(getattr(state, name), f"{where}.{name}")


def _mode1_table():
    t = np.linspace(0, 1, fairlight.SEGMENT_LENGTH, endpoint=False)
    rows = [np.sin(2 * np.pi * t) * (1 - k / 4) + 0.3 * np.sin(6 * np.pi * t) * k / 4 for k in range(4)]
    return fairlight.quantize_8bit(np.array(rows))


CASES = {
    "modulated_filter": (
        filters.SweptFilterState,
        lambda lo, hi, s: filters.modulated_filter(
            np.sin(np.arange(lo, hi) * 0.37), np.linspace(300, 5000, N)[lo:hi], sr=SR, order=4, state=s)),
    "hard_sync": (
        oscillators.HardSyncState,
        lambda lo, hi, s: oscillators.hard_sync(np.linspace(110, 220, N)[lo:hi], 2.7, sr=SR, state=s)),
    "play": (
        fairlight.PlayState,
        lambda lo, hi, s: fairlight.play(np.sin(np.arange(500) * 0.2), np.full(hi - lo, 9000.0),
                                         sr=SR, state=s)),
    "play_fourier": (
        fairlight.FourierState,
        lambda lo, hi, s: fairlight.play_fourier(_mode1_table(), np.full(hi - lo, 128 * 220.0),
                                                 sr=SR, loops=2, state=s)),
    "voice_mode1": (
        fairlight.VoiceState,
        lambda lo, hi, s: fairlight.voice(_mode1_table(), 220.0, sr=SR, n=hi - lo, mode=1, loops=2, state=s)),
    "voice_mode4": (
        fairlight.VoiceState,
        lambda lo, hi, s: fairlight.voice(np.sin(np.arange(500) * 0.2), 300.0, sr=SR, n=hi - lo, mode=4,
                                          state=s)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_is_a_named_tuple_with_no_dict_inside_and_blocks_join(name):
    state_type, render = CASES[name]
    first, state = render(0, CUT, None)
    assert type(state) is state_type
    _no_dicts(state)
    with pytest.raises(AttributeError):
        setattr(state, state._fields[0], None)       # fields cannot be rebound
    second, state = render(CUT, N, state)
    whole, _ = render(0, N, None)
    assert np.array_equal(np.concatenate([first, second], axis=-1), whole)


def test_hard_sync_carries_its_band_limited_steps_as_a_blep_state():
    _, state = oscillators.hard_sync(220.0, 3.0, sr=SR, n=100)
    assert type(state.blep) is oscillators.BlepState
    assert state.blep.carry.shape == (oscillators.BLEP_TAPS,)
    assert state.blep.history.shape == (oscillators.BLEP_LATENCY,)


def test_no_kernel_reads_its_state_by_string_key():
    """A source scan: ``state["..."]`` is the dict-state idiom this replaced."""
    root = pathlib.Path(__file__).resolve().parent.parent / "synth"
    hits = [f"{p.relative_to(root)}:{i}" for p in sorted(root.rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"state\[[\"']", line)]
    assert hits == []
