"""Walk-forward validation: rolling train / validation / test windows and divergence.

The maths (window planning, targets, RMSE, divergence) are pure functions.
``fit_models`` fits every window's models once, each model's windows together
(``ForecastModel.fit_batch``: each LSTM window continues the previous window's trained net,
each GARCH window starts from the previous one's estimates); ``predict_window`` predicts one
window's slices from those fits, and ``score_set`` then weights and scores one model set;
``jobs.forecasting.pipeline.evaluate_series`` scores the production set and the paired
baseline, so both are compared on the very same windows and fits. ``fit_and_predict`` is the
one-window case.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from jobs.contract.config import DEFAULT_WALK_FORWARD_WINDOWS
from jobs.contract.domain import Model
from jobs.contract.thresholds import LEAK_DIVERGENCE
from jobs.forecasting.ensemble import combine, fit_weights
from jobs.forecasting.models.base import ForecastModel, Prediction, cumulative_targets
from jobs.forecasting.results import SetScore

log = logging.getLogger(__name__)
ModelFactory = Callable[[Model, int], ForecastModel]
# Ratios are capped so that divergence (a ratio minus one) is at most LEAK_DIVERGENCE, exactly.
RATIO_CAP = LEAK_DIVERGENCE + 1.0
# Divergence is rounded to this many decimals. ``ratio - 1.0`` can only land on multiples of
# 2**-52 near 0.2, and the float 0.2 is not one of them: a degradation of exactly 20% would come
# out as 0.19999999999999996 or 0.20000000000000018 depending on the data, so the rule
# ``divergence > 0.20`` would decide it by rounding noise. Rounded, it is the float 0.2 itself,
# which compares equal to the threshold in the job, in SQL (``divergence > 0.20``) and in
# CloudWatch (GreaterThanThreshold 0.2): not above it, everywhere alike.
DIVERGENCE_DECIMALS = 12


@dataclass(frozen=True)
class WindowSpec:
    """Window sizes in bars: train, validation and test slices, and the roll step between windows."""

    train: int
    val: int
    test: int
    step: int
    windows: int

    def __post_init__(self) -> None:
        if min(self.train, self.val, self.test, self.step, self.windows) < 1:
            raise ValueError(f"window sizes must be positive, got {self}")

    def required_returns(self, walk_forward: bool) -> int:
        """Returns needed for every window (one window when walk-forward is off)."""
        extra = (self.windows - 1) * self.step if walk_forward else 0
        return self.train + self.val + self.test + extra


# Daily: ~2 years of training, a quarter each for validation and test, rolled by a quarter.
DEFAULT_SPECS: dict[str, WindowSpec] = {
    "1d": WindowSpec(train=500, val=63, test=63, step=63, windows=DEFAULT_WALK_FORWARD_WINDOWS),
    "1h": WindowSpec(train=600, val=100, test=100, step=100, windows=DEFAULT_WALK_FORWARD_WINDOWS),
}


def window_spec(timeframe: str, windows: int) -> WindowSpec:
    """The timeframe's window sizes with ``windows`` rolling windows (``WALK_FORWARD_WINDOWS``)."""
    return replace(DEFAULT_SPECS[timeframe], windows=windows)


@dataclass(frozen=True)
class WindowBounds:
    """One window in return indices: the training slice and the forecast origins of val and test."""

    window_id: int
    train: slice
    val_origins: np.ndarray
    test_origins: np.ndarray


def plan_windows(n_returns: int, spec: WindowSpec, steps: int, walk_forward: bool) -> list[WindowBounds]:
    """Windows ending at the latest data, oldest first.

    Origins are trimmed so that no validation target reaches into the test slice and no
    test target runs past the data: ``steps``-bar targets never leak across slices.
    """
    if steps < 1 or steps >= min(spec.val, spec.test):
        raise ValueError(f"steps={steps} is invalid: expected 1 to {min(spec.val, spec.test) - 1}")
    count = spec.windows if walk_forward else 1
    if n_returns < spec.required_returns(walk_forward):
        raise ValueError(f"{n_returns} returns, need {spec.required_returns(walk_forward)}")
    out = []
    for k in range(count):
        shift = (count - 1 - k) * spec.step
        val_start = n_returns - shift - spec.test - spec.val
        test_start = val_start + spec.val
        out.append(WindowBounds(
            window_id=k,
            train=slice(val_start - spec.train, val_start),
            val_origins=np.arange(val_start - 1, test_start - steps),
            test_origins=np.arange(test_start - 1, test_start + spec.test - steps),
        ))
    return out


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((pred - target) ** 2)))


def divergence(val_rmse: float, test_rmse: float, naive_val_rmse: float, naive_test_rmse: float) -> float:
    """Relative degradation of skill from validation to test (docs/design.md §3.3).

    Skill is RMSE relative to the naive zero-return forecast on the same slice, so a
    volatility regime change that moves every forecast's RMSE alike does not count as
    overfitting: ``(test/naive_test) / (val/naive_val) - 1``, rounded to ``DIVERGENCE_DECIMALS``
    decimals so that a degradation of exactly a threshold compares equal to it.

    A validation RMSE of zero means a model fitted the validation slice exactly (a leak):
    that is overfitting beyond every threshold, never an error. It, and any figure that would
    exceed it, is stored as ``LEAK_DIVERGENCE`` (finite, above every allowed threshold).

    Raises:
        ValueError: When a naive RMSE is not positive (a flat slice: refused earlier, see
            ``pipeline.require_price_movement``) or any RMSE is negative or not a number.
    """
    if not (naive_val_rmse > 0.0 and naive_test_rmse > 0.0 and val_rmse >= 0.0 and test_rmse >= 0.0):
        raise ValueError(f"RMSE values must be >= 0 and the naive RMSEs > 0 to compute divergence, got "
                         f"val {val_rmse}, test {test_rmse}, naive val {naive_val_rmse}, naive test {naive_test_rmse}")
    return round(capped_ratio(test_rmse / naive_test_rmse, val_rmse / naive_val_rmse) - 1.0, DIVERGENCE_DECIMALS)


def capped_ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` of non-negative figures, at most ``RATIO_CAP`` (a zero denominator gives the cap)."""
    if numerator >= RATIO_CAP * denominator:
        return RATIO_CAP
    return numerator / denominator


def model_seed(seed: int, *parts: object) -> int:
    """A stable per-model seed from the run seed and identifying parts (not Python's salted hash)."""
    return zlib.crc32(":".join(map(str, (seed, *parts))).encode()) & 0x7FFFFFFF


@dataclass
class FittedWindow:
    """The models fitted in one window and their predictions on its slices."""

    val: dict[str, Prediction]
    test: dict[str, Prediction]
    errors: dict[str, str]


# One fit to make: the model, its seed and its training slice of the returns.
FitJob = tuple[Model, int, slice]


def fit_models(jobs: Sequence[FitJob], factory: ModelFactory, returns: np.ndarray,
               steps: int) -> list[ForecastModel | Exception]:
    """Fit every job; each model's jobs go to its ``fit_batch`` together, in the order given.

    Give windows oldest first: a model may start a window from the one before it. Each result
    is the fitted model or the exception that stopped it (its window then drops that model).
    """
    out: list[ForecastModel | Exception] = []
    for model, seed, _ in jobs:
        try:
            out.append(factory(model, seed))
        except Exception as exc:  # a model that cannot be built drops out like one that cannot fit
            out.append(exc)
    groups: dict[tuple[Model, type[ForecastModel]], list[int]] = {}
    for i, built in enumerate(out):
        if isinstance(built, ForecastModel):
            groups.setdefault((jobs[i][0], type(built)), []).append(i)
    for (_, cls), members in groups.items():
        results = cls.fit_batch([out[i] for i in members], [returns[jobs[i][2]] for i in members], steps)
        for i, result in zip(members, results, strict=True):
            out[i] = result
    return out


def predict_window(models: Sequence[Model], fitted: Sequence[ForecastModel | Exception], returns: np.ndarray,
                   bounds: WindowBounds) -> FittedWindow:
    """Predict the window's val and test origins with each of its fitted ``models``.

    A model that failed to fit, raises here, or predicts a non-finite value is dropped for this
    window and its error recorded; the others carry on.
    """
    out = FittedWindow({}, {}, {})
    for model, result in zip(models, fitted, strict=True):
        try:
            if isinstance(result, Exception):
                failure: Exception | None = result
            else:
                val, test = result.predict_each(returns, (bounds.val_origins, bounds.test_origins))
                failure = None if val.is_finite() and test.is_finite() else ValueError("non-finite prediction")
        except Exception as exc:  # any model failure drops that model only, never the window
            failure = exc
        if failure is not None:
            out.errors[model.value] = f"{type(failure).__name__}: {failure}"[:300]
            log.warning("model %s dropped in window %d: %s", model.value, bounds.window_id, failure)
            continue
        out.val[model.value], out.test[model.value] = val, test
    return out


def fit_and_predict(models: Sequence[Model], factory: ModelFactory, returns: np.ndarray, bounds: WindowBounds,
                    steps: int, seed_of: Callable[[Model], int]) -> FittedWindow:
    """Fit each model on one window's training slice and predict its val and test origins."""
    fitted = fit_models([(m, seed_of(m), bounds.train) for m in models], factory, returns, steps)
    return predict_window(models, fitted, returns, bounds)


def score_set(model_set: Sequence[Model], fitted: FittedWindow, y_val: np.ndarray, y_test: np.ndarray,
              method: str, threshold: float, monitoring: bool) -> SetScore:
    """Fit the set's weights on validation, score val and test, flag overfitting."""
    names = [m.value for m in model_set if m.value in fitted.val]
    if not names:
        raise ValueError(f"every model of {','.join(m.value for m in model_set)} failed in this window")
    weights = fit_weights(method, {n: fitted.val[n].mean for n in names}, y_val)
    val_pred = combine(weights, {n: fitted.val[n] for n in names}).mean
    test = combine(weights, {n: fitted.test[n] for n in names})
    scores = (rmse(val_pred, y_val), rmse(test.mean, y_test), rmse(0 * y_val, y_val), rmse(0 * y_test, y_test))
    div = divergence(*scores)
    overfit = monitoring and div > threshold
    cover, width = interval_calibration(test, y_test)
    return SetScore(*scores, divergence=div, is_overfitting=overfit, weights=weights, weights_reverted=overfit,
                    models_used=tuple(names),
                    errors={m.value: fitted.errors[m.value] for m in model_set if m.value in fitted.errors},
                    rmse_ratio=capped_ratio(scores[1], scores[0]), coverage=cover, interval_width=width)


def interval_calibration(pred: Prediction, target: np.ndarray) -> tuple[float | None, float | None]:
    """Share of realised targets inside the prediction interval, and the interval's mean width.

    Rows without a target are left out; ``(None, None)`` when no row has one.
    """
    keep = np.isfinite(target)
    if not keep.any():
        return None, None
    y, lower, upper = target[keep], pred.lower[keep], pred.upper[keep]
    return float(np.mean((y >= lower) & (y <= upper))), float(np.mean(upper - lower))


def window_targets(returns: np.ndarray, bounds: WindowBounds, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Realised cumulative returns at the window's val and test origins."""
    return (cumulative_targets(returns, bounds.val_origins, steps),
            cumulative_targets(returns, bounds.test_origins, steps))
