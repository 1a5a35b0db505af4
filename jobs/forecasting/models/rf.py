"""A small random forest (scikit-learn) on lagged returns and volatility features.

The forest is fitted on the whole training slice; its out-of-bag predictions are honest
out-of-sample forecasts for every training row, and give the interval's residuals.
"""

from __future__ import annotations

import numpy as np

from jobs.forecasting.models.base import ModelFitError
from jobs.forecasting.models.residual import TabularModel


class RFModel(TabularModel):
    """Random forest: 50 trees of depth at most 6, one job (the job parallelises across symbols).

    Args:
        seed: Seeds bootstrap samples and feature subsampling.
        interval: Central prediction interval level in (0, 1).
        lookback: Number of lagged returns used as features.
        n_estimators: Number of trees.
        max_depth: Maximum tree depth.
        min_samples_leaf: Minimum rows per leaf (smooths the noisy targets).
    """

    name = "RF"

    def __init__(
        self,
        seed: int = 0,
        interval: float = 0.9,
        lookback: int = 10,
        n_estimators: int = 50,
        max_depth: int = 6,
        min_samples_leaf: int = 10,
    ) -> None:
        super().__init__(seed=seed, interval=interval, lookback=lookback)
        if n_estimators < 10 or max_depth < 1 or min_samples_leaf < 1:
            raise ValueError(
                f"n_estimators={n_estimators}, max_depth={max_depth}, min_samples_leaf={min_samples_leaf} are "
                "invalid: expected n_estimators >= 10 (out-of-bag residuals need enough trees), the others >= 1"
            )
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf

    def fit_regressor(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fit on every training row; return the rows that have out-of-bag predictions and those."""
        from sklearn.ensemble import RandomForestRegressor

        self.regressor_ = RandomForestRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=0.5,
            oob_score=True,
            n_jobs=1,
            random_state=self.seed,
        )
        self.regressor_.fit(x, y)
        oob = self.regressor_.oob_prediction_
        rows = np.flatnonzero(np.isfinite(oob))  # a row in every bootstrap sample has no OOB forecast
        if rows.size == 0:
            raise ModelFitError("RF: no out-of-bag predictions to size the interval")
        return rows, oob[rows]
