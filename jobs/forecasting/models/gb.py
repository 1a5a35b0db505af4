"""Gradient-boosted trees (scikit-learn ``HistGradientBoostingRegressor``) on lagged returns.

Like the sequence nets, the regressor is fitted on the head of the training slice and
early-stopped on its tail, so the validation slice stays out-of-sample for the ensemble;
the interval comes from the tail's residuals (boosting's in-sample residuals are too small).
"""

from __future__ import annotations

import numpy as np

from jobs.forecasting.models.features import holdout_split
from jobs.forecasting.models.residual import TabularModel


class GBModel(TabularModel):
    """Shallow, shrunk gradient boosting with early stopping on the training tail.

    Args:
        seed: Seeds the boosting's randomness.
        interval: Central prediction interval level in (0, 1).
        lookback: Number of lagged returns used as features.
        max_iter: Upper bound on boosting rounds.
        learning_rate: Shrinkage per round.
        max_depth: Depth of each tree.
        holdout: Fraction of training origins held out for early stopping and residuals.
    """

    name = "GB"

    def __init__(
        self,
        seed: int = 0,
        interval: float = 0.9,
        lookback: int = 10,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        holdout: float = 0.2,
    ) -> None:
        super().__init__(seed=seed, interval=interval, lookback=lookback)
        if max_iter < 1 or max_depth < 1 or not 0.0 < learning_rate <= 1.0 or not 0.05 <= holdout <= 0.5:
            raise ValueError(
                f"max_iter={max_iter}, max_depth={max_depth}, learning_rate={learning_rate}, holdout={holdout} "
                "are invalid: expected max_iter, max_depth >= 1, learning_rate in (0, 1], holdout in [0.05, 0.5]"
            )
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.holdout = holdout

    def fit_regressor(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fit on the head, early-stop on the tail; return the tail rows and their predictions."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        head, tail = holdout_split(np.arange(len(y)), self.steps_, self.holdout)
        self.regressor_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=True,
            n_iter_no_change=10,
            random_state=self.seed,
        )
        self.regressor_.fit(x[head], y[head], X_val=x[tail], y_val=y[tail])
        return tail, self.regressor_.predict(x[tail])
