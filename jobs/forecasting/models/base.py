"""The one small interface every model sits behind.

A model is fitted once on a training slice of log returns and then predicts, with its
fitted parameters frozen, the cumulative log return over the next ``steps`` bars from any
forecast origin, with a central prediction interval. Hyperparameters live in ``__init__``;
fitted state lives in attributes ending in ``_``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class ModelFitError(RuntimeError):
    """A model could not be fitted (did not converge, degenerate data); the window drops it."""


@dataclass(frozen=True)
class Prediction:
    """Point forecasts and interval bounds of the cumulative ``steps``-bar log return, one per origin."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self) -> None:
        if not (self.mean.shape == self.lower.shape == self.upper.shape) or self.mean.ndim != 1:
            raise ValueError(
                f"prediction arrays must be 1-D and of one shape, got {self.mean.shape}, "
                f"{self.lower.shape}, {self.upper.shape}"
            )

    def is_finite(self) -> bool:
        """True when every value is finite (a NaN output drops the model from the window)."""
        return bool(np.isfinite(self.mean).all() and np.isfinite(self.lower).all() and np.isfinite(self.upper).all())


class ForecastModel(ABC):
    """Fit on a training slice; predict a horizon's cumulative return with an interval."""

    name: str = "model"
    # Keep only the share of each point forecast that the model's own training holdout showed to
    # be skill (``features.skill_shrinkage``), so a model without skill forecasts about zero. Off
    # only to inspect a model's raw recursions (tests); fitted factor in ``shrink_``.
    shrink_to_skill: bool = True
    # Whether the forecast at an origin depends only on the returns up to it and the fitted state,
    # never on which other origins are asked for or on earlier calls: then ``predict_each`` answers
    # several sets of origins with one ``predict`` call (one pass of the model's recursions).
    pointwise: bool = False

    def __init__(self, seed: int = 0, interval: float = 0.9) -> None:
        if not 0.0 < interval < 1.0:
            raise ValueError(f"interval={interval!r} is invalid: expected a level in (0, 1)")
        self.seed = seed
        self.interval = interval

    @abstractmethod
    def fit(self, returns: np.ndarray, steps: int) -> ForecastModel:
        """Fit on ``returns`` (1-D log returns of the training slice) for ``steps``-ahead targets."""

    @abstractmethod
    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        """Forecast ``sum(returns[o+1 : o+1+steps])`` for each origin ``o`` using only ``returns[: o+1]``."""

    def predict_each(self, returns: np.ndarray, origin_sets: Sequence[np.ndarray]) -> list[Prediction]:
        """``predict`` at each set of origins, in order (a window's validation, then its test origins).

        A ``pointwise`` model answers them all with one ``predict`` call; any other is asked once
        per set, in order.
        """
        if not self.pointwise:
            return [self.predict(returns, origins) for origins in origin_sets]
        whole = self.predict(returns, np.concatenate(origin_sets))
        cuts = np.cumsum([len(origins) for origins in origin_sets])[:-1]
        parts = zip(np.split(whole.mean, cuts), np.split(whole.lower, cuts), np.split(whole.upper, cuts), strict=True)
        return [Prediction(mean, lower, upper) for mean, lower, upper in parts]

    @classmethod
    def fit_batch(cls, models: Sequence[ForecastModel], slices: Sequence[np.ndarray],
                  steps: int) -> list[ForecastModel | Exception]:
        """Fit ``models[i]`` on ``slices[i]``: the walk-forward's windows of one model, oldest first.

        Each result is the fitted model, or the exception its fit raised: a model that fails in
        one window is dropped from that window only. This default fits one after the other;
        models whose windows can share work override it: ARIMA_GARCH starts each window's
        optimiser from the previous window's estimates (the same maximum as ``fit``), the
        sequence nets continue the previous window's trained net (no longer what ``fit`` alone
        makes, see ``SequenceNetModel.fit_batch``). A window may use only windows before it.
        """
        out: list[ForecastModel | Exception] = []
        for model, returns in zip(models, slices, strict=True):
            try:
                out.append(model.fit(returns, steps))
            except Exception as exc:  # any failure drops this model in this window, never the others
                out.append(exc)
        return out


def cumulative_targets(returns: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
    """The realised ``steps``-bar cumulative return after each origin (NaN past the end)."""
    csum = np.concatenate([[0.0], np.cumsum(returns)])
    out = np.full(origins.shape, np.nan)
    ok = origins + steps < len(returns)
    out[ok] = csum[origins[ok] + 1 + steps] - csum[origins[ok] + 1]
    return out
