"""Sound sources: the registry of what a patch's ``source`` may name.

Every source is one :class:`Source` record that says everything the engine
asks of it, so nothing else in the package tests a source by name:

- its parameters (``params.<name>`` in a patch), as :class:`synth.params.Param`
  with default, unit and range (the patch model checks them; the reference
  docs list them);
- its ``render`` function (``render(note, start, m, freq, lfo_values,
  envelope) -> samples``), or ``whole_note`` for a complete instrument such
  as the drum kit;
- its note-length rule (``note_length``; default: the amplitude envelope's);
- whether a long note may be rendered in pieces (``segmentable``), whether
  a fixed filter can be baked into its tables (``wavetable``), whether it
  takes a control-rate pitch curve (``stepped_pitch``) or applies the
  envelope itself (``applies_envelope``);
- its steady spectrum for the roughness analysis (``spectrum``), and
  whether it follows the played pitch (``pitched``).

:mod:`synth.voice` is the generic note pipeline around ``render``: pitch
curve -> source -> filter -> envelope x velocity x gain.

How to add a source
-------------------
Write its render function and register it, in one module (an existing one of
this package, e.g. :mod:`synth.sound_sources.oscillators` for an oscillator,
or a new one imported below)::

    def _octaves(note, a, m, freq, lfo_values, envelope):
        # a sine plus its octave; ``freq`` is Hz (a float or per sample)
        ph = note.phases(freq, m)           # carried between pieces
        mix = note.patch.param("octave_mix")
        return np.sin(2 * np.pi * ph) + mix * np.sin(4 * np.pi * ph)

    register_source(Source(
        "octaves", "a sine and its octave",
        params={"octave_mix": Param("float", 0.5, 0, 1, doc="level of the octave")},
        render=_octaves, segmentable=lambda patch: True))

Then name it in a preset (:mod:`synth.presets`) or a score's patch
(``source = "octaves"``).  Patch validation, ``synth explain``, the reference
docs, the render planner and piece-by-piece rendering pick it up from the
record (``tests/test_sound_sources.py`` does exactly this).
"""

from __future__ import annotations

from .registry import (BAKE_MAX_Q, CONTROL_SAMPLES, SOURCES, NoteContext, Source, Steps,
                       bakes_filter, get_source, register_source, source_names,
                       unregister_source)

# the built-in sources register themselves on import
from . import oscillators, spectral, modulated, fairlight, drums, cmi_kit  # noqa: E402,F401  isort:skip

__all__ = ["Source", "NoteContext", "Steps", "CONTROL_SAMPLES", "SOURCES", "BAKE_MAX_Q",
           "register_source", "unregister_source", "get_source", "source_names",
           "bakes_filter"]
