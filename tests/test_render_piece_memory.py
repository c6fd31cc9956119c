"""Many long notes at once: their pieces shrink so the render stays within a memory budget."""

import numpy as np

from synth import Note, Part, Score, TempoMap
from synth.render import RenderPlan
from synth.render.plan import PIECE_MEMORY_BYTES, max_sounding, piece_samples_for
from synth.voice import SEGMENT_SAMPLES


def _held(count: int, beats: float) -> Score:
    notes = [Note(0, beats, 30 + i % 60, 80) for i in range(count)]
    return Score(parts=[Part("held", notes, preset="pluck")], tempo=TempoMap([(0, 120)]))


def test_max_sounding_counts_overlaps_by_hand():
    # three notes: 0-1 beat, 0.5-1.5 and 1-2 (touching the first: not overlapping it)
    notes = [Note(0, 1, 60), Note(0.5, 1, 62), Note(1, 1, 64)]
    plan = RenderPlan(Score(parts=[Part("p", notes, preset="sine")], tempo=TempoMap([(0, 60)])),
                      sr=22050)
    starts = plan.parts[0].starts
    assert list(starts) == [0, 11025, 22050]
    # each note rings on by its release, so all three overlap somewhere
    assert max_sounding(plan.parts) == 3
    assert piece_samples_for(plan.parts) == SEGMENT_SAMPLES


def test_a_thousand_held_notes_get_small_pieces():
    plan = RenderPlan(_held(1000, 2), sr=22050)
    assert max_sounding(plan.parts) == 1000
    assert plan.piece_samples == 4096
    few = RenderPlan(_held(4, 2), sr=22050)
    assert few.piece_samples == SEGMENT_SAMPLES
    assert 200 * 16384 * 8 * 3 <= PIECE_MEMORY_BYTES < 200 * 32768 * 8 * 3


def test_long_held_notes_are_rendered_in_the_small_pieces():
    # 1000 notes held 16 s (352800 samples, longer than one usual piece): whole usual pieces
    # would hold 1000 x 2^18 samples three times over (6.3 GB; a MIDI file of 1000 held
    # notes peaked at 6.3 GB RSS), 4096-sample pieces about 100 MB
    plan = RenderPlan(_held(1000, 32), sr=22050)
    assert plan.piece_samples == 4096
    pieces = plan.note_pieces(plan.parts[0], 0)
    first, second = next(pieces), next(pieces)
    assert len(first) == len(second) == 4096
    assert np.all(np.isfinite(first)) and np.max(np.abs(first)) > 0
