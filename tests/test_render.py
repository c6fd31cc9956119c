"""The render engine, verified by measuring the audio it produces."""

import numpy as np
import pytest

from conftest import cents, first_onset, off_harmonic_db, peak_frequency
from synth.errors import PatchError, RenderError
from synth.render import MasterSettings, RenderPlan, raw_chunks, render
from synth.score import Metadata, Note, Part, Score, TempoMap

CEILING = 10 ** (-1 / 20)


def score_of(*parts, tempo=None, seed=0):
    return Score(parts=parts, tempo=tempo or TempoMap.constant(120), metadata=Metadata(seed=seed))


@pytest.mark.parametrize("preset", ["sine", "saw", "square", "triangle"])
@pytest.mark.parametrize("pitch", [45.0, 57.0, 69.0, 60.5, 81.25])
def test_fundamental_within_5_cents(preset, pitch):
    sr = 22050
    s = score_of(Part("p", [Note(0, 2, pitch)], preset=preset))      # 1 s at 120 bpm
    y = render(s, sr=sr).audio[0]
    steady = y[int(0.2 * sr):int(0.9 * sr)]
    expected = 440.0 * 2 ** ((pitch - 69) / 12)
    f = peak_frequency(steady, sr, fmin=expected * 0.7, fmax=expected * 1.3)
    assert abs(cents(f, expected)) < 5.0


def test_pitch_bend_becomes_pitch():
    sr = 22050
    # +2 semitones from beat 1 (0.5 s) of a 2-beat A4
    s = score_of(Part("p", [Note(0, 2, 69, bend=((0.0, 0.0), (1.0, 2.0)))], preset="sine"))
    y = render(s, sr=sr).audio[0]
    first = peak_frequency(y[int(0.1 * sr):int(0.45 * sr)], sr, 300, 600)
    second = peak_frequency(y[int(0.55 * sr):int(0.95 * sr)], sr, 300, 600)
    assert abs(cents(first, 440.0)) < 5
    assert abs(cents(second, 440.0 * 2 ** (2 / 12))) < 5


def test_onsets_follow_the_tempo_map_within_1ms():
    sr = 44100
    # 120 bpm for 4 beats (2 s), then 60 bpm: beat 6 is at 4 s, beat 7.5 at 5.5 s;
    # the tempo change falls in the middle of the second note (beats 3..5)
    tempo = TempoMap([(0, 120), (4, 60)])
    onsets = [(0.5, 0.25), (3.0, 1.5), (6.0, 4.0), (7.5, 5.5)]
    notes = [Note(b, 2.0 if b == 3.0 else 0.5, 72) for b, _ in onsets]
    s = score_of(Part("p", notes, preset="saw", patch={"envelope.release": 0.01}), tempo=tempo)
    y = render(s, sr=sr).audio[0]
    for beat, seconds in onsets:
        expected = round(seconds * sr)
        found = first_onset(y, threshold=1e-3, start=expected - int(0.1 * sr))
        assert abs(found - expected) <= sr // 1000, (beat, found, expected)
    # the note held across the tempo change (beats 3..5) is released at 1.5 s + beats 3..4
    # at 120 bpm (0.5 s) + beats 4..5 at 60 bpm (1 s) = 3.0 s
    release_start = round(3.0 * sr)
    env_before = np.abs(y[release_start - 400:release_start]).max()
    env_after = np.abs(y[release_start + 500:release_start + 900]).max()
    assert env_after < 0.1 * env_before


def test_bandlimited_saw_aliases_far_less_than_naive():
    sr = 44100
    pitch = 107.0      # 3951 Hz
    f0 = 440 * 2 ** ((pitch - 69) / 12)
    clean = render(score_of(Part("p", [Note(0, 4, pitch)], preset="saw")), sr=sr).audio[0]
    naive = render(score_of(Part("p", [Note(0, 4, pitch)], preset="saw",
                                 patch={"source": "naive_saw"})), sr=sr).audio[0]
    segment = slice(int(0.3 * sr), int(1.3 * sr))
    clean_db = off_harmonic_db(clean[segment], sr, f0)
    naive_db = off_harmonic_db(naive[segment], sr, f0)
    assert naive_db > -30          # the naive saw's aliases are loud...
    assert clean_db < -90          # ...the band-limited one's are far below
    assert clean_db < naive_db - 60


def test_peak_is_at_the_ceiling_never_above():
    chord = [Note(0, 4, p, 127) for p in (48, 52, 55, 60, 64, 67, 70, 72)]
    y = render(score_of(Part("a", chord, preset="saw"), Part("b", chord, preset="square"))).audio
    assert np.abs(y).max() <= CEILING
    assert np.abs(y).max() == pytest.approx(CEILING, rel=1e-9)


def test_without_normalisation_the_limiter_keeps_the_ceiling():
    chord = [Note(0, 4, p, 127) for p in (48, 52, 55, 60, 64, 67, 70, 72)]
    master = MasterSettings(normalize=False, gain_db=12.0)
    y = render(score_of(Part("a", chord, preset="saw")), master=master).audio
    assert np.abs(y).max() <= CEILING
    assert np.abs(y).max() > 0.5 * CEILING      # it is loud, not silenced


def test_render_lasts_until_the_release_has_decayed():
    sr = 22050
    s = score_of(Part("p", [Note(0, 1, 60)], preset="saw", patch={"envelope.release": 0.5}))
    y = render(s, sr=sr).audio
    # note-off at 0.5 s, release 0.5 s: the last sample is at 1.0 s and is silent
    assert y.shape == (2, round(0.5 * sr) + round(0.5 * sr) + 1)
    assert y[:, -1].tolist() == [0.0, 0.0]
    assert np.abs(y[:, -200:-1]).max() > 0


@pytest.mark.parametrize("chunk", [1, 777, 4096, 1 << 20])
def test_chunked_render_equals_one_shot(chunk):
    notes = [Note(i * 0.25, 0.7, 50 + (i * 7) % 24, 40 + i) for i in range(24)]
    s = score_of(Part("a", notes, preset="saw"), Part("b", notes[::3], preset="noise", pan=0.6),
                 tempo=TempoMap([(0, 140), (3, 90)]))
    one_shot = render(s, sr=22050, chunk_samples=1 << 24).audio
    chunked = render(s, sr=22050, chunk_samples=chunk if chunk > 1 else 997).audio
    assert np.array_equal(one_shot, chunked)


def test_same_seed_is_bit_identical_and_seeds_differ():
    s = score_of(Part("n", [Note(0, 1, 60), Note(1, 1, 64)], preset="noise"), seed=5)
    a = render(s, sr=22050).audio
    b = render(s, sr=22050).audio
    c = render(s, sr=22050, seed=6).audio
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_adding_a_part_does_not_change_another_parts_noise():
    n1 = Part("n1", [Note(0, 1, 60)], preset="noise", pan=-1.0)
    n2 = Part("n2", [Note(0, 1, 60)], preset="noise", pan=1.0)
    master = MasterSettings(normalize=False, gain_db=-20)
    alone = render(score_of(n1), sr=22050, master=master).audio
    both = render(score_of(Part("first", [Note(0, 1, 50)], preset="noise", pan=1.0), n1, n2),
                  sr=22050, master=master).audio
    # hard left holds only n1 (pan -1 puts nothing on the right channel, and vice versa)
    assert np.array_equal(alone[0], both[0])


def test_equal_power_pan():
    sr = 22050
    left = render(score_of(Part("p", [Note(0, 2, 69)], preset="sine", pan=-1.0)), sr=sr).audio
    centre = render(score_of(Part("p", [Note(0, 2, 69)], preset="sine", pan=0.0)),
                    sr=sr, master=MasterSettings(normalize=False)).audio
    assert np.abs(left[1]).max() == 0.0
    ratio_db = 20 * np.log10(np.abs(centre[0]).max() / np.abs(centre[1]).max())
    assert abs(ratio_db) < 1e-9
    # -3 dB per side at the centre relative to a hard-panned copy
    hard = render(score_of(Part("p", [Note(0, 2, 69)], preset="sine", pan=-1.0)),
                  sr=sr, master=MasterSettings(normalize=False)).audio
    assert 20 * np.log10(np.abs(centre[0]).max() / np.abs(hard[0]).max()) == pytest.approx(-3.01, abs=0.01)


@pytest.mark.parametrize("sr", [22050, 48000, 96000])
def test_sample_rates(sr):
    y = render(score_of(Part("p", [Note(0, 1, 69)], preset="sine")), sr=sr).audio
    f = peak_frequency(y[0, int(0.05 * sr):int(0.45 * sr)], sr, 300, 600)
    assert abs(cents(f, 440.0)) < 5


@pytest.mark.parametrize("sr", [8000, 22049, 96001, 44100.5])
def test_bad_sample_rate(sr):
    with pytest.raises(RenderError, match="sample rate"):
        render(score_of(Part("p", [Note(0, 1, 69)])), sr=sr)


def test_impossible_length_is_refused_before_rendering():
    s = score_of(Part("p", [Note(0, 1e6, 60)]))     # 500 000 s at 120 bpm
    with pytest.raises(RenderError, match="more than the limit"):
        RenderPlan(s, sr=44100, max_seconds=3600)


def test_empty_score_is_refused():
    with pytest.raises(RenderError, match="no notes"):
        render(score_of(Part("p", [])))


def test_unknown_preset_names_the_part():
    with pytest.raises(PatchError, match="part 'lead'.*unknown preset 'sawtooth'.*did you mean 'saw'"):
        render(score_of(Part("lead", [Note(0, 1, 60)], preset="sawtooth")))


def test_unknown_effect_names_the_key():
    with pytest.raises(PatchError, match=r"parts.p.effects\[0\].*unknown effect type 'reverbb'"):
        render(score_of(Part("p", [Note(0, 1, 60)], effects=[{"type": "reverbb"}])))


def test_parallel_jobs_are_bit_identical():
    notes = [Note(i * 0.5, 1.5, 40 + (i * 5) % 30, 60 + i % 50) for i in range(40)]
    s = score_of(*(Part(f"p{k}", notes[k::3], preset=preset)
                   for k, preset in enumerate(["saw", "noise", "square", "triangle"])))
    one = render(s, sr=22050, jobs=1, chunk_samples=5000).audio
    two = render(s, sr=22050, jobs=2, chunk_samples=5000).audio
    three = render(s, sr=22050, jobs=3).audio
    assert np.array_equal(one, two)
    assert np.array_equal(one, three)


def test_lanes_sum_to_the_notes_for_any_jobs_and_chunk_size(monkeypatch):
    # short lanes, so that many notes ring across lane boundaries
    from synth.render import plan as plan_module

    monkeypatch.setattr(plan_module, "LANE_SAMPLES", 3000)
    sr = 22050
    notes = [Note(i * 0.25, 1.0 + (i % 3) * 0.5, 48 + (i * 7) % 24, 50 + i % 60) for i in range(48)]
    s = score_of(Part("a", notes, preset="saw", gain_db=-6, pan=-0.5),
                 Part("b", notes[::2], preset="pad"),
                 Part("c", notes[1::3], preset="square", effects=[{"type": "chorus"}]))
    plan = RenderPlan(s, sr=sr)
    assert sum(lane.part == 0 for lane in plan.lanes) > 10
    one = render(s, sr=sr, jobs=1, chunk_samples=4096, master=MasterSettings(normalize=False)).audio
    for jobs, chunk in [(2, 4096), (3, 999), (2, 1 << 16)]:
        other = render(s, sr=sr, jobs=jobs, chunk_samples=chunk,
                       master=MasterSettings(normalize=False)).audio
        assert np.array_equal(one, other), (jobs, chunk)
    # the lanes add up to the notes rendered one by one and summed (only
    # rounding differs): part "a" alone, without pan or gain
    solo = score_of(Part("a", notes, preset="saw"))
    plan = RenderPlan(solo, sr=sr)
    mixed = np.concatenate([b.audio for b in raw_chunks(plan, 4096)], axis=1)[0]  # the raw mix
    pp = plan.parts[0]
    each = np.zeros(len(mixed))
    for i, start in enumerate(pp.starts):
        note = np.concatenate(list(plan.note_pieces(pp, i)))
        each[start:start + len(note)] += note * pp.left
    assert np.max(np.abs(mixed - each)) < 1e-13


def test_a_failing_worker_is_reported_not_hung(monkeypatch):
    import os

    from synth.render import parallel

    parent, real = os.getpid(), parallel.lane_chunks

    def broken(plan, lane_ids, chunk_samples, **claims):
        if os.getpid() != parent:               # only in the forked worker
            raise ValueError("kaboom")
        yield from real(plan, lane_ids, chunk_samples, **claims)

    s = score_of(*(Part(f"p{k}", [Note(0, 4, 60 + k)], preset="saw") for k in range(3)))
    monkeypatch.setattr(parallel, "lane_chunks", broken)
    with pytest.raises(RenderError, match="a render worker failed: ValueError: kaboom"):
        render(s, sr=22050, jobs=2)


def test_the_parent_renders_ahead_while_a_worker_is_late(monkeypatch):
    # a slow worker: the parent renders its own lanes ahead (copies of their
    # spans, kept while the notes sound on) instead of waiting, same samples
    import os
    import time

    from synth.render import parallel

    parent, real, kept_real = os.getpid(), parallel.lane_chunks, parallel._kept
    kept = []

    def slow(plan, lane_ids, chunk_samples, **claims):
        for blocks in real(plan, lane_ids, chunk_samples, **claims):
            if os.getpid() != parent:
                time.sleep(0.02)
            yield blocks

    def counted(blocks):
        kept.append(len(blocks))
        return kept_real(blocks)

    notes = [Note(i * 0.3, 1.5 + i % 3, 48 + (i * 5) % 24) for i in range(60)]
    s = score_of(Part("a", notes, preset="pad"), Part("b", notes[::2], preset="saw"),
                 Part("c", notes[1::3], preset="square", effects=[{"type": "chorus"}]))
    master = MasterSettings(normalize=False)
    one = render(s, sr=22050, jobs=1, chunk_samples=2048, master=master).audio
    monkeypatch.setattr(parallel, "lane_chunks", slow)
    monkeypatch.setattr(parallel, "_kept", counted)
    two = render(s, sr=22050, jobs=2, chunk_samples=2048, master=master).audio
    assert np.array_equal(one, two)
    assert sum(n > 0 for n in kept) > 5        # it did render ahead, notes sounding


def test_each_lane_is_claimed_by_exactly_one_process():
    import multiprocessing as mp

    from synth.render.parallel import Claims

    ctx = mp.get_context("fork")
    claims = Claims(300, ctx)
    results = ctx.Queue()

    def take(who):
        claim = claims.taker(who, lambda: False)
        results.put((who, [k for k in np.random.default_rng(who).permutation(300)
                           if claim(int(k))]))

    procs = [ctx.Process(target=take, args=(who,)) for who in (1, 2, 3)]
    for p in procs:
        p.start()
    taken = dict(results.get(timeout=30) for _ in procs)
    for p in procs:
        p.join()
    claim_here = claims.taker(4, lambda: False)
    assert not any(claim_here(k) for k in range(300))       # nothing left to take
    assert sorted(k for ks in taken.values() for k in ks) == list(range(300))
    assert all(claims.owner[k] == who for who, ks in taken.items() for k in ks)
    claims.close()


def test_lanes_starting_together_are_dealt_in_turns():
    import multiprocessing as mp

    from synth.render.parallel import Claims, claim_turns

    # three parts without effects: their lanes start in the same blocks
    sr = 22050
    notes = [Note(i * 0.5, 0.4, 60) for i in range(200)]
    plan = RenderPlan(score_of(*(Part(f"p{k}", notes, preset="saw") for k in range(3))), sr=sr)
    turns = claim_turns(plan, 4096, 2, lambda k: 2)
    blocks = [lane.start // 4096 for lane in plan.lanes]
    assert len(set(blocks)) < len(blocks)               # several lanes per block
    for b in set(blocks):
        assert [int(t) for t, x in zip(turns, blocks) if x == b] == [1, 2, 1][:blocks.count(b)]
    # never past the last process that will ask: lanes only one process asks for
    assert set(claim_turns(plan, 4096, 2, lambda k: 1)) == {1}
    # the first process to ask takes the lanes of turn 1, the second those of turn 2
    claims = Claims(len(turns), mp.get_context("fork"), turns)
    first, second = claims.taker(1, lambda: False), claims.taker(2, lambda: False)
    got_first = [k for k in range(len(turns)) if first(k)]
    got_second = [k for k in range(len(turns)) if second(k)]
    assert got_first == [k for k, t in enumerate(turns) if t == 1]
    assert got_second == [k for k, t in enumerate(turns) if t == 2]
    claims.close()


def test_claims_count_more_processes_than_a_byte_holds():
    # --jobs defaults to the machine's cores: 200 processes must number and take turns
    import multiprocessing as mp

    from synth.render.parallel import Claims, claim_turns

    notes = [Note(i * 0.01, 0.005, 60) for i in range(300)]
    plan = RenderPlan(score_of(*(Part(f"p{k}", notes, preset="saw") for k in range(300))),
                      sr=22050)
    turns = claim_turns(plan, 1 << 16, 200, lambda k: 200)
    assert int(turns.max()) == 200
    claims = Claims(len(turns), mp.get_context("fork"), turns)
    takers = [claims.taker(who, lambda: False) for who in range(1, 201)]
    k = int(np.flatnonzero(turns == 200)[0])
    assert [who for who, take in enumerate(takers, 1) if take(k)] == [200]
    assert int(claims.owner[k]) == 200
    claims.close()


def test_parallel_render_with_blocks_larger_than_the_ring(monkeypatch):
    # many parts sounding at once: a block's arrays overflow the shared ring
    # and must go through the pipe instead of waiting for room forever
    from synth.render import parallel

    monkeypatch.setattr(parallel, "LOOKAHEAD_BLOCKS", 1)
    parts = [Part(f"p{k}", [Note(0, 6, 40 + k), Note(2, 4, 52 + k)], preset="saw")
             for k in range(24)]
    s = score_of(*parts)
    one = render(s, sr=22050, jobs=1, chunk_samples=8192).audio
    two = render(s, sr=22050, jobs=2, chunk_samples=8192).audio
    assert np.array_equal(one, two)


def test_a_part_with_effects_is_cut_into_lanes_without_changing_a_sample(monkeypatch):
    # its notes are summed in note order whatever lanes and processes rendered them,
    # so the samples are those of the part rendered as one lane
    from synth.render import plan as plan_module

    sr = 22050
    notes = [Note(i * 0.25, 1.5 + (i % 3) * 0.5, 48 + (i * 7) % 24, 50 + i % 60) for i in range(40)]
    s = score_of(Part("wet", notes, preset="saw", pan=0.3,
                      effects=[{"type": "reverb", "rt60": 0.4}, {"type": "delay", "time": 0.1}]),
                 Part("dry", notes[::3], preset="pad"))
    master = MasterSettings(normalize=False)
    monkeypatch.setattr(plan_module, "LANE_SAMPLES", 1 << 40)
    assert sum(lane.part == 0 for lane in RenderPlan(s, sr=sr).lanes) == 1
    whole = render(s, sr=sr, jobs=1, chunk_samples=4096, master=master).audio
    monkeypatch.setattr(plan_module, "LANE_SAMPLES", 3000)
    assert sum(lane.part == 0 for lane in RenderPlan(s, sr=sr).lanes) > 10
    for jobs, chunk in [(1, 4096), (2, 4096), (3, 1000), (2, 1 << 16)]:
        cut = render(s, sr=sr, jobs=jobs, chunk_samples=chunk, master=master).audio
        assert np.array_equal(whole, cut), (jobs, chunk)


def test_the_lanes_of_parts_with_effects_start_in_different_blocks():
    # the same notes in three parts: without effects their lanes start together;
    # with effects each part's stretches are shifted, so the processes claim the
    # lanes a few at a time (the samples do not depend on the cut, test above)
    from synth.render.plan import LANE_SAMPLES

    sr = 22050
    notes = [Note(i * 0.5, 0.4, 60) for i in range(4 * LANE_SAMPLES // sr * 4)]   # 4 stretches
    dry = RenderPlan(score_of(*(Part(f"p{k}", notes, preset="saw") for k in range(3))), sr=sr)
    wet = RenderPlan(score_of(*(Part(f"p{k}", notes, preset="saw", effects=[{"type": "delay"}])
                                for k in range(3))), sr=sr)

    def starts(plan, part):
        return [lane.start for lane in plan.lanes if lane.part == part]
    assert starts(dry, 0) == starts(dry, 1) == starts(dry, 2)
    assert len({tuple(starts(wet, k)) for k in range(3)}) == 3
    assert all(len(starts(wet, k)) >= 4 for k in range(3))


def test_without_fork_jobs_render_in_one_process_with_the_same_samples(monkeypatch):
    import multiprocessing

    s = score_of(*(Part(f"p{k}", [Note(k * 0.5, 2, 55 + k)], preset="saw") for k in range(3)))
    one = render(s, sr=22050, jobs=1).audio
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(multiprocessing, "get_context",
                        lambda *a: (_ for _ in ()).throw(AssertionError("no worker may start")))
    assert np.array_equal(render(s, sr=22050, jobs=2).audio, one)


def test_rendering_fairlight_voices_with_reverb_and_delay_does_not_import_scipy_signal():
    # importing scipy.signal costs ~0.55 s and ~55 MB per process; the
    # renderer needs only SciPy's compiled filter kernel
    import subprocess
    import sys

    code = ("import sys\n"
            "from synth.render import render\n"
            "from synth.score import Metadata, Note, Part, Score, TempoMap\n"
            "parts = [Part('b', [Note(0, 1, 72)], preset='cmi_bell',\n"
            "              effects=[{'type': 'reverb', 'rt60': 0.5}, {'type': 'delay', 'time': 0.1}]),\n"
            "         Part('p', [Note(0, 1, 48)], preset='pluck')]\n"
            "y = render(Score(parts=parts, tempo=TempoMap.constant(120), metadata=Metadata(seed=1)),\n"
            "           sr=22050).audio\n"
            "print(int(y.shape[1] > 22050), int('scipy.signal' in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "0"]


def _every_effect_score():
    from synth.fx import EFFECTS

    every = [{"type": name} for name in sorted(EFFECTS)]
    notes = [Note(i * 0.5, 0.75, 52 + (i * 5) % 19) for i in range(8)]
    parts = (Part("wet", notes, preset="saw", effects=every),
             Part("dry", notes[::2], preset="square"))
    return Score(parts=parts, tempo=TempoMap.constant(120), metadata=Metadata(seed=3),
                 master_effects=({"type": "chorus", "mix": 0.5}, {"type": "delay", "time": 0.1}))


def test_a_plan_renders_the_same_twice_with_every_effect_type():
    from synth.fx import EFFECTS

    s = _every_effect_score()
    plan = RenderPlan(s, sr=22050)
    assert {e.name for e in plan.parts[0].chain.effects} == set(EFFECTS)
    first = np.concatenate([b.audio for b in raw_chunks(plan, 3000)], axis=1)
    second = np.concatenate([b.audio for b in raw_chunks(plan, 3000)], axis=1)
    assert first.shape == (2, plan.frames)
    assert np.array_equal(first, second)
    # the effects ring: a third of a second after the last note-off is not silent
    end_s = 8 * 0.25 + 0.375
    assert np.max(np.abs(first[:, int((end_s + 0.3) * 22050):])) > 1e-3
    # and the same plan in other block sizes and processes: still the same samples
    third = np.concatenate([b.audio for b in raw_chunks(plan, 4096, jobs=2)], axis=1)
    assert np.array_equal(first, third)


def test_a_chain_starts_fresh_for_every_pass():
    from synth.fx import build_chain

    chain = build_chain([{"type": "chorus"}, {"type": "reverb", "rt60": 0.3},
                         {"type": "delay", "time": 0.01}], sr=22050, bpm=120)
    x = np.random.default_rng(1).standard_normal((2, 2000))
    y1, state = chain.process(x, chain.start())
    y2, _ = chain.process(x, state)             # the same input, later in a pass: the tail adds
    y3, _ = chain.process(x, chain.start())     # a new pass
    assert np.array_equal(y1, y3)
    assert np.max(np.abs(y2 - y1)) > 0.01


def test_the_spool_gives_back_its_frames_in_blocks_of_any_size():
    from synth.render.output import Spool

    rng = np.random.default_rng(4)
    written = [rng.normal(size=(2, m)) for m in (5, 7, 1, 12, 3)]        # uneven blocks
    whole = np.concatenate(written, axis=1)
    spool = Spool()
    try:
        for block in written:
            spool.write(block)
        assert spool.frames == 28 and spool.peak == np.max(np.abs(whole))
        for size in (1, 4, 5, 28, 100):
            blocks = list(spool.blocks(size))
            assert [b.shape[1] for b in blocks] == [size] * (28 // size) + (
                [28 % size] if 28 % size else [])
            assert np.array_equal(np.concatenate(blocks, axis=1), whole)
        assert np.array_equal(spool.read_all(), whole)
    finally:
        spool.close()


def test_rendering_to_a_wav_file_does_not_import_soundfile(tmp_path):
    # WAVs are written by synth.audio.WavWriter; soundfile (cffi + libsndfile, ~20 ms
    # of every render's start-up) is imported only by what reads or writes other files
    import subprocess
    import sys

    code = ("import sys\n"
            "from synth.render import render_to_file\n"
            "from synth.score import Note, Part, Score, TempoMap\n"
            "score = Score(parts=(Part('p', [Note(0, 1, 60)], preset='sine'),),"
            " tempo=TempoMap.constant(120))\n"
            f"render_to_file(score, {str(tmp_path / 'x.wav')!r}, sr=22050, subtype='PCM_16')\n"
            "print(int('soundfile' in sys.modules))\n"
            "from synth.audio import read_audio\n"
            f"print(read_audio({str(tmp_path / 'x.wav')!r})[1])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "22050"], out.stdout + out.stderr


def test_read_ahead_keeps_order_raises_and_stops_when_closed():
    import threading

    from synth.render.parallel import read_ahead

    blocks = [np.full((2, 3), float(k)) for k in range(20)]
    assert all(np.array_equal(a, b) for a, b in zip(read_ahead(iter(blocks)), blocks, strict=True))

    def failing():
        yield blocks[0]
        raise RenderError("kaboom")
    got = read_ahead(failing())
    assert np.array_equal(next(got), blocks[0])
    with pytest.raises(RenderError, match="kaboom"):
        next(got)
    # a consumer that stops early: the thread ends (it does not wait on a full queue for ever)
    produced = []

    def endless():
        while True:
            produced.append(1)
            yield blocks[0]
    got = read_ahead(endless(), depth=2)
    next(got)
    got.close()
    assert not any(t.name == "synth-read-ahead" for t in threading.enumerate())
    assert len(produced) <= 5
