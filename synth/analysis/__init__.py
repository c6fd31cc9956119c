"""Measurements of scores: sensory roughness (dissonance) and a driver that
tunes a transform to a requested roughness.

Public API
----------
pair_roughness(f1, f2, a1, a2)           Sethares' Plomp-Levelt curve (arrays)
spectrum_roughness(freqs, amps) -> float  sum over partial pairs
roughness_timeline(score, *, partials_for=None) -> RoughnessTimeline
analyze_roughness(score, *, partials_for=None) -> RoughnessReport
mean_roughness(score, *, partials_for=None) -> float
interval_class_counts(score) -> ndarray (7,)
drive_to_roughness(score, step, param, target, *, lo, hi, seed) -> DriveResult
"""

from .roughness import (SETHARES, PartialsFor, RoughnessReport, RoughnessTimeline, analyze_roughness,
                        default_partials, harmonic_partials, interval_class_counts, mean_roughness,
                        pair_roughness, roughness_timeline, spectrum_roughness)
from .target import DriveResult, drive_to_roughness

__all__ = ["SETHARES", "PartialsFor", "RoughnessReport", "RoughnessTimeline", "analyze_roughness",
           "default_partials", "harmonic_partials", "interval_class_counts", "mean_roughness",
           "pair_roughness", "roughness_timeline", "spectrum_roughness", "DriveResult",
           "drive_to_roughness"]
