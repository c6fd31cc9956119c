"""Roughness: the published Plomp-Levelt/Sethares shape, the score timeline, the driver.

Expected values are derived by hand from Sethares' published constants
(d* = 0.24, s1 = 0.0207, s2 = 18.96, b1 = 3.51, b2 = 5.75, c1 = -c2 = 5):

* the maximum of e^{-b1 y} - e^{-b2 y} lies at y* = ln(b2/b1)/(b2 - b1) = 0.220344;
  with s = d*/(s1 f + s2) the roughest frequency difference is y*/s, at
  f = 500 Hz: s = 0.24/29.31 = 0.0081883, so df* = 26.91 Hz, and the peak value
  is 5 (e^{-0.773408} - e^{-1.266978}) = 0.89875.
* critical bandwidth (Zwicker & Terhardt 1980): CB(f) = 25 + 75 (1 + 1.4 (f/kHz)^2)^0.69,
  CB(500 Hz) = 117.26 Hz; at df = 1.5 CB: 5 (e^{-5.0555} - e^{-8.2817}) = 0.03061.
* C4 (261.6256 Hz) against C#4 (277.1826 Hz), pure tones of amplitude 1: 0.84826
  raw; their energy is 1 + 1 = 2, so the normalised roughness is 0.42413.

Every score figure is the normalised one (raw pair sum / energy of the
distinct sounding partials); the raw sum stays available as ``.raw``.
"""

import json
import math
import time
from dataclasses import replace

import numpy as np
import pytest

import synth
from synth.analysis import (analyze_roughness, bar_roughness, default_partials, drive_to_roughness,
                            harmonic_partials, interval_class_counts, mean_roughness,
                            pair_roughness, roughness_timeline, spectrum_energy,
                            spectrum_roughness, windowed_roughness)
from synth.patch import preset_partials
from synth.errors import TransformError
from synth.score import MeterChange, MeterMap, Note, Part, Score, TempoMap
from synth.transforms import make


def pure(preset):
    return [1.0], [1.0]


def harmonic(preset):
    return harmonic_partials()


def zwicker_cb(f):
    return 25 + 75 * (1 + 1.4 * (f / 1000) ** 2) ** 0.69


def test_pure_pair_peak_position_and_value_at_500hz():
    df = np.linspace(0, 200, 20001)
    d = pair_roughness(500.0, 500.0 + df, 1.0, 1.0)
    assert df[np.argmax(d)] == pytest.approx(26.91, abs=0.02)
    assert d.max() == pytest.approx(0.89875, abs=2e-4)


@pytest.mark.parametrize("f", [250.0, 500.0, 1000.0])
def test_roughest_near_a_quarter_critical_band(f):
    df = np.linspace(0, 400, 40001)
    peak = df[np.argmax(pair_roughness(f, f + df, 1.0, 1.0))]
    assert peak == pytest.approx(zwicker_cb(f) / 4, rel=0.2)


def test_smooth_at_unison_and_beyond_the_critical_band():
    assert pair_roughness(500.0, 500.0, 1.0, 1.0) == 0.0
    beyond = pair_roughness(500.0, 500.0 + 1.5 * 117.26, 1.0, 1.0)
    assert beyond == pytest.approx(0.03061, abs=2e-4)
    assert beyond < 0.05 * 0.89875
    # and it keeps falling: two critical bands away is smoother still
    assert pair_roughness(500.0, 500.0 + 2 * 117.26, 1.0, 1.0) < beyond


def test_hand_value_semitone_pure_tones():
    assert pair_roughness(261.6256, 277.1826, 1.0, 1.0) == pytest.approx(0.84826, abs=2e-4)
    assert pair_roughness(277.1826, 261.6256, 0.5, 1.0) == pytest.approx(0.5 * 0.84826, abs=1e-4)


def two_note_roughness(interval):
    r, a = harmonic_partials()
    f0 = 261.6256
    f = np.concatenate([f0 * r, f0 * 2 ** (interval / 12) * r])
    return spectrum_roughness(f, np.concatenate([a, a]))


def test_minor_second_rougher_than_fifth_for_harmonic_tones():
    m2, tt, p5, p8 = (two_note_roughness(k) for k in (1, 6, 7, 12))
    assert m2 > 3 * p5
    assert m2 > tt > p5
    assert p5 > p8                       # the octave is the smoothest of these


def score_of(*parts, meter=(4, 4), tempo=120.0):
    ps = tuple(Part(n, tuple(Note(s, d, p, v) for s, d, p, v in notes)) for n, notes in parts)
    return Score(parts=ps, meters=MeterMap([MeterChange(0.0, *meter)]), tempo=TempoMap.constant(tempo))


def sethares_pure_pair(f1, f2, a1, a2):
    """Sethares' formula written out by hand, for pure tones f1 < f2."""
    d_star, s1, s2, b1, b2, c1, c2 = 0.24, 0.0207, 18.96, 3.51, 5.75, 5.0, -5.0
    s = d_star / (s1 * f1 + s2)
    return a1 * a2 * (c1 * math.exp(-b1 * s * (f2 - f1)) + c2 * math.exp(-b2 * s * (f2 - f1)))


def test_normalised_pure_tone_pair_by_hand():
    c4, cs4 = 440 * 2 ** (-9 / 12), 440 * 2 ** (-8 / 12)       # 261.6256 Hz, 277.1826 Hz
    raw = sethares_pure_pair(c4, cs4, 1.0, 1.0)
    assert raw == pytest.approx(0.84826, abs=2e-5)
    # s = 0.24 / (0.0207 * 261.6256 + 18.96) = 0.0098459; s * df = 0.0098459 * 15.5571 = 0.153173;
    # 5 (e^{-3.51 * 0.153173} - e^{-5.75 * 0.153173}) = 5 (0.584126 - 0.414474) = 0.84826.
    # The energy of two unit pure tones at different frequencies is 1 + 1 = 2.
    s = score_of(("a", [(0, 1, 60, 127)]), ("b", [(0, 1, 61, 127)]))
    tl = roughness_timeline(s, partials_for=pure)
    assert tl.raw[0] == pytest.approx(raw, rel=1e-9)
    assert tl.energy[0] == pytest.approx(2.0, rel=1e-12)
    assert tl.values[0] == pytest.approx(raw / 2, rel=1e-9)
    assert spectrum_roughness([c4, cs4], [1.0, 1.0]) == pytest.approx(raw / 2, rel=1e-9)
    assert spectrum_roughness([c4, cs4], [1.0, 1.0], raw=True) == pytest.approx(raw, rel=1e-9)
    # unequal levels: b at half amplitude (gain -6.0206 dB): raw 0.5 d, energy 1 + 0.25
    soft = s.with_parts([s.parts[0], Part("b", s.parts[1].notes, gain_db=-6.0206)])
    tl = roughness_timeline(soft, partials_for=pure)
    assert tl.raw[0] == pytest.approx(0.5 * raw, rel=1e-4)
    assert tl.values[0] == pytest.approx(0.5 * raw / 1.25, rel=1e-4)


def test_coincident_partials_merge_in_the_energy():
    # two unit partials at the same frequency are one partial of amplitude 2: energy 4
    assert spectrum_energy([440.0, 440.0], [1.0, 1.0]) == pytest.approx(4.0)
    assert spectrum_energy([440.0, 441.0], [1.0, 1.0]) == pytest.approx(2.0)
    # ... so a unison copy of a rough pair keeps its normalised roughness
    f, a = [261.6256, 277.1826], [1.0, 0.7]
    assert spectrum_roughness(f + f, a + a) == pytest.approx(spectrum_roughness(f, a), rel=1e-12)


def test_timeline_adds_a_pair_only_while_both_sound():
    s = score_of(("a", [(0, 2, 60, 127)]), ("b", [(1, 2, 61, 127)]))
    tl = roughness_timeline(s, partials_for=pure)
    assert list(tl.beats) == [0, 1, 2, 3]
    assert tl.raw == pytest.approx([0.0, 0.84826, 0.0], abs=2e-4)
    assert tl.energy == pytest.approx([1.0, 2.0, 1.0])
    assert tl.values == pytest.approx([0.0, 0.84826 / 2, 0.0], abs=1e-4)
    assert tl.mean == pytest.approx(0.84826 / 2 / 3, abs=1e-4)
    assert tl.peak == pytest.approx(0.84826 / 2, abs=1e-4)
    assert list(tl.seconds) == [0, 0.5, 1.0, 1.5]


def test_silence_does_not_count_in_the_mean():
    s = score_of(("a", [(0, 1, 60, 127), (3, 1, 60, 127)]), ("b", [(0, 1, 61, 127)]))
    tl = roughness_timeline(s, partials_for=pure)
    assert list(tl.sounding) == [True, False, True]
    assert tl.mean == pytest.approx(0.84826 / 2 / 2, abs=1e-4)   # 2 sounding beats of 3 (+ gap)


def test_raw_scales_as_amplitude_products_normalised_does_not():
    loud = score_of(("a", [(0, 1, 60, 127)]), ("b", [(0, 1, 61, 127)]))
    soft = loud.with_parts([Part(p.name, p.notes, gain_db=-6.0206) for p in loud.parts])
    assert roughness_timeline(soft, partials_for=pure).raw_mean == pytest.approx(
        0.25 * roughness_timeline(loud, partials_for=pure).raw_mean, rel=1e-4)
    assert mean_roughness(soft, partials_for=pure) == pytest.approx(
        mean_roughness(loud, partials_for=pure), rel=1e-12)


def test_timeline_matches_direct_sum_for_harmonic_chord():
    chord = [(0, 1, p, 100) for p in (60, 61, 67)]
    s = score_of(("c", chord))
    tl = roughness_timeline(s, partials_for=harmonic)
    r, a = harmonic_partials()
    f = np.concatenate([261.6256 * 2 ** (k / 12) * r for k in (0, 1, 7)])
    amps = np.concatenate([a * 100 / 127] * 3)
    assert tl.values[0] == pytest.approx(spectrum_roughness(f, amps), rel=1e-4)
    assert tl.raw[0] == pytest.approx(spectrum_roughness(f, amps, raw=True), rel=1e-4)


def test_partials_hook_is_used():
    s = score_of(("a", [(0, 1, 60, 100), (0, 1, 72, 100)]))
    assert mean_roughness(s, partials_for=pure) < 1e-3          # pure octave: no beating
    # upper harmonics do beat (normalised: raw 0.0461 / energy 6.65 at velocity 100 = 0.0069)
    assert mean_roughness(s, partials_for=harmonic) > 0.005
    assert mean_roughness(s, partials_for=harmonic) > 20 * mean_roughness(s, partials_for=pure)


def test_default_partials_are_the_presets_real_spectra():
    for name in ("saw", "cmi_bell", "sine"):
        r, a = default_partials(name)
        rr, aa = preset_partials(name)
        assert np.array_equal(r, rr) and np.array_equal(a, aa)
    r, a = default_partials("no such preset")                   # not a preset: six harmonics
    assert np.array_equal(r, harmonic_partials()[0])
    s = score_of(("a", [(0, 1, 60, 100), (0, 1, 61, 100)]))
    s = s.with_parts([replace(s.parts[0], preset="cmi_bell")])
    assert mean_roughness(s) == mean_roughness(s, partials_for=preset_partials)


def test_interval_class_counts_of_a_triad_and_a_cluster():
    triad = score_of(("c", [(0, 1, 60, 80), (0, 1, 64, 80), (0, 1, 67, 80)]))
    assert list(interval_class_counts(triad)) == [0, 0, 0, 1, 1, 1, 0]
    cl = score_of(("c", [(0, 1, 60, 80), (0, 1, 61, 80), (0, 1, 62, 80)]), ("t", [(0.5, 1, 66, 80)]))
    # 60-61 m2, 61-62 m2, 60-62 M2, 60-66 TT, 61-66 P4, 62-66 M3
    assert list(interval_class_counts(cl)) == [0, 2, 1, 0, 1, 1, 1]


def test_bar_means():
    s = score_of(("a", [(0, 4, 60, 127), (4, 4, 60, 127)]), ("b", [(4, 2, 61, 127)]))
    rep = analyze_roughness(s, partials_for=pure)
    # bar 2: half of it the pair (0.84826 raw / energy 2), half a lone tone (0)
    assert rep.bar_means == pytest.approx([0.0, 0.84826 / 2 / 2], abs=1e-4)
    assert np.array_equal(bar_roughness(s, partials_for=pure), rep.bar_means)


def test_windowed_roughness_windows_and_silent_windows():
    # 5 bars of 4/4: the pair in bar 1 only, a lone tone in bar 4; window of 2 bars
    s = score_of(("a", [(0, 4, 60, 127), (12, 4, 60, 127), (16, 2, 60, 127)]),
                 ("b", [(0, 4, 61, 127)]))
    w = windowed_roughness(s, window_bars=2, partials_for=pure)
    assert list(w.first_bars) == [1, 3, 5] and list(w.last_bars) == [2, 4, 5]
    # window 1: bar 1 sounds (the pair), bar 2 is silent and does not count
    assert w.values == pytest.approx([0.84826 / 2, 0.0, 0.0], abs=1e-4)
    silent_gap = score_of(("a", [(0, 4, 60, 127), (16, 4, 60, 127)]), ("b", [(0, 4, 61, 127)]))
    w = windowed_roughness(silent_gap, window_bars=2, partials_for=pure)
    assert list(w.values[1:2]) == [0.0]                           # bars 3-4: nothing sounds
    with pytest.raises(ValueError, match="window_bars"):
        windowed_roughness(s, window_bars=0)


def test_windowed_roughness_reuses_a_given_timeline():
    s = score_of(("a", [(0, 4, 60, 127), (12, 4, 60, 127), (16, 2, 60, 127)]),
                 ("b", [(0, 4, 61, 127)]))
    tl = roughness_timeline(s, partials_for=pure)
    given = windowed_roughness(s, window_bars=2, timeline=tl)
    assert given.values == pytest.approx([0.84826 / 2, 0.0, 0.0], abs=1e-4)
    # the given timeline is used as it is, not recomputed from the score
    other = roughness_timeline(score_of(("a", [(0, 4, 60, 127)]), ("b", [(0, 4, 60.5, 127)])),
                               partials_for=pure)
    assert windowed_roughness(s, window_bars=2, timeline=other).values[0] != \
        pytest.approx(given.values[0], abs=1e-6)


def _scaled(score, factor):
    return score.with_parts([replace(p, notes=tuple(replace(n, velocity=max(1, round(n.velocity * factor)))
                                                    for n in p.notes)) for p in score.parts])


def _unison(score):
    return score.with_parts(list(score.parts) + [replace(p, name=p.name + "_unison") for p in score.parts])


def hand_built():
    """A small chorale with a cluster, in three presets (real partials)."""
    return Score(parts=(
        Part("bells", tuple(Note(b, 2, p, v) for b, p, v in
                            [(0, 62, 100), (2, 65, 90), (4, 64, 110), (6, 61, 70)]), preset="cmi_bell"),
        Part("lead", tuple(Note(b, 1, p, 80 + b) for b, p in
                           enumerate([74, 76, 77, 79, 78, 77, 76, 73])), preset="saw"),
        Part("drone", (Note(0, 8, 50, 64), Note(0, 8, 56.5, 50)), preset="square"),
    ), meters=MeterMap([MeterChange(0.0, 4, 4)]), tempo=TempoMap.constant(96.0))


@pytest.mark.parametrize("make_score", [hand_built, lambda: synth.load("arrangements/sources/laurel-waltz.toml")],
                         ids=["hand-built", "laurel-waltz"])
def test_normalised_mean_is_loudness_and_unison_invariant(make_score):
    s = make_score()
    base = mean_roughness(s)
    assert base > 0
    assert abs(mean_roughness(_scaled(s, 0.5)) / base - 1) < 0.02
    assert abs(mean_roughness(_unison(s)) / base - 1) < 0.02
    # while the raw figure moves with both
    raw = roughness_timeline(s).raw_mean
    assert roughness_timeline(_unison(s)).raw_mean == pytest.approx(4 * raw, rel=1e-9)
    assert roughness_timeline(_scaled(s, 0.5)).raw_mean < 0.4 * raw
    w, wu = windowed_roughness(s, window_bars=1), windowed_roughness(_unison(s), window_bars=1)
    assert wu.values == pytest.approx(w.values, rel=1e-9, abs=1e-12)


def test_three_hundred_bars_four_parts_is_fast():
    rng = np.random.default_rng(0)
    parts = []
    for k in range(4):
        notes = [(i * 0.5, 0.5 + (k == 0), float(40 + 10 * k + rng.integers(12)), 80) for i in range(1800)]
        parts.append((f"p{k}", notes))
    s = score_of(*parts, meter=(3, 4))
    assert s.bar_count == 301
    t0 = time.perf_counter()
    rep = analyze_roughness(s)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0
    assert len(rep.bar_means) == 301 and rep.mean > 0


def melody():
    return score_of(("m", [(i, 1, 60 + (0, 2, 4, 5, 7, 5, 4, 2)[i % 8], 100) for i in range(16)]))


def test_drive_shadow_interval_to_target_roughness():
    s = melody()
    base = mean_roughness(s, partials_for=harmonic)
    step = make("shadow", interval=0.5, part="ghost")
    target = 8 * base
    res = drive_to_roughness(s, step, "interval", target, lo=0.0, hi=2.0, seed=1, partials_for=harmonic)
    assert res.reached
    assert mean_roughness(res.score, partials_for=harmonic) == pytest.approx(target, rel=0.011)
    assert 0.0 < res.value < 2.0
    again = drive_to_roughness(s, step, "interval", target, lo=0.0, hi=2.0, seed=1, partials_for=harmonic)
    assert again.value == res.value and again.score == res.score


def test_drive_uses_the_same_default_measure_as_analyze():
    s = score_of(("m", [(i, 1, 60 + (0, 4, 7, 4)[i % 4], 100) for i in range(8)]))
    s = s.with_parts([replace(s.parts[0], preset="saw")])
    res = drive_to_roughness(s, make("shadow", interval=0.5, part="ghost"), "interval", 0.2,
                             lo=0.0, hi=2.0, seed=1)
    assert res.roughness == mean_roughness(res.score) == analyze_roughness(res.score).mean


def test_drive_cluster_step_reports_unreachable_target():
    s = score_of(("c", [(0, 2, 60, 90), (0, 2, 64, 90)]))
    res = drive_to_roughness(s, make("cluster", width=2), "step", 1e6, lo=0.05, hi=2.0, seed=0)
    assert not res.reached and res.roughness < 1e6


def test_drive_rejects_unknown_parameter():
    with pytest.raises(TransformError, match="'cent' is not a parameter of 'detune'"):
        drive_to_roughness(melody(), make("detune"), "cent", 1.0, lo=0, hi=10, seed=0)


def test_transforms_make_a_score_measurably_rougher():
    s = melody()
    rougher = make("cluster", min_notes=1, width=2, step=1)(s, seed=0)
    assert mean_roughness(rougher, partials_for=harmonic) > 3 * mean_roughness(s, partials_for=harmonic)


def test_cli_analyze_reports_the_normalised_measure(tmp_path, capsys):
    from synth.cli import main
    src = "arrangements/sources/laurel-waltz.toml"
    assert main(["analyze", src, "--json", "--window-bars", "8"]) == 0
    out = json.loads(capsys.readouterr().out)
    score = synth.load(src)
    assert out["mean_roughness"] == pytest.approx(mean_roughness(score), abs=1e-6)
    assert out["raw_mean_roughness"] == pytest.approx(roughness_timeline(score).raw_mean, abs=1e-6)
    w = windowed_roughness(score, window_bars=8)
    assert [x["bars"][0] for x in out["windows"]] == list(w.first_bars)
    assert [x["mean"] for x in out["windows"]] == pytest.approx(w.values, abs=1e-6)
    assert out["window_cv"] == pytest.approx(w.values.std() / w.values.mean(), abs=1e-6)
    # an arrangement compares normalised means with its source
    assert main(["analyze", src, "--json", "--compare", src]) == 0
    assert json.loads(capsys.readouterr().out)["compare"]["mean_ratio"] == 1.0


@pytest.mark.parametrize("kit", ["drums", "cmi_drums"])
def test_unpitched_parts_add_no_roughness(kit):
    # a semitone dyad of real presets, then the same with a drum part hitting on every beat:
    # a kit has no partial series, so the default measure must not count its hits as tones
    dyad = [Part("a", [Note(0, 4, 60, 100)], preset="organ"), Part("b", [Note(0, 4, 61, 100)], preset="organ")]
    hits = Part("kit", [Note(b, 1, p, 120) for b, p in enumerate((36, 38, 36, 38))], preset=kit)
    plain = roughness_timeline(Score(parts=dyad))
    with_kit = roughness_timeline(Score(parts=dyad + [hits]))
    assert plain.mean > 0.05
    assert with_kit.mean == pytest.approx(plain.mean, rel=1e-12)
    ratios, amps = default_partials(kit)
    assert len(ratios) == 0 and len(amps) == 0
    kit_alone = roughness_timeline(Score(parts=[hits]))
    assert not np.any(kit_alone.sounding)
