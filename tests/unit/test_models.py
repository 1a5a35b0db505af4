"""The forecast models on synthetic series with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.contract.domain import Model
from jobs.forecasting.models import build_model, model_class
from jobs.forecasting.models.arima_garch import ArimaGarchModel
from jobs.forecasting.models.base import (
    ForecastModel,
    ModelFitError,
    Prediction,
    cumulative_targets,
)
from jobs.forecasting.models.features import (
    lag_matrix,
    residual_quantiles,
    rolling_std,
    volatility_scale,
)

TRAIN = 500
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # the learned models, as the job runs them


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


def raw(model: Model, seed: int) -> ForecastModel:
    """An unfitted model whose point forecasts are not shrunk to its holdout skill."""
    built = build_model(model, seed=seed)
    built.shrink_to_skill = False
    return built


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
    for model in Model:
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
    model = ArimaGarchModel()
    model.shrink_to_skill = False  # the raw AR recursion, as arch computes it
    model.fit(y[:800], 4)
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


# --- the learned models, one contract --------------------------------------------------------


LEARNERS = [Model.LSTM, Model.TRANSFORMER, Model.GB, Model.RF]
SEEDED = [Model.LSTM, Model.TRANSFORMER, Model.RF]  # GB's sklearn randomness is unused at these sizes
ALL_BUT_ARIMA = [*LEARNERS, Model.PROPHET]


@pytest.mark.parametrize("model", LEARNERS)
def test_learner_finds_ar1_structure(model: Model) -> None:
    y = ar1(800, phi=0.5)
    fitted = build_model(model, seed=1).fit(y[:TRAIN], 1)
    origins = np.arange(TRAIN, 799)
    pred = fitted.predict(y, origins)
    assert np.corrcoef(pred.mean, cumulative_targets(y, origins, 1))[0, 1] > 0.35


@pytest.mark.parametrize("model", list(Model))
def test_model_is_deterministic_and_causal(model: Model) -> None:
    y = garch(700, seed=3)
    origins = np.arange(TRAIN, 696)
    first = raw(model, seed=5).fit(y[:TRAIN], 4)  # unshrunk: zero forecasts would prove nothing
    a = first.predict(y, origins)
    b = raw(model, seed=5).fit(y[:TRAIN], 4).predict(y, origins)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.upper, b.upper)
    changed = y.copy()
    changed[600:] = 0.1  # later bars must not move earlier forecasts
    np.testing.assert_array_equal(first.predict(changed, origins[:100]).mean, a.mean[:100])
    empty = first.predict(y, np.arange(0))
    assert empty.mean.shape == (0,)


@pytest.mark.parametrize("model", SEEDED)
def test_seed_changes_random_models(model: Model) -> None:
    y = garch(700, seed=3)
    origins = np.arange(TRAIN, 696)
    a = raw(model, seed=5).fit(y[:TRAIN], 1).predict(y, origins)
    b = raw(model, seed=6).fit(y[:TRAIN], 1).predict(y, origins)
    assert not np.array_equal(a.mean, b.mean)


@pytest.mark.parametrize("model", ALL_BUT_ARIMA)
def test_interval_coverage_and_volatility_scaling(model: Model) -> None:
    y = garch(1000, seed=4)
    steps = 4
    fitted = build_model(model, seed=2, interval=0.9).fit(y[:TRAIN], steps)
    origins = np.arange(TRAIN, 1000 - steps)
    pred = fitted.predict(y, origins)
    assert pred.is_finite()
    assert (pred.lower < pred.mean).all() and (pred.mean < pred.upper).all()
    assert 0.8 <= coverage(pred, cumulative_targets(y, origins, steps)) <= 0.97
    # The interval is wider right after a volatility burst than it typically is.
    burst = y.copy()
    burst[890:900] = 0.08
    after = fitted.predict(burst, np.array([899]))
    assert float(after.upper[0] - after.lower[0]) > 2 * float(np.median(pred.upper - pred.lower))


@pytest.mark.parametrize("model", ALL_BUT_ARIMA)
def test_degenerate_training_raises_model_fit_error(model: Model) -> None:
    cls = model_class(model)
    with pytest.raises(ModelFitError, match="no usable spread"):
        cls().fit(np.zeros(300), 1)
    with pytest.raises(ModelFitError, match="no usable spread"):
        cls().fit(np.full(300, 1e200), 1)  # finite input whose variance overflows


@pytest.mark.parametrize("model", [Model.LSTM, Model.TRANSFORMER])
def test_diverging_training_raises_model_fit_error(model: Model) -> None:
    from jobs.forecasting.models.sequence import TrainSettings

    with pytest.raises(ModelFitError, match="non-finite"):
        model_class(model)(settings=TrainSettings(lr=1e30)).fit(garch(300), 1)


def test_sequence_net_reports_its_early_stopping_epoch() -> None:
    from jobs.forecasting.models.lstm import LSTMModel
    from jobs.forecasting.models.sequence import TrainSettings

    fitted = LSTMModel(settings=TrainSettings(max_epochs=5, patience=2)).fit(garch(400), 1)
    assert 1 <= fitted.best_epoch_ <= 5


def test_prophet_forecasts_the_final_trend() -> None:
    rng = np.random.default_rng(8)
    # Drift up, then down over the last 200 training bars: the forecast follows the last slope.
    drift = np.concatenate([np.full(300, 0.004), np.full(200, -0.004), np.full(100, -0.004)])
    y = drift + rng.normal(0.0, 0.002, 600)
    fitted = build_model(Model.PROPHET, seed=0).fit(y[:TRAIN], 4)
    pred = fitted.predict(y, np.arange(TRAIN, 590))
    np.testing.assert_allclose(pred.mean, -0.016, atol=0.004)
    assert np.ptp(pred.mean) < 1e-9  # past the training slice the trend is one straight line


def test_models_reject_bad_input() -> None:
    from jobs.forecasting.models.gb import GBModel
    from jobs.forecasting.models.lstm import LSTMModel
    from jobs.forecasting.models.prophet_model import ProphetModel
    from jobs.forecasting.models.rf import RFModel
    from jobs.forecasting.models.sequence import TrainSettings
    from jobs.forecasting.models.transformer import TransformerModel

    for bad in (lambda: LSTMModel(lookback=1), lambda: LSTMModel(holdout=0.9), lambda: TrainSettings(lr=0),
                lambda: TransformerModel(d_model=16, heads=3), lambda: GBModel(learning_rate=2.0),
                lambda: RFModel(n_estimators=2), lambda: ProphetModel(changepoint_prior_scale=-1.0),
                lambda: GBModel(lookback=0)):
        with pytest.raises(ValueError, match="invalid"):
            bad()
    with pytest.raises(ValueError, match="at least 120"):
        LSTMModel().fit(garch(100), 1)
    with pytest.raises(ValueError, match="before fit"):
        RFModel().predict(garch(200), np.arange(3))
    with pytest.raises(ValueError, match="integer indices"):
        GBModel().fit(garch(200), 1).predict(garch(200), np.array([1.5]))
    with pytest.raises(ValueError, match="1-D"):
        ProphetModel().fit(garch(200).reshape(2, 100), 1)


@pytest.mark.parametrize("model", list(Model))
def test_forecasts_do_not_depend_on_where_the_series_starts(model: Model) -> None:
    # The walk-forward fits on returns[s : s+T] and predicts with the whole series.
    y = garch(1000, seed=9)
    fitted = build_model(model, seed=1).fit(y[300:800], 1)
    origins = np.arange(799, 990)
    whole = fitted.predict(y, origins)
    cut = fitted.predict(y[300:], origins - 300)
    np.testing.assert_allclose(cut.mean, whole.mean, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(cut.upper, whole.upper, rtol=1e-6, atol=1e-12)
