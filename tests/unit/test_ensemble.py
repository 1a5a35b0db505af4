"""Ensemble weighting: fitted weights and combination, checked against known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.contract.domain import OPTIMIZATION_METHODS
from jobs.forecasting.ensemble import combine, equal_weights, fit_weights
from jobs.forecasting.models.base import Prediction


def _pred(mean: list[float], half: float = 0.1) -> Prediction:
    m = np.array(mean, dtype=float)
    return Prediction(mean=m, lower=m - half, upper=m + half)


def test_equal_weights() -> None:
    assert equal_weights(["LSTM", "ARIMA_GARCH"]) == {"LSTM": 0.5, "ARIMA_GARCH": 0.5}
    with pytest.raises(ValueError, match="at least one"):
        equal_weights([])
    with pytest.raises(ValueError, match="duplicate"):
        equal_weights(["A", "A"])


def test_simple_avg_is_equal_weights_whatever_the_errors() -> None:
    y = np.array([0.01, -0.02, 0.03])
    w = fit_weights("simple_avg", {"A": y, "B": y + 1.0, "C": -y}, y)
    assert w == pytest.approx({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})


def test_inverse_rmse_ratios() -> None:
    y = np.zeros(4)
    # RMSE of A is 1, of B is 2: weights 2/3 and 1/3.
    w = fit_weights("inverse_rmse", {"A": np.array([1.0, -1.0, 1.0, -1.0]), "B": np.full(4, 2.0)}, y)
    assert w["A"] == pytest.approx(2 / 3)
    assert w["B"] == pytest.approx(1 / 3)


def test_inverse_rmse_gives_all_weight_to_a_perfect_model() -> None:
    y = np.array([0.01, 0.02, -0.01])
    w = fit_weights("inverse_rmse", {"A": y.copy(), "B": y + 0.01}, y)
    assert w == {"A": 1.0, "B": 0.0}


def test_constrained_ls_recovers_known_mixing_weights() -> None:
    rng = np.random.default_rng(3)
    p = rng.normal(0.0, 0.01, size=(400, 3))
    y = p @ np.array([0.6, 0.3, 0.1])
    w = fit_weights("constrained_ls", {"A": p[:, 0], "B": p[:, 1], "C": p[:, 2]}, y)
    assert [w["A"], w["B"], w["C"]] == pytest.approx([0.6, 0.3, 0.1], abs=1e-4)


def test_constrained_ls_keeps_weights_non_negative_and_summing_to_one() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(0.0, 0.01, 300)
    noise = rng.normal(0.0, 0.002, 300)
    good, worse = y + noise, y + 2 * noise  # sum-to-one LS alone would weight them (2, -1)
    w = fit_weights("constrained_ls", {"good": good, "worse": worse}, y)
    assert w["worse"] == pytest.approx(0.0, abs=1e-6)
    assert w["good"] == pytest.approx(1.0, abs=1e-6)
    assert sum(w.values()) == pytest.approx(1.0)


def test_constrained_ls_beats_or_matches_equal_weights() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(0.0, 0.01, 250)
    preds = {"A": 0.5 * y + rng.normal(0, 0.01, 250), "B": 0.2 * y + rng.normal(0, 0.004, 250)}
    w = fit_weights("constrained_ls", preds, y)
    fitted = w["A"] * preds["A"] + w["B"] * preds["B"]
    equal = 0.5 * (preds["A"] + preds["B"])
    assert np.mean((fitted - y) ** 2) <= np.mean((equal - y) ** 2)
    assert 0.0 < w["A"] < 1.0 and 0.0 < w["B"] < 1.0


@pytest.mark.parametrize("method", OPTIMIZATION_METHODS)
def test_nan_targets_are_ignored(method: str) -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(0.0, 0.01, 100)
    preds = {"A": y + rng.normal(0, 0.001, 100), "B": rng.normal(0, 0.01, 100)}
    clean = fit_weights(method, preds, y)
    y_nan = np.concatenate([y, [np.nan, np.nan]])
    # Rows past the data's end: targets NaN, forecasts arbitrary (even NaN).
    padded = {k: np.concatenate([v, [np.nan, 5.0]]) for k, v in preds.items()}
    assert fit_weights(method, padded, y_nan) == pytest.approx(clean)


@pytest.mark.parametrize("method", OPTIMIZATION_METHODS)
def test_degenerate_cases_give_valid_weights(method: str) -> None:
    y = np.array([0.01, -0.01, 0.02, 0.0])
    assert fit_weights(method, {"only": y * 3}, y) == {"only": 1.0}
    same = np.array([0.005, 0.0, -0.002, 0.001])
    assert fit_weights(method, {"A": same, "B": same.copy()}, y) == pytest.approx({"A": 0.5, "B": 0.5}, abs=1e-6)
    zeros = np.zeros(4)
    assert fit_weights(method, {"A": zeros, "B": zeros}, zeros) == pytest.approx({"A": 0.5, "B": 0.5}, abs=1e-6)
    all_nan = np.full(4, np.nan)
    assert fit_weights(method, {"A": y, "B": -y}, all_nan) == {"A": 0.5, "B": 0.5}


def test_fit_weights_rejects_bad_input() -> None:
    y = np.zeros(3)
    with pytest.raises(ValueError, match="simple_avg, inverse_rmse, constrained_ls"):
        fit_weights("stacking", {"A": y}, y)
    with pytest.raises(ValueError, match="at least one"):
        fit_weights("simple_avg", {}, y)
    with pytest.raises(ValueError, match=r"B\(2,\)"):
        fit_weights("inverse_rmse", {"A": y, "B": np.zeros(2)}, y)
    with pytest.raises(ValueError, match="non-finite forecasts from B"):
        fit_weights("inverse_rmse", {"A": y, "B": np.array([0.0, np.nan, 0.0])}, y)


def test_combine_weighted_mean_of_means_and_bounds() -> None:
    out = combine({"A": 0.75, "B": 0.25}, {"A": _pred([0.0, 0.04], 0.1), "B": _pred([0.04, 0.0], 0.3)})
    np.testing.assert_allclose(out.mean, [0.01, 0.03])
    np.testing.assert_allclose(out.lower, [0.01 - 0.15, 0.03 - 0.15])
    np.testing.assert_allclose(out.upper, [0.01 + 0.15, 0.03 + 0.15])


def test_combine_renormalises_over_present_models() -> None:
    weights = {"A": 0.5, "B": 0.3, "C": 0.2}
    out = combine(weights, {"B": _pred([1.0]), "C": _pred([2.0])})  # A failed this window
    np.testing.assert_allclose(out.mean, [0.6 * 1.0 + 0.4 * 2.0])


def test_combine_with_only_zero_weighted_models_averages_them() -> None:
    out = combine({"A": 1.0, "B": 0.0, "C": 0.0}, {"B": _pred([1.0]), "C": _pred([3.0])})
    np.testing.assert_allclose(out.mean, [2.0])


def test_combine_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        combine({"A": 1.0}, {})
    with pytest.raises(ValueError, match="no weight for model"):
        combine({"A": 1.0}, {"B": _pred([1.0])})
    with pytest.raises(ValueError, match=">= 0"):
        combine({"A": -0.5, "B": 1.5}, {"A": _pred([1.0]), "B": _pred([1.0])})
    with pytest.raises(ValueError, match="different shapes"):
        combine({"A": 0.5, "B": 0.5}, {"A": _pred([1.0]), "B": _pred([1.0, 2.0])})


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(min_value=1, max_value=5),
    n=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    method=st.sampled_from(OPTIMIZATION_METHODS),
)
def test_weights_are_a_probability_vector_and_constrained_ls_is_optimal(k: int, n: int, seed: int, method: str) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 0.01, n)
    preds = {f"m{i}": y * rng.uniform(-1, 2) + rng.normal(0.0, rng.uniform(0.0, 0.02), n) for i in range(k)}
    w = fit_weights(method, preds, y)
    assert list(w) == list(preds)
    assert all(v >= 0.0 for v in w.values())
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-9)
    if method == "constrained_ls":
        # No vertex of the simplex (a single model) and not equal weights does better.
        def sse(weights: dict[str, float]) -> float:
            return float(np.sum((sum(weights[m] * preds[m] for m in preds) - y) ** 2))

        best = sse(w)
        candidates = [equal_weights(preds), *({m: float(m == name) for m in preds} for name in preds)]
        assert all(best <= sse(c) * (1 + 1e-6) + 1e-15 for c in candidates)
