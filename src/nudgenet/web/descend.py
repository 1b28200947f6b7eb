"""The Descend panel's route: gradient descent on a one-parameter cost the learner types.

The formula is read, within the playground's limits, by
:func:`nudgenet.lessons.formula.playground_cost` (the parser of ``nudgenet descend``, which
bounds the work of every formula and runs SymPy under a time and memory budget, so a hostile
one is a 422 and not a stuck server), and descended by
:func:`nudgenet.lessons.toy.run_descent`, which also gives the run its verdict
(:mod:`nudgenet.lessons.verdict`, the same as ``nudgenet descend`` prints for the same run);
this module only adds the curve to draw, and turns what JSON cannot carry (NaN, ±inf) into
null. The page shows the verdict, its reason and its advice as they come.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import APIRouter

from .._json import finite
from ..lessons.formula import playground_cost
from ..lessons.toy import divergence_reason, run_descent, valleys
from .schemas import ERRORS, DescendRequest, Descent

CURVE_POINTS = 301
"""Points of C(w) sent to draw the curve: smooth at the page's width, and small."""

router = APIRouter(tags=["descend"])


@router.post("/api/descend", response_model=Descent, responses=ERRORS)
def descend_cost(request: DescendRequest) -> dict[str, Any]:
    """Descend a one-parameter cost from w₀ (:func:`nudgenet.lessons.toy.run_descent`).

    The formula is parsed without ``eval`` by :func:`nudgenet.lessons.formula.parse_cost`
    and differentiated by SymPy; the steps are taken by :func:`nudgenet.descent.descend`, the
    routine that trains the network. Valleys are listed for polynomials of low degree only
    (:func:`nudgenet.lessons.toy.valleys`).
    """
    function = playground_cost(request.expression)
    run = run_descent(function, [request.start], request.learning_rate, steps=request.steps)
    minima = valleys(function)
    last = run.steps[-1].point if run.steps else run.start
    verdict = run.verdict.as_dict()
    why = divergence_reason(function, request.learning_rate, last)
    points = [
        {"k": s.step, "w": s.point[0], "cost": s.cost, "slope": s.slope[0]} for s in run.steps
    ]
    points.append(
        {
            "k": len(run.steps),
            "w": run.final_point[0],
            "cost": run.final_cost,
            "slope": run.final_slope[0],
        }
    )
    lo, hi = _view(request.start, [m[0] for m in minima or []], [p["w"] for p in points])
    grid = np.linspace(lo, hi, CURVE_POINTS)
    return {
        "expression": str(function.expression),
        "derivative": function.derivative_text,
        "learning_rate": request.learning_rate,
        "points": [{k: finite(v) for k, v in p.items()} for p in points],
        "converged": run.converged,
        "diverged": run.diverged,
        "why": why if run.regime == "diverges" else None,
        "verdict": verdict["verdict"],
        "reason": verdict["reason"],
        "advice": verdict["advice"],
        "crossing": verdict["crossing"],
        "valleys": [list(m) for m in minima] if minima is not None else None,
        "curve": {
            "w": grid.tolist(),
            "cost": [finite(c) for c in np.asarray(function.on_grid(grid), float).tolist()],
        },
    }


def _view(start: float, minima: list[float], path: list[float | None]) -> tuple[float, float]:
    """The w range to draw: the start, the valleys, and the path while it stays near them.

    A diverging path leaves this window after a few steps; the page marks where it went.
    """
    core = [start, *minima]
    centre = (min(core) + max(core)) / 2
    reach = 4 * max((max(core) - min(core)) / 2, 1.0)
    near = [w for w in path if w is not None and math.isfinite(w) and abs(w - centre) <= reach]
    lo, hi = min(core + near), max(core + near)
    margin = max(0.15 * (hi - lo), 0.5)
    return lo - margin, hi + margin
