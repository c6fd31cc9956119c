"""The voice: envelopes, glide, filter envelope, voice stealing, and the Fairlight
voice's 8-bit behaviour measured through the whole chain (patch -> note -> render)."""

from __future__ import annotations

import numpy as np
import pytest

import synth
from synth.errors import PatchError
from synth.patch import Envelope, Patch, get_preset, resolve_patch
from synth.render import RenderPlan, raw_chunks
from synth.score import Note, Part, Score, TempoMap
from synth.voice import STEAL_FADE_SECONDS, note_length, render_note

from conftest import cents, off_harmonic_db, peak_frequency

SR = 22050


def _note(patch, pitch=60.0, seconds=0.5, velocity=100, **kw):
    return render_note(patch, pitch=pitch, velocity=velocity, gate_samples=int(seconds * SR),
                       sr=SR, rng=np.random.default_rng(0), **kw)


def _band_db(x, sr, f0, lo_h, hi_h):
    """Energy (dB) on harmonics lo_h..hi_h of f0 relative to the fundamental."""
    spec = np.abs(np.fft.rfft(x * np.blackman(len(x))))

    def at(f):
        k = int(round(f / (sr / len(x))))
        return spec[max(k - 3, 0):k + 4].max()

    fund = at(f0)
    band = [at(h * f0) for h in range(lo_h, hi_h + 1) if h * f0 < 0.45 * sr]
    return 20 * np.log10(np.sqrt(np.mean(np.square(band))) / fund)


# ---------------------------------------------------------------- envelopes

def test_one_shot_multi_segment_envelope_ignores_the_gate():
    p = Patch("hit", "sine", Envelope(kind="multi", levels=(0, 1, 0.5, 0), times=(0.01, 0.1, 0.2)))
    short, long_ = _note(p, seconds=0.01), _note(p, seconds=2.0)
    assert len(short) == len(long_) == int(round(0.31 * SR)) + 1
    assert np.array_equal(short, long_) and short[-1] == 0.0


def test_sustained_multi_segment_holds_its_last_level_then_releases():
    p = Patch("m", "sine", Envelope(kind="multi", levels=(0, 1, 0.5), times=(0.01, 0.05),
                                    release=0.1))
    y = _note(p, seconds=0.5)
    assert len(y) == int(0.5 * SR) + int(0.1 * SR) + 1
    held = np.max(np.abs(y[int(0.3 * SR):int(0.45 * SR)]))
    first = np.max(np.abs(y[:int(0.03 * SR)]))
    assert abs(held / first - 0.5) < 0.02


def test_cmi_envelope_length_and_held_damping():
    p = Patch("c", "sine", Envelope(attack=0.0, release=0.3, kind="cmi", held_damping=0.5))
    y = _note(p, seconds=1.0)
    assert len(y) == int(1.0 * SR) + int(round(0.3 * 80 / 60 * SR)) + 1
    # while held the level falls 60 dB per 0.5 s: -24 dB between 0.1 s and 0.3 s
    a = np.max(np.abs(y[int(0.09 * SR):int(0.11 * SR)]))
    b = np.max(np.abs(y[int(0.29 * SR):int(0.31 * SR)]))
    assert abs(20 * np.log10(b / a) + 24.0) < 1.0


# ---------------------------------------------------------------- pitch movement

def _inst_freq(y, sr, at_s, width_s=0.03):
    seg = y[int(at_s * sr):int((at_s + width_s) * sr)]
    return peak_frequency(seg, sr, fmin=100, fmax=2000)


def test_glide_moves_from_the_previous_note():
    patch = resolve_patch("sine", {"glide": 0.3})
    y = _note(patch, pitch=72.0, seconds=0.8, prev_pitch=60.0)
    c4, c5 = 261.6256, 523.2511
    assert abs(cents(_inst_freq(y, SR, 0.0, 0.02), c4)) < 150      # starts near the old note
    mid = _inst_freq(y, SR, 0.135)                                  # 0.135..0.165 s: ~6 semitones
    assert abs(cents(mid, c4 * 2 ** 0.5)) < 100
    assert abs(cents(_inst_freq(y, SR, 0.4, 0.3), c5)) < 2          # arrived, exactly
    # without a glide time the note starts in tune
    y0 = _note(resolve_patch("sine"), pitch=72.0, seconds=0.3, prev_pitch=60.0)
    assert abs(cents(_inst_freq(y0, SR, 0.0, 0.05), c5)) < 10


def test_renderer_glides_between_consecutive_notes_of_a_part():
    part = Part("p", (Note(0, 1, 60, 100), Note(1, 1, 67, 100)), preset="sine",
                patch={"glide": 0.2})
    score = Score(parts=(part,), tempo=TempoMap.constant(60.0))
    audio = synth.render(score, sr=SR).audio.mean(axis=0)
    start2 = SR                                                      # beat 1 at 60 bpm
    early = _inst_freq(audio, SR, (start2 + 0.02 * SR) / SR, 0.02)
    late = _inst_freq(audio, SR, (start2 + 0.4 * SR) / SR, 0.4)
    g4 = 391.9954
    assert cents(early, g4) < -300                                   # still well below G4
    assert abs(cents(late, g4)) < 2


def test_pitch_envelope_starts_off_and_settles():
    patch = resolve_patch("sine", {"pitch_env.semitones": 12.0, "pitch_env.time": 0.1,
                                   "pitch_env.curve": "linear"})
    y = _note(patch, pitch=60.0, seconds=0.5)
    assert abs(cents(_inst_freq(y, SR, 0.0, 0.015), 523.25)) < 150
    assert abs(cents(_inst_freq(y, SR, 0.2, 0.25), 261.63)) < 2


# ---------------------------------------------------------------- filter

def _centroid(x, sr):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float((f * spec).sum() / spec.sum())


def test_filter_envelope_moves_the_spectral_centroid():
    swept = _note(resolve_patch("pluck", {"envelope.decay": 2.0, "envelope.sustain": 0.5}),
                  pitch=48.0, seconds=0.6)
    early = _centroid(swept[:int(0.04 * SR)], SR)
    late = _centroid(swept[int(0.3 * SR):int(0.5 * SR)], SR)
    assert np.log2(early / late) > 1.0                   # more than an octave darker later
    still = _note(resolve_patch("pluck", {"envelope.decay": 2.0, "envelope.sustain": 0.5,
                                          "filter.env_amount": 0.0}), pitch=48.0, seconds=0.6)
    early0 = _centroid(still[int(0.005 * SR):int(0.045 * SR)], SR)
    late0 = _centroid(still[int(0.3 * SR):int(0.5 * SR)], SR)
    assert abs(np.log2(early0 / late0)) < 0.3


def test_lowpass_cutoff_and_key_tracking_are_measurable():
    base = {"filter.type": "lowpass", "filter.slope": 24, "filter.cutoff": 1000.0}
    y = _note(resolve_patch("saw", base), pitch=48.0, seconds=0.5)[int(0.1 * SR):int(0.45 * SR)]
    f0 = 130.81
    # the 24 dB/oct low-pass at 1 kHz: harmonic 30 (3.9 kHz, ~2 octaves up) at least 40 dB
    # further down than its saw level (1/30) relative to harmonic 2
    assert _band_db(y, SR, f0, 30, 30) - _band_db(y, SR, f0, 2, 2) < -20 * np.log10(15) - 40
    tracked = resolve_patch("saw", {**base, "filter.key_track": 1.0})
    lo = _note(tracked, pitch=48.0)[int(0.1 * SR):int(0.45 * SR)]
    hi = _note(tracked, pitch=60.0)[int(0.1 * SR):int(0.45 * SR)]
    assert abs(np.log2(_centroid(hi, SR) / _centroid(lo, SR)) - 1.0) < 0.15


# ---------------------------------------------------------------- voice stealing

def test_voice_stealing_caps_the_part_at_max_voices():
    notes = tuple(Note(i * 0.1, 3.0, 48 + 2 * i, 100) for i in range(12))
    part = Part("p", notes, preset="cmi_organ")
    plan = RenderPlan(Score(parts=(part,), tempo=TempoMap.constant(60.0)), sr=SR)
    pp = plan.parts[0]
    edges = sorted([(int(s), 1) for s in pp.starts]
                   + [(int(s + n - 1), -1) for s, n in zip(pp.starts, pp.lengths)])
    sounding = np.cumsum([d for _, d in sorted(edges, key=lambda e: (e[0], e[1]))])
    assert sounding.max() == 8
    # the four oldest notes were cut exactly where notes 9..12 begin
    assert list(pp.starts[:4] + pp.lengths[:4]) == list(pp.starts[8:12])


def test_a_stolen_note_is_silent_after_its_thief_starts():
    sine8 = {"max_voices": 8, "envelope.release": 0.05}
    notes = tuple(Note(i * 0.25, 4.0, 60 + i, 100) for i in range(9))
    part = Part("p", notes, preset="sine", patch=sine8)
    audio = synth.render(Score(parts=(part,), tempo=TempoMap.constant(60.0)), sr=SR).audio
    mono = audio.mean(axis=0)
    start9 = int(2.0 * SR)
    seg = mono[start9 + 100:start9 + 100 + SR]
    spec = np.abs(np.fft.rfft(seg * np.blackman(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1 / SR)
    level = lambda f: spec[np.argmin(np.abs(freqs - f))]               # noqa: E731
    c4, cs4 = 261.6256, 277.1826
    assert 20 * np.log10(level(c4) / level(cs4)) < -50   # the first note is gone
    unlimited = synth.render(Score(parts=(Part("p", notes, preset="sine"),),
                                   tempo=TempoMap.constant(60.0)), sr=SR).audio.mean(axis=0)
    seg_u = unlimited[start9 + 100:start9 + 100 + SR]
    spec_u = np.abs(np.fft.rfft(seg_u * np.blackman(len(seg_u))))
    assert 20 * np.log10(spec_u[np.argmin(np.abs(freqs - c4))] /
                         spec_u[np.argmin(np.abs(freqs - cs4))]) > -3


def test_stolen_note_fades_to_zero_at_the_cut():
    patch = resolve_patch("cmi_organ")
    y = _note(patch, seconds=1.0, stolen_at=5000)
    assert len(y) == 5000 and y[-1] == 0.0
    fade = int(round(STEAL_FADE_SECONDS * SR))
    assert np.max(np.abs(y[-fade // 4:])) < 0.3 * np.max(np.abs(y[:-fade]))


# ---------------------------------------------------------------- the Fairlight voice

def test_fairlight_images_sit_on_harmonics_of_the_played_pitch():
    """Mode 1 clocks 128 samples per cycle: every image and all the 8-bit
    quantisation noise land on harmonics of the played note."""
    patch = resolve_patch("cmi_organ", {"params.brightness": 2.0})
    sr = 44100
    y = render_note(patch, pitch=45.0, velocity=127, gate_samples=sr, sr=sr)
    seg = y[int(0.2 * sr):int(0.95 * sr)]
    f0 = peak_frequency(seg, sr, fmin=100, fmax=120)
    assert abs(cents(f0, 110.0)) < 3                     # the IIx clock law: within ~2 cents
    assert off_harmonic_db(seg, sr, f0, width_hz=15.0) < -70      # window skirts only
    # the first images (harmonics 127 and 129: clock -+ f0) are present
    assert _band_db(seg, sr, f0, 127, 129) > -70


def test_fairlight_8_bit_noise_is_quantised_before_the_envelope():
    """The same pages rendered as a float additive voice have nothing on the
    harmonics above the pages; the 8-bit voice has quantisation harmonics
    there, at the same level relative to the tone at any velocity (a VCA
    after the DAC, not a bit-crusher after the gain)."""
    sr = 44100
    cmi = resolve_patch("cmi_organ", {"params.brightness": 2.0})
    flt = Patch("float", "additive", cmi.envelope, params={"pages": cmi.param("pages")})

    def noise_db(patch, velocity):
        y = render_note(patch, pitch=45.0, velocity=velocity, gate_samples=sr, sr=sr,
                        rng=np.random.default_rng(0))
        return _band_db(y[int(0.2 * sr):int(0.95 * sr)], sr, 110.0, 20, 60)

    loud, soft = noise_db(cmi, 127), noise_db(cmi, 30)
    assert -75 < loud < -35
    assert abs(loud - soft) < 1.0
    assert noise_db(flt, 127) < loud - 40


def test_fairlight_mode4_plays_a_user_wav_at_the_pitch(tmp_path):
    import soundfile as sf
    t = np.arange(int(0.4 * 44100)) / 44100
    sf.write(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440.0 * t), 44100)
    patch = resolve_patch("cmi_sample", {"params.sample": str(tmp_path / "tone.wav"),
                                         "params.root": 69.0})
    for pitch, expected in ((69.0, 440.0), (76.0, 659.255)):
        y = _note(patch, pitch=pitch, seconds=0.3)
        f = peak_frequency(y[int(0.05 * SR):int(0.25 * SR)], SR, fmin=300, fmax=900)
        assert abs(cents(f, expected)) < 3
    missing = resolve_patch("cmi_sample", {"params.sample": str(tmp_path / "nope.wav")})
    with pytest.raises(PatchError, match=r"nope\.wav"):
        _note(missing)


def test_drum_kit_maps_notes_to_drums():
    drums = resolve_patch("drums")
    kick = _note(drums, pitch=36, seconds=0.1)
    hat = _note(drums, pitch=42, seconds=0.1)
    crash = _note(drums, pitch=49, seconds=0.1)
    assert peak_frequency(kick, SR, fmin=20, fmax=400) < 120
    assert _centroid(hat, SR) > 5000
    assert len(hat) < len(kick) < len(crash)
    assert note_length(drums, 100, sr=SR, pitch=42) == len(hat)


def test_a_score_file_names_its_mode4_sample_relative_to_itself(tmp_path, monkeypatch):
    import soundfile as sf
    (tmp_path / "song" / "samples").mkdir(parents=True)
    t = np.arange(int(0.3 * 44100)) / 44100
    sf.write(tmp_path / "song" / "samples" / "a.wav", 0.5 * np.sin(2 * np.pi * 440.0 * t), 44100)
    score_file = tmp_path / "song" / "s.toml"
    score_file.write_text('[score]\ntitle = "t"\ntempo = 120\n\n[parts.smp]\npreset = "cmi_sample"\n'
                          'patch.params.sample = "samples/a.wav"\npatch.params.root = 69\n'
                          'notes = "A4"\n')
    monkeypatch.chdir(tmp_path)                      # not the score's folder
    score = synth.load(score_file)
    assert score.parts[0].patch["params.sample"] == str(tmp_path / "song" / "samples" / "a.wav")
    audio = synth.render(score, sr=SR).audio.mean(axis=0)
    f = peak_frequency(audio[int(0.05 * SR):int(0.25 * SR)], SR, fmin=300, fmax=600)
    assert abs(cents(f, 440.0)) < 3


@pytest.mark.parametrize("name", ["reed", "lead", "pulse"])
def test_pulse_voices_carry_no_dc(name):
    """A narrow pulse has a mean level of 2*width - 1; the voice is AC-coupled."""
    sr = 22050
    y = render_note(get_preset(name), pitch=60, velocity=100, gate_samples=sr, sr=sr,
                    rng=np.random.default_rng(0))
    rms = np.sqrt(np.mean(y ** 2))
    assert abs(np.mean(y)) < 1e-3 * rms


@pytest.mark.parametrize("name", ["sub_drone", "pad", "cmi_bell", "bell", "saw", "reed",
                                  "noise_wind", "organ", "bass", "brass_stab", "lead"])
def test_long_notes_in_pieces_equal_the_whole_note(name):
    """A long note rendered piece by piece (state carried) is the same note, bit for bit."""
    from synth.seeds import rng
    from synth.voice import render_note_pieces

    sr = 8000
    gate = 12 * sr
    kwargs = dict(pitch=50, velocity=100, gate_samples=gate, sr=sr,
                  prev_pitch=45.0 if name == "lead" else None)
    whole = render_note(get_preset(name), rng=rng(1, "n"), **kwargs)
    pieces = list(render_note_pieces(get_preset(name), rng=rng(1, "n"), piece_samples=4096,
                                     **kwargs))
    assert len(pieces) > 20 and max(len(p) for p in pieces) <= 4096
    assert np.array_equal(np.concatenate(pieces), whole)


def test_a_ten_minute_note_renders_in_bounded_memory():
    """Memory follows the piece size, not the note: a 10-minute drone needs a few MB."""
    import tracemalloc

    sr = 22050
    score = Score(parts=[Part("drone", [Note(0, 1200, 38, 90)], preset="sub_drone")],
                  tempo=TempoMap.constant(120))               # 1200 beats = 10 minutes
    plan = RenderPlan(score, sr=sr)
    tracemalloc.start()
    try:
        frames = sum(block.audio.shape[1] for block in raw_chunks(plan))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert frames == plan.frames > 600 * sr
    whole_note_bytes = 8 * plan.frames                 # one float64 copy of the note alone
    assert peak < 0.25 * whole_note_bytes, peak


def test_a_stolen_long_note_in_pieces_equals_the_whole_note():
    """The fade of a stolen note lands in the last piece whole, wherever the cut falls."""
    from synth.seeds import rng
    from synth.voice import render_note_pieces

    sr = 8000
    patch = get_preset("pad")
    for stolen_at in (4096 * 5 + 3, 4096 * 7 - 1, 4096 * 9 + 4000):
        kwargs = dict(pitch=55, velocity=90, gate_samples=20 * sr, sr=sr, stolen_at=stolen_at)
        whole = render_note(patch, rng=rng(3, "n"), **kwargs)
        pieces = list(render_note_pieces(patch, rng=rng(3, "n"), piece_samples=4096, **kwargs))
        assert len(whole) == stolen_at
        assert np.array_equal(np.concatenate(pieces), whole)
        fade = round(STEAL_FADE_SECONDS * sr)
        rms = lambda x: np.sqrt(np.mean(x ** 2))   # noqa: E731
        # a linear fade: its last quarter is far quieter than the signal before the fade
        assert rms(whole[-fade // 4:]) < 0.35 * rms(whole[-3 * fade:-fade])
        assert whole[-1] == 0.0


def test_bend_breakpoints_equal_the_per_sample_curve():
    """Breakpoints (what the renderer passes) sound exactly like the curve they describe."""
    sr = 8000
    n_gate = 3 * sr
    offsets, semis = np.array([0, 4000, 9000]), np.array([0.0, 1.0, -0.5])
    patch = get_preset("saw")
    n = note_length(patch, n_gate, sr=sr)
    curve = np.zeros(n)
    for off, v in zip(offsets, semis):
        curve[off:] = v
    a = render_note(patch, pitch=60, velocity=90, gate_samples=n_gate, sr=sr,
                    bend_semitones=curve)
    b = render_note(patch, pitch=60, velocity=90, gate_samples=n_gate, sr=sr,
                    bend_semitones=(offsets, semis))
    assert np.array_equal(a, b)
    # and the bend is heard: a semitone up in the middle segment
    mid = peak_frequency(b[5000:8500], sr, 150, 600)
    assert abs(cents(mid, 440 * 2 ** ((61 - 69) / 12))) < 5


# ---------------------------------------------------------------- a fixed filter baked into the table

def _harmonic_levels(y, sr, f0, count):
    """Peak magnitude (linear) at harmonics 1..count of a steady stretch, Hann window."""
    w = np.hanning(len(y))
    spectrum = np.abs(np.fft.rfft(y * w))
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    return np.array([spectrum[np.abs(freqs - k * f0) < 0.6 * f0 / 2].max()
                     for k in range(1, count + 1)])


def _time_domain(monkeypatch):
    import importlib

    monkeypatch.setattr(importlib.import_module("synth.sound_sources.registry"), "BAKE_MAX_Q", -1.0)


def test_baked_lowpass_has_the_butterworth_response_on_the_harmonics():
    sr, f0 = 44100, 250.0
    plain = resolve_patch("saw", {"envelope.attack": 0.0, "envelope.release": 0.0})
    filtered = resolve_patch("saw", {"envelope.attack": 0.0, "envelope.release": 0.0,
                                     "filter.type": "lowpass", "filter.cutoff": 1000.0,
                                     "filter.resonance": 0.7071, "filter.slope": 12})
    kw = dict(pitch=59.2131642, velocity=127, gate_samples=sr, sr=sr)     # 250 Hz
    a = _harmonic_levels(render_note(plain, **kw)[4410:39690], sr, f0, 8)
    b = _harmonic_levels(render_note(filtered, **kw)[4410:39690], sr, f0, 8)
    gain_db = 20 * np.log10(b / a)
    # 2-pole Butterworth: |H(f)|^2 = 1 / (1 + (f/fc)^4)
    expected = -10 * np.log10(1 + (f0 * np.arange(1, 9) / 1000.0) ** 4)
    assert np.max(np.abs(gain_db - expected)) < 0.1
    assert abs(gain_db[3] + 3.01) < 0.1 and abs(gain_db[7] + 12.30) < 0.1


@pytest.mark.parametrize("name, pitch", [("pad", 40), ("pad", 67), ("pad", 84), ("reed", 60)])
def test_baked_filter_matches_the_running_filter_harmonic_by_harmonic(monkeypatch, name, pitch):
    # vibrato and unison detune move the harmonics a few cents off the table's
    # pitch: the levels still agree within 0.1 dB (only phases differ slightly)
    sr = 44100
    kw = dict(pitch=pitch, velocity=100, gate_samples=int(1.5 * sr), sr=sr)
    baked = render_note(get_preset(name), rng=np.random.default_rng(1), **kw)
    _time_domain(monkeypatch)
    running = render_note(get_preset(name), rng=np.random.default_rng(1), **kw)
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    count = int(15000 // f0)
    a = _harmonic_levels(baked[int(0.3 * sr):int(1.3 * sr)], sr, f0, count)
    b = _harmonic_levels(running[int(0.3 * sr):int(1.3 * sr)], sr, f0, count)
    diff_db = np.abs(20 * np.log10(a / b))
    strong = b > b.max() * 10 ** (-50 / 20)          # harmonics within 50 dB of the loudest
    weak = b > b.max() * 10 ** (-80 / 20)
    assert strong.sum() >= 5
    assert np.max(diff_db[strong]) < 0.1
    assert np.max(diff_db[weak]) < 0.3


def test_a_note_bent_far_from_its_pitch_keeps_the_running_filter(monkeypatch):
    sr = 22050
    kw = dict(pitch=60, velocity=100, gate_samples=sr, sr=sr, rng=np.random.default_rng(2),
              bend_semitones=(np.array([0, sr // 2]), np.array([0.0, 2.0])))
    bent = render_note(get_preset("pad"), **kw)
    _time_domain(monkeypatch)
    kw["rng"] = np.random.default_rng(2)
    assert np.array_equal(bent, render_note(get_preset("pad"), **kw))
