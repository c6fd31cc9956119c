"""synth: compose and render Fairlight-CMI-style synthesizer music.

The public API, one line per entry (everything else lives in submodules):

Load and build scores
    load(path, seed=None, variation=0)     score file, arrangement, MIDI or MusicXML -> Score
    Score, Part, Note                      the immutable score model (times in beats;
                                           Note(0, 1, "E5") takes note names)
    TempoMap, MeterMap, MeterChange, KeyChange, Metadata
Instruments
    Patch, Envelope                        a voice description
    preset_names(), get_preset(name)       the named presets
    resolve_patch(name, overrides)         a preset with dotted-key overrides
Render
    render(score, sr=44100, seed=None)     -> RenderResult: .audio (2, n) float64 peaking at
                                           -1 dBFS, .sr, .seed, .stems (with stems=True)
    render_to_file(score, path, ...)       streaming, atomic WAV write -> RenderResult
    write(path, audio, sr)                 (channels, n) audio -> .wav/.flac/.ogg, atomically
    MasterSettings                         ceiling, normalisation, loudness, streaming limiter
Units and seeds
    midi_to_hz, hz_to_midi, note_name, parse_note_name
    seeds.rng(seed, *path)                 independent named random streams
Errors
    SynthError (base; also ValueError subclasses ScoreError, PatchError, ...)

Layout (imports flow downward only; ``tests/test_layering.py`` enforces it)
----------------------------------------------------------------------------
::

    cli, commands/, __init__             argv, exit codes, printing; this map (a command's
                                         module is imported only when it runs; the names
                                         above load on first use, so ``synth play``
                                         handing a piece to the engine imports no NumPy)
    batch                                many renders from a manifest
    loader                               any input file -> Score (each TOML file parsed once)
    arrangement, docgen, plot, catalog   arrangement files, generated docs, pictures
    render/                              score + patches -> stereo audio, in blocks:
        plan.py                            notes -> sample spans and lanes (plain data)
        lanes.py                           the streaming mix in one process
        parallel.py                        the same lane blocks from forked workers
        master.py                          normaliser, limiter, loudness (on raw blocks)
        output.py                          the mix through the master; render(),
                                           render_to_file(), stems, spool
    sources                              a score file, MIDI or MusicXML file -> Score
    voice, fx, transforms, notation, ... note -> samples, effect chains, Score -> Score (one
                                         Pipeline runs every chain of steps), readers
    score, patch, tuning, sound_sources/ the immutable models; the Source registry
    dsp/, seeds, audio, loudness,        pure kernels (state in, state out, typed), I/O, the
      params, cache                        one parameter spec, the composed-score cache
    errors, units, files, resources,     the bottom layer
      version

Example
-------
>>> import synth
>>> score = synth.Score(parts=[synth.Part("bells", [synth.Note(0, 1, 62), synth.Note(1, 1, 65)],
...                                       preset="triangle")])
>>> result = synth.render(score, sr=22050)
>>> result.audio.shape[0], result.sr
(2, 22050)
"""

from .version import __version__

import sys as _sys
import types as _types

from .errors import (ArrangementError, AudioFileError, MidiError, PatchError, RenderError,
                     ScoreError, SynthError, SynthWarning, TransformError)

__all__ = [
    "load", "Score", "Part", "Note", "TempoMap", "MeterMap", "MeterChange", "KeyChange",
    "Metadata", "Patch", "Envelope", "preset_names", "get_preset", "resolve_patch",
    "render", "render_to_file", "RenderResult", "write", "MasterSettings", "midi_to_hz", "hz_to_midi",
    "note_name", "parse_note_name", "seeds", "SynthError", "ScoreError", "PatchError", "RenderError",
    "MidiError", "ArrangementError", "TransformError", "AudioFileError", "SynthWarning",
]


def _load_api() -> None:
    """Import the public API into the package (once): NumPy, the renderer, the presets.

    The names are bound on first use (``synth.load``, ``from synth import
    Score``, ...), not when the package is imported: a command that needs
    none of them (``synth --version``, the ``synth play`` client of a
    running engine) starts without NumPy.
    """
    if "load" in globals():
        return
    from . import seeds
    from .loader import load
    from .patch import Envelope, Patch, get_preset, preset_names, resolve_patch
    from . import presets  # noqa: F401  (registers the preset table in synth.patch)
    from .render import MasterSettings, RenderResult, render, render_to_file
    from .audio import write
    from .score import KeyChange, Metadata, MeterChange, MeterMap, Note, Part, Score, TempoMap
    from .units import hz_to_midi, midi_to_hz, note_name, parse_note_name

    found = dict(locals())
    globals()["_render_function"] = found.pop("render")
    found.pop("presets")
    globals().update(found)


_loading = False


def __getattr__(name: str):
    global _loading
    if name == "seeds":                 # a submodule: imported alone
        import importlib

        return importlib.import_module(".seeds", __name__)
    if name in __all__ and not _loading:    # (while loading: a submodule's own import)
        _loading = True
        try:
            _load_api()
        finally:
            _loading = False
        if name in globals():
            return globals()[name]
    raise AttributeError(f"module 'synth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(_types.ModuleType):
    """The package module: ``synth.render`` is always the function :func:`render`.

    The subpackage of the same name (``synth/render/``) stays in
    ``sys.modules["synth.render"]``; importing it sets the package's
    attribute, which this ignores (eagerly imported, the function was
    bound after the subpackage, to the same effect).
    """

    @property
    def render(self):
        _load_api()
        return self.__dict__["_render_function"]

    @render.setter
    def render(self, value):
        if callable(value) and not isinstance(value, _types.ModuleType):
            self.__dict__["_render_function"] = value      # a caller patching it


_sys.modules[__name__].__class__ = _Package
