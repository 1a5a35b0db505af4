"""A model factory that plants a chosen divergence in each walk-forward window (issue 14).

The real pipeline, walk-forward, weighting and storage run unchanged; only the models are
stand-ins that can see the realised targets of the window they are asked about, so they can
make the ensemble's validation and test RMSE, measured against the naive forecast, come out at
any chosen divergence (or a leak: validation RMSE zero) and the 90% interval cover exactly the
chosen share of the test slice.

In each window the first model forecasts half of every validation target and the second the
opposite, so weights fitted on validation (``inverse_rmse``, ``constrained_ls``) favour the first
model and differ visibly from equal weights. On the test slice both forecast ``c`` times the
target, with ``c`` solved from the ensemble's validation skill so that
``(test/naive_test) / (val/naive_val) - 1`` is the planted figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jobs.contract.domain import Model
from jobs.forecasting.models.base import ForecastModel, Prediction
from jobs.forecasting.walkforward import (
    FittedWindow,
    WindowBounds,
    WindowSpec,
    plan_windows,
    score_set,
    window_targets,
)

LEAK = "leak"  # a planted window whose models fit the validation slice exactly
COVERED = 0.9  # share of test targets the planted interval holds
PRODUCTION = {Model.LSTM: 0.004, Model.ARIMA_GARCH: -0.002}  # production point forecasts per model


def _interval(mean: np.ndarray, target: np.ndarray, covered: float) -> Prediction:
    """An interval around ``mean`` that holds exactly the first ``covered`` share of ``target``."""
    miss = np.abs(target - mean)
    inside = np.arange(len(mean)) < round(covered * len(mean))
    half = np.where(inside, 1.5 * miss + 1e-4, 0.5 * miss)
    return Prediction(mean=mean, lower=mean - half, upper=mean + half)


@dataclass
class PlantedFactory:
    """``ModelFactory`` for ``pipeline.compute``/``tests.support.pipeline.run_symbol``: window ``k`` gets ``plan[k]``.

    Attributes:
        spec: The window sizes the pipeline is given (the stand-ins locate their window with it).
        plan: Per window id, the divergence to plant, or ``LEAK``.
        method: The optimisation method the pipeline weighs with (to solve for the test slice).
        models: The configured production set, in the job's order.
    """

    spec: WindowSpec
    plan: Sequence[float | str]
    method: str
    models: tuple[Model, ...] = (Model.LSTM, Model.ARIMA_GARCH)
    steps: int = 1
    _scale: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.plan) != self.spec.windows:
            raise ValueError(f"plan has {len(self.plan)} windows, the spec {self.spec.windows}")

    def __call__(self, model: Model, seed: int) -> ForecastModel:
        return PlantedModel(self, model, seed=seed)

    def val_means(self, model: Model, y_val: np.ndarray, window_id: int) -> np.ndarray:
        """The model's validation forecasts: exact under a leak, else +-half of each target."""
        if self.plan[window_id] == LEAK:
            return y_val.copy()
        return (0.5 if model is self.models[0] else -0.5) * y_val

    def test_scale(self, bounds: WindowBounds, y_val: np.ndarray, y_test: np.ndarray) -> float:
        """``c`` such that forecasting ``c * target`` on the test slice gives the planted divergence."""
        planted = self.plan[bounds.window_id]
        if planted == LEAK:
            return 0.0
        if bounds.window_id not in self._scale:
            val = {m.value: Prediction(self.val_means(m, y_val, bounds.window_id), y_val, y_val) for m in self.models}
            probe = score_set(self.models, FittedWindow(val, val, {}), y_val, y_val, self.method, 1.0, False)
            skill = probe.val_rmse / probe.naive_val_rmse
            self._scale[bounds.window_id] = 1.0 - (1.0 + float(planted)) * skill
        return self._scale[bounds.window_id]


class PlantedModel(ForecastModel):
    """One stand-in model of a ``PlantedFactory``."""

    def __init__(self, factory: PlantedFactory, model: Model, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.factory, self.model, self.name = factory, model, model.value
        self.calls = 0

    def fit(self, returns: np.ndarray, steps: int) -> PlantedModel:
        """Nothing to fit."""
        return self

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        """The planted forecasts for a window's validation or test origins; a fixed one otherwise.

        The walk-forward asks a fitted model for its window's validation origins, then its test
        origins (one window's test slice can be the next one's validation slice, so the origins
        alone do not say which is meant).
        """
        f = self.factory
        self.calls += 1
        for bounds in plan_windows(len(returns), f.spec, f.steps, True):
            y_val, y_test = window_targets(returns, bounds, f.steps)
            if self.calls == 1 and np.array_equal(origins, bounds.val_origins):
                return _interval(f.val_means(self.model, y_val, bounds.window_id), y_val, COVERED)
            if self.calls == 2 and np.array_equal(origins, bounds.test_origins):
                return _interval(f.test_scale(bounds, y_val, y_test) * y_test, y_test, COVERED)
        mean = np.full(len(origins), PRODUCTION[self.model])
        return Prediction(mean=mean, lower=mean - 0.02, upper=mean + 0.02)
