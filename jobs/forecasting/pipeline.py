"""One symbol and horizon end to end: bars -> walk-forward windows -> production forecast."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS, MODEL_ORDER, Model
from jobs.forecasting.calendar import next_target
from jobs.forecasting.ensemble import combine, equal_weights
from jobs.forecasting.models import build_model
from jobs.forecasting.damage import screen, winsorised
from jobs.forecasting.models.base import ForecastModel
from jobs.forecasting.results import (
    ForecastResult,
    SetScore,
    SymbolOutcome,
    WindowResult,
)
from jobs.forecasting.series import BadBarsError, Series
from jobs.forecasting.walkforward import (
    FitJob,
    FittedWindow,
    ModelFactory,
    WindowBounds,
    WindowSpec,
    fit_models,
    model_seed,
    plan_windows,
    predict_window,
    score_set,
    window_spec,
    window_targets,
)

INTERVAL = 0.9
log = logging.getLogger(__name__)


def default_factory(interval: float = INTERVAL) -> ModelFactory:
    """Build real models from the registry."""

    def factory(model: Model, seed: int) -> ForecastModel:
        return build_model(model, seed=seed, interval=interval)

    return factory


def compute(series: Series, horizon: str, cfg: JobConfig, spec: WindowSpec | None = None,
            factory: ModelFactory | None = None) -> SymbolOutcome:
    """Walk-forward and forecast on bars already read: no database connection is held meanwhile."""
    started = time.perf_counter()
    spec = spec or window_spec(HORIZONS[horizon].timeframe, cfg.walk_forward_windows)
    try:
        events = screen(series, cfg.return_outlier_threshold)  # a damaged price is refused before any fit
    except BadBarsError as exc:
        return SymbolOutcome.refused(series.symbol, horizon, exc, time.perf_counter() - started)
    try:
        windows, baseline, forecast = evaluate_series(series, horizon, cfg, spec, factory or default_factory())
    except BadBarsError as exc:
        return SymbolOutcome.refused(series.symbol, horizon, exc, time.perf_counter() - started)
    except ValueError as exc:  # code refused its own result (every model failed, a point outside its interval)
        return SymbolOutcome(series.symbol, horizon, error=str(exc), seconds=time.perf_counter() - started,
                             events=events)
    return SymbolOutcome(series.symbol, horizon, forecast=forecast, windows=windows, baseline_windows=baseline,
                         seconds=time.perf_counter() - started, events=events)


def evaluate_series(series: Series, horizon: str, cfg: JobConfig, spec: WindowSpec, factory: ModelFactory
                    ) -> tuple[tuple[WindowResult, ...], tuple[WindowResult, ...], ForecastResult]:
    """Score every window for the production set (and the paired baseline), then forecast.

    Every window's models and the forecast's are fitted in one pass (``fit_models``): each
    model's fits for this symbol-horizon, oldest window first and the forecast's last, go to it
    together, so it can share work across them.
    """
    steps = HORIZONS[horizon].steps
    returns = series.returns
    inputs = winsorised(returns, cfg.return_outlier_threshold)  # what the models fit on; targets stay real
    models = [m for m in MODEL_ORDER if m in set(cfg.models) | set(cfg.baseline_models)]
    plans = plan_windows(len(returns), spec, steps, cfg.walk_forward)
    targets = []
    for bounds in plans:
        y_val, y_test = window_targets(returns, bounds, steps)
        require_price_movement(series, bounds, steps, y_val, y_test)  # before fitting: refusing is cheap
        targets.append((y_val, y_test))
    jobs: list[FitJob] = [(m, model_seed(cfg.seed, series.symbol, horizon, b.window_id, m.value), b.train)
                          for b in plans for m in models]
    fitted = fit_models([*jobs, *_production_jobs(series, horizon, cfg, spec)], factory, inputs, steps)
    windows, baseline, last = [], [], None
    for k, (bounds, (y_val, y_test)) in enumerate(zip(plans, targets, strict=True)):
        window = predict_window(models, fitted[k * len(models): (k + 1) * len(models)], inputs, bounds)
        last = _score(cfg.models, window, y_val, y_test, cfg)
        windows.append(_window_row(series, bounds, steps, cfg.models, last, baseline=False))
        if cfg.baseline_models:
            score = _score(cfg.baseline_models, window, y_val, y_test, cfg)
            baseline.append(_window_row(series, bounds, steps, cfg.baseline_models, score, baseline=True))
    if last is None:
        raise ValueError(f"{series.symbol} {horizon}: no walk-forward window could be planned")
    forecast = combine_forecast(series, horizon, cfg, dict(zip(cfg.models, fitted[len(jobs):], strict=True)), last)
    return tuple(windows), tuple(baseline), forecast


def _production_jobs(series: Series, horizon: str, cfg: JobConfig, spec: WindowSpec) -> list[FitJob]:
    """The production set's fits: the latest ``spec.train`` returns, the forecast's own seeds."""
    latest = slice(len(series.returns) - spec.train, None)
    return [(m, model_seed(cfg.seed, series.symbol, horizon, "production", m.value), latest) for m in cfg.models]


def require_price_movement(series: Series, bounds: WindowBounds, steps: int, y_val: np.ndarray,
                           y_test: np.ndarray) -> None:
    """Refuse a window whose validation or test slice has a constant close price.

    The naive forecast is exact on such a slice (zero RMSE), so the divergence measured
    against it is undefined; the reason names the slice and its dates.

    Raises:
        BadBarsError: When every realised target of either slice is zero.
    """
    for name, targets, origins in (("validation", y_val, bounds.val_origins), ("test", y_test, bounds.test_origins)):
        if not np.any(targets):
            start, end = series.timestamps[origins[0] + 1], series.timestamps[origins[-1] + steps]
            raise BadBarsError(
                f"{series.timeframe} bars: constant close price from {start} to {end} (the {name} slice of "
                f"walk-forward window {bounds.window_id}); divergence against the naive forecast is undefined", "constant"
            )


def _score(model_set: Sequence[Model], fitted: FittedWindow, y_val: np.ndarray, y_test: np.ndarray,
           cfg: JobConfig) -> SetScore:
    return score_set(model_set, fitted, y_val, y_test, cfg.optimization_method, cfg.divergence_threshold,
                     cfg.divergence_monitoring)


def _window_row(series: Series, bounds: WindowBounds, steps: int, model_set: Sequence[Model], score: SetScore,
                baseline: bool) -> WindowResult:
    ts = series.timestamps  # returns[i] ends at ts[i + 1]
    return WindowResult(
        window_id=bounds.window_id,
        train_start=ts[bounds.train.start].to_pydatetime(),
        val_start=ts[bounds.val_origins[0] + 1].to_pydatetime(),
        test_start=ts[bounds.test_origins[0] + 1].to_pydatetime(),
        test_end=ts[bounds.test_origins[-1] + steps].to_pydatetime(),
        model_set=tuple(m.value for m in model_set), score=score, is_baseline=baseline,
    )


def production_forecast(series: Series, horizon: str, cfg: JobConfig, spec: WindowSpec, factory: ModelFactory,
                        latest: SetScore) -> ForecastResult:
    """Refit the production set on the latest training slice and forecast (see ``combine_forecast``)."""
    fitted = fit_models(_production_jobs(series, horizon, cfg, spec), factory,
                        winsorised(series.returns, cfg.return_outlier_threshold), HORIZONS[horizon].steps)
    return combine_forecast(series, horizon, cfg, dict(zip(cfg.models, fitted, strict=True)), latest)


def combine_forecast(series: Series, horizon: str, cfg: JobConfig,
                     fitted: dict[Model, ForecastModel | Exception], latest: SetScore) -> ForecastResult:
    """The production set, fitted on the latest training slice, weighted as the latest window says.

    The weights come from the most recent window (equal when it overfitted), renormalised
    over the models that fit now; a model that fails here is left out and named, and one
    that failed in the latest window (so has no validated weight) is left out too.
    """
    steps = HORIZONS[horizon].steps
    returns = winsorised(series.returns, cfg.return_outlier_threshold)
    origin = np.array([len(returns) - 1])
    predictions, errors = {}, {}
    for model, result in fitted.items():
        try:
            if isinstance(result, Exception):
                failure: Exception | None = result
            else:
                pred = result.predict(returns, origin)
                failure = None if pred.is_finite() else ValueError("non-finite prediction")
        except Exception as exc:  # a model failing drops that model only
            failure = exc
        if failure is not None:
            errors[model.value] = f"{type(failure).__name__}: {failure}"
            log.warning("model %s left out of the %s %s forecast: %s", model.value, series.symbol, horizon,
                        errors[model.value])
            continue
        predictions[model.value] = pred
    if not predictions:
        raise ValueError(f"{series.symbol} {horizon}: every model failed for the forecast: {errors}")
    weights = {k: v for k, v in latest.forecast_weights.items() if k in predictions}
    if sum(weights.values()) <= 0:
        weights = equal_weights(predictions)
    # A model that fits now but failed in the latest window has no validated weight: leave it out.
    predictions = {k: v for k, v in predictions.items() if k in weights}
    total = sum(weights.values())
    weights = {k: v / total for k, v in weights.items()}
    combined = combine(weights, predictions)
    last_ts = series.timestamps[-1].to_pydatetime()
    return ForecastResult(
        origin_ts=last_ts, target_ts=next_target(last_ts, HORIZONS[horizon].timeframe, steps, cfg.exchange_calendar),
        last_close=float(series.close[-1]), predicted_return=float(combined.mean[0]),
        lower_return=float(combined.lower[0]), upper_return=float(combined.upper[0]), interval_level=INTERVAL,
        weights=weights, weights_reverted=latest.weights_reverted, models_used=tuple(predictions),
    )
