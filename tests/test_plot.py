"""synth plot: the PNG exists at the exact pixel size, shows the parts, and a
missing matplotlib is a clear one-line error (exit 2)."""

import struct
import sys

import numpy as np
import pytest

from synth.cli import main
from synth.plot import stream_spectrogram

SCORE = """\
[score]
title = "Plot test"
seed = 3
tempo = 120
meter = "4/4"

[parts.lead]
preset = "saw"
notes = "mf D5:4 F5 E5 A5 | D5:2 C5:2 |"

[parts.bass]
preset = "triangle"
notes = "D3:1 | A2:1 |"
"""


def png_size(path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk, read by hand."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def score_file(tmp_path):
    p = tmp_path / "piece.toml"
    p.write_text(SCORE)
    return p


def colour_pixels(path, hex_colour: str, tol: float = 0.08) -> int:
    """Pixels within ``tol`` (per RGB channel, 0..1) of ``hex_colour`` (any alpha blend
    over white counts when it keeps the hue: compared after undoing the blend)."""
    from matplotlib.image import imread
    img = imread(str(path))[..., :3]
    target = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.sum(np.all(np.abs(img - target) < tol, axis=-1)))


def test_png_has_the_requested_pixel_size_and_shows_both_parts(score_file, tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["plot", str(score_file), "-o", str(out), "--width", "777",
                 "--height", "555"]) == 0
    assert png_size(out) == (777, 555)
    err = capsys.readouterr().err
    assert "piano roll, roughness, spectrogram" in err
    # the legend patches are drawn in the part colours at full opacity
    assert colour_pixels(out, "#0072B2") > 50       # first part
    assert colour_pixels(out, "#E69F00") > 50       # second part
    # no temporary files left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "piece.toml"]


def test_default_size_and_no_audio(score_file, tmp_path, capsys):
    out = tmp_path / "q.png"
    assert main(["plot", str(score_file), "-o", str(out), "--no-audio"]) == 0
    assert png_size(out) == (1600, 1000)
    assert "spectrogram" not in capsys.readouterr().err


def test_existing_file_needs_force(score_file, tmp_path, capsys):
    out = tmp_path / "r.png"
    out.write_bytes(b"keep me")
    assert main(["plot", str(score_file), "-o", str(out), "--no-audio"]) == 2
    assert "file exists" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["plot", str(score_file), "-o", str(out), "--no-audio", "--force",
                 "--width", "400", "--height", "300"]) == 0
    assert png_size(out) == (400, 300)


def test_bad_size_is_a_usage_error(score_file, tmp_path, capsys):
    assert main(["plot", str(score_file), "-o", str(tmp_path / "s.png"), "--width", "10"]) == 2
    assert "width must be an integer 200..10000 pixels, got 10" in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()


def test_missing_matplotlib_exits_2_with_install_hint(score_file, tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)    # 'import matplotlib' now fails
    out = tmp_path / "t.png"
    assert main(["plot", str(score_file), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("synth: error: ")
    assert "matplotlib" in err and "pip install 'synth-liquidsky[plot]'" in err
    assert not out.exists()


def test_spectrogram_finds_a_sine_and_does_not_depend_on_block_size():
    sr = 22050
    t = np.arange(sr * 2) / sr
    x = np.vstack([np.sin(2 * np.pi * 1000.0 * t)] * 2)
    one = stream_spectrogram([x], total_samples=x.shape[1], sr=sr, n_fft=1024)
    cuts = [0, 1, 777, 5000, 5001, 30000, x.shape[1]]
    many = stream_spectrogram([x[:, a:b] for a, b in zip(cuts, cuts[1:])],
                              total_samples=x.shape[1], sr=sr, n_fft=1024)
    np.testing.assert_array_equal(one.power_db, many.power_db)
    middle = one.power_db[:, one.power_db.shape[1] // 2]
    assert abs(one.freqs[np.argmax(middle)] - 1000.0) <= sr / 1024
    # far from the sine the Hann window's sidelobes are more than 60 dB down
    assert middle[np.abs(one.freqs - 1000.0) > 300].max() < -60


def test_spectrogram_columns_are_bounded_for_long_input():
    sr = 22050
    total = sr * 600                       # ten minutes, streamed in blocks of silence + a tick
    blocks = (np.zeros((2, 1 << 16)) for _ in range(-(-total // (1 << 16))))
    spec = stream_spectrogram(blocks, total_samples=total, sr=sr, max_frames=1200)
    assert spec.power_db.shape[1] <= 1200
    assert spec.seconds[-1] <= total / sr
