"""Every score-file example in the docs and in examples/ parses."""

import re
import tomllib
from pathlib import Path

import pytest

from synth.scorefile import load_score_file, parse_score_toml

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "score-format.md"


def toml_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```toml\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


def score_examples() -> list[Path]:
    out = []
    for path in sorted((ROOT / "examples").glob("**/*.toml")):
        with open(path, "rb") as f:
            if "arrangement" not in tomllib.load(f):
                out.append(path)
    return out


def test_the_doc_has_toml_examples():
    assert len(toml_blocks(DOC.read_text(encoding="utf-8"))) >= 2


@pytest.mark.parametrize("index", range(len(toml_blocks(DOC.read_text(encoding="utf-8")))))
def test_every_toml_block_in_the_reference_is_a_score_file(index):
    block = toml_blocks(DOC.read_text(encoding="utf-8"))[index]
    score = parse_score_toml(block, source=f"{DOC.name} block {index + 1}")
    assert score.note_count > 0


def test_the_reference_example_has_the_documented_timing():
    block = toml_blocks(DOC.read_text(encoding="utf-8"))[0]
    score = parse_score_toml(block)
    # 3/4 throughout: bar 5 beat 2 is beat 4 * 3 + 1 = 13
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0, 96), (13, 72)]
    # bells: 4 bars, then bars 5-6 (repeat of one bar: two bars), then two bars of tied A5
    bells = score.part("bells")
    assert bells.notes[-1].pitch == 81 and bells.notes[-1].start == 18 and bells.notes[-1].duration == 6
    drone = score.part("drone")
    assert [n.start for n in drone.notes] == [0, 0, 24, 24]
    assert drone.notes[-1].duration == 6


def test_there_is_an_example_score():
    assert any(p.name == "first-score.toml" for p in score_examples())


@pytest.mark.parametrize("path", score_examples(), ids=lambda p: p.name)
def test_every_example_score_file_parses(path):
    score = load_score_file(path)
    assert score.note_count > 0
    assert score.title


def test_first_score_is_20_to_30_seconds_and_uses_the_features():
    score = load_score_file(ROOT / "examples" / "first-score.toml")
    assert 20.0 <= score.duration_seconds <= 30.0
    assert len(score.parts) >= 3
    assert len(score.tempo.changes) >= 2 and len(score.meters.changes) >= 2
    pitches = [n.pitch for p in score.parts for n in p.notes]
    assert any(p != int(p) for p in pitches)          # a microtone
    velocities = {n.velocity for p in score.parts for n in p.notes}
    assert len(velocities) >= 3                        # dynamics
