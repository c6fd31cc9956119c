"""MusicXML import: notes, chords, ties, voices, tempo, meter, key, instruments, .mxl."""

from __future__ import annotations

import io
import zipfile

import pytest

from synth.errors import ScoreError
from synth.musicxml import read_musicxml, read_musicxml_report


def doc(parts_xml: str, part_list: str = "", header: str = "") -> bytes:
    if not part_list:
        part_list = '<score-part id="P1"><part-name>Flute</part-name></score-part>'
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
            f'"http://www.musicxml.org/dtds/partwise.dtd">\n'
            f'<score-partwise version="4.0">{header}<part-list>{part_list}</part-list>'
            f'{parts_xml}</score-partwise>').encode()


def n(step, octave, dur, *, alter=None, chord=False, tie=(), voice=None, rest=False,
      extra="", attrs=""):
    inner = "<chord/>" if chord else ""
    if rest:
        inner += "<rest/>"
    else:
        inner += f"<pitch><step>{step}</step>"
        inner += f"<alter>{alter}</alter>" if alter is not None else ""
        inner += f"<octave>{octave}</octave></pitch>"
    inner += f"<duration>{dur}</duration>"
    inner += "".join(f'<tie type="{t}"/>' for t in tie)
    inner += f"<voice>{voice}</voice>" if voice else ""
    return f"<note{attrs}>{inner}{extra}</note>"


ATTR = ('<attributes><divisions>2</divisions><key><fifths>-3</fifths><mode>minor</mode></key>'
        '<time><beats>4</beats><beat-type>4</beat-type></time></attributes>')


def notes(score, part=0):
    return [(x.start, x.duration, x.pitch, x.velocity) for x in score.parts[part].notes]


def test_notes_rests_chords_tempo_meter_key():
    measure = (ATTR + '<direction><direction-type><metronome><beat-unit>quarter</beat-unit>'
               '<per-minute>90</per-minute></metronome></direction-type>'
               '<sound tempo="90"/></direction>'
               + n("C", 4, 2) + n("D", 4, 1) + n(None, None, 1, rest=True)
               + n("E", 4, 4, alter=-1) + n("G", 4, 4, chord=True))
    score, msgs = read_musicxml_report(doc(f'<part id="P1"><measure number="1">{measure}'
                                           f'</measure></part>',
                                           header="<work><work-title>Etude</work-title></work>"))
    assert notes(score) == [(0.0, 1.0, 60.0, 80), (1.0, 0.5, 62.0, 80),
                            (2.0, 2.0, 63.0, 80), (2.0, 2.0, 67.0, 80)]
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0.0, 90.0)]
    assert [str(m) for m in score.meters.changes] == ["4/4"]
    assert [(k.tonic, k.mode) for k in score.keys] == [("C", "minor")]
    assert score.title == "Etude" and score.parts[0].name == "Flute"
    assert msgs == []


def test_tie_across_the_bar_line_merges_notes():
    m1 = ATTR + n("A", 4, 8, tie=("start",))
    m2 = n("A", 4, 2, tie=("stop",)) + n("B", 4, 2)
    score, _ = read_musicxml_report(doc(f'<part id="P1"><measure number="1">{m1}</measure>'
                                        f'<measure number="2">{m2}</measure></part>'))
    assert notes(score) == [(0.0, 5.0, 69.0, 80), (5.0, 1.0, 71.0, 80)]


def test_tie_chain_through_three_notes():
    m = ATTR + n("C", 5, 2, tie=("start",)) + n("C", 5, 2, tie=("stop", "start")) + \
        n("C", 5, 2, tie=("stop",))
    score, _ = read_musicxml_report(doc(f'<part id="P1"><measure>{m}</measure></part>'))
    assert notes(score) == [(0.0, 3.0, 72.0, 80)]


def test_two_voices_with_backup_and_forward():
    m = (ATTR + n("E", 5, 4, voice=1) + n("F", 5, 4, voice=1)
         + "<backup><duration>8</duration></backup>"
         + "<forward><duration>2</duration></forward>"
         + n("C", 4, 6, voice=2))
    m2 = n("G", 5, 8, voice=1)
    score, _ = read_musicxml_report(doc(f'<part id="P1"><measure>{m}</measure>'
                                        f'<measure>{m2}</measure></part>'))
    assert notes(score) == [(0.0, 2.0, 76.0, 80), (1.0, 3.0, 60.0, 80),
                            (2.0, 2.0, 77.0, 80), (4.0, 4.0, 79.0, 80)]


def test_tempo_change_mid_piece_and_meter_change():
    m1 = ATTR + '<sound tempo="60"/>' + n("C", 4, 8)
    m2 = ('<attributes><time><beats>3</beats><beat-type>4</beat-type></time></attributes>'
          '<direction><sound tempo="120"/></direction>' + n("D", 4, 6))
    score, _ = read_musicxml_report(doc(f'<part id="P1"><measure>{m1}</measure>'
                                        f'<measure>{m2}</measure></part>'))
    assert [(c.beat, c.bpm) for c in score.tempo.changes] == [(0.0, 60.0), (4.0, 120.0)]
    assert [(str(m), m.beat) for m in score.meters.changes] == [("4/4", 0.0), ("3/4", 4.0)]
    assert score.duration_seconds == pytest.approx(4.0 + 1.5)


def test_fractional_alter_is_a_microtone():
    m = ATTR + n("D", 4, 2, alter=-0.5) + n("F", 4, 2, alter=1.5)
    score, _ = read_musicxml_report(doc(f'<part id="P1"><measure>{m}</measure></part>'))
    assert [x.pitch for x in score.parts[0].notes] == [61.5, 66.5]


def test_dynamics_marks_and_attribute_set_velocity():
    m = (ATTR + '<direction><direction-type><dynamics><pp/></dynamics></direction-type>'
         '</direction>' + n("C", 4, 2)
         + '<direction><direction-type><dynamics><f/></dynamics></direction-type></direction>'
         + n("D", 4, 2) + n("E", 4, 2, attrs=' dynamics="50"'))
    score, _ = read_musicxml_report(doc(f'<part id="P1"><measure>{m}</measure></part>'))
    assert [x.velocity for x in score.parts[0].notes] == [33, 96, 45]


def test_grace_notes_left_out_and_cue_notes_take_time():
    m = (ATTR + '<note><grace/><pitch><step>B</step><octave>4</octave></pitch></note>'
         + n("C", 5, 2, extra="") + '<note><cue/><pitch><step>D</step><octave>5</octave>'
         '</pitch><duration>2</duration></note>' + n("E", 5, 2))
    score, _ = read_musicxml_report(doc(f'<part id="P1"><measure>{m}</measure></part>'))
    assert notes(score) == [(0.0, 1.0, 72.0, 80), (2.0, 1.0, 76.0, 80)]


def test_instruments_programs_and_percussion():
    part_list = ('<score-part id="P1"><part-name>Bass</part-name><midi-instrument id="I1">'
                 '<midi-channel>2</midi-channel><midi-program>34</midi-program>'
                 '</midi-instrument></score-part>'
                 '<score-part id="P2"><part-name>Kit</part-name>'
                 '<score-instrument id="D1"><instrument-name>Snare</instrument-name>'
                 '</score-instrument><score-instrument id="D2"><instrument-name>Kick'
                 '</instrument-name></score-instrument>'
                 '<midi-instrument id="D1"><midi-channel>10</midi-channel>'
                 '<midi-unpitched>39</midi-unpitched></midi-instrument>'
                 '<midi-instrument id="D2"><midi-channel>10</midi-channel>'
                 '<midi-unpitched>37</midi-unpitched></midi-instrument></score-part>'
                 '<score-part id="P3"><part-name>Piano</part-name></score-part>')
    drum = ('<note><unpitched><display-step>C</display-step><display-octave>5'
            '</display-octave></unpitched><duration>2</duration><instrument id="{}"/></note>')
    parts = (f'<part id="P1"><measure>{ATTR}{n("E", 2, 8)}</measure></part>'
             f'<part id="P2"><measure>{ATTR}{drum.format("D2")}{drum.format("D1")}</measure>'
             f'</part>'
             f'<part id="P3"><measure>{ATTR}{n("C", 4, 8)}</measure></part>')
    score, _ = read_musicxml_report(doc(parts, part_list))
    assert [(p.name, p.preset) for p in score.parts] == [("Bass", "bass"), ("Kit", "cmi_drums"),
                                                        ("Piano", "pluck")]
    assert notes(score, 1) == [(0.0, 1.0, 36.0, 80), (1.0, 1.0, 38.0, 80)]


def test_timewise_score_regrouped_by_part():
    xml = (b'<score-timewise><part-list><score-part id="A"><part-name>A</part-name>'
           b'</score-part></part-list>'
           b'<measure number="1"><part id="A">' + ATTR.encode() + n("C", 4, 8).encode() +
           b'</part></measure><measure number="2"><part id="A">' + n("D", 4, 8).encode() +
           b'</part></measure></score-timewise>')
    score, _ = read_musicxml_report(xml)
    assert notes(score) == [(0.0, 4.0, 60.0, 80), (4.0, 4.0, 62.0, 80)]


def _mxl(xml: bytes, container=True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if container:
            zf.writestr("META-INF/container.xml",
                        '<container><rootfiles><rootfile full-path="score/piece.musicxml"/>'
                        '</rootfiles></container>')
            zf.writestr("score/piece.musicxml", xml)
        else:
            zf.writestr("piece.xml", xml)
    return buf.getvalue()


@pytest.mark.parametrize("container", [True, False])
def test_compressed_mxl(tmp_path, container):
    xml = doc(f'<part id="P1"><measure>{ATTR}{n("G", 3, 8)}</measure></part>')
    path = tmp_path / "piece.mxl"
    path.write_bytes(_mxl(xml, container))
    score = read_musicxml(path)
    assert notes(score) == [(0.0, 4.0, 55.0, 80)]
    assert score.title == "piece"


def test_pickup_measure_is_bar_0_and_later_meter_changes_stay_on_its_grid():
    pickup = (ATTR + n("G", 4, 2))                                    # 1-beat anacrusis
    m1 = n("C", 5, 8)
    m2 = ('<attributes><time><beats>3</beats><beat-type>4</beat-type></time></attributes>'
          + n("D", 5, 6))
    score, msgs = read_musicxml_report(doc(f'<part id="P1"><measure number="0" implicit="yes">'
                                           f'{pickup}</measure><measure>{m1}</measure>'
                                           f'<measure>{m2}</measure></part>'))
    assert [x.start for x in score.parts[0].notes] == [0.0, 1.0, 5.0]
    # the short first measure is a pickup (bar 0), so the 3/4 at beat 5 starts
    # bar 2 on the bar grid and is kept (it used to be dropped as off the grid)
    assert score.meters.pickup == 1.0
    assert [(c.beat, str(c)) for c in score.meters.changes] == [(0.0, "4/4"), (5.0, "3/4")]
    assert not any("dropped" in m for m in msgs)


@pytest.mark.parametrize("data, match", [
    (b"<score-partwise><part-list>", r"not well-formed XML \(no element found\)"),
    (b"<opus/>", r"root element is <opus>, expected <score-partwise>"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><score-partwise/>',
     r"declares XML entities; refused"),
    (b"PK\x03\x04garbage", r"broken \.mxl archive"),
    (doc(f'<part id="P1"><measure number="7">{ATTR}{n("C", 4, "two")}</measure></part>'),
     r"part 'P1' measure 7: note duration is not a number: 'two'"),
    (doc('<part id="P1"><measure><attributes><divisions>0</divisions></attributes>'
         '</measure></part>'), r"part 'P1' measure 1: divisions must be > 0, got '0'"),
    (doc(f'<part id="P1"><measure>{ATTR}{n("H", 4, 2)}</measure></part>'),
     r"pitch step must be A\.\.G, got 'H'"),
])
def test_bad_documents_refused(data, match):
    with pytest.raises(ScoreError, match=match):
        read_musicxml_report(data)


def test_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.musicxml"
    path.write_bytes(b"<score-partwise>\n<part-list>\n</score-partwise>")
    with pytest.raises(ScoreError, match=r"bad\.musicxml:3:\d+: not well-formed XML"):
        read_musicxml(path)


def test_export_musicxml_to_midi_through_the_cli(tmp_path):
    from synth.cli import main
    from synth.midi import read_midi_report

    src = tmp_path / "tune.musicxml"
    src.write_bytes(doc(f'<part id="P1"><measure>{ATTR}<sound tempo="100"/>'
                        f'{n("C", 4, 4)}{n("E", 4, 2, alter=-0.5)}{n("G", 4, 2)}</measure>'
                        f'</part>'))
    out = tmp_path / "tune.mid"
    assert main(["export", str(src), "-o", str(out), "--quiet"]) == 0
    back, _ = read_midi_report(out)
    got = [(x.start, x.duration, x.pitch + (x.bend[0][1] if x.bend else 0))
           for x in back.parts[0].notes]
    assert got == [(0.0, 2.0, 60.0), (2.0, 1.0, 63.5), (3.0, 1.0, 67.0)]
    assert back.tempo.bpm_at(0) == pytest.approx(100.0)


# ---------------------------------------------------------------- fuzzing

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_FUZZ_SEED = doc(f'<part id="P1"><measure number="1">{ATTR}'
                 '<direction><sound tempo="90" dynamics="80"/></direction>'
                 + n("C", 4, 2, tie=("start",)) + n("C", 4, 2, tie=("stop",))
                 + n("E", 4, 4, alter=-1) + n("G", 4, 4, chord=True)
                 + '<backup><duration>8</duration></backup>' + n("C", 3, 8, voice=2)
                 + '</measure></part>').decode()
_VALUES = st.sampled_from(["0", "-1", "1e400", "nan", "inf", "", "x", "3+", "999999999999",
                           "0.0001", "1/2"])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, len(_FUZZ_SEED) - 1), st.integers(0, 3), _VALUES),
                min_size=1, max_size=4))
def test_mutated_documents_give_a_score_or_a_score_error(ops):
    """Text and attribute values replaced, characters deleted, truncation."""
    s = _FUZZ_SEED
    for pos, kind, val in ops:
        if not s:
            break
        pos %= len(s)
        if kind == 0:                       # replace an element's text
            i = s.find(">", pos)
            j = s.find("<", i)
            if 0 <= i < j:
                s = s[:i + 1] + val + s[j:]
        elif kind == 1:
            s = s[:pos] + s[pos + 1:]
        elif kind == 2:                     # replace an attribute value
            k = s.find('"', pos)
            m = s.find('"', k + 1)
            if 0 <= k < m:
                s = s[:k + 1] + val + s[m:]
        else:
            s = s[:pos]
    try:
        score, _ = read_musicxml_report(s.encode())
    except ScoreError as e:
        assert "\n" not in str(e)
    else:
        assert all(x.duration > 0 for p in score.parts for x in p.notes)


def test_huge_duration_refused():
    with pytest.raises(ScoreError, match=r"note duration is out of range: '1e400'"):
        read_musicxml_report(doc(f'<part id="P1"><measure>{ATTR}{n("C", 4, "1e400")}'
                                 f'</measure></part>'))
