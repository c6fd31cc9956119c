"""Rendered files get the mode a plain open() would give them: 0o666 less the
umask (they were 0o600, the mode of the temporary file they are renamed from)."""

import os
import stat

import pytest

from synth.cli import main
from synth.score import Note, Part, Score
from synth.render import render_to_file


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_honour_the_umask(tmp_path, umask, mode):
    score = Score(parts=(Part("a", (Note(0, 0.5, "A4"),)),))
    old = os.umask(umask)
    try:
        render_to_file(score, tmp_path / "a.wav", sr=22050)
        (tmp_path / "b.toml").write_text('[score]\ntempo = 120\n[parts.a]\nnotes = "A4:8"\n')
        assert main(["export", str(tmp_path / "b.toml"), "-o", str(tmp_path / "b.mid")]) == 0
    finally:
        os.umask(old)
    for name in ("a.wav", "b.mid"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
