"""Generation: chaconne divisions over a ground, Markov melody."""

import numpy as np
import pytest

from synth.errors import TransformError
from synth.score import KeyChange, MeterChange, MeterMap, Note, Part, Score
from synth.transforms import make

D_MINOR = {2, 4, 5, 7, 9, 10, 0}   # D E F G A Bb C
RAISED = {11, 1}                    # B and C#: melodic minor's sixth and seventh


def sonnerie(bars=16):
    """The D-F-E bell ground, one statement per 3/4 bar, in D minor."""
    ground = tuple(Note(3 * b + k, 1.0, p, 70) for b in range(bars) for k, p in enumerate((50, 53, 52)))
    return Score(parts=(Part("ground", ground),), meters=MeterMap([MeterChange(0.0, 3, 4)]),
                 keys=(KeyChange(0.0, "D", "minor"),))


#: The chords a continuo player puts on the ground's notes in D minor (rule of
#: the octave), written out by hand: D: i, VI6; F: i6, III; E: vii°6, V4/3, ii°.
CHORDS = {2: [{2, 5, 9}, {10, 2, 5}], 5: [{2, 5, 9}, {5, 9, 0}],
          4: [{1, 4, 7}, {9, 1, 4, 7}, {4, 7, 10}]}


def triads_containing(pc):
    return CHORDS[pc]


def test_divisions_respect_harmony_and_range():
    s = sonnerie()
    out = make("divisions", low="D4", high="D6")(s, seed=11)
    div = out.part("divisions")
    assert div.generated and "divisions" in out.metadata.provenance["generated"]
    assert all(62 <= n.pitch <= 86 for n in div.notes)
    assert {int(n.pitch) % 12 for n in div.notes} <= D_MINOR | RAISED
    # the dominant over E carries the leading tone C# somewhere in the piece
    assert 1 in {int(n.pitch) % 12 for n in div.notes}
    # over every ground note, the first note of the figure belongs to a triad containing it
    for g in s.part("ground").notes:
        first = [n for n in div.notes if abs(n.start - g.start) < 1e-9]
        assert len(first) == 1
        pc = int(first[0].pitch) % 12
        assert any(pc in t for t in triads_containing(int(g.pitch) % 12))
    # the figures fill the ground's span without gaps or overlaps
    starts = np.array([n.start for n in div.notes])
    ends = np.array([n.end for n in div.notes])
    assert np.allclose(starts[1:], ends[:-1]) and starts[0] == 0 and ends[-1] == 48


def test_divisions_seeded():
    s = sonnerie()
    a = make("divisions")(s, seed=1).part("divisions").notes
    b = make("divisions")(s, seed=1).part("divisions").notes
    c = make("divisions")(s, seed=2).part("divisions").notes
    assert a == b and a != c


def test_divisions_bells_style_uses_chord_tones_only():
    s = sonnerie(4)
    out = make("divisions", styles=["bells"])(s, seed=3)
    div = out.part("divisions").notes
    assert all(n.duration == 0.5 for n in div)      # bells ring in eighths
    for g in s.part("ground").notes:
        over = [int(n.pitch) % 12 for n in div if g.start <= n.start < g.end]
        assert any(set(over) <= t for t in triads_containing(int(g.pitch) % 12))


def test_divisions_unknown_ground_part():
    with pytest.raises(TransformError, match="ground: no part named 'bass'"):
        make("divisions", ground="bass")(sonnerie(), seed=0)


def test_markov_melody_uses_only_learned_transitions():
    tune = [62, 64, 65, 67, 65, 64, 62, 69, 67, 65, 64, 62]
    s = Score(parts=(Part("tune", tuple(Note(i, 1.0, p) for i, p in enumerate(tune))),),
              meters=MeterMap([MeterChange(0.0, 3, 4)]))
    out = make("markov", source="tune", bars=[1, 8])(s, seed=4)
    gen = out.part("tune_markov")
    assert gen.generated
    assert set(n.pitch for n in gen.notes) <= set(tune)
    learned = set(zip(tune, tune[1:]))
    pairs = list(zip([n.pitch for n in gen.notes], [n.pitch for n in gen.notes][1:]))
    assert sum(p in learned for p in pairs) >= len(pairs) - 3   # restarts are rare jumps
    assert gen.notes[-1].end == pytest.approx(24.0)
    other = make("markov", source="tune", bars=[1, 8])(s, seed=5).part("tune_markov").notes
    assert other != gen.notes
