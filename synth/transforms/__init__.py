"""Seeded, composable arrangement transforms (Score -> Score).

Public API
----------
make(name, *, parts=None, bars=None, **params) -> Transform   validated step
Transform(score, *, seed, key=None) -> Score                   apply one step (streams keyed by name)
Pipeline(steps)(score, *, seed) -> Score                       apply in order
Pipeline(steps).run(score, *, seed) -> PipelineRun             ... and what each step applied
names() -> list[str]; spec(name) -> TransformSpec              the registry
Selection(parts=None, bars=None)                               parts and bar range

Families (see docs/transforms.md):

- pitch: transpose, invert, retrograde, octave, remap, detune, shadow,
  cluster, drone
- time: augment, diminish, canon, displace, humanise, remeter
- texture: thin, double, arpeggiate, ostinato, dynamics
- generate: divisions, markov
"""

from .base import (REGISTRY, Applied, Param, Pipeline, PipelineRun, Selection, Transform,
                   TransformSpec, add_generated, make, names, register, spec)
from . import pitch, time, texture, generate, chaconne  # noqa: F401  (register the transforms)
from .pitch import SCALES
from .time import default_groups, remeter_map

__all__ = ["REGISTRY", "Applied", "Param", "Pipeline", "PipelineRun", "Selection", "Transform",
           "TransformSpec", "add_generated", "make", "names", "register", "spec", "SCALES", "default_groups",
           "remeter_map"]
