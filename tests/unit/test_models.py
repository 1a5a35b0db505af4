"""The forecast models on synthetic series with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.config import Model
from jobs.models import build_model, model_class
from jobs.models.arima_garch import ArimaGarchModel
from jobs.models.base import ModelFitError, Prediction, cumulative_targets
from jobs.models.features import lag_matrix, residual_quantiles, rolling_std, volatility_scale

TRAIN = 500


def ar1(n: int, phi: float = 0.5, sd: float = 0.01, seed: int = 0) -> np.ndarray:
    """AR(1) returns: a strongly predictable one-step structure."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, sd, n)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = phi * y[t - 1] + e[t]
    return y


def garch(n: int, seed: int = 0, omega: float = 2e-6, alpha: float = 0.08, beta: float = 0.9) -> np.ndarray:
    """GARCH(1,1) returns with standardised Student-t(6) innovations and a small AR(1) mean."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(6, n) / np.sqrt(6 / 4)
    y = np.zeros(n)
    h, e_prev = omega / (1 - alpha - beta), 0.0
    for t in range(n):
        h = omega + alpha * e_prev**2 + beta * h
        e_prev = np.sqrt(h) * z[t]
        y[t] = 0.0003 + 0.1 * (y[t - 1] if t else 0.0) + e_prev
    return y


def coverage(pred: Prediction, target: np.ndarray) -> float:
    ok = np.isfinite(target)
    return float(np.mean((target[ok] >= pred.lower[ok]) & (target[ok] <= pred.upper[ok])))


# --- shared helpers -------------------------------------------------------------------------


def test_lag_matrix_rows_are_causal_windows() -> None:
    x = np.arange(1.0, 7.0)
    out = lag_matrix(x, np.array([0, 3, 5]), 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [2, 3, 4], [4, 5, 6]])


def test_rolling_std_matches_numpy() -> None:
    x = np.random.default_rng(1).normal(size=50)
    out = rolling_std(x, 10)
    assert out[30] == pytest.approx(np.std(x[21:31]))
    assert out[3] == pytest.approx(np.std(x[:4]))


def test_volatility_scale_is_causal() -> None:
    x = np.random.default_rng(2).normal(0, 0.01, 100)
    changed = x.copy()
    changed[60:] *= 10.0
    origins = np.arange(60)
    np.testing.assert_array_equal(volatility_scale(x, origins, 4, 1e-4), volatility_scale(changed, origins, 4, 1e-4))


def test_residual_quantiles() -> None:
    z = np.linspace(-1.0, 1.0, 201)
    assert residual_quantiles(z, 0.9) == pytest.approx((-0.9, 0.9))
    lo, hi = residual_quantiles(np.array([1.0, -1.0]), 0.9)  # too few: normal fallback
    assert hi == pytest.approx(1.6449, abs=1e-3) and lo == -hi


# --- registry --------------------------------------------------------------------------------


def test_registry_builds_every_model_with_seed_and_interval() -> None:
    for model in (Model.ARIMA_GARCH,):
        built = build_model(model, seed=11, interval=0.8)
        assert built.name == model.value
        assert (built.seed, built.interval) == (11, 0.8)
    assert model_class("ARIMA_GARCH") is ArimaGarchModel


def test_registry_rejects_unknown_models() -> None:
    with pytest.raises(ValueError, match="unknown model 'XGB': expected one of LSTM, ARIMA_GARCH"):
        build_model("XGB", seed=0)
    with pytest.raises(ValueError, match=r"interval=1\.5"):
        build_model(Model.ARIMA_GARCH, seed=0, interval=1.5)


# --- ARIMA-GARCH -----------------------------------------------------------------------------


def test_arima_garch_matches_arch_forecasts_with_frozen_params() -> None:
    from arch import arch_model

    y = garch(1200, seed=1)
    model = ArimaGarchModel().fit(y[:800], 4)
    fixed = arch_model(y * 100, mean="AR", lags=1, vol="GARCH", p=1, q=1, dist="t", rescale=False).fix(
        model.params_.as_array()
    )
    # Late origins: both variance recursions have long forgotten their different starts.
    origins = np.arange(900, 1200)
    ref = fixed.forecast(start=900, horizon=4, reindex=False)
    np.testing.assert_allclose(model.predict(y, origins).mean, ref.mean.to_numpy().sum(axis=1) / 100, atol=1e-12)
    one = ArimaGarchModel(dist="normal").fit(y[:800], 1)
    fixed1 = arch_model(y * 100, mean="AR", lags=1, vol="GARCH", p=1, q=1, dist="normal", rescale=False).fix(
        one.params_.as_array()[:5]
    )
    sd = np.sqrt(fixed1.forecast(start=900, horizon=1, reindex=False).variance.to_numpy()[:, 0]) / 100
    pred = one.predict(y, origins)
    np.testing.assert_allclose(pred.upper - pred.mean, 1.6448536 * sd, rtol=1e-6)


@pytest.mark.parametrize("steps", [1, 4])
def test_arima_garch_interval_coverage_near_nominal(steps: int) -> None:
    covs = []
    for seed in range(3):
        y = garch(1500, seed=seed)
        model = ArimaGarchModel().fit(y[:1000], steps)
        origins = np.arange(1000, 1500 - steps)
        covs.append(coverage(model.predict(y, origins), cumulative_targets(y, origins, steps)))
    assert 0.85 <= float(np.mean(covs)) <= 0.95


def test_arima_garch_recovers_ar_structure() -> None:
    y = ar1(1000, phi=0.5)
    model = ArimaGarchModel(dist="normal").fit(y[:TRAIN], 1)
    assert model.params_.phi == pytest.approx(0.5, abs=0.1)
    origins = np.arange(TRAIN, 999)
    pred = model.predict(y, origins)
    assert np.corrcoef(pred.mean, cumulative_targets(y, origins, 1))[0, 1] > 0.35
    # The forecast at origin o must not move when later returns change.
    changed = y.copy()
    changed[700:] = 0.05
    np.testing.assert_array_equal(model.predict(changed, origins[:150]).mean, pred.mean[:150])


def test_arima_garch_fit_failure_raises_model_fit_error() -> None:
    with pytest.raises(ModelFitError):
        ArimaGarchModel().fit(np.zeros(300), 1)  # no variance at all: nothing to fit


def test_arima_garch_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="dist='skewt'"):
        ArimaGarchModel(dist="skewt")
    with pytest.raises(ValueError, match="at least 100"):
        ArimaGarchModel().fit(np.zeros(20), 1)
    with pytest.raises(ValueError, match="index 3"):
        ArimaGarchModel().fit(np.array([0.01, 0.0, 0.02, np.nan] * 50), 1)
    with pytest.raises(ValueError, match="steps=0"):
        ArimaGarchModel().fit(garch(300), 0)
    with pytest.raises(ValueError, match="before fit"):
        ArimaGarchModel().predict(garch(300), np.arange(3))
    model = ArimaGarchModel().fit(garch(300), 1)
    with pytest.raises(ValueError, match=r"origins must lie in \[0, 299\]"):
        model.predict(garch(300), np.array([300]))
