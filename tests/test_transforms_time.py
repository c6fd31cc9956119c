"""Time transforms: augmentation, canon, displacement, humanise, re-metering."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from synth.errors import TransformError
from synth.score import MeterChange, MeterMap, Note, Part, Score, TempoMap
from synth.transforms import default_groups, make


def score_of(*parts, meter=(3, 4), tempo=None):
    ps = tuple(Part(name, tuple(Note(s, d, p, 80) for s, d, p in notes)) for name, notes in parts)
    kw = {"tempo": TempoMap(tempo)} if tempo else {}
    return Score(parts=ps, meters=MeterMap([MeterChange(0.0, *meter)]), **kw)


def triples(score, part):
    return [(n.start, n.duration, n.pitch) for n in score.part(part).notes]


# an oom-pah-pah waltz accompaniment and a tune, two bars of 3/4
WALTZ = score_of(("tune", [(0, 1.5, 67), (1.5, 0.5, 69), (2, 1, 71), (3, 3, 72)]),
                 ("acc", [(0, 1, 43), (1, 1, 59), (2, 1, 59), (3, 1, 45), (4, 1, 60), (5, 1, 60)]))


def test_augment_doubles_from_span_start():
    out = make("augment", factor=2, bars=[2, 2])(WALTZ, seed=0)
    assert triples(out, "acc")[3:] == [(3, 2, 45), (5, 2, 60), (7, 2, 60)]
    assert triples(out, "acc")[:3] == triples(WALTZ, "acc")[:3]


def test_diminish_halves():
    out = make("diminish", factor=2)(WALTZ, seed=0)
    assert triples(out, "tune") == [(0, 0.75, 67), (0.75, 0.25, 69), (1, 0.5, 71), (1.5, 1.5, 72)]


def test_canon_copy_is_delayed_transposed_and_generated():
    out = make("canon", parts=["tune"], delay_beats=1.5, interval=-12)(WALTZ, seed=0)
    c = out.part("tune_canon")
    assert c.generated
    assert triples(out, "tune_canon") == [(s + 1.5, d, p - 12) for s, d, p in triples(WALTZ, "tune")]


def test_displace_shifts_against_barline_and_refuses_negative():
    out = make("displace", beats=0.5, parts=["acc"])(WALTZ, seed=0)
    assert [s for s, _, _ in triples(out, "acc")] == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    with pytest.raises(TransformError, match="before the start"):
        make("displace", beats=-1)(WALTZ, seed=0)


def test_swing_delays_offbeat_eighths_by_a_sixth():
    s = score_of(("m", [(0, 0.5, 60), (0.5, 0.5, 62), (1, 0.5, 64), (1.5, 0.5, 65)]))
    out = make("humanise", swing=1.0, jitter_beats=0.0)(s, seed=0)
    starts = [n.start for n in out.part("m").notes]
    assert starts == pytest.approx([0, 0.5 + 1 / 6, 1, 1.5 + 1 / 6])


def test_humanise_jitter_is_seeded():
    s = score_of(("m", [(i, 1, 60) for i in range(30)]))
    a = make("humanise", jitter_beats=0.05, velocity_jitter=5)(s, seed=9)
    b = make("humanise", jitter_beats=0.05, velocity_jitter=5)(s, seed=9)
    c = make("humanise", jitter_beats=0.05, velocity_jitter=5)(s, seed=10)
    assert a == b and a.part("m").notes == b.part("m").notes
    assert a.part("m").notes != c.part("m").notes
    shifts = np.array([n.start for n in a.part("m").notes[1:]]) - np.arange(1, 30)
    assert 0.02 < np.std(shifts) < 0.1


def test_remeter_waltz_to_two_four_march():
    out = make("remeter", meter="2/4")(WALTZ, seed=0)
    # oom (beat 1) keeps a quarter, pah-pah are squeezed into two eighths
    assert triples(out, "acc") == [(0, 1, 43), (1, 0.5, 59), (1.5, 0.5, 59),
                                   (2, 1, 45), (3, 0.5, 60), (3.5, 0.5, 60)]
    assert [str(m) for m in out.meters.changes] == ["2/4"]
    assert out.meters.bar_at(2.0) == 2 and out.meters.bar_start(2) == 2.0


def test_remeter_to_seven_eight_one_beat_per_group():
    out = make("remeter", meter="7/8")(WALTZ, seed=0)   # groups 2+2+3 eighths
    assert default_groups(7, 8) == (2, 2, 3)
    assert triples(out, "acc")[:3] == [(0, 1, 43), (1, 1, 59), (2, 1.5, 59)]
    assert out.meters.bar_start(2) == 3.5
    assert triples(out, "acc")[3][0] == 3.5


def test_remeter_to_five_eight_and_tempo_moves():
    s = score_of(("acc", [(0, 1, 43), (1, 1, 59), (2, 1, 59), (3, 1, 45)]),
                 tempo=[(0, 120), (3, 90)])
    out = make("remeter", meter="5/8")(s, seed=0)   # 3+2 eighths: downbeat dotted quarter
    assert triples(out, "acc") == [(0, 1.5, 43), (1.5, 0.5, 59), (2, 0.5, 59), (2.5, 1.5, 45)]
    assert [c.beat for c in out.tempo.changes] == [0, 2.5]


def test_remeter_bar_range_keeps_other_bars():
    s = score_of(("acc", [(b * 3 + k, 1, 50 + k) for b in range(4) for k in range(3)]))
    out = make("remeter", meter="2/4", bars=[2, 3])(s, seed=0)
    m = out.meters
    assert [(str(c), c.beat) for c in m.changes] == [("3/4", 0), ("2/4", 3), ("3/4", 7)]
    assert [n.start for n in out.part("acc").notes] == [0, 1, 2, 3, 4, 4.5, 5, 6, 6.5, 7, 8, 9]


def test_remeter_refuses_parts_selection():
    with pytest.raises(TransformError, match="every part"):
        make("remeter", meter="2/4", parts=["acc"])


def test_remeter_groups_must_add_up():
    with pytest.raises(TransformError, match="groups"):
        make("remeter", meter="7/8", groups=[3, 3])(WALTZ, seed=0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 47).map(lambda k: k / 4),
                          st.integers(1, 12).map(lambda k: k / 4),
                          st.integers(40, 90)), min_size=1, max_size=25),
       st.sampled_from(["2/4", "4/4", "5/8", "7/8", "6/8"]))
def test_remeter_preserves_pitch_sequence_and_order(notes, meter):
    s = score_of(("m", notes))
    out = make("remeter", meter=meter)(s, seed=0)
    before = [n.pitch for n in sorted(s.part("m").notes, key=lambda n: (n.start, n.pitch))]
    after = [n.pitch for n in sorted(out.part("m").notes, key=lambda n: (n.start, n.pitch))]
    assert before == after
    assert all(n.duration > 0 for n in out.part("m").notes)
    # onsets keep their order (strictly increasing map)
    old = sorted({n.start for n in s.part("m").notes})
    new = sorted({n.start for n in out.part("m").notes})
    assert len(old) == len(new)


def test_remeter_keeps_tempo_ramps():
    from synth.score import TempoChange, TempoMap
    s = Score(parts=(Part("a", tuple(Note(i, 1.0, 60) for i in range(12))),),
              meters=MeterMap([MeterChange(0.0, 3, 4)]),
              tempo=TempoMap([TempoChange(0.0, 60.0, "linear"), TempoChange(6.0, 120.0)]))
    out = make("remeter", meter="2/4")(s, seed=0)
    assert [c.ramp for c in out.tempo.changes] == ["linear", "step"]
    # 3/4 bar 3 starts at beat 6 -> 2/4 bar 3 at beat 4: the ramp now ends there
    assert [c.beat for c in out.tempo.changes] == [0.0, 4.0]


def test_remeter_keeps_the_pickup_bar():
    # 3/4 with a one-beat pickup ("pah") -> 2/4: the pickup is the last beat of
    # a 3/4 bar, so it becomes the last eighth of a 2/4 bar, and bar 1 still
    # starts on its downbeat
    s = Score(parts=(Part("a", tuple(Note(float(i), 1.0, 60 + i) for i in range(7))),),
              meters=MeterMap([MeterChange(0.0, 3, 4)], pickup=1.0))
    out = make("remeter", meter="2/4")(s, seed=0)
    m = out.meters
    assert m.pickup == 0.5 and [str(c) for c in m.changes] == ["2/4"]
    assert [(n.start, n.duration) for n in out.part("a").notes] == [
        (0, 0.5), (0.5, 1), (1.5, 0.5), (2, 0.5), (2.5, 1), (3.5, 0.5), (4, 0.5)]
    assert [m.bar_at(n.start) for n in out.part("a").notes] == [0, 1, 1, 1, 2, 2, 2]
    # bars outside the range keep their meter, and the pickup with them
    kept = make("remeter", meter="2/4", bars=[2, 2])(s, seed=0)
    assert kept.meters.pickup == 1.0
    assert [n.start for n in kept.part("a").notes] == [0, 1, 2, 3, 4, 5, 5.5]
