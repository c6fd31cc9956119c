"""Command-line values that used to be accepted silently: each is now exit 2
with one line naming the option."""

import re

import pytest

from synth.cli import main


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "argument --seed: a seed is a whole number >= 0, got -1"),
    (["--variation", "-3"], "argument --variation: a seed is a whole number >= 0, got -3"),
    (["--bars", "2-"], "argument --bars: expected A-B \\(bar numbers\\), got '2-'"),
    (["--max-seconds", "nan"], "the render length limit must be a finite number of seconds > 0, got nan"),
    (["--max-seconds", "0"], "the render length limit must be a finite number of seconds > 0, got 0.0"),
])
def test_bad_values_exit_2(tmp_path, capsys, args, message):
    src = tmp_path / "s.toml"
    src.write_text('[score]\ntempo = 120\nmeter = "4/4"\n[parts.a]\nnotes = "A4:4 B4 C5 D5 | E5:1 |"\n')
    out = tmp_path / "o.wav"
    with pytest.raises(SystemExit) as exc:
        code = main(["render", str(src), "-o", str(out), *args])
        raise SystemExit(code)
    assert exc.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]     # after argparse's usage lines
    assert re.search(message, last), last
    assert not out.exists()


def test_good_values_still_render(tmp_path):
    src = tmp_path / "s.toml"
    src.write_text('[score]\ntempo = 120\nmeter = "4/4"\n[parts.a]\nnotes = "A4:4 B4 C5 D5 | E5:1 |"\n')
    assert main(["render", str(src), "-o", str(tmp_path / "o.wav"), "--seed", "0",
                 "--bars", "2-2", "--max-seconds", "10", "--quiet"]) == 0
