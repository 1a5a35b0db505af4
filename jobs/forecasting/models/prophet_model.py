"""Prophet on the cumulative log price, predicting its trend change over the horizon.

Prophet is fitted (MAP, no sampling) on the training slice's cumulative log price over a
synthetic daily index, with every seasonality off: the bars are trading bars, not calendar
days, so calendar seasonality would be fiction. The forecast from origin ``o`` is the
fitted trend's change from bar ``o`` to bar ``o + steps``; past the training slice that is
the last fitted slope times ``steps``, a drift forecast. The interval comes from training
residuals standardised by the causal EWMA volatility, like the other models.

Bars are indexed as in the series given to ``fit``. Any origin at or past the training
slice's end lies on the final linear segment (Prophet places no changepoint in the last
20% of the data), so out-of-sample forecasts are the same whatever offset the training
slice had inside the series later given to ``predict``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from jobs.forecasting.models.base import ModelFitError
from jobs.forecasting.models.features import (
    check_returns,
    check_steps,
    holdout_split,
    training_origins,
    training_scale,
)
from jobs.forecasting.models.residual import ResidualIntervalModel

_EPOCH = pd.Timestamp("2000-01-03")


def _quiet_prophet_logs() -> None:
    # cmdstanpy logs every chain start/stop at INFO; prophet complains about missing plotly.
    stan = logging.getLogger("cmdstanpy")
    if not stan.hasHandlers():
        stan.addHandler(logging.NullHandler())  # else cmdstanpy installs its own INFO handler
    stan.setLevel(logging.WARNING)
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    logging.getLogger("prophet").setLevel(logging.WARNING)


def bar_dates(bars: np.ndarray) -> pd.DatetimeIndex:
    """The synthetic date of each bar index: one calendar day per bar from a fixed epoch."""
    return pd.DatetimeIndex(_EPOCH + pd.to_timedelta(bars, unit="D"))


class ProphetModel(ResidualIntervalModel):
    """Prophet's piecewise-linear trend on the cumulative log price (see the module docstring).

    Args:
        seed: Passed to Stan's optimiser.
        interval: Central prediction interval level in (0, 1).
        changepoint_prior_scale: Prophet's trend flexibility.
    """

    name = "PROPHET"
    min_train = 60

    def __init__(self, seed: int = 0, interval: float = 0.9, changepoint_prior_scale: float = 0.05) -> None:
        super().__init__(seed=seed, interval=interval)
        if not 0.0 < changepoint_prior_scale < float("inf"):
            raise ValueError(
                f"changepoint_prior_scale={changepoint_prior_scale!r} is invalid: expected a positive number"
            )
        self.changepoint_prior_scale = changepoint_prior_scale

    def fit(self, returns: np.ndarray, steps: int) -> ProphetModel:
        """Fit Prophet by MAP on the training slice.

        Raises:
            ModelFitError: When Stan fails or the fitted trend is not finite.
            ValueError: On invalid input.
        """
        _quiet_prophet_logs()
        r = check_returns(returns, self.min_train)
        self.steps_ = check_steps(steps)
        self.start_variance_ = training_scale(r, self.name) ** 2
        origins = training_origins(len(r), self.steps_)
        # Skill is judged out of sample: a fit on the head forecasts the held-out tail of the
        # training slice (the validation slice stays untouched), then the final fit uses it all.
        _, tail = holdout_split(origins, self.steps_, 0.2)
        self.prophet_ = self._fit_trend(r[: tail[0] + 1])
        self.fit_shrinkage(r, tail, self.point_forecast(r, tail))
        self.prophet_ = self._fit_trend(r)
        self.calibrate(r, origins, self.point_forecast(r, origins))
        return self

    def _fit_trend(self, r: np.ndarray) -> object:
        """Prophet fitted by MAP on the cumulative log price of ``r``."""
        from prophet import Prophet

        frame = pd.DataFrame({"ds": bar_dates(np.arange(len(r))), "y": np.cumsum(r)})
        model = Prophet(
            growth="linear",
            yearly_seasonality=False,
            weekly_seasonality=False,
            daily_seasonality=False,
            changepoint_prior_scale=self.changepoint_prior_scale,
            uncertainty_samples=0,
        )
        try:
            model.fit(frame, seed=self.seed)
        except (RuntimeError, ValueError) as exc:
            raise ModelFitError(f"PROPHET: Stan failed to fit: {exc}") from exc
        return model

    def point_forecast(self, returns: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """The fitted trend's change from bar ``o`` to bar ``o + steps`` (only bar indices matter)."""
        bars = np.unique(np.concatenate([origins, origins + self.steps_]))
        trend = self.prophet_.predict(pd.DataFrame({"ds": bar_dates(bars)}))["yhat"].to_numpy()
        at = dict(zip(bars.tolist(), trend, strict=True))
        return np.array([at[o + self.steps_] - at[o] for o in origins.tolist()])
