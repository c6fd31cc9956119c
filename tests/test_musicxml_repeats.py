"""MusicXML: repeats, endings, D.C./D.S./Coda/Fine; hairpins, articulations, tempo words;
and ``synth info`` naming the beat of a mid-bar tempo change."""

import json
import pathlib
import subprocess
import sys


from synth.musicxml import playback_order, read_musicxml_report
from synth.notation import ARTICULATIONS

DATA = pathlib.Path(__file__).resolve().parent / "data"


def test_hand_written_ds_al_coda_plays_the_known_bar_order():
    # tests/data/repeats-ds-al-coda.musicxml: measure k holds one whole note, MIDI 60 + k
    score, warn = read_musicxml_report(DATA / "repeats-ds-al-coda.musicxml")
    played = [int(n.pitch) - 60 for n in score.parts[0].notes]
    assert played == [1, 2, 3, 4, 2, 3, 5, 6, 7, 8, 9, 6, 7, 10, 11]
    assert [n.start for n in score.parts[0].notes] == [4.0 * i for i in range(15)]
    assert score.tempo.changes[0].bpm == 100.0       # metronome: half = 50
    assert warn == []


def doc(measures: str) -> bytes:
    return ('<?xml version="1.0"?><score-partwise version="4.0"><part-list>'
            '<score-part id="P1"><part-name>A</part-name></score-part></part-list>'
            f'<part id="P1">{measures}</part></score-partwise>').encode()


ATTR = ("<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type>"
        "</time></attributes>")


def whole(k, extra=""):
    """A measure holding one whole note of MIDI 60 + k (k = 1..11 by semitones)."""
    steps = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    name = steps[k % 12]
    alter = "<alter>1</alter>" if "#" in name else ""
    return (f"<note><pitch><step>{name[0]}</step>{alter}<octave>{4 + k // 12}</octave></pitch>"
            f"<duration>4</duration><type>whole</type></note>{extra}")


def order_of(measures: list[str]) -> list[int]:
    body = "".join(f'<measure number="{i + 1}">{(ATTR if i == 0 else "") + m}</measure>'
                   for i, m in enumerate(measures))
    score, _ = read_musicxml_report(doc(body))
    return [int(n.pitch) - 60 for n in score.parts[0].notes]


FWD = '<barline location="left"><repeat direction="forward"/></barline>'


def bwd(times=None):
    t = f' times="{times}"' if times else ""
    return f'<barline location="right"><repeat direction="backward"{t}/></barline>'


def test_repeat_times_and_dc_al_fine():
    measures = [FWD + whole(1), whole(2) + bwd(3),
                whole(3) + '<direction><direction-type><words>Fine</words></direction-type>'
                           '<sound fine="yes"/></direction>',
                whole(4) + '<direction><direction-type><words>D.C. al Fine</words>'
                           '</direction-type><sound dacapo="yes"/></direction>']
    # three times through the repeat, on to the D.C.; back at the start the
    # repeat is not taken again, and the piece ends at Fine
    assert order_of(measures) == [1, 2, 1, 2, 1, 2, 3, 4, 1, 2, 3]


def test_words_alone_make_the_jumps():
    measures = [whole(1), whole(2) + '<direction><direction-type><segno/></direction-type>'
                                     '</direction>',
                whole(3) + '<direction><direction-type><words>Fine</words></direction-type>'
                           '</direction>',
                whole(4) + '<direction><direction-type><words>D.S. al Fine</words>'
                           '</direction-type></direction>']
    assert order_of(measures) == [1, 2, 3, 4, 2, 3]


def test_backward_repeat_without_forward_goes_to_the_start_and_endings_by_number():
    e = lambda n, kind: f'<barline location="left"><ending number="{n}" type="{kind}"/></barline>'
    stop = lambda n: f'<barline location="right"><ending number="{n}" type="stop"/></barline>'
    measures = [whole(1), e("1, 2", "start") + whole(2) + stop("1, 2")[:-10] + "</barline>"
                + bwd(3), e("3", "start") + whole(3) + stop("3"), whole(4)]
    assert order_of(measures) == [1, 2, 1, 2, 1, 3, 4]


def test_the_order_is_bounded_and_written_measures_are_kept_without_marks():
    assert playback_order([]) == []
    assert order_of([whole(1), whole(2)]) == [1, 2]


def test_hairpins_articulations_and_tempo_words_are_read():
    notes = "".join(f"<note><pitch><step>{s}</step><octave>4</octave></pitch><duration>1</duration>"
                    f"<type>quarter</type>{art}</note>"
                    for s, art in [("C", ""), ("D", ""), ("E", ""), ("F", "")])
    m1 = (ATTR + '<direction><direction-type><words>Allegro</words></direction-type></direction>'
          '<direction><direction-type><dynamics><p/></dynamics></direction-type></direction>'
          '<direction><direction-type><wedge type="crescendo"/></direction-type></direction>'
          + notes + '<direction><direction-type><wedge type="stop"/></direction-type></direction>')
    arts = "".join(f"<note><pitch><step>G</step><octave>4</octave></pitch><duration>1</duration>"
                   f"<type>quarter</type><notations><articulations><{a}/></articulations>"
                   f"</notations></note>" for a in ("staccato", "accent", "strong-accent", "tenuto"))
    m2 = '<direction><direction-type><dynamics><f/></dynamics></direction-type></direction>' + arts
    score, warn = read_musicxml_report(doc(f'<measure number="1">{m1}</measure>'
                                           f'<measure number="2">{m2}</measure>'))
    got = score.parts[0].notes
    assert [n.velocity for n in got[:4]] == [49, 65, 80, 96]       # p (49) rising to f (96)
    assert [n.duration for n in got[4:]] == [0.5, 1.0, 0.75, 1.0]
    assert [n.velocity for n in got[4:]] == [96, 96 + ARTICULATIONS[">"][2],
                                             96 + ARTICULATIONS["^"][2], 96 + ARTICULATIONS["-"][2]]
    assert score.tempo.changes[0].bpm == 132.0                     # Allegro
    assert warn == []


def test_info_prints_a_mid_bar_tempo_change_with_its_beat(tmp_path):
    path = tmp_path / "piece.toml"
    path.write_text('[score]\ntempo = 96\nmeter = "3/4"\n\n[[tempo]]\nbar = 2\nbeat = 2.5\nbpm = 72\n'
                    '\n[[tempo]]\nbar = 3\nbpm = 60\nramp = "linear"\n\n[[tempo]]\nbar = 4\nbpm = 90\n'
                    '\n[parts.a]\nnotes = "C4:2. | D4 | E4 | F4 |"\n')
    run = subprocess.run([sys.executable, "-m", "synth", "info", str(path)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("tempo"))
    assert line == ("tempo     96 bpm @ bar 1, 72 bpm @ bar 2 beat 2.5, "
                    "60 bpm @ bar 3 (linear ramp to the next), 90 bpm @ bar 4")
    run = subprocess.run([sys.executable, "-m", "synth", "info", str(path), "--json"],
                         capture_output=True, text=True)
    tempo = json.loads(run.stdout)["tempo"]
    assert tempo[1] == {"beat": 4.5, "bar": 2, "bar_beat": 2.5, "bpm": 72.0, "ramp": "step"}


def test_slurs_hold_each_note_into_the_next():
    def q(step, slur=""):
        notations = f"<notations><slur type=\"{slur}\" number=\"1\"/></notations>" if slur else ""
        return (f"<note><pitch><step>{step}</step><octave>4</octave></pitch><duration>1</duration>"
                f"<type>quarter</type>{notations}</note>")
    score, _ = read_musicxml_report(doc(f'<measure number="1">{ATTR}{q("C", "start")}{q("D")}'
                                        f'{q("E", "stop")}{q("F")}</measure>'))
    assert [n.duration for n in score.parts[0].notes] == [1.0625, 1.0625, 1.0, 1.0]
