"""A model with a bug, for the fleet soak: its predictions come one origin short (an off-by-one).

Registered in place of a model through the real registry (``jobs.forecasting.models.register_model``),
it makes the real ensemble code raise when it combines the models' predictions: the task fails in
code (a pipeline failure), which must roll the release back, unlike any data incident.
"""

from __future__ import annotations

import numpy as np

from jobs.forecasting.models.base import ForecastModel, Prediction


class OffByOneModel(ForecastModel):
    """Fits a mean; ``predict`` drops the last origin, as a slicing bug would."""

    name = "off-by-one"

    def fit(self, returns: np.ndarray, steps: int) -> OffByOneModel:
        """Fit the mean and spread of the training returns."""
        self.mean_ = float(np.mean(returns)) * steps
        self.spread_ = float(np.std(returns)) * np.sqrt(steps) * 1.645
        return self

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        """One prediction per origin but the last: the bug."""
        mean = np.full(max(len(origins) - 1, 0), self.mean_)
        return Prediction(mean, mean - self.spread_, mean + self.spread_)
