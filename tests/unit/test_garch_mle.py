"""ARIMA_GARCH's own maximum-likelihood fit held to ``arch``'s, on the real sample data (issue 24)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from arch import arch_model

from jobs.forecasting.models.garch_mle import arch_start, fit_garch, garch_problem, negative_loglik
from jobs.storage.sample_data import real_daily_bars

TRAIN, STEP, WINDOWS = 500, 63, 6


def windows(symbol: str) -> list[np.ndarray]:
    """Daily returns in percent of the latest walk-forward training slices, oldest first."""
    close = real_daily_bars(symbol)["close"].to_numpy()
    y = np.diff(np.log(close)) * 100.0
    ends = [len(y) - STEP * (WINDOWS - 1 - k) for k in range(WINDOWS)]
    return [y[end - TRAIN: end] for end in ends]


def arch_fit(y: np.ndarray, dist: str) -> tuple[np.ndarray, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = arch_model(y, mean="AR", lags=1, vol="GARCH", p=1, q=1, dist=dist, rescale=False).fit(disp="off")
    assert res.convergence_flag == 0
    return res.params.to_numpy(), float(res.loglikelihood)


def arch_loglik(y: np.ndarray, dist: str, theta: np.ndarray) -> float:
    """arch's log-likelihood at fixed parameters (its own backcast and variance bounds)."""
    return float(arch_model(y, mean="AR", lags=1, vol="GARCH", p=1, q=1, dist=dist, rescale=False).fix(theta).loglikelihood)


@pytest.mark.parametrize("dist", ["t", "normal"])
@pytest.mark.parametrize("symbol", ["SPY", "MSFT"])
def test_estimates_are_archs_from_its_start_and_from_the_previous_window(symbol: str, dist: str) -> None:
    previous = None
    for y in windows(symbol):
        expected, best = arch_fit(y, dist)
        problem = garch_problem(y, dist)
        assert -negative_loglik(expected, problem)[0] == pytest.approx(best, rel=1e-10), "the same likelihood"
        for fit in (fit_garch(problem), fit_garch(problem, previous)):
            assert fit.converged, fit.message
            assert fit.loglik >= best - 1e-5, "as good a maximum as arch's"
            np.testing.assert_allclose(fit.params[:5], expected[:5], atol=1e-3)
            if dist == "t":
                assert fit.params[5] == pytest.approx(expected[5], rel=2e-2)  # nu: a flat likelihood
        previous = fit.params


@pytest.mark.parametrize("dist", ["t", "normal"])
def test_likelihood_is_archs_at_far_off_parameters_where_its_variance_bounds_bind(dist: str) -> None:
    y = windows("SPY")[-1]
    problem = garch_problem(y, dist)
    nu = [6.0] if dist == "t" else []
    for theta in ([0.05, 0.0, 0.0, 1.0, 0.0, *nu], [0.03, 0.1, 0.0, 0.0, 0.77, *nu], [0.0, 0.0, 1e8, 0.1, 0.85, *nu]):
        assert -negative_loglik(np.array(theta), problem)[0] == pytest.approx(arch_loglik(y, dist, np.array(theta)),
                                                                               rel=1e-10)


@pytest.mark.parametrize("dist", ["t", "normal"])
def test_analytic_gradient_matches_central_differences(dist: str) -> None:
    y = windows("MSFT")[0]
    problem = garch_problem(y, dist)
    start = arch_start(problem)
    for theta in (start, start * np.r_[1.3, 0.5, 2.0, 0.5, 1.05, [1.5] * (dist == "t")],
                  np.r_[0.05, 0.0, 1e-9, 1.0, 0.0, [6.0] * (dist == "t")]):  # bounds bind at the last
        grad = negative_loglik(theta, problem)[1]
        step = 1e-6 * np.maximum(np.abs(theta), 1e-3)
        numeric = [(negative_loglik(theta + h, problem)[0] - negative_loglik(theta - h, problem)[0]) / (2 * h[i])
                   for i, h in enumerate(np.diag(step))]
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-3)


def test_a_start_outside_the_constraints_is_moved_inside() -> None:
    y = windows("SPY")[0]
    problem = garch_problem(y, "t")
    fit = fit_garch(problem, np.array([0.0, 0.0, -1.0, 0.7, 0.7, 1.0]))
    expected, best = arch_fit(y, "t")
    assert fit.converged and fit.loglik >= best - 1e-5


@pytest.mark.parametrize("dist", ["t", "normal"])
@pytest.mark.parametrize("symbol", ["SPY", "MSFT"])
def test_newton_steps_from_the_previous_window_and_its_curvature_reach_archs_maximum(symbol: str, dist: str) -> None:
    previous, newton = fit_garch(garch_problem(windows(symbol)[0], dist)), 0
    assert previous.hessian is not None and np.all(np.linalg.eigvalsh(previous.hessian) > 0)
    for y in windows(symbol)[1:]:
        expected, best = arch_fit(y, dist)
        fit = fit_garch(garch_problem(y, dist), previous.params, previous.hessian)
        newton += fit.message.startswith("Newton steps converged")
        assert fit.converged and fit.hessian is not None, fit.message
        assert fit.loglik >= best - 1e-5, "as good a maximum as arch's"
        np.testing.assert_allclose(fit.params[:5], expected[:5], atol=1e-3)
        if dist == "t":
            assert fit.params[5] == pytest.approx(expected[5], rel=2e-2)
        previous = fit
    assert newton >= 4, "Newton steps, not SLSQP, fit most windows"


def test_newton_steps_stop_on_the_persistence_constraint_where_the_maximum_lies() -> None:
    *before, last = windows("SPY")
    previous = fit_garch(garch_problem(before[-1], "t"))
    fit = fit_garch(garch_problem(last, "t"), previous.params, previous.hessian)
    expected, best = arch_fit(last, "t")
    assert fit.message.startswith("Newton steps converged")
    assert fit.params[3] + fit.params[4] == pytest.approx(1.0, abs=1e-12)  # alpha + beta <= 1 binds
    assert expected[3] + expected[4] == pytest.approx(1.0, abs=1e-6) and fit.loglik >= best - 1e-5
