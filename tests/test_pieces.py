"""The shipped pieces: the two sources' structure and provenance, and every
arrangement rendering (short excerpts), deterministic per seed and rougher
than its source.

Bar positions are computed here from the 3/4 metre (bar b starts at beat
3*(b-1)), not through the score's meter map, so the checks do not rest on the
code that wrote the files.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
from pathlib import Path

import mido
import numpy as np
import pytest

from synth.analysis import mean_roughness
from synth.arrangement import load_arrangement, read_arrangement
from synth.cli import main as cli_main
from synth.errors import ScoreError
from synth.patch import preset_partials
from synth.render import render
from synth.sources import load_source

ROOT = Path(__file__).resolve().parents[1]
ARR_DIR = ROOT / "arrangements"
SOURCES = ARR_DIR / "sources"
SONNERIE = SOURCES / "sonnerie.toml"
WALTZ = SOURCES / "laurel-waltz.toml"

D, E, F = 2, 4, 5                     # pitch classes of the bell ground
CEILING = 10 ** (-1.0 / 20.0)          # -1 dBFS

#: every shipped arrangement: (file, source, excerpt bars)
ARRANGEMENTS = {
    "sonnerie-bells-in-the-ice.toml": (SONNERIE, (5, 8)),
    "sonnerie-seven-bells.toml": (SONNERIE, (5, 8)),
    "sonnerie-bells-backwards.toml": (SONNERIE, (5, 8)),
    "laurel-waltz-nightmare-march.toml": (WALTZ, (1, 4)),
    "laurel-waltz-carousel-5-8.toml": (WALTZ, (1, 4)),
}


def _import_script(name: str):
    spec = importlib.util.spec_from_file_location(name, SOURCES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _in_bar(notes, bar: int, beats_per_bar: float = 3.0):
    lo, hi = beats_per_bar * (bar - 1), beats_per_bar * bar
    return [n for n in notes if lo - 1e-9 <= n.start < hi - 1e-9]


@pytest.fixture(scope="module")
def sonnerie():
    return load_source(SONNERIE)


@pytest.fixture(scope="module")
def waltz():
    return load_source(WALTZ)


# ---------------------------------------------------------------- the Sonnerie

def test_sonnerie_file_is_what_its_generator_writes(tmp_path):
    out = tmp_path / "sonnerie.toml"
    assert _import_script("make_sonnerie").main(["make_sonnerie", str(out)]) == 0
    assert out.read_bytes() == SONNERIE.read_bytes()


def test_sonnerie_has_302_bars_of_three_four_and_a_closing_bar(sonnerie):
    assert [(m.numerator, m.denominator) for m in sonnerie.meters.changes] == [(3, 4)]
    assert sonnerie.end_beat == pytest.approx(303 * 3)
    assert sonnerie.bar_count == 303
    assert {p.name for p in sonnerie.parts} == {"ground", "viol", "violin"}


def test_sonnerie_ground_d_f_e_in_every_bar_then_d(sonnerie):
    ground = sonnerie.part("ground").notes
    bad = []
    for bar in range(1, 303):
        notes = _in_bar(ground, bar)
        pcs = [int(round(n.pitch)) % 12 for n in sorted(notes, key=lambda n: n.start)]
        if pcs != [D, F, E]:
            bad.append((bar, pcs))
    assert bad == []
    closing = _in_bar(ground, 303)
    assert [int(round(n.pitch)) % 12 for n in closing] == [D] and closing[0].duration == 3.0


def test_sonnerie_key_plan(sonnerie):
    plan = [(int(round(k.beat / 3)) + 1, k.tonic, k.mode) for k in sonnerie.keys]
    assert plan == [(1, "D", "minor"), (171, "A", "minor"), (208, "F", "major"),
                    (253, "D", "minor")]
    # every key change sits on a bar line
    assert all(k.beat % 3 == 0 for k in sonnerie.keys)


def test_sonnerie_entries(sonnerie):
    violin = sonnerie.part("violin").notes
    viol = sonnerie.part("viol").notes
    for bar in range(1, 5):   # the ground alone: continuo and viol, both on D-F-E
        assert _in_bar(violin, bar) == []
        assert [int(round(n.pitch)) % 12 for n in _in_bar(viol, bar)] == [D, F, E]
    assert min(n.start for n in violin) == pytest.approx(12.0)   # bar 5, beat 1
    assert len(_in_bar(violin, 5)) >= 3


def test_sonnerie_violin_and_viol_take_turns_and_play_together(sonnerie):
    """Each voice leads alone for many bars, and they also divide together
    (duets, contrary motion, imitation) in at least 15 % of the bars."""
    violin = sonnerie.part("violin").notes
    viol = sonnerie.part("viol").notes

    def divides(notes, bar):   # the viol divides unless it has the ground on the beats
        inside = _in_bar(notes, bar)
        pcs_on_beats = [int(round(n.pitch)) % 12 for n in inside
                        if abs(n.start - round(n.start)) < 1e-9]
        return bool(inside) and pcs_on_beats != [D, F, E]

    violin_bars = {b for b in range(5, 303) if _in_bar(violin, b)}
    viol_bars = {b for b in range(5, 303) if divides(viol, b)}
    together = violin_bars & viol_bars
    assert len(violin_bars - viol_bars) >= 60 and len(viol_bars - violin_bars) >= 40
    assert len(together) >= 0.15 * 298


def test_sonnerie_divisions_follow_the_key_plan(sonnerie):
    """Every note of the generated voices belongs to its bar's key: the natural
    minor with the raised sixth and seventh of melodic and harmonic minor, or
    the major scale."""
    scales = {("D", "minor"): {2, 4, 5, 7, 9, 10, 0, 11, 1}, ("A", "minor"): {9, 11, 0, 2, 4, 5, 7, 6, 8},
              ("F", "major"): {5, 7, 9, 10, 0, 2, 4}}
    for name in ("violin", "viol"):
        for n in sonnerie.part(name).notes:
            key = sonnerie.key_at(n.start)
            assert int(round(n.pitch)) % 12 in scales[(key.tonic, key.mode)], (name, str(n))
    # A minor really sounds different from D minor: no B-flat, and its leading tone G#
    a_minor = [int(round(n.pitch)) % 12 for p in ("violin", "viol") for n in sonnerie.part(p).notes
               if 170 * 3 <= n.start < 207 * 3]
    assert a_minor and 10 not in a_minor and a_minor.count(8) >= 20


def test_sonnerie_provenance_separates_marais_from_generated(sonnerie, capsys):
    prov = sonnerie.metadata.provenance
    assert "1656-1728" in prov["composer_dates"]
    assert "1723" in prov["original"] and "La Gamme" in prov["original"]
    assert "D-F-E" in prov["marais"] and "302" in prov["marais"]
    assert "generated" in prov["newly_written"] and "never Marais's melody" in prov["newly_written"]
    assert "3/4" in prov["assumed"]
    assert not sonnerie.part("ground").generated
    assert sonnerie.part("violin").generated and sonnerie.part("viol").generated
    assert 8 * 60 - 30 < sonnerie.duration_seconds < 8 * 60 + 30
    assert cli_main(["info", str(SONNERIE)]) == 0
    out = capsys.readouterr().out
    assert "[generated]" in out and "newly_written:" in out and "marais:" in out


# ---------------------------------------------------------------- the Laurel Waltz stand-in

def test_waltz_is_labelled_a_stand_in(waltz, capsys):
    assert "STAND-IN" in waltz.metadata.title
    assert waltz.metadata.provenance["stand_in"].startswith("yes")
    assert "not Heinrich" in waltz.metadata.provenance["stand_in"].replace("NOT", "not")
    assert "STAND-IN" in waltz.metadata.description
    assert cli_main(["info", str(WALTZ)]) == 0
    out = capsys.readouterr().out
    assert "STAND-IN" in out and "stand_in: yes" in out


def test_waltz_meter_roles_and_oom_pah_pah(waltz):
    assert [(m.numerator, m.denominator) for m in waltz.meters.changes] == [(3, 4)]
    assert [p.name for p in waltz.parts] == ["melody", "accompaniment"]
    assert waltz.keys and waltz.keys[0].beat == 0
    acc = waltz.part("accompaniment").notes
    for bar in range(1, 65):
        notes = _in_bar(acc, bar)
        onsets: dict[float, list] = {}
        for n in notes:
            onsets.setdefault(round(n.start - 3 * (bar - 1), 6), []).append(n.pitch)
        assert len(onsets[0.0]) == 1, bar                      # oom: one bass note on beat 1
        assert len(onsets[1.0]) >= 3, bar                      # pah: a chord on beat 2
        assert onsets[0.0][0] < min(onsets[1.0]), bar          # ... above the bass
        if bar % 16:                                           # last bar of a strain rests on 3
            assert len(onsets[2.0]) >= 3, bar


def test_waltz_binary_form_with_repeats(waltz):
    """||: A (16 bars) :||: B (16 bars) :||: 64 bars; bars 17-32 repeat 1-16,
    bars 49-64 repeat 33-48, and B differs from A."""
    assert waltz.bar_count == 64

    def strain(first: int, name: str):
        lo = 3 * (first - 1)
        return [(round(n.start - lo, 6), n.duration, n.pitch, n.velocity)
                for n in waltz.part(name).notes if lo <= n.start < lo + 48]

    for name in ("melody", "accompaniment"):
        assert strain(1, name) and strain(1, name) == strain(17, name)
        assert strain(33, name) and strain(33, name) == strain(49, name)
        assert strain(1, name) != strain(33, name)


def test_drop_in_transcription_feeds_the_arrangements_unchanged(tmp_path):
    """A one-track piano MIDI file (no role names, no key) becomes the source
    and the waltz arrangements load from it without any change."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("time_signature", numerator=3, denominator=4))
    track.append(mido.MetaMessage("track_name", name="Piano"))
    events = []
    for bar in range(8):     # tune G5/A5 over bass Eb3 and chords G4+Bb4
        t0 = bar * 3 * 480
        events += [(t0, 79 + bar % 2, 960), (t0 + 960, 80, 480), (t0, 51, 480),
                   (t0 + 480, 67, 400), (t0 + 480, 70, 400), (t0 + 960, 67, 400),
                   (t0 + 960, 70, 400)]
    msgs = sorted([(t, 1, p) for t, p, _ in events] + [(t + d, 0, p) for t, p, d in events])
    now = 0
    for t, on, p in msgs:
        track.append(mido.Message("note_on", note=p, velocity=80 if on else 0, time=t - now))
        now = t
    buf = io.BytesIO()
    mid.save(file=buf)
    src = tmp_path / "heinrich.mid"
    src.write_bytes(buf.getvalue())

    drop = _import_script("drop_in_transcription")
    (tmp_path / "sources").mkdir()
    out = tmp_path / "sources" / "laurel-waltz.toml"
    with pytest.raises(ScoreError, match="no key at bar 1"):
        drop.drop_in(str(src), str(out))
    score = drop.drop_in(str(src), str(out), key="Eb major")
    assert [p.name for p in score.parts] == ["melody", "accompaniment"]
    assert {int(n.pitch) for n in score.part("melody").notes} == {79, 80}
    assert score.metadata.provenance["stand_in"].startswith("no")

    for name in ("laurel-waltz-nightmare-march.toml", "laurel-waltz-carousel-5-8.toml"):
        shutil.copy(ARR_DIR / name, tmp_path / name)
        arranged = load_arrangement(tmp_path / name)
        assert arranged.metadata.provenance["transcription"] == "heinrich.mid"
        assert arranged.part("melody").notes and arranged.part("accompaniment").notes


# ---------------------------------------------------------------- the arrangements

def test_every_arrangement_is_listed_here():
    shipped = {p.name for p in ARR_DIR.glob("*.toml")}
    assert shipped == set(ARRANGEMENTS)
    assert sum(1 for n in shipped if n.startswith("sonnerie")) >= 3
    assert sum(1 for n in shipped if n.startswith("laurel-waltz")) >= 2


@pytest.mark.parametrize("name", sorted(ARRANGEMENTS))
def test_arrangement_file_has_seed_and_description(name):
    arr = read_arrangement(ARR_DIR / name)
    assert arr.seed > 0
    assert len(arr.description.split()) >= 40
    assert Path(arr.source_path) == ARRANGEMENTS[name][0]


def _excerpt_audio(score, bars):
    return render(score.excerpt(*bars), sr=22050, seed=score.metadata.seed).audio


@pytest.mark.parametrize("name", sorted(ARRANGEMENTS))
def test_arrangement_renders_deterministically_and_rougher_than_source(name):
    source_path, bars = ARRANGEMENTS[name]
    path = ARR_DIR / name
    first = load_arrangement(path)
    again = load_arrangement(path)
    audio = _excerpt_audio(first, bars)
    assert audio.shape[0] == 2 and audio.shape[1] > 22050
    assert np.all(np.isfinite(audio))
    peak = float(np.max(np.abs(audio)))
    assert 0.01 < peak <= CEILING + 1e-9
    assert np.array_equal(audio, _excerpt_audio(again, bars))

    other = load_arrangement(path, seed=first.metadata.seed + 1)
    assert other.metadata.seed != first.metadata.seed
    assert not np.array_equal(audio, _excerpt_audio(other, bars))
    varied = load_arrangement(path, variation=1)
    assert varied.parts != first.parts

    # the source's provenance travels with the arrangement (synth info shows it)
    prov = first.metadata.provenance
    if source_path == WALTZ:
        assert prov["stand_in"].startswith("yes")
    else:
        assert "never Marais's melody" in prov["newly_written"]
        assert first.part("violin").generated and not first.part("ground").generated
    assert prov["seed"] == str(first.metadata.seed) and prov["transforms"] != "none"

    # each part's partials are its preset's real spectrum (cmi_bell pages,
    # sub_drone an octave down, ...), not a generic harmonic series
    src = mean_roughness(load_source(source_path), partials_for=preset_partials)
    arranged = mean_roughness(first, partials_for=preset_partials)
    print(f"\n{name}: mean roughness source {src:.4f} -> arrangement {arranged:.4f} "
          f"(x{arranged / src:.2f})")
    assert arranged > 1.5 * src
