"""Hairpins, articulations and slurs in the notation, measured on rendered audio."""

import numpy as np
import pytest

from synth.errors import ScoreError
from synth.notation import ARTICULATIONS, DYNAMICS, LEGATO_OVERLAP, parse_notation
from synth.patch import resolve_patch
from synth.render import render
from synth.score import Part, Score, TempoMap

SR = 44100


def velocities(text):
    return [n.velocity for n in parse_notation(text)]


@pytest.mark.parametrize("word", ["cresc", "<<"])
def test_hairpin_p_to_f_over_8_notes_rises_monotonically_to_f(word):
    vel = velocities(f"p {word} C4:8 D4 E4 F4 G4 A4 B4 C5 f | C5:1 |")
    hairpin = vel[:8]
    assert hairpin[0] == DYNAMICS["p"] and hairpin[-1] == DYNAMICS["f"]
    assert all(b > a for a, b in zip(hairpin, hairpin[1:]))
    assert vel[8] == DYNAMICS["f"]


@pytest.mark.parametrize("word", ["dim", "decresc", ">>"])
def test_diminuendo_falls_to_its_target(word):
    vel = velocities(f"ff {word} <C4 E4>:4 D4 E4 F4 pp")
    assert vel[0] == vel[1] == DYNAMICS["ff"]          # a chord counts as one step
    assert vel[-1] == DYNAMICS["pp"]
    assert vel == sorted(vel, reverse=True)


def test_hairpin_replays_the_same_in_a_repeat():
    vel = velocities("|: p cresc C4 D4 E4 F4 mf :|")
    assert vel[:4] == vel[4:] == [48, 59, 69, 80]


@pytest.mark.parametrize("text, message", [
    ("p cresc C4 D4", r"^x.toml:1:3: notes: hairpin 'cresc' never reaches a dynamic"),
    ("f cresc C4 D4 p", r"hairpin 'cresc' \(at 1:3\) from velocity 96 must end louder, but 'p' is 48"),
    ("p cresc f", r"hairpin 'cresc' holds no note before 'f'"),
    ("p cresc C4 dim D4 f", r"hairpin 'dim' while the 'cresc' at 1:3 has not reached"),
    ("r:4-.", r"a rest takes no articulation: 'r:4-.'"),
    ("{C4 D4", r"unclosed slur"),
    ("C4 }", r"'}' without a '\{'"),
    ("[C4 D4]-.", r"only \*N may follow ']'"),
])
def test_notation_errors(text, message):
    with pytest.raises(ScoreError, match=message):
        parse_notation(text, source="x.toml")


def test_articulation_table_effects_on_the_notes():
    notes = parse_notation("C4:4-. C4-! C4-> C4-^ C4-- C4 {C4 C4} C4:4-.->")
    lengths = [n.duration for n in notes]
    vel = [n.velocity for n in notes]
    assert lengths == [0.5, 0.25, 1, 0.75, 1, 1, 1 + float(LEGATO_OVERLAP), 1, 0.5]
    assert vel == [80, 80, 96, 104, 88, 80, 80, 80, 96]
    assert [n.start for n in notes] == list(range(9))   # the written rhythm never changes
    assert set(ARTICULATIONS) == {".", "!", ">", "^", "-"}


def _render(text, bpm=60.0):
    """Left channel of ``text`` on the sine preset (the master stage scales the
    whole render by one gain, so levels inside one render compare directly)."""
    score = Score(parts=(Part("a", parse_notation(text), preset="sine"),),
                  tempo=TempoMap.constant(bpm))
    return render(score, sr=SR, seed=0).audio[0]


def _sounding_seconds(x, level=0.5):
    """Seconds from the first to the last sample whose envelope exceeds level * peak."""
    env = np.abs(x)
    # envelope of a sine: running max over one period of 440 Hz at most
    w = SR // 200
    env = np.lib.stride_tricks.sliding_window_view(np.pad(env, (0, w - 1)), w).max(axis=1)
    above = np.flatnonzero(env > level * env.max())
    return (above[-1] - above[0]) / SR


def test_staccato_sounds_half_as_long_on_the_rendered_audio():
    plain = _sounding_seconds(_render("A4:2 r:2"))
    stacc = _sounding_seconds(_render("A4:2-. r:2"))
    stacc2 = _sounding_seconds(_render("A4:2-! r:2"))
    # at 60 bpm a half note is 2 s: the gate is halved (quartered), the release
    # (80 ms to silence, so ~40 ms to half level) is the same for all three
    assert plain == pytest.approx(2.0, abs=0.06)
    assert stacc == pytest.approx(plain - 1.0, abs=0.01)
    assert stacc2 == pytest.approx(plain - 1.5, abs=0.01)


def test_accent_and_marcato_are_louder_by_the_documented_amount():
    curve = resolve_patch("sine", {}).velocity_curve
    x = _render("mf A4:2 r:2 A4:2-> r:2 A4:2-^ r:2")
    seg = lambda i: x[int((4 * i + 0.5) * SR):int((4 * i + 1.0) * SR)]       # the sustain
    rms = [float(np.sqrt(np.mean(seg(i) ** 2))) for i in range(3)]
    accent_db = 20 * np.log10(rms[1] / rms[0])
    marcato_db = 20 * np.log10(rms[2] / rms[0])
    # velocity 80 -> 96 (+16) and -> 104 (+24): 20 * curve * log10(v1 / v0) dB
    assert accent_db == pytest.approx(20 * curve * np.log10(96 / 80), abs=0.05)
    assert marcato_db == pytest.approx(20 * curve * np.log10(104 / 80), abs=0.05)
    assert accent_db > 3.0


def test_slurred_notes_overlap_the_next_one():
    x = _render("{A4:4 A4} r:2")
    plain = _render("A4:4 A4 r:2")
    # the slurred first note still sounds (its release has not started) as the second begins
    edge = int(1.0 * SR)
    assert np.sqrt(np.mean(x[edge - 200:edge + 2000] ** 2)) > np.sqrt(
        np.mean(plain[edge - 200:edge + 2000] ** 2))
