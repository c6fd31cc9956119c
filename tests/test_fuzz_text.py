"""Fuzzing the text formats (issue 15): score files and arrangements, generated and mutated.

Each example is a valid seed file changed by a few mutations: a number replaced by an
extreme value (0, negatives, 1e308, inf, nan, 1e-300, 99999999999, huge meters),
nesting and repetition bombs spliced into the notation, characters inserted, deleted
or swapped, lines duplicated.  Every outcome must be a Score or a SynthError (one
line) -- never another exception -- within a time and memory budget; a Score's first
bars are rendered, and every sample must be finite and within full scale.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synth.arrangement import load_arrangement
from synth.errors import SynthError
from synth.render import MasterSettings, render
from synth.score import Score
from synth.scorefile import parse_score_toml

MAX_SECONDS_PER_FILE = 3.0
MAX_PEAK_BYTES = 96 * 1024 * 1024
SR = 22050

SCORE_SEED = """\
[score]
title = "Fuzz"
seed = 4
tempo = 132
meter = "3/4"
key = "E minor"

[[tempo]]
bar = 3
bpm = 96

[[meter]]
bar = 4
meter = "5/8"

[parts.lead]
preset = "cmi_bell"
gain_db = -6.0
pan = 0.25
effects = [{type = "delay", time = 0.25, feedback = 0.3, mix = 0.2}]
notes = \"\"\"
  mf E5:4 (3 F#5:8 G5 A5) B5:4 | <E4 G4 B4>:2.~ | <E4 G4 B4>:4 r:4 [D5:8 C5]*1 |
  E5:8 D5 C5 B4 A4 |
\"\"\"

[parts.bass]
preset = "saw"
gain_db = -9.0
pan = -0.3
patch.filter.cutoff = 900
notes = "E2:2. | B1:2. | E2:4 G2 B2 | E2:8*5 |"
"""

SOURCE = SCORE_SEED.replace('title = "Fuzz"', 'title = "Source"')

ARRANGEMENT_SEED = """\
[arrangement]
title = "Fuzzed"
seed = 2
source = "source.toml"
tempo = 120

[[transform]]
name = "transpose"
semitones = 3

[[transform]]
name = "humanise"
jitter_beats = 0.02
velocity_jitter = 8

[parts.lead]
preset = "sine"
gain_db = -4
pan = 0.1
effects = [{type = "reverb", rt60 = 1.2, mix = 0.2}]
"""

EXTREMES = ["0", "-1", "-0.0", "1e308", "-1e308", "inf", "-inf", "nan", "1e-300",
            "99999999999", "1e18", "4294967297", "0.0000001", "65536", "-99999999999",
            '"1000000/4"', '"0/4"', '""', "[]", "{}", "true",
            "1", "2", "0.5", "7", "12", "100", "0.25"]          # plausible values: more get through
BOMBS = ["[C4:64]*1999999", "C4:64*99999999", "(99999999999 C4:8 D4)", "[" * 300 + "C4" + "]" * 300,
         "(3 " * 200 + "C4:8" + ")" * 200, "|: C4 :|x99999999", "C4:1~" * 5000,
         "<" + " ".join(["C4"] * 3000) + ">:1", "R*99999999", "C99:4", "Cb-1:4", "C4:0",
         "C4:128", "C4:4........", "p cresc C4 D4", "{ C4 D4"]
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


def _mutate(text: str, ops) -> str:
    for op in ops:
        kind = op[0]
        if kind == "number":
            spots = list(NUMBER.finditer(text))
            if spots:
                m = spots[op[1] % len(spots)]
                text = text[:m.start()] + EXTREMES[op[2] % len(EXTREMES)] + text[m.end():]
        elif kind == "bomb":
            at = text.find('notes = "')
            if at >= 0:
                at += len('notes = "')
                text = text[:at] + BOMBS[op[1] % len(BOMBS)] + " " + text[at:]
        elif kind == "insert":
            at = op[1] % (len(text) + 1)
            text = text[:at] + op[2] + text[at:]
        elif kind == "delete":
            at = op[1] % max(len(text), 1)
            text = text[:at] + text[at + 1 + op[2] % 8:]
        elif kind == "duplicate":
            lines = text.splitlines(keepends=True)
            if lines:
                i = op[1] % len(lines)
                lines.insert(i, lines[i] * (1 + op[2] % 3))
                text = "".join(lines)
    return text


number_op = st.tuples(st.just("number"), st.integers(0, 200), st.integers(0, 200))
text_ops = st.lists(st.one_of(
    number_op, number_op, number_op,          # weighted: these keep the file's structure
    st.tuples(st.just("bomb"), st.integers(0, 100)),
    st.tuples(st.just("insert"), st.integers(0, 2000),
              st.text(alphabet="[]{}()<>|:*~.,=\"'#%-+_ 0123456789abcCDEFGrR\n\t\\", max_size=12)),
    st.tuples(st.just("delete"), st.integers(0, 2000), st.integers(0, 20)),
    st.tuples(st.just("duplicate"), st.integers(0, 200), st.integers(0, 5)),
), min_size=1, max_size=3)

OUTCOMES: dict[str, int] = {}


def _check_render(score: Score) -> None:
    """Render the first two bars: finite samples within full scale, or a SynthError."""
    try:
        excerpt = score.excerpt(1, max(1, min(2, score.bar_count)))
        y = render(excerpt, sr=SR, max_seconds=20.0, master=MasterSettings()).audio
    except SynthError as e:
        assert "\n" not in str(e)
        OUTCOMES["render refused"] = OUTCOMES.get("render refused", 0) + 1
        return
    assert np.isfinite(y).all()
    assert np.max(np.abs(y)) <= 1.0
    OUTCOMES["rendered"] = OUTCOMES.get("rendered", 0) + 1


def _within_budget(load) -> object:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = load()
        assert isinstance(result, Score)
        outcome = "score"
    except SynthError as e:
        assert str(e) and "\n" not in str(e)
        result, outcome = None, "refused"
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1
    assert elapsed < MAX_SECONDS_PER_FILE, elapsed
    assert peak < MAX_PEAK_BYTES, peak
    return result


def test_seeds_are_valid(tmp_path):
    assert parse_score_toml(SCORE_SEED, "fuzz.toml").note_count > 10
    folder = str(tmp_path)
    with open(os.path.join(folder, "source.toml"), "w") as f:
        f.write(SOURCE)
    with open(os.path.join(folder, "arr.toml"), "w") as f:
        f.write(ARRANGEMENT_SEED)
    assert load_arrangement(os.path.join(folder, "arr.toml")).note_count > 10


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text_ops, st.booleans())
def test_mutated_score_files_give_a_score_or_a_synth_error(ops, do_render):
    text = _mutate(SCORE_SEED, ops)
    score = _within_budget(lambda: parse_score_toml(text, "fuzz.toml"))
    if score is not None and do_render:
        _check_render(score)


# one folder for every example (Hypothesis runs them in one test call); removed at exit
_ARR_TMP = tempfile.TemporaryDirectory(prefix="synth-fuzz-arr-")
_ARR_DIR = _ARR_TMP.name
with open(os.path.join(_ARR_DIR, "source.toml"), "w") as _f:
    _f.write(SOURCE)


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text_ops, st.booleans())
def test_mutated_arrangements_give_a_score_or_a_synth_error(ops, do_render):
    text = _mutate(ARRANGEMENT_SEED, ops)
    path = os.path.join(_ARR_DIR, "arr.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    score = _within_budget(lambda: load_arrangement(path))
    if score is not None and do_render:
        _check_render(score)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                              st.text(max_size=8), st.booleans()),
                    lambda kids: st.one_of(st.lists(kids, max_size=4),
                                           st.dictionaries(st.sampled_from(
                                               ["notes", "preset", "tempo", "meter", "bar",
                                                "gain_db", "pan", "effects", "type", "x"]),
                                               kids, max_size=4)),
                    max_leaves=30))
def test_generated_tables_give_a_score_or_a_synth_error(value):
    # arbitrary TOML values dropped into the places a score file reads
    import json

    def toml_value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == float("inf") else
                                         "-inf" if v == float("-inf") else repr(v))
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(toml_value(x) for x in v) + "]"
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"

    text = SCORE_SEED.replace('gain_db = -6.0', f"gain_db = {toml_value(value)}")
    text = text.replace('tempo = 132', f"tempo = {toml_value(value)}", 1) \
        if isinstance(value, (int, float)) else text
    _within_budget(lambda: parse_score_toml(text, "fuzz.toml"))


def test_report_outcomes():
    # run last in this file: the counts for the closing note (pytest -s shows them)
    print("fuzz outcomes:", dict(sorted(OUTCOMES.items())))
