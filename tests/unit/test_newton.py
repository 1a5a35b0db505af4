"""The constrained quasi-Newton steps behind the walk-forward's GARCH fits, on problems with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.forecasting.models.newton import Objective, bfgs_update, constrained_newton, positive_definite

# x + y <= 1, x >= 0, y >= 0 as rows of A @ x >= b.
A = np.array([[-1.0, -1.0], [1.0, 0.0], [0.0, 1.0]])
B = np.array([-1.0, 0.0, 0.0])


def bowl(centre: tuple[float, float], scale: tuple[float, float] = (1.0, 4.0)) -> Objective:
    """``sum(scale * (x - centre)^2)`` and its gradient."""
    c, s = np.array(centre), np.array(scale)
    return lambda x: (float(np.sum(s * (x - c) ** 2)), 2.0 * s * (x - c))


def test_an_interior_minimum_is_found_from_a_rough_curvature() -> None:
    found = constrained_newton(bowl((0.2, 0.3)), np.array([0.6, 0.1]), np.eye(2), A, B, 1e-12, 30)
    assert found is not None
    np.testing.assert_allclose(found.x, [0.2, 0.3], atol=1e-6)
    assert found.fun == pytest.approx(0.0, abs=1e-10)


def test_a_minimum_on_a_constraint_stops_there() -> None:
    # On x + y = 1, (x - 1)^2 + 4 (y - 1)^2 is least at x = 0.2: the gradient (-1.6, -1.6) pushes outward.
    found = constrained_newton(bowl((1.0, 1.0)), np.array([0.1, 0.1]), np.eye(2), A, B, 1e-12, 30)
    assert found is not None
    np.testing.assert_allclose(found.x, [0.2, 0.8], atol=1e-6)
    assert found.x.sum() == pytest.approx(1.0, abs=1e-12)


def test_a_minimum_at_a_corner_holds_both_constraints() -> None:
    # Along x + y = 1 the function still falls towards x = 0: the minimum is the corner (0, 1).
    found = constrained_newton(bowl((2.0, 2.0)), np.array([0.1, 0.1]), np.eye(2), A, B, 1e-12, 30)
    assert found is not None
    np.testing.assert_allclose(found.x, [0.0, 1.0], atol=1e-12)


def test_a_start_on_a_constraint_the_minimum_lies_away_from_leaves_it() -> None:
    found = constrained_newton(bowl((0.2, 0.3)), np.array([0.5, 0.5]), np.eye(2), A, B, 1e-12, 30)
    assert found is not None
    np.testing.assert_allclose(found.x, [0.2, 0.3], atol=1e-6)


def test_an_infeasible_start_a_flat_curvature_or_too_few_steps_give_up() -> None:
    assert constrained_newton(bowl((0.2, 0.3)), np.array([0.9, 0.9]), np.eye(2), A, B, 1e-12, 30) is None
    assert constrained_newton(bowl((0.2, 0.3)), np.array([0.6, 0.1]), -np.eye(2), A, B, 1e-12, 30) is None
    assert constrained_newton(bowl((0.2, 0.3)), np.array([0.6, 0.1]), np.eye(2), A, B, 1e-12, 1) is None


def test_bfgs_learns_the_curvature_along_a_step_and_skips_a_useless_one() -> None:
    h = bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([3.0, 0.0]))
    np.testing.assert_allclose(h @ np.array([1.0, 0.0]), [3.0, 0.0])
    np.testing.assert_array_equal(bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([-1.0, 0.0])), np.eye(2))


def test_positive_definite_flips_negative_curvature_and_keeps_its_scale() -> None:
    h = positive_definite(np.array([[2.0, 0.0], [0.0, -3.0]]))
    assert h is not None
    np.testing.assert_allclose(h, np.diag([2.0, 3.0]))
    assert positive_definite(np.zeros((2, 2))) is None
    assert positive_definite(np.array([[np.nan, 0.0], [0.0, 1.0]])) is None
