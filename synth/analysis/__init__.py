"""Measurements of scores: sensory roughness (dissonance), normalised for
loudness, and a driver that tunes a transform to a requested roughness.

Every roughness figure below is normalised (Sethares' pair sum divided by the
energy of the distinct sounding partials; see :mod:`synth.analysis.roughness`)
and uses the presets' real partials unless ``partials_for`` says otherwise.

Public API
----------
pair_roughness(f1, f2, a1, a2)                     Sethares' Plomp-Levelt curve (raw, arrays)
spectrum_roughness(freqs, amps, *, raw=False) -> float
default_partials(preset) -> (ratios, amps)         the preset's real spectrum
roughness_timeline(score, *, partials_for=None) -> RoughnessTimeline   (.values, .raw, .energy)
mean_roughness(score, *, partials_for=None) -> float
windowed_roughness(score, *, window_bars=8, partials_for=None, timeline=None) -> WindowedRoughness
bar_roughness(score, *, partials_for=None) -> ndarray (bars,)
analyze_roughness(score, *, partials_for=None) -> RoughnessReport
interval_class_counts(score) -> ndarray (7,)
drive_to_roughness(score, step, param, target, *, lo, hi, seed) -> DriveResult
"""

from .roughness import (SETHARES, PartialsFor, RoughnessReport, RoughnessTimeline, WindowedRoughness,
                        analyze_roughness, bar_roughness, default_partials, harmonic_partials,
                        interval_class_counts, mean_roughness, pair_roughness, roughness_timeline,
                        spectrum_energy, spectrum_roughness, windowed_roughness)
from .target import DriveResult, drive_to_roughness

__all__ = ["SETHARES", "PartialsFor", "RoughnessReport", "RoughnessTimeline", "WindowedRoughness",
           "analyze_roughness", "bar_roughness", "default_partials", "harmonic_partials",
           "interval_class_counts", "mean_roughness", "pair_roughness", "roughness_timeline",
           "spectrum_energy", "spectrum_roughness", "windowed_roughness", "DriveResult",
           "drive_to_roughness"]
