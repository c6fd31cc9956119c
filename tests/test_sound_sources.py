"""The source registry: a new source is one record, and the engine asks nothing else of it."""

import ast
import pathlib

import numpy as np
import pytest

from conftest import cents, peak_frequency
from synth.errors import PatchError
from synth.params import Param
from synth.patch import SOURCE_PARAMS, SOURCES, UNPITCHED_SOURCES, Patch, patch_partials
from synth.sound_sources import (SOURCES as REGISTRY, Source, get_source,
                                 register_source, source_names, unregister_source)
from synth.voice import note_length, render_note, render_note_pieces

SR = 22050
PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "synth"


def _octaves(note, a, m, freq, lfo_values, envelope):
    """The registry docstring's example: a sine plus its octave at ``octave_mix``."""
    ph = note.phases(freq, m)
    mix = note.patch.param("octave_mix")
    return np.sin(2 * np.pi * ph) + mix * np.sin(4 * np.pi * ph)


@pytest.fixture
def octaves():
    source = register_source(Source(
        "octaves", "a sine and its octave",
        params={"octave_mix": Param("float", 0.5, 0, 1, doc="level of the octave")},
        render=_octaves, segmentable=lambda patch: True))
    yield source
    unregister_source("octaves")


def _level_at(x, f):
    """Peak magnitude of the Hann-windowed, 8x zero-padded spectrum of ``x`` within 5 Hz of ``f``."""
    nfft = 8 * len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), nfft))
    freqs = np.fft.rfftfreq(nfft, 1.0 / SR)
    return spec[np.abs(freqs - f) < 5.0].max()


def test_a_new_source_is_one_record_and_every_layer_picks_it_up(octaves):
    patch = Patch("test-octaves", source="octaves", params={"octave_mix": 0.25})
    assert "octaves" in SOURCES and "octaves" in SOURCE_PARAMS and "octaves" not in UNPITCHED_SOURCES
    y = render_note(patch, pitch=57, velocity=127, gate_samples=SR // 2, sr=SR)
    assert len(y) == note_length(patch, SR // 2, sr=SR)
    steady = y[SR // 10:SR // 10 + 8192]
    assert abs(cents(peak_frequency(steady, SR), 220.0)) < 2
    # the octave sits at octave_mix: 20 log10(0.25) = -12 dB below the fundamental
    ratio_db = 20 * np.log10(_level_at(steady, 440.0) / _level_at(steady, 220.0))
    assert ratio_db == pytest.approx(-12.04, abs=0.3)
    # segmentable: pieces carry the phase, so they join into the same note
    pieces = list(render_note_pieces(patch, pitch=57, velocity=127, gate_samples=SR // 2, sr=SR,
                                     piece_samples=2048))
    assert len(pieces) > 3
    np.testing.assert_allclose(np.concatenate(pieces), y, atol=1e-12)


def test_a_new_source_validates_its_parameters_with_did_you_mean(octaves):
    with pytest.raises(PatchError, match=r"params\.octave_mix: 2 is above the maximum 1"):
        Patch("bad", source="octaves", params={"octave_mix": 2})
    with pytest.raises(PatchError, match=r"'params\.octave_mx'.*did you mean 'params\.octave_mix'"):
        Patch("bad", source="octaves", params={"octave_mx": 0.2})


def test_unknown_source_suggests_the_closest():
    with pytest.raises(PatchError, match=r"unknown source 'sawtooth'.*did you mean 'saw'"):
        Patch("bad", source="sawtooth")


def test_registering_a_name_twice_is_refused(octaves):
    with pytest.raises(AssertionError, match="registered twice"):
        register_source(octaves)


def test_patch_and_registry_agree():
    assert sorted(SOURCES) == source_names() == sorted(REGISTRY)
    assert sorted(UNPITCHED_SOURCES) == ["cmi_kit", "drums", "noise", "pink"]
    for name in source_names():
        assert dict(SOURCE_PARAMS[name]) == dict(get_source(name).params)


def test_patch_params_are_read_only():
    patch = Patch("p", source="pulse", params={"width": 0.3})
    with pytest.raises(TypeError):
        patch.params["width"] = 0.9
    assert patch.param("width") == 0.3


def test_ring_and_sine_unison_spectra():
    ratios, amps = patch_partials(Patch("p", source="unison", params={"shape": "sine"}))
    assert list(ratios) == [1.0] and list(amps) == [1.0]
    ratios, _ = patch_partials(Patch("p", source="ring", params={"shape": "square"}))
    assert list(ratios[:3]) == [1.0, 3.0, 5.0]          # the carrier's odd harmonics


_GENERIC = ("voice.py", "patch.py", "catalog.py", "docgen.py", "render/plan.py",
            "render/lanes.py", "render/parallel.py")


@pytest.mark.parametrize("module", _GENERIC)
def test_no_generic_module_tests_a_source_by_name(module):
    """`source == "x"` outside the registry is what the registry replaces."""
    path = PACKAGE / module
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) \
                and node.left.attr == "source":
            for comp in node.comparators:
                if isinstance(comp, ast.Constant) and isinstance(comp.value, str) \
                        or isinstance(comp, (ast.Tuple, ast.List, ast.Set)):
                    found.append(node.lineno)
    assert not found, f"{module} tests patch.source by name at lines {found}"
