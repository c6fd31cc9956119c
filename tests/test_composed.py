"""Composed arrangements: speeding composition up must not change a single note.

For every bundled arrangement, the SHA-256 of what composing it gives (every
note of every part, exactly, as ``float.hex``; the parts' sound settings; the
tempo, meter and key changes; the provenance) is compared with
``tests/data/composed.json``.  The golden renders (``test_golden.py``) cover
excerpts of the sound; this covers every note of the whole pieces.  A commit
that changes a composition on purpose regenerates the file and says why::

    python tests/test_composed.py --update
"""

import hashlib
import json
import pathlib
import sys

import pytest

from synth.loader import load

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIGESTS = ROOT / "tests" / "data" / "composed.json"
PIECES = sorted(p.stem for p in (ROOT / "arrangements").glob("*.toml"))


def _num(x) -> str:
    return float(x).hex()


def digest(score) -> dict:
    """SHA-256 per part (notes and settings) and of the rest of the score, written out
    here field by field (not through the score's own repr or equality)."""
    out = {}
    for part in score.parts:
        h = hashlib.sha256()
        h.update(repr((part.name, part.preset, sorted((k, repr(v)) for k, v in part.patch.items()),
                       _num(part.gain_db), _num(part.pan),
                       [sorted((k, repr(v)) for k, v in e.items()) for e in part.effects],
                       part.generated, part.description)).encode())
        for n in part.notes:
            h.update(f"{_num(n.start)} {_num(n.duration)} {_num(n.pitch)} {int(n.velocity)} "
                     f"{[(_num(o), _num(v)) for o, v in n.bend]}\n".encode())
        out[f"part:{part.name}"] = h.hexdigest()
    rest = hashlib.sha256()
    rest.update(repr([(_num(c.beat), _num(c.bpm), c.ramp) for c in score.tempo.changes]).encode())
    rest.update(repr([(_num(c.beat), c.numerator, c.denominator) for c in score.meters.changes]
                     + [_num(score.meters.pickup)]).encode())
    rest.update(repr([(_num(k.beat), k.tonic, k.mode) for k in score.keys]).encode())
    rest.update(repr([sorted((k, repr(v)) for k, v in e.items())
                      for e in score.master_effects]).encode())
    m = score.metadata
    rest.update(repr((m.title, m.composer, m.arranger, m.seed,
                      sorted(m.provenance.items()))).encode())
    out["rest"] = rest.hexdigest()
    out["parts"] = [p.name for p in score.parts]
    out["notes"] = sum(len(p.notes) for p in score.parts)
    return out


@pytest.mark.parametrize("piece", PIECES)
def test_composition_unchanged(piece):
    expected = json.loads(DIGESTS.read_text())
    assert piece in expected, f"no stored digest for {piece}: run python {__file__} --update"
    got = digest(load(ROOT / "arrangements" / f"{piece}.toml"))
    want = expected[piece]
    assert got["parts"] == want["parts"]
    assert got["notes"] == want["notes"]
    changed = [k for k in want if got.get(k) != want[k]]
    assert not changed, f"{piece}: composition changed in {changed}"


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    DIGESTS.write_text(json.dumps({p: digest(load(ROOT / "arrangements" / f"{p}.toml"))
                                   for p in PIECES}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DIGESTS}")
