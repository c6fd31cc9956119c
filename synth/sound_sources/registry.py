"""The :class:`Source` record, the registry and the questions asked of it.

See the package docstring (:mod:`synth.sound_sources`) for how to add a source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

import numpy as np

from ..errors import PatchError
from ..params import Param, suggest

if TYPE_CHECKING:       # the patch model imports this module, never the other way round
    from ..patch import Patch

__all__ = ["Source", "NoteContext", "Steps", "CONTROL_SAMPLES", "SOURCES", "register_source",
           "unregister_source", "get_source", "source_names", "bakes_filter",
           "BAKE_MAX_Q"]

#: Pitch modulation (vibrato, glide, pitch envelope, bend) is evaluated every
#: this many samples and held in between (0.7 ms at 44.1 kHz).
CONTROL_SAMPLES = 32
#: A fixed filter is baked into a wavetable source's table up to this resonance
#: (the response then moves < 0.1 dB as the pitch moves; see synth.voice).
BAKE_MAX_Q = 2.0


class Steps:
    """A piece's pitch curve: one frequency (Hz) per control step of :data:`CONTROL_SAMPLES`.

    Parameters
    ----------
    values : np.ndarray [shape=(ceil(n / CONTROL_SAMPLES),)]
        Hz per control step.
    n : int
        Samples the curve covers.
    """

    __slots__ = ("values", "n")

    def __init__(self, values: np.ndarray, n: int):
        self.values, self.n = values, n

    def per_sample(self) -> np.ndarray:
        """The curve held sample by sample, shape (n,)."""
        return np.repeat(self.values, CONTROL_SAMPLES)[:self.n]


class NoteContext(Protocol):
    """What a source's ``render`` sees of the note being played (:class:`synth.voice`'s note).

    Attributes
    ----------
    patch : Patch
    sr : float
        Sample rate in Hz.
    note_hz : float
        The note's frequency before modulation.
    max_freq : float
        Highest frequency the pitch curve reaches (band limits).
    tone : tuple or None
        A filter to bake into a wavetable (``tone`` of
        :func:`synth.dsp.oscillators.read_shape`), or None.
    rng : numpy.random.Generator
        The note's random stream.
    gate : int
        Samples the key is held.
    phase : float
        Running phase in cycles, carried between pieces.
    source_state : object
        The source's own state, carried between pieces (starts as what
        ``prepare`` returned).
    """

    patch: "Patch"
    sr: float
    note_hz: float
    max_freq: float
    tone: Any
    rng: np.random.Generator
    gate: int
    phase: float
    source_state: Any

    def phases(self, freq: Any, m: int) -> np.ndarray:
        """Phase ramp of ``m`` samples at ``freq`` (Hz, scalar or per sample), carried."""

    def stepped(self, steps: Steps, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Phase runs of a control-rate pitch curve (see oscillators.stepped_phase), carried."""


#: ``render(note, start, m, freq, lfo_values, envelope) -> samples [shape=(m,)]``
RenderFn = Callable[[NoteContext, int, int, Any, "np.ndarray | None", "np.ndarray | None"],
                    np.ndarray]
PatchPredicate = Callable[["Patch"], bool]


def _no(_patch: "Patch") -> bool:
    return False


@dataclass(frozen=True)
class Source:
    """A sound source a patch may name, and everything the engine asks of it.

    Parameters
    ----------
    name : str
        The patch's ``source``.
    doc : str
        One line for the reference docs.
    params : mapping of str to Param
        Its parameters (``params.<name>`` in a patch), with defaults, units
        and ranges.
    render : callable, optional
        ``render(note, start, m, freq, lfo_values, envelope) -> np.ndarray``:
        samples ``start .. start + m - 1`` of the note, before the voice filter
        and amplitude envelope.  ``freq`` is the pitch in Hz: a float for a
        note at a fixed pitch, else per sample (np.ndarray [shape=(m,)]), or
        a :class:`Steps` curve when ``stepped_pitch``.  ``lfo_values``
        (per sample) is given when the patch has a per-sample LFO;
        ``envelope`` only when ``applies_envelope``.
    stepped_pitch : bool
        Takes a moving pitch as a control-rate :class:`Steps` curve (cheaper)
        instead of per-sample Hz.
    applies_envelope : bool
        Multiplies by the amplitude envelope itself (the Fairlight's VCA sits
        before its output filter); the voice then does not.
    segmentable : callable
        ``segmentable(patch) -> bool``: a long note may be rendered in pieces
        (``render`` continues from ``note.phase`` / ``note.source_state``).
        Otherwise ``render`` is called once for the whole note.
    wavetable : callable
        ``wavetable(patch) -> bool``: the source reads band-limited tables
        that a fixed voice filter can be baked into (``note.tone``).
    prepare : callable, optional
        ``prepare(patch, rng) -> (source_state, gain)``, once per note after
        the pitch curve: the initial ``note.source_state`` and a gain folded
        into the envelope.  Default ``(None, 1.0)``.
    check : callable, optional
        ``check(patch)``: cross-parameter rules (raise PatchError).
    pitched : bool
        False when the played pitch does not set a pitch (noise, drum kits).
    spectrum : callable, optional
        ``spectrum(patch) -> (ratios, amps)``: the steady partials (see
        :func:`synth.patch.patch_partials`); None = a generic 6-harmonic one.
    spectrum_exact : bool
        Whether ``spectrum`` is the source's real spectrum (else approximate).
    note_length : callable, optional
        ``note_length(patch, gate_samples, sr, pitch) -> int``: the note's
        length when the source decides it (a drum kit); None = the envelope's.
    whole_note : callable, optional
        ``whole_note(patch, pitch, sr, n, rng) -> np.ndarray [shape=(n,)]``: a
        source that is a complete instrument (no voice filter or envelope);
        the voice scales it by velocity and gain.
    envelope : callable, optional
        ``envelope(note, start, m) -> np.ndarray [shape=(m,)] or None``: the
        source's own amplitude envelope (levels 0..1) for samples ``start ..
        start + m - 1`` (the Fairlight's CMI-01A counter, which depends on
        the voice clock); None = the patch's envelope.  The voice scales it
        by velocity and gain as usual.  It must end within the note's length.
    """

    name: str
    doc: str
    params: Mapping[str, Param] = field(default_factory=dict)
    render: RenderFn | None = None
    stepped_pitch: bool = False
    applies_envelope: bool = False
    segmentable: PatchPredicate = _no
    wavetable: PatchPredicate = _no
    prepare: Callable[["Patch", np.random.Generator], tuple[Any, float]] | None = None
    check: Callable[["Patch"], None] | None = None
    pitched: bool = True
    spectrum: Callable[["Patch"], tuple[np.ndarray, np.ndarray]] | None = None
    spectrum_exact: bool = True
    note_length: Callable[["Patch", int, float, "float | None"], int] | None = None
    whole_note: Callable[..., np.ndarray] | None = None
    envelope: Callable[[NoteContext, int, int], "np.ndarray | None"] | None = None

    def __post_init__(self) -> None:
        if (self.render is None) == (self.whole_note is None):
            raise AssertionError(f"source {self.name!r} needs exactly one of render, whole_note")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


_REGISTRY: dict[str, Source] = {}
#: name -> Source, read-only (register with :func:`register_source`).
SOURCES: Mapping[str, Source] = MappingProxyType(_REGISTRY)


def register_source(source: Source) -> Source:
    """Add ``source`` to the registry (a name may be registered once)."""
    if source.name in _REGISTRY:
        raise AssertionError(f"source {source.name!r} registered twice")
    _REGISTRY[source.name] = source
    return source


def unregister_source(name: str) -> None:
    """Remove source ``name`` (for tests and plug-ins that register temporarily)."""
    _REGISTRY.pop(name, None)


def source_names() -> list[str]:
    """Names of every registered source, sorted."""
    return sorted(_REGISTRY)


def get_source(name: str) -> Source:
    """The source called ``name``; PatchError with a "did you mean" if there is none."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise PatchError(f"unknown source {name!r}" + suggest(name, _REGISTRY)
                         + f"; sources: {', '.join(source_names())}") from None


def bakes_filter(patch: "Patch") -> bool:
    """Whether ``patch``'s filter can be baked into its wavetable.

    True for a filter that stays put (no envelope, no LFO on the cutoff)
    with resonance up to :data:`BAKE_MAX_Q`, on a wavetable source (see
    :attr:`Source.wavetable`); a note then bakes it if its pitch also stays
    within a quarter-tone (see ``synth.voice``).
    """
    f, lfo = patch.filter, patch.lfo
    return bool(f.active and not f.env_amount and not (lfo.active and lfo.to_cutoff_octaves)
                and f.resonance <= BAKE_MAX_Q and get_source(patch.source).wavetable(patch))
