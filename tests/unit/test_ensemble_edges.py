"""Ensemble weights at their edges: exact messages, a perfect model whatever the targets' sign, ties, precision.

``test_ensemble`` checks the weights against known answers; these pin what sits at the edges of
those answers: the tolerance that makes a model perfect, the tie-break between identical
forecasts, and the solver's precision against the closed-form optimum.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from jobs.forecasting.ensemble import combine, equal_weights, fit_weights, simplex_least_squares
from jobs.forecasting.models.base import Prediction


def _pred(mean: list[float]) -> Prediction:
    m = np.array(mean)
    return Prediction(m, m - 0.1, m + 0.1)


def test_bad_input_is_refused_with_the_whole_message() -> None:
    with pytest.raises(ValueError, match="^equal_weights needs at least one model name, got none$"):
        equal_weights([])
    with pytest.raises(ValueError, match="^combine needs at least one model's prediction, got none$"):
        combine({"A": 1.0}, {})
    with pytest.raises(ValueError, match=r"^no weight for model\(s\) B, C; weights are given for A, D$"):
        combine({"A": 0.5, "D": 0.5}, {"B": _pred([1.0]), "C": _pred([1.0])})
    with pytest.raises(ValueError, match="^fit_weights needs at least one model's predictions, got none$"):
        fit_weights("simple_avg", {}, np.zeros(3))
    with pytest.raises(ValueError, match=r"^target must be 1-D, got shape \(2, 2\)$"):
        fit_weights("simple_avg", {"A": np.zeros((2, 2))}, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^predictions must match target shape \(3,\); got A\(2,\), B\(4,\)$"):
        fit_weights("inverse_rmse", {"A": np.zeros(2), "B": np.zeros(4)}, np.zeros(3))
    with pytest.raises(ValueError, match="^non-finite forecasts from A, B: drop failed models before fitting weights$"):
        fit_weights("inverse_rmse", {"A": np.full(3, np.nan), "B": np.full(3, np.inf)}, np.zeros(3))


def test_a_perfect_model_takes_all_the_weight_whatever_the_sign_of_the_targets() -> None:
    y = np.array([-0.01, -0.02, -0.03, -0.02])  # all negative: the tolerance is scaled by their RMS, not their mean
    assert fit_weights("inverse_rmse", {"A": y.copy(), "B": y + 0.01}, y) == {"A": 1.0, "B": 0.0}


def test_a_nearly_perfect_model_is_weighted_by_its_error_not_given_everything() -> None:
    # An error of 1e-13 on targets of about 1e-2 is 1e-11 of their size: small, but far above the
    # 1e-12 tolerance of "perfect", so the other model keeps its inverse-RMSE share.
    y = np.array([0.01, -0.02, 0.03, -0.01])
    w = fit_weights("inverse_rmse", {"A": y + 1e-13, "B": y + 0.01}, y)
    assert w["B"] == pytest.approx(1e-13 / (0.01 + 1e-13), rel=1e-3) and w["B"] > 0.0


def test_an_error_of_exactly_the_tolerance_is_perfect() -> None:
    # Half the rows have a zero target the model misses by 2*tol; the rest it hits exactly, so its
    # RMSE is sqrt(tol**2 / 1) = tol exactly (binary floats: sqrt(x*x) == |x|).
    y = np.array([0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    tol = 1e-12 * float(np.sqrt(np.mean(y**2)))
    a = y.copy()
    a[:2] = 2 * tol
    rmse = float(np.sqrt(np.mean((a - y) ** 2)))
    assert rmse == tol
    assert fit_weights("inverse_rmse", {"A": a, "B": y + 0.1}, y) == {"A": 1.0, "B": 0.0}


def test_identical_forecasts_share_the_weight_equally() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(0.0, 0.01, 50)
    p = y + rng.normal(0.0, 0.005, 50)
    assert fit_weights("constrained_ls", {"A": p, "B": p.copy()}, y) == pytest.approx({"A": 0.5, "B": 0.5}, abs=1e-6)


def test_forecasts_that_are_all_zero_get_equal_weights() -> None:
    assert simplex_least_squares(np.zeros((5, 3)), np.array([0.01, 0.02, -0.01, 0.0, 0.03])).tolist() == [1 / 3] * 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constrained_ls_meets_the_closed_form_optimum(seed: int) -> None:
    # Two models and an interior optimum: w_A = (a - b).(y - b) / |a - b|^2 on the line w_A + w_B = 1.
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 0.01, 200)
    a, b = y + rng.normal(0.0, 0.004, 200), y + rng.normal(0.0, 0.006, 200)
    exact = float((a - b) @ (y - b) / ((a - b) @ (a - b)))
    assert 0.0 < exact < 1.0
    w = fit_weights("constrained_ls", {"A": a, "B": b}, y)
    assert w["A"] == pytest.approx(exact, abs=1e-7) and w["A"] + w["B"] == pytest.approx(1.0, abs=1e-12)


def test_a_model_that_only_hurts_is_weighted_zero_and_the_rest_reweighted_optimally() -> None:
    # Three models; the best mix of all three would give C a negative weight. The answer on the
    # simplex is C = 0 and the closed-form optimum of A and B alone, not a clipped, rescaled mix.
    rng = np.random.default_rng(7)
    y = rng.normal(0.0, 0.01, 300)
    noise = rng.normal(0.0, 0.003, 300)
    a, b = y + noise, y + rng.normal(0.0, 0.005, 300)
    c = y + 3 * noise  # its error is A's, tripled: mixing in a negative share of C would cancel A's
    exact = float((a - b) @ (y - b) / ((a - b) @ (a - b)))
    w = fit_weights("constrained_ls", {"A": a, "B": b, "C": c}, y)
    assert w["C"] == pytest.approx(0.0, abs=1e-12)
    assert (w["A"], w["B"]) == (pytest.approx(exact, abs=1e-7), pytest.approx(1 - exact, abs=1e-7))


def test_the_ridge_pulls_towards_equal_weights_by_about_a_billionth() -> None:
    # _RIDGE = 1e-9 on the unit-diagonal problem: just enough to make ties unique. Here the optimum
    # is 0.69 for A; the ridge moves it towards 0.5 by about 9e-10 (a ridge of the other sign moves it
    # away, one four times as strong by 3.6e-9).
    rng = np.random.default_rng(0)
    y = rng.normal(0.0, 0.01, 200)
    a, b = y + rng.normal(0.0, 0.004, 200), y + rng.normal(0.0, 0.006, 200)
    exact = float((a - b) @ (y - b) / ((a - b) @ (a - b)))
    assert exact > 0.5
    assert 0.0 < exact - fit_weights("constrained_ls", {"A": a, "B": b}, y)["A"] < 2e-9


def test_forecasts_that_agree_closely_still_get_their_optimum() -> None:
    # Three models that share most of their error and differ by 1e-4: the objective is nearly flat
    # across the simplex, so SLSQP needs a dozen iterations here, and its default ftol (1e-6) would
    # stop after the first, about 0.5 away in A's weight. The optimum leaves B out; the ridge moves A
    # from the closed form of A and C alone by about 1e-6.
    rng = np.random.default_rng(0)
    y = rng.normal(0.0, 0.01, 250)
    common = y + rng.normal(0.0, 0.005, 250)
    a, b, c = (common + rng.normal(0.0, s, 250) for s in (1e-4, 2e-4, 3e-4))
    exact = float((a - c) @ (y - c) / ((a - c) @ (a - c)))
    assert 0.8 < exact < 0.9
    w = fit_weights("constrained_ls", {"A": a, "B": b, "C": c}, y)
    assert w["B"] == pytest.approx(0.0, abs=1e-12)
    assert (w["A"], w["C"]) == (pytest.approx(exact, abs=1e-5), pytest.approx(1 - exact, abs=1e-5))


def test_values_read_back_as_none_count_as_missing() -> None:
    # An object array holding None (a NULL read back from the database) is converted to float, so a
    # None target is a row without a target, a None forecast on a row with one is non-finite, and a
    # None weight is refused as not finite, each with its usual message rather than a TypeError.
    y = np.array([0.01, -0.02, 0.03, None], dtype=object)
    preds = {"A": np.array([0.012, -0.018, 0.027, None], dtype=object), "B": np.array([0.0, 0.0, 0.0, 0.0])}
    clean = fit_weights("inverse_rmse", {"A": np.array([0.012, -0.018, 0.027]), "B": np.zeros(3)},
                        np.array([0.01, -0.02, 0.03]))
    assert fit_weights("inverse_rmse", preds, y) == clean
    with pytest.raises(ValueError, match="^non-finite forecasts from A: drop failed models before fitting weights$"):
        fit_weights("inverse_rmse", {"A": np.array([0.01, None], dtype=object), "B": np.zeros(2)}, np.zeros(2))
    with pytest.raises(ValueError, match=r"^weights must be finite and >= 0, got \{'A': None, 'B': 1.0\}$"):
        combine({"A": None, "B": 1.0}, {"A": _pred([1.0]), "B": _pred([2.0])})  # type: ignore[dict-item]


def test_forecasts_that_are_all_zero_get_equal_weights_without_dividing_by_zero() -> None:
    with np.errstate(all="raise"):  # a 0/0 would raise FloatingPointError instead of passing NaN to the solver
        assert fit_weights("constrained_ls", {"A": np.zeros(4), "B": np.zeros(4)}, np.array([0.01, 0.0, -0.01, 0.02])) \
            == {"A": 0.5, "B": 0.5}


def _optimum_by_supports(matrix: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares weights on the simplex, exactly: the best of each support's equality-constrained optimum."""
    k = matrix.shape[1]
    best, best_sse = np.zeros(k), np.inf
    for size in range(1, k + 1):
        for support in map(list, itertools.combinations(range(k), size)):
            m = matrix[:, support]
            kkt = np.block([[m.T @ m, np.ones((size, 1))], [np.ones((1, size)), np.zeros((1, 1))]])
            w = np.zeros(k)
            w[support] = np.linalg.solve(kkt, np.append(m.T @ y, 1.0))[:size]
            sse = float(np.sum((matrix @ w - y) ** 2))
            if (w >= 0).all() and sse < best_sse:
                best, best_sse = w, sse
    return best


@pytest.mark.parametrize("seed", [*range(20, 30), 35])
def test_five_models_that_agree_closely_get_the_exact_optimum_summing_to_one(seed: int) -> None:
    # Five models 1e-4 to 5e-4 apart: the optimum mixes one to four of them. The ridge and the
    # solver's precision move it by under 2e-6 (measured over 60 seeds); a solve that cannot meet
    # the sum constraint and ends on its nearest point instead is 4e-5 and 4e-4 off at seeds 25, 27.
    # The solver's own weights sum to 1 within a few ulps (1 + 1.1e-15 at seed 35); the weights
    # returned are renormalised to within one.
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 0.01, 250)
    common = y + rng.normal(0.0, 0.005, 250)
    preds = {name: common + rng.normal(0.0, s, 250) for name, s in zip("ABCDE", (1e-4, 2e-4, 3e-4, 4e-4, 5e-4), strict=True)}
    exact = _optimum_by_supports(np.column_stack(list(preds.values())), y)
    w = fit_weights("constrained_ls", preds, y)
    np.testing.assert_allclose(list(w.values()), exact, rtol=0.0, atol=5e-6)
    assert abs(math.fsum(w.values()) - 1.0) <= 2.3e-16
