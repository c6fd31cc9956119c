"""The built-in Fairlight sample library and the sampled presets: stored as the machine stored
a sample, reproducible, and audibly a CMI (images below the root, 8-bit noise of quiet
recordings, clean ends, loops that sustain), plus the sampled percussion kit."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from synth.dsp import cmi_kit, cmi_library, fairlight
from synth.patch import get_preset
from synth.voice import note_length, render_note

from conftest import cents, peak_frequency

SR = 44100            # the images of interest reach 16 kHz

#: The sounds the issue asks for, by the library's names.
REQUIRED = ("choir_aah", "male_ooh", "glass", "metal_plate", "tubular_bell", "bowed_string",
            "plucked_string", "breath", "vocal_ha", "tuned_drum", "snare", "bass_drum")


# ---------------------------------------------------------------- stored as the machine stored it

@pytest.mark.parametrize("name", sorted(cmi_library.VOICES))
def test_every_voice_is_8_bit_within_one_voice_memory(name):
    v = cmi_library.voice(name)
    assert v.data.dtype == np.int8 and v.data.ndim == 1
    assert 1024 <= len(v.data) <= 16384                        # 128 segments x 128 bytes
    assert not v.data.flags.writeable
    assert 0 < v.spec.rate_hz <= fairlight.SERIES["II"].max_rate_hz
    assert 20.0 < v.spec.root_hz < 2000.0 and v.spec.level_db <= 0.0
    # the recording level is the peak of the stored words (within one step)
    peak = np.max(np.abs(v.data.astype(int)))
    assert abs(peak - 127 * 10 ** (v.spec.level_db / 20)) <= 1.0
    if v.loop is None:
        # a one-shot fades out: it ends on 0, its last tenth 20 dB under its peak
        assert v.data[-1] == 0
        tail = v.data[-len(v.data) // 10:].astype(float)
        assert np.sqrt(np.mean(tail ** 2)) < 0.1 * peak
    else:
        start, end = v.loop
        assert 0 < start < end == len(v.data) and v.spec.loop
        # a whole number of pairs of root cycles: a steady tone joins in phase
        pair = 2 * v.spec.rate_hz / v.spec.root_hz
        assert abs((end - start) / pair - round((end - start) / pair)) < 1e-9


def test_the_library_has_the_sounds_the_issue_lists_and_an_a2_default_root():
    assert set(REQUIRED) <= set(cmi_library.VOICES) and len(cmi_library.VOICES) >= 12
    roots = [v.root_hz for v in cmi_library.VOICES.values()]
    assert roots.count(110.0) >= 10


def test_a_voice_sounds_at_its_recorded_root_at_its_recording_rate():
    for name in ("bowed_string", "plucked_string", "tubular_bell", "glass"):
        v = cmi_library.voice(name)
        x = v.data[: int(0.5 * v.spec.rate_hz)].astype(float)
        f = peak_frequency(x, v.spec.rate_hz, fmin=0.95 * v.spec.root_hz, fmax=1.05 * v.spec.root_hz)
        assert abs(cents(f, v.spec.root_hz)) < 3.0, name


def _library_hash() -> str:
    h = hashlib.sha256()
    for name in cmi_library.VOICES:
        h.update(cmi_library.voice(name).data.tobytes())
    return h.hexdigest()


def test_generation_is_bit_identical_in_process_and_across_processes():
    first = _library_hash()
    cmi_library.voice.cache_clear()
    cmi_library.playback_samples.cache_clear()
    assert _library_hash() == first
    code = ("import hashlib; from synth.dsp import cmi_library as L; h = hashlib.sha256()\n"
            "for n in L.VOICES: h.update(L.voice(n).data.tobytes())\nprint(h.hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == first


def test_a_quiet_recording_has_more_8_bit_noise_once_turned_up():
    """Signal to quantisation noise, measured against the unquantised recording."""
    def sqnr_db(name):
        v = cmi_library.voice(name)
        x, _ = cmi_library._recording(name)
        played = cmi_library.playback_samples(name)             # turned back up to full level
        ideal = x * (127 / 128)
        return 20 * np.log10(np.std(ideal) / np.std(played - ideal)), v.spec.level_db

    loud, loud_level = sqnr_db("choir_aah")
    quiet, quiet_level = sqnr_db("male_ooh")
    hush, hush_level = sqnr_db("breath")
    print(f"\nSQNR: choir_aah ({loud_level:g} dBFS) {loud:.1f} dB, male_ooh ({quiet_level:g}) "
          f"{quiet:.1f} dB, breath ({hush_level:g}) {hush:.1f} dB")
    assert loud - quiet > 8.0 and loud - hush > 14.0
    assert hush < 30.0                                          # audible hiss


# ---------------------------------------------------------------- Mode 4 far from the root

def _image_measure(preset, pitch, sr=SR):
    """(images re harmonic signal in dB, strongest image in Hz, note Hz): images are what the
    DAC puts above half its clock (the stored signal lies below), counted in 1-16 kHz."""
    from synth.sound_sources.fairlight import voice_clock as _fairlight_clock
    patch = get_preset(preset)
    f = 440.0 * 2 ** ((pitch - 69) / 12)
    y = render_note(patch, pitch=pitch, velocity=100, gate_samples=sr, sr=sr)
    seg = y[int(0.1 * sr):int(0.6 * sr)]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 8 * len(seg))) ** 2
    freqs = np.fft.rfftfreq(8 * len(seg), 1 / sr)
    clock = _fairlight_clock(patch, f)
    band = (freqs >= max(1000.0, clock / 2)) & (freqs <= 16000.0)
    ratio_db = 10 * np.log10(spec[band].sum() / spec[freqs < clock / 2].sum())
    strongest = freqs[band][np.argmax(spec[band])]
    return ratio_db, strongest, f


@pytest.mark.parametrize("preset, root", [("cmi_choir", 45), ("cmi_strings", 45),
                                          ("cmi_pluck", 45), ("cmi_bell", 69)])
def test_mode4_below_its_root_puts_inharmonic_images_that_move_with_pitch_in_the_band(preset, root):
    low, lower = root - 12, root - 17
    r1, img1, f1 = _image_measure(preset, low)
    r2, img2, f2 = _image_measure(preset, lower)
    at_root, _, _ = _image_measure(preset, root)
    print(f"\n{preset}: images at root {at_root:.1f} dB, root-12 {r1:.1f} dB, root-17 {r2:.1f} dB; "
          f"strongest image {img1:.0f} -> {img2:.0f} Hz")
    assert r1 > -40.0 and r2 > -40.0
    # inharmonic: half-way between harmonics of the played note (clock / f = N + 1/2)
    for img, f in ((img1, f1), (img2, f2)):
        assert abs(img / f - np.round(img / f)) > 0.3
    # they move with the pitch: same place in the spectrum relative to the note
    assert img2 / img1 == pytest.approx(f2 / f1, rel=0.01)


def _band_levels(preset, pitch, sr=SR):
    """Octave-band levels 2-4, 4-8, 8-16 kHz relative to the whole note, floored at -60 dB."""
    y = render_note(get_preset(preset), pitch=pitch, velocity=100, gate_samples=sr, sr=sr,
                    rng=np.random.default_rng(3))[:sr]
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    total = spec.sum()
    return np.array([max(10 * np.log10(spec[(freqs >= lo) & (freqs < 2 * lo)].sum() / total + 1e-30),
                         -60.0) for lo in (2000.0, 4000.0, 8000.0)])


#: (sampled preset, clean counterpart, a pitch where the pieces use it)
PAIRS = [("cmi_choir", "choir", 60), ("cmi_bell", "bell", 72), ("cmi_strings", "strings", 57),
         ("cmi_pluck", "pluck", 55), ("cmi_glass", "glass_harmonica", 72),
         ("cmi_breath", "noise_wind", 64)]


def test_at_least_four_sampled_presets_differ_from_their_clean_counterparts_by_6_db():
    differences = {}
    for cmi, clean, pitch in PAIRS:
        d = np.abs(_band_levels(cmi, pitch) - _band_levels(clean, pitch))
        differences[cmi] = float(np.max(d))
    print("\nlargest octave-band difference 2-16 kHz: "
          + ", ".join(f"{k} {v:.1f} dB" for k, v in differences.items()))
    assert sum(v >= 6.0 for v in differences.values()) >= 4


def test_a_looped_voice_sustains_while_held_and_a_one_shot_does_not():
    sr = 22050
    held = render_note(get_preset("cmi_choir"), pitch=45, velocity=100, gate_samples=4 * sr, sr=sr)
    early = np.sqrt(np.mean(held[int(0.4 * sr):int(0.9 * sr)] ** 2))
    late = np.sqrt(np.mean(held[int(3.3 * sr):int(3.8 * sr)] ** 2))
    assert abs(20 * np.log10(late / early)) < 6.0               # the loop keeps it going
    bell = render_note(get_preset("cmi_bell"), pitch=69, velocity=100, gate_samples=4 * sr, sr=sr)
    assert np.max(np.abs(bell[int(1.5 * sr):])) == 0.0           # 1.35 s of ring, then silence


def test_sampled_notes_render_in_pieces_exactly():
    from synth.voice import render_note_pieces
    for name in ("cmi_choir", "cmi_bell"):
        kwargs = dict(pitch=50, velocity=100, gate_samples=3 * 8000, sr=8000)
        whole = render_note(get_preset(name), **kwargs)
        pieces = list(render_note_pieces(get_preset(name), piece_samples=2048, **kwargs))
        assert len(pieces) > 5
        assert np.array_equal(np.concatenate(pieces), whole)


# ---------------------------------------------------------------- the kit

def _centroid(y, sr):
    spec = np.abs(np.fft.rfft(y))
    return float((np.fft.rfftfreq(len(y), 1 / sr) * spec).sum() / spec.sum())


def test_every_kit_hit_renders_as_a_one_shot_of_its_own_length():
    kit = get_preset("cmi_drums")
    sr = 22050
    for note, hit in cmi_kit.KIT.items():
        short = render_note(kit, pitch=note, velocity=110, gate_samples=10, sr=sr)
        long = render_note(kit, pitch=note, velocity=110, gate_samples=sr, sr=sr)
        assert np.array_equal(short, long)                     # the written length does not matter
        assert len(short) == note_length(kit, 10, sr=sr, pitch=note)
        assert 0.01 < np.max(np.abs(short)) < 1.0 and short[-1] == 0.0, hit.name


def test_the_kit_sounds_like_its_drums():
    kit = get_preset("cmi_drums")
    sr = 44100

    def hit(note):
        return render_note(kit, pitch=note, velocity=110, gate_samples=100, sr=sr)

    kick, snare, hat, wood, gong = hit(36), hit(38), hit(42), hit(76), hit(52)
    kick_spec = np.abs(np.fft.rfft(kick))
    assert np.fft.rfftfreq(len(kick), 1 / sr)[np.argmax(kick_spec)] < 120.0   # a low thud
    assert _centroid(kick, sr) < _centroid(snare, sr) < _centroid(hat, sr)
    assert len(hat) < len(snare) < len(kick) < len(gong)       # closed hat short, gong long
    # the snare's wires: a rattle of noise in 3-8 kHz, as strong as its shell modes
    spec = np.abs(np.fft.rfft(snare[:int(0.15 * sr)])) ** 2
    f = np.fft.rfftfreq(int(0.15 * sr), 1 / sr)
    wires = spec[(f > 3000) & (f < 8000)].sum()
    shell = spec[(f > 100) & (f < 500)].sum()
    assert 10 * np.log10(wires / shell) > -10
    # the woodblock's first mode (880 Hz at its root) is its loudest
    spec = np.abs(np.fft.rfft(wood))
    f = np.fft.rfftfreq(len(wood), 1 / sr)
    assert abs(f[np.argmax(spec)] - 880.0) < 30.0


def test_a_drum_part_in_a_score_file_names_its_hits(tmp_path):
    import synth
    from synth.errors import ScoreError
    f = tmp_path / "march.toml"
    f.write_text('[score]\ntitle = "m"\ntempo = 120\n\n[parts.kit]\npreset = "cmi_drums"\n'
                 'notes = "kick:8 hat snare hat <kick crash>:4 woodblock:8 woodblock_low gong:2"\n')
    score = synth.load(f)
    assert [n.pitch for n in score.parts[0].notes] == [36, 42, 38, 42, 36, 49, 76, 77, 52]
    audio = synth.render(score, sr=22050).audio
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) > 0.1
    f.write_text(f.read_text().replace("woodblock_low", "wodblock"))
    with pytest.raises(ScoreError, match=r"unknown token 'wodblock'.*did you mean the drum 'woodblock'"):
        synth.load(f)


def test_midi_channel_10_plays_the_sampled_kit():
    import io

    import mido

    from synth.midi import read_midi
    mf = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for note in (36, 38, 42, 76):
        track += [mido.Message("note_on", channel=9, note=note, velocity=100, time=0),
                  mido.Message("note_off", channel=9, note=note, time=240)]
    mf.tracks.append(track)
    buf = io.BytesIO()
    mf.save(file=buf)
    score = read_midi(buf.getvalue())
    assert [p.preset for p in score.parts] == ["cmi_drums"]
    assert [n.pitch for n in score.parts[0].notes] == [36, 38, 42, 76]


def test_library_voices_report_their_measured_partials():
    ratios, amps = cmi_library.partials("tubular_bell")
    assert ratios[np.argmax(amps)] == pytest.approx(1.0, abs=0.01)        # the root sounds
    assert np.min(np.abs(ratios - 2.76)) < 0.02                            # a tube mode
    ratios, amps = cmi_library.partials("bowed_string", max_partials=6)
    np.testing.assert_allclose(ratios, np.arange(1, 7), atol=0.02)         # harmonic
