"""Base classes the learned models share: a residual-scaled interval, and the tabular (sklearn-style) variant."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from jobs.forecasting.models.base import (
    ForecastModel,
    ModelFitError,
    Prediction,
    cumulative_targets,
)
from jobs.forecasting.models.features import (
    check_origins,
    check_returns,
    check_steps,
    residual_quantiles,
    scaled_interval,
    skill_shrinkage,
    tabular_features,
    training_origins,
    training_scale,
    volatility_scale,
)


class ResidualIntervalModel(ForecastModel):
    """Base for models whose interval is a point forecast plus volatility-scaled residual quantiles.

    Subclasses fit, call ``fit_shrinkage`` with out-of-sample forecasts on a holdout of their
    own training slice (never the validation slice), then ``calibrate`` with their
    training-slice forecasts. ``predict`` keeps the ``shrink_`` share of each point forecast
    that the holdout says is skill (``features.skill_shrinkage``: zero for a model with none)
    and adds the calibrated quantiles times the causal EWMA volatility of the ``steps``-bar
    return at the origin.
    """

    min_train: int = 100  # shortest training slice a subclass accepts
    pointwise = True  # a causal point forecast and volatility scale at each origin

    @abstractmethod
    def point_forecast(self, returns: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Fitted point forecasts at non-empty, validated ``origins`` of the validated ``returns``."""

    def fit_shrinkage(self, returns: np.ndarray, origins: np.ndarray, forecasts: np.ndarray) -> None:
        """Set ``shrink_`` from out-of-sample point forecasts at training-holdout ``origins``."""
        targets = cumulative_targets(returns, origins, self.steps_)
        self.shrink_ = skill_shrinkage(forecasts, targets, self.steps_) if self.shrink_to_skill else 1.0

    def calibrate(self, returns: np.ndarray, origins: np.ndarray, forecasts: np.ndarray) -> None:
        """Set the interval's standardised residual quantiles from training forecasts at ``origins``.

        Needs ``steps_`` and ``start_variance_`` set by ``fit``, and ``shrink_`` by ``fit_shrinkage``:
        the residuals are those of the shrunk forecasts the interval will be centred on.
        """
        if not np.isfinite(forecasts).all():
            raise ModelFitError(f"{self.name}: fitted predictions are not finite")
        residual = cumulative_targets(returns, origins, self.steps_) - self.shrink_ * forecasts
        vol = volatility_scale(returns, origins, self.steps_, self.start_variance_)
        self.quantiles_ = residual_quantiles(residual / vol, self.interval)

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        """Forecast the cumulative ``steps``-bar return after each origin, with the interval."""
        if not hasattr(self, "quantiles_"):
            raise ValueError(f"{type(self).__name__}.predict called before fit")
        r = check_returns(returns, 1)
        idx = check_origins(origins, len(r))
        mean = self.shrink_ * self.point_forecast(r, idx) if idx.size else np.zeros(0)
        scale = volatility_scale(r, idx, self.steps_, self.start_variance_)
        lower, upper = scaled_interval(mean, scale, self.quantiles_)
        return Prediction(mean=mean, lower=lower, upper=upper)

    def _training_targets(self, returns: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validate the training slice, set ``steps_``, ``scale_``, ``start_variance_``.

        Returns:
            The validated returns, the training origins, and their targets scaled by
            ``_target_scale``.
        """
        r = check_returns(returns, self.min_train)
        self.steps_ = check_steps(steps)
        self.scale_ = training_scale(r, self.name)
        self.start_variance_ = self.scale_**2
        origins = training_origins(len(r), self.steps_)
        return r, origins, cumulative_targets(r, origins, self.steps_) / self._target_scale()

    def _target_scale(self) -> float:
        # Models that learn scaled targets divide by the spread of a steps-bar sum of returns.
        return self.scale_ * float(np.sqrt(self.steps_))


class TabularModel(ResidualIntervalModel):
    """Base for the scikit-learn forecasters: tabular features, one regressor, honest residuals.

    Features at origin ``o`` are ``tabular_features`` (scaled lags, momentum, volatility)
    built from ``returns[: o+1]``; the target is the cumulative ``steps``-bar return scaled
    by the training spread. Subclasses fit the regressor and return *out-of-sample*
    predictions for some training rows (a held-out tail, or out-of-bag); the interval comes
    from those residuals.

    Args:
        seed: Seeds the regressor's randomness.
        interval: Central prediction interval level in (0, 1).
        lookback: Number of lagged returns used as features.
    """

    min_train = 100

    def __init__(self, seed: int = 0, interval: float = 0.9, lookback: int = 10) -> None:
        super().__init__(seed=seed, interval=interval)
        if lookback < 1:
            raise ValueError(f"lookback={lookback!r} is invalid: expected at least 1 bar")
        self.lookback = lookback

    @abstractmethod
    def fit_regressor(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fit ``self.regressor_`` on rows of ``(x, y)``; return (row indices, out-of-sample predictions)."""

    def fit(self, returns: np.ndarray, steps: int) -> TabularModel:
        """Fit on the training slice.

        Raises:
            ModelFitError: On a series without usable spread or non-finite fitted predictions.
            ValueError: On invalid input.
        """
        r, origins, y = self._training_targets(returns, steps)
        rows, honest = self.fit_regressor(tabular_features(r, origins, self.lookback, self.scale_), y)
        self.fit_shrinkage(r, origins[rows], honest * self._target_scale())  # held-out tail or out-of-bag
        self.calibrate(r, origins[rows], honest * self._target_scale())
        return self

    def point_forecast(self, returns: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """The regressor's forecasts, back in log-return units."""
        x = tabular_features(returns, origins, self.lookback, self.scale_)
        return self.regressor_.predict(x) * self._target_scale()
