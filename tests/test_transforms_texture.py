"""Texture transforms: thin, double, arpeggiate, ostinato, dynamics."""

import pytest

from synth.errors import SynthWarning, TransformError
from synth.score import MeterChange, MeterMap, Note, Part, Score
from synth.transforms import make


def score_of(*parts, meter=(3, 4)):
    ps = tuple(Part(name, tuple(Note(s, d, p, v) for s, d, p, v in
                                ((n + (80,)) if len(n) == 3 else n for n in notes)))
               for name, notes in parts)
    return Score(parts=ps, meters=MeterMap([MeterChange(0.0, *meter)]))


CHORDS = score_of(("ch", [(0, 2, 60), (0, 2, 64), (0, 2, 67), (0, 2, 72),
                          (3, 1, 62), (3, 1, 65), (3, 1, 69)]))


def test_thin_keeps_outer_voices():
    out = make("thin", max_voices=2)(CHORDS, seed=0)
    assert [(n.start, n.pitch) for n in out.part("ch").notes] == [(0, 60), (0, 72), (3, 62), (3, 69)]


def test_thin_probability_is_seeded():
    s = score_of(("m", [(i, 1, 60) for i in range(100)]))
    a = make("thin", probability=0.3)(s, seed=1)
    assert 55 <= len(a.part("m").notes) <= 85
    assert a.part("m").notes == make("thin", probability=0.3)(s, seed=1).part("m").notes


def test_double_at_octave_in_new_part():
    out = make("double", part="{part}_8va")(CHORDS, seed=0)
    assert [n.pitch for n in out.part("ch_8va").notes] == [p + 12 for p in (60, 64, 67, 72, 62, 65, 69)]


def test_arpeggiate_up_cycles_through_chord():
    out = make("arpeggiate", rate=0.5)(CHORDS, seed=0)
    notes = out.part("ch").notes
    assert [(n.start, n.pitch) for n in notes] == [(0, 60), (0.5, 64), (1, 67), (1.5, 72),
                                                   (3, 62), (3.5, 65)]
    assert all(n.duration == 0.5 for n in notes)


def test_arpeggiate_hold_sustains_to_chord_end():
    out = make("arpeggiate", rate=0.5, pattern="down", hold=True)(CHORDS, seed=0)
    first = [n for n in out.part("ch").notes if n.start < 2]
    assert [n.pitch for n in first] == [72, 67, 64, 60]
    assert [n.end for n in first] == [2, 2, 2, 2]


def test_ostinato_repeats_a_bar_through_the_span():
    s = score_of(("acc", [(0, 1, 43), (1, 1, 59), (2, 1, 59)]), ("tune", [(0, 12, 70)]))
    out = make("ostinato", parts=["acc"], from_bars=[1, 1])(s, seed=0)
    o = out.part("acc_ostinato")
    assert o.generated
    assert [(n.start, n.pitch) for n in o.notes] == [(b * 3 + k, p) for b in range(4)
                                                     for k, p in enumerate((43, 59, 59))]


def test_ostinato_mutation_changes_later_repetitions_only():
    s = score_of(("acc", [(0, 1, 43), (1, 1, 59), (2, 1, 59)]), ("tune", [(0, 60, 70)]))
    out = make("ostinato", parts=["acc"], from_bars=[1, 1], mutation=0.5)(s, seed=5)
    notes = out.part("acc_ostinato").notes
    assert [n.pitch for n in notes[:3]] == [43, 59, 59]
    later = [(n.start % 3, n.pitch) for n in notes if n.start >= 3]
    changed = [1 for k, p in later if p != (43, 59, 59)[int(k)]]
    assert len(later) < 57 or changed        # something mutated or was dropped
    assert len(changed) + (57 - len(later)) >= 10


def test_ostinato_needs_notes_in_from_bars():
    s = score_of(("acc", [(0, 1, 43)]))
    with pytest.raises(TransformError, match="no notes in bars 3..3"):
        make("ostinato", from_bars=[3, 3])(s, seed=0)


def test_dynamics_crescendo_over_bars():
    s = score_of(("m", [(i, 1, 60, 60) for i in range(7)]))
    out = make("dynamics", start=0.5, end=1.5, bars=[1, 2])(s, seed=0)   # beats 0..6
    vel = [n.velocity for n in out.part("m").notes]
    assert vel == [30, 40, 50, 60, 70, 80, 60]     # beat 6 is outside bars 1-2


def test_dynamics_warns_when_velocity_limited():
    s = score_of(("m", [(0, 1, 60, 100), (1, 1, 60, 100)]))
    with pytest.warns(SynthWarning, match="limited"):
        out = make("dynamics", start=2, end=2)(s, seed=0)
    assert [n.velocity for n in out.part("m").notes] == [127, 127]
