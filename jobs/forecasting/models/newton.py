"""Quasi-Newton minimisation under linear inequality constraints, from a good start and curvature.

For a walk-forward window whose maximum-likelihood problem differs from the previous window's
only by ``step`` bars: started from the previous estimates with the previous curvature, a few
Newton steps reach the optimum, where SLSQP (whose quasi-Newton matrix starts from the identity
whatever the start) needs 25 to 30 function evaluations. Pure functions of their arguments.

The method is a primal active-set one. Constraints are ``A @ x >= b``; the working set holds
those the iterate lies on. Each step minimises the quadratic model on the working set's face
(a small KKT system), goes as far as the first constraint it meets (which joins the set),
backtracks until the function falls enough (Armijo), and updates the curvature (BFGS). When
the model predicts no further gain, a constraint whose multiplier says the function would
fall away from it leaves the set; with none left, the point is a minimum (KKT).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class NewtonResult:
    """The minimum found, the function there, the curvature estimate there, and evaluations used."""

    x: np.ndarray
    fun: float
    hessian: np.ndarray
    evaluations: int


def constrained_newton(fun: Objective, start: np.ndarray, hessian: np.ndarray, a: np.ndarray, b: np.ndarray,
                       tolerance: float, iterations: int) -> NewtonResult | None:
    """Minimise ``fun`` (value and gradient) subject to ``a @ x >= b`` from a feasible ``start``.

    Args:
        fun: The function, returning its value and gradient.
        start: A point with ``a @ start >= b`` (to rounding).
        hessian: A positive definite curvature estimate at (or near) the start.
        a: Constraint normals, one row per constraint.
        b: Constraint bounds.
        tolerance: Stop when the decrease the quadratic model predicts is below this.
        iterations: Give up after this many steps.

    Returns:
        The minimum, or None when the start is infeasible, the function is not finite there,
        a step cannot decrease it, the KKT system is singular, or ``iterations`` run out.
    """
    slack = a @ start - b
    if (slack < -1e-9 * (1.0 + np.abs(b))).any():
        return None
    x, h = start.astype(float), hessian
    working = set(np.flatnonzero(slack <= 1e-12 * (1.0 + np.abs(b))).tolist())
    f, g = fun(x)
    evaluations = 1
    for _ in range(iterations):
        if not np.isfinite(f):
            return None
        solved = _face_step(h, g, a[sorted(working)])
        if solved is None:
            return None
        step, multipliers = solved
        gain = -float(g @ step)  # twice the decrease the model predicts
        if gain < -tolerance:
            return None  # the curvature is not positive definite on this face: the step climbs
        if gain < 2.0 * tolerance:
            leaving = _leaving(sorted(working), multipliers, g)
            if leaving is None:
                return NewtonResult(x, f, h, evaluations)
            working.discard(leaving)
            continue
        moved = _line_search(fun, x, f, step, gain, a, b, working)
        if moved is None:
            return None
        x_new, f, g_new, blocking, used = moved
        evaluations += used
        h = bfgs_update(h, x_new - x, g_new - g)
        x, g = x_new, g_new
        if blocking is not None:
            working.add(blocking)
    return None


def _face_step(h: np.ndarray, g: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The quadratic model's minimiser on the face ``active @ d = 0``, and the constraints' multipliers."""
    n, m = len(g), len(active)
    try:
        if not m:  # no constraint on the face: the plain Newton step
            return np.linalg.solve(h, -g), np.zeros(0)
        kkt = np.zeros((n + m, n + m))
        kkt[:n, :n], kkt[:n, n:], kkt[n:, :n] = h, -active.T, active
        solution = np.linalg.solve(kkt, np.concatenate([-g, np.zeros(m)]))
    except np.linalg.LinAlgError:
        return None
    return solution[:n], solution[n:]


def _leaving(working: list[int], multipliers: np.ndarray, g: np.ndarray) -> int | None:
    """The working constraint whose multiplier is most negative (the function falls away from it), if any."""
    if not working:
        return None
    worst = int(np.argmin(multipliers))
    if multipliers[worst] >= -1e-8 * (1.0 + float(np.max(np.abs(g)))):
        return None
    return working[worst]


def _line_search(fun: Objective, x: np.ndarray, f: float, step: np.ndarray, gain: float, a: np.ndarray,
                 b: np.ndarray, working: set[int]) -> tuple[np.ndarray, float, np.ndarray, int | None, int] | None:
    """Armijo backtracking along ``step``, first cut at the nearest constraint outside ``working``.

    Returns the new point, its value and gradient, the constraint it stopped on (if it went all
    the way to one) and the evaluations used; None when no length from 1 down to 1e-4 of the
    first decreases the function enough.
    """
    rates = a @ step
    limit, blocking = 1.0, None
    closing = rates < 0.0
    if closing.any():
        slack = a @ x - b
        for i in np.flatnonzero(closing).tolist():
            if i not in working:
                reach = max(float(slack[i]), 0.0) / -float(rates[i])
                if reach < limit:
                    limit, blocking = reach, i
    if limit <= 0.0:  # already on that constraint: it joins the working set, no move
        return x, f, fun(x)[1], blocking, 1
    size, used = limit, 0
    while size >= 1e-4 * limit:
        trial = x + size * step
        value, grad = fun(trial)
        used += 1
        if np.isfinite(value) and value <= f - 1e-4 * size * gain:
            return trial, value, grad, blocking if size == limit else None, used
        size *= 0.5
    return None


def bfgs_update(h: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The BFGS update of the curvature ``h`` by the step ``s`` and the gradient change ``y``.

    Skipped (``h`` returned) when ``s @ y`` is not clearly positive: the update would lose
    positive definiteness.
    """
    sy, hs = float(s @ y), h @ s
    if sy <= 1e-12 * math.sqrt(float(s @ s) * float(y @ y)):
        return h
    return h - np.outer(hs, hs) / float(s @ hs) + np.outer(y, y) / sy


def positive_definite(h: np.ndarray, floor: float = 1e-6) -> np.ndarray | None:
    """``h`` symmetrised with its eigenvalues made positive (absolute values, at least ``floor`` of the largest).

    A curvature measured at a minimum on a bound can curve down across the bound; Newton steps
    need a positive definite metric, and the absolute values keep each direction's scale.
    None when ``h`` is not finite or zero.
    """
    sym = 0.5 * (h + h.T)
    if not np.isfinite(sym).all():
        return None
    values, vectors = np.linalg.eigh(sym)
    top = float(np.max(np.abs(values)))
    if top <= 0.0:
        return None
    return (vectors * np.maximum(np.abs(values), floor * top)) @ vectors.T
