"""Tension curves: the curve model by hand-written values, parameters that
follow it, a curve-driven shadow that the roughness measure follows, errors."""

from __future__ import annotations

import numpy as np
import pytest

from synth.arrangement import Step, apply_curves, load_arrangement, read_arrangement
from synth.errors import ArrangementError, TransformError
from synth.score import Note, Part, Score
from synth.tension import (QUANTUM, measured_windows, parse_param_curve,
                           parse_tension, pearson, quantise)
from synth.transforms import make, spec


# ---------------------------------------------------------------- the curve

def test_points_are_linear_between_bars_and_held_beyond():
    c = parse_tension({"points": [[2, 0.2], [6, 1.0], [8, 0.0]]})
    assert np.allclose(c.per_bar(10), [0.2, 0.2, 0.4, 0.6, 0.8, 1.0, 0.5, 0.0, 0.0, 0.0])


def test_ramp_and_terraces_by_hand():
    ramp = parse_tension({"shape": "ramp", "low": 0.2, "high": 0.6})
    assert np.allclose(ramp.per_bar(5), [0.2, 0.3, 0.4, 0.5, 0.6])
    steps = parse_tension({"shape": "terraces", "steps": 3})
    # x = (bar - 1) / 5 for 6 bars: 0, .2, .4, .6, .8, 1 -> levels 0, 0, .5, .5, 1, 1
    assert np.allclose(steps.per_bar(6), [0, 0, 0.5, 0.5, 1, 1])
    listed = parse_tension({"shape": "terraces", "steps": [0.1, 0.9]})
    assert np.allclose(listed.per_bar(4), [0.1, 0.1, 0.9, 0.9])


def test_arch_peaks_where_asked_and_waves_have_their_period():
    arch = parse_tension({"shape": "arch", "peak_at": 0.25})
    v = arch.per_bar(9)                # x = 0, 1/8, ..., 1: peak at x = 0.25 = bar 3
    assert np.argmax(v) == 2 and v[2] == pytest.approx(1.0)
    assert v[0] == pytest.approx(0.0) and v[-1] == pytest.approx(0.0, abs=1e-12)
    assert v[1] == pytest.approx(np.sin(np.pi / 4))
    waves = parse_tension({"shape": "waves", "period_bars": 4, "low": 0.0, "high": 1.0})
    assert np.allclose(waves.per_bar(9), [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5, 0])


def test_sections_override_locally_and_releases_fall_to_their_floor():
    c = parse_tension({"level": 0.8, "section": [
        {"bars": [1, 4], "name": "a", "release": True},
        {"bars": [5, 8], "name": "b", "shape": "ramp", "low": 0.0, "high": 0.6},
    ]})
    # section a: flat 0.8, last 4 bars fall: k = 3, 2, 1, 0 -> 0.8 * k / 4
    assert np.allclose(c.per_bar(9), [0.6, 0.4, 0.2, 0.0, 0.0, 0.2, 0.4, 0.6, 0.8])
    assert c.section_names(9) == ["a"] * 4 + ["b"] * 4 + [""]


def test_per_beat_moves_within_a_bar_and_window_means():
    from synth.score import MeterMap
    c = parse_tension({"points": [[1, 0.0], [3, 1.0]]})
    meters = MeterMap()                # 4/4
    assert np.allclose(c.per_beat(meters, [0, 2, 4, 6, 8], 3), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert np.allclose(c.window_means(3, [1, 3], 2), [0.25, 1.0])


def test_bar_window_means_clips_and_holds_the_last_value_past_the_end():
    from synth.tension import bar_window_means
    per = [0.0, 0.5, 1.0, 0.5]
    assert np.allclose(bar_window_means(per, [1, 3, 4, 6], [2, 4, 5, 7]), [0.25, 0.75, 0.5, 0.5])
    assert np.allclose(bar_window_means([], [1], [2]), [0.0])


def test_quantise_is_sixteenths():
    assert QUANTUM == 1 / 16
    assert np.allclose(quantise([0.0, 0.03, 0.04, 0.5, 0.97]), [0, 0, 0.0625, 0.5, 1.0])


def test_parameter_mappings():
    check = spec("shadow").params["interval"].check
    lin = parse_param_curve({"tension": [0.2, 1.0]}, "v")
    assert lin.value_key(0.5, "", 1)[0] == pytest.approx(0.6)
    lev = parse_param_curve({"tension": [12, 7, 1]}, "interval", check=check)
    assert [lev.value_key(t, "", 1)[0] for t in (0.0, 0.3, 0.34, 0.7, 1.0)] == [12, 12, 7, 1, 1]
    sec = parse_param_curve({"section": {"a": 1}, "default": 7}, "interval", sections=["a", "b"])
    assert sec.value_key(0.9, "a", 1)[0] == 1 and sec.value_key(0.9, "b", 1)[0] == 7


# ---------------------------------------------------------------- a curve-driven shadow

def _held_line(bars: int) -> Score:
    """Four-beat notes on a slow diatonic line: little roughness of its own."""
    line = [62, 65, 64, 62, 69, 67, 65, 64]
    notes = [Note(4.0 * b, 4.0, line[b % len(line)], 90) for b in range(bars)]
    return Score(parts=(Part("lead", tuple(notes), preset="triangle"),))


def _shadow_step(**curves) -> Step:
    params = spec("shadow").params
    return Step(make("shadow", parts=["lead"], part="shade"),
                curves={k: parse_param_curve(v, k, check=params[k].check) for k, v in curves.items()})


def test_curve_driven_shadow_follows_the_curve():
    bars = 48
    plan = parse_tension({"points": [[1, 0.0], [20, 1.0], [28, 1.0], [40, 0.1], [48, 0.5]]})
    per_bar = plan.per_bar(bars)
    step = _shadow_step(interval={"tension": [12, 7, 2, 1]}, velocity_scale={"tension": [0.2, 1.0]})
    out = apply_curves(step, _held_line(bars), per_bar, plan, seed=1, key="shadow#1",
                       run=lambda t, s: t(s, seed=1))
    assert len(out.part("shade").notes) == bars       # every segment's notes kept
    first, measured = measured_windows(out, window_bars=4)
    wanted = plan.window_means(bars, first, 4)
    assert pearson(measured, wanted) >= 0.8
    # the low-tension bars got an octave, the peak a semitone at full velocity
    shade = {round(n.start): n for n in out.part("shade").notes}
    lead = {round(n.start): n for n in out.part("lead").notes}
    assert shade[0].pitch - lead[0].pitch == 12
    assert shade[4 * 23].pitch - lead[4 * 23].pitch == 1 and shade[4 * 23].velocity == 90


def test_choices_are_seeded_per_segment():
    step = Step(make("shadow", parts=["lead"], part="shade"),
                curves={"interval": parse_param_curve({"choose": [1, 6, 11], "every": 4}, "interval")})
    score = _held_line(32)

    def intervals(seed):
        out = apply_curves(step, score, None, None, seed=seed, key="shadow#1",
                           run=lambda t, s: t(s, seed=seed))
        return [round(s.pitch - le.pitch) for s, le in zip(out.part("shade").notes, out.part("lead").notes)]

    a, b = intervals(1), intervals(2)
    assert a == intervals(1)
    assert a != b
    assert all(len(set(a[i:i + 4])) == 1 for i in range(0, 32, 4))   # one choice per 4 bars


# ---------------------------------------------------------------- files and errors

SOURCE = """
[score]
title = "s"
tempo = 120
meter = "4/4"
[parts.lead]
preset = "triangle"
notes = "D4:4 F4 E4 D4 | A4:1 | G4:1 | F4:1 | E4:1 | D4:1 | F4:1 | E4:1 |"
"""


def _write(tmp_path, body: str):
    (tmp_path / "src.toml").write_text(SOURCE)
    path = tmp_path / "arr.toml"
    path.write_text('[arrangement]\ntitle = "t"\nsource = "src.toml"\nseed = 4\n' + body)
    return path


def test_arrangement_file_with_tension_and_sections(tmp_path):
    path = _write(tmp_path, """
[tension]
points = [[1, 0.0], [8, 1.0]]
[[tension.section]]
bars = [1, 4]
name = "calm"
[[tension.section]]
bars = [5, 8]
name = "storm"
release = true

[[transform]]
name = "shadow"
parts = ["lead"]
part = "shade"
interval = { tension = [12, 1], levels = true }

[[transform]]
name = "drone"
pitches = { section = { calm = ["D2"], storm = { choose = [["D2", "G#2"], ["D2", "Eb2"]] } } }
""")
    score = load_arrangement(path)
    drone = score.part("drone").notes
    assert {n.pitch for n in drone if n.start < 16} == {38.0}
    assert len({n.pitch for n in drone if n.start >= 16}) == 2
    arr = read_arrangement(path)
    assert arr.tension.sections[1].release
    assert load_arrangement(path).parts == score.parts


@pytest.mark.parametrize("body, match", [
    ('[tension]\nshape = "arc"\n', r"arr\.toml: tension\.shape: unknown shape 'arc' \(did you mean 'arch'\?\)"),
    ('[tension]\npoints = [[1, 0.2], [1, 0.5]]\n', r"tension\.points\[1\]: bars must increase"),
    ('[tension]\npoints = [[1, 1.5]]\n', r"tension\.points\[0\]: 1\.5 is above the maximum 1"),
    ('[tension]\nlevel = 0.5\nperiod = 3\n', r"tension\.period: unknown key \(did you mean 'period_bars'\?\)"),
    ('[tension]\nshape = "ramp"\nperiod_bars = 4\n', r"tension\.period_bars: not a key of shape 'ramp'"),
    ('[tension]\nlevel = 0.5\n[[tension.section]]\nbars = [4, 2]\n', r"tension\.section\[0\]\.bars: expected"),
    ('[tension]\nlevel = 0.5\n[[tension.section]]\nbars = [1, 4]\n[[tension.section]]\nbars = [3, 6]\n',
     r"tension\.section\[1\]\.bars: \[3, 6\] overlaps"),
    ('[[transform]]\nname = "shadow"\ninterval = { tension = [1, 12] }\n',
     r"transform\[0\]\.interval: follows the tension curve, but the file has no \[tension\] table"),
    ('[tension]\nlevel = 0.5\n[[transform]]\nname = "shadow"\ninterval = { tension = [1, 99] }\n',
     r"arr\.toml: transform\[0\]\.interval: 99 is above the maximum 48"),
    ('[tension]\nlevel = 0.5\n[[transform]]\nname = "shadow"\ninterval = { tension = [1] }\n',
     r"transform\[0\]\.interval\.tension: expected a list of at least two values"),
    ('[tension]\nlevel = 0.5\n[[tension.section]]\nbars = [1, 2]\nname = "a"\n'
     '[[transform]]\nname = "shadow"\ninterval = { section = { b = 1 }, default = 2 }\n',
     r"transform\[0\]\.interval\.section\.b: no section named 'b'"),
    ('[[transform]]\nname = "shadow"\ninterval = { choose = [1, "x"] }\n',
     r"transform\[0\]\.interval: expected a number, got 'x'"),
    ('[[transform]]\nname = "remeter"\nmeter = { choose = ["7/8"] }\n',
     r"transform\[0\]\.meter: transform 'remeter' changes the time grid"),
])
def test_errors_name_the_file_and_the_key(tmp_path, body, match):
    with pytest.raises((ArrangementError, TransformError), match=match):
        read_arrangement(_write(tmp_path, body))


def test_analyze_reports_the_curve_against_the_measured_roughness(tmp_path, capsys):
    import json

    from synth.cli import main
    path = _write(tmp_path, """
[tension]
points = [[1, 0.0], [8, 1.0]]

[[transform]]
name = "shadow"
parts = ["lead"]
part = "shade"
interval = { tension = [12, 7, 2, 1] }
""")
    assert main(["analyze", str(path), "--json", "--window-bars", "2"]) == 0
    t = json.loads(capsys.readouterr().out)["tension"]
    assert [w["bars"] for w in t["windows"]] == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert [w["requested"] for w in t["windows"]] == pytest.approx([1 / 14, 5 / 14, 9 / 14, 13 / 14], abs=1e-6)
    assert t["correlation"] >= 0.8 and t["roughness_cv"] > 0
    assert main(["analyze", str(path), "--window-bars", "2"]) == 0
    out = capsys.readouterr().out
    assert "tension, per 2 bars: requested" in out and "correlation" in out


def test_plot_draws_the_requested_curve(tmp_path):
    pytest.importorskip("matplotlib")
    from synth.plot import plot_score
    score = _held_line(16)
    plan = parse_tension({"shape": "arch"})
    info = plot_score(score, tmp_path / "p.png", width=400, height=300, audio=False,
                      tension=plan.per_bar(16))
    assert "roughness" in info["panels"] and (tmp_path / "p.png").stat().st_size > 0
