"""Drive a transform parameter until a score reaches a requested mean roughness.

"More dissonance" as a number: given a transform step (e.g. ``shadow`` or
``detune`` or ``cluster``) and one of its numeric parameters, find the value
in ``[lo, hi]`` at which the transformed score's mean roughness equals a
target.  The roughness is the one measure of :mod:`synth.analysis.roughness`
(normalised: pair sum / partial energy, the presets' real partials unless
``partials_for`` says otherwise), the same figure ``synth analyze`` reports.  A coarse scan brackets the target (roughness need not be monotone
in the parameter: it rises towards a quarter of a critical band and falls
after it); bisection then narrows the bracket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TransformError
from ..score import Score
from ..transforms import Transform
from .roughness import PartialsFor, mean_roughness

__all__ = ["DriveResult", "drive_to_roughness"]


@dataclass(frozen=True)
class DriveResult:
    """Outcome of :func:`drive_to_roughness`.

    Attributes
    ----------
    score : Score
        The transformed score at the chosen value.
    value : float
        The chosen parameter value.
    roughness : float
        Its mean roughness.
    reached : bool
        True when ``|roughness - target| <= tol * target``; False when the
        target lies outside what ``[lo, hi]`` can give (the closest is used).
    step : Transform
        The step with the chosen value filled in.
    """

    score: Score
    value: float
    roughness: float
    reached: bool
    step: Transform


def drive_to_roughness(score: Score, step: Transform, param: str, target: float, *, lo: float,
                       hi: float, seed: int, partials_for: PartialsFor | None = None,
                       rel_tol: float = 0.01, scan: int = 9, max_iter: int = 30) -> DriveResult:
    """Choose ``step.params[param]`` in ``[lo, hi]`` so that the mean roughness of
    ``step(score)`` is ``target``.

    Parameters
    ----------
    score : Score
    step : Transform
        Built with :func:`synth.transforms.make`; ``param`` is overwritten.
    param : str
        A numeric parameter of the step.
    target : float
        Requested mean roughness (normalised, as :func:`mean_roughness`).
    lo, hi : float
        Search interval of the parameter.
    seed : int
        Seed of the step (fixed during the search, so the result is reproducible).
    partials_for : callable, optional
        ``preset -> (ratios, amps)``; default
        :func:`~synth.analysis.roughness.default_partials` (as everywhere).
    rel_tol : float
        Stop when the roughness is within ``rel_tol * target``.
    scan : int
        Points of the coarse bracketing scan.

    Raises
    ------
    TransformError
        ``param`` is not a parameter of the step, or ``lo >= hi``, or ``target < 0``.
    """
    if param not in step.params:
        raise TransformError(f"drive: {param!r} is not a parameter of {step.name!r} "
                             f"(parameters: {', '.join(step.params)})")
    if not lo < hi:
        raise TransformError(f"drive: need lo < hi, got {lo!r}, {hi!r}")
    if not target >= 0:
        raise TransformError(f"target_roughness: must be >= 0, got {target!r}")
    cache: dict[float, tuple[float, Score, Transform]] = {}

    def f(v: float) -> float:
        if v not in cache:
            s = step.with_params(**{param: v})
            out = s(score, seed=seed)
            cache[v] = (mean_roughness(out, partials_for=partials_for), out, s)
        return cache[v][0] - target

    def result(v: float) -> DriveResult:
        r, out, s = cache[v]
        return DriveResult(out, v, r, abs(r - target) <= rel_tol * max(target, 1e-12), s)

    if isinstance(step.params[param], int) and not isinstance(step.params[param], bool):
        grid = sorted({int(round(x)) for x in np.linspace(lo, hi, scan)})
    else:
        grid = [float(x) for x in np.linspace(lo, hi, scan)]
    errs = [f(v) for v in grid]
    best = min(grid, key=lambda v: abs(cache[v][0] - target))
    if abs(cache[best][0] - target) <= rel_tol * max(target, 1e-12):
        return result(best)
    bracket = next(((a, b) for a, b, ea, eb in zip(grid, grid[1:], errs, errs[1:])
                    if np.sign(ea) != np.sign(eb)), None)
    if bracket is None or isinstance(grid[0], int):
        return result(best)
    a, b = bracket
    for _ in range(max_iter):
        m = 0.5 * (a + b)
        em = f(m)
        if abs(em) <= rel_tol * max(target, 1e-12):
            return result(m)
        if np.sign(em) == np.sign(f(a)):
            a = m
        else:
            b = m
    best = min(cache, key=lambda v: abs(cache[v][0] - target))
    return result(best)
