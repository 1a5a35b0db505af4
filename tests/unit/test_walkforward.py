"""Walk-forward window planning and the divergence maths."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.contract.domain import Model
from jobs.contract.thresholds import LEAK_DIVERGENCE, MAX_FRACTION, Thresholds
from jobs.forecasting.models.base import Prediction, cumulative_targets
from jobs.forecasting.walkforward import (
    FittedWindow,
    WindowSpec,
    divergence,
    model_seed,
    plan_windows,
    rmse,
    score_set,
)

SPEC = WindowSpec(train=100, val=20, test=20, step=20, windows=3)


def test_windows_end_at_the_latest_data_and_roll_by_step() -> None:
    windows = plan_windows(200, SPEC, steps=1, walk_forward=True)
    assert [w.window_id for w in windows] == [0, 1, 2]
    last = windows[-1]
    assert last.test_origins[-1] + 1 == 199  # the last target is the last return
    assert [w.train.start for w in windows] == [20, 40, 60]
    assert all(w.train.stop - w.train.start == 100 for w in windows)


@pytest.mark.parametrize("steps", [1, 4, 8])
def test_no_target_leaks_across_slices(steps: int) -> None:
    for w in plan_windows(300, SPEC, steps=steps, walk_forward=True):
        val_targets_end = w.val_origins[-1] + steps
        assert val_targets_end < w.test_origins[0] + 1, "a validation target reaches into the test slice"
        assert w.val_origins[0] + 1 == w.train.stop, "validation starts right after training"
        assert w.test_origins[-1] + steps <= 299


def test_walk_forward_off_means_one_split() -> None:
    assert len(plan_windows(140, SPEC, steps=1, walk_forward=False)) == 1
    with pytest.raises(ValueError, match="need 180"):
        plan_windows(179, SPEC, steps=1, walk_forward=True)


def test_divergence_is_relative_to_the_naive_forecast() -> None:
    # The model's RMSE grows 30% from val to test, but so does the naive one: no degradation.
    assert divergence(1.0, 1.3, 1.1, 1.43) == pytest.approx(0.0)
    # Same skill loss of 25% relative to naive.
    assert divergence(0.9, 1.25, 1.0, 1.1) == pytest.approx((1.25 / 1.1) / 0.9 - 1)
    # A flat slice has no naive RMSE to compare against: refused (the pipeline refuses it earlier).
    with pytest.raises(ValueError, match="naive"):
        divergence(1.0, 1.0, 0.0, 1.0)


def test_a_leak_is_overfitting_beyond_every_threshold_not_an_error() -> None:
    # Validation RMSE 0 (a model fitted the validation slice exactly): the finite ceiling, above
    # every threshold Thresholds accepts, so queries, alarms and charts see it as the worst case.
    assert divergence(0.0, 1.0, 1.0, 1.0) == LEAK_DIVERGENCE
    assert divergence(0.0, 0.0, 1.0, 1.0) == LEAK_DIVERGENCE
    assert divergence(1e-300, 1.0, 1.0, 1.0) == LEAK_DIVERGENCE  # would overflow: capped, stays finite
    assert LEAK_DIVERGENCE > MAX_FRACTION
    with pytest.raises(ValueError, match="above 0"):
        Thresholds(divergence_warning=0.2, divergence_critical=LEAK_DIVERGENCE)


def test_cumulative_targets_sum_the_next_steps() -> None:
    r = np.arange(10, dtype=float)
    out = cumulative_targets(r, np.array([0, 5, 8]), steps=2)
    assert out[0] == 1 + 2 and out[1] == 6 + 7 and np.isnan(out[2])


def test_rmse_and_seeds() -> None:
    assert rmse(np.zeros(4), np.array([1.0, -1.0, 1.0, -1.0])) == 1.0
    assert model_seed(7, "AAPL", "1D", 0, "LSTM") == model_seed(7, "AAPL", "1D", 0, "LSTM")
    assert model_seed(7, "AAPL", "1D", 0, "LSTM") != model_seed(7, "AAPL", "1D", 1, "LSTM")


def _fitted(val: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> FittedWindow:
    def pred(x: np.ndarray) -> Prediction:
        return Prediction(x, x - 0.01, x + 0.01)

    return FittedWindow({k: pred(v) for k, v in val.items()}, {k: pred(v) for k, v in test.items()}, {})


def test_an_overfitting_window_is_flagged_and_its_forecast_weights_revert_to_equal() -> None:
    rng = np.random.default_rng(0)
    y_val, y_test = rng.normal(0, 0.01, 60), rng.normal(0, 0.01, 60)
    # LSTM "memorised" validation and is noise on test; ARIMA_GARCH is a weak, honest forecast.
    fitted = _fitted({"LSTM": y_val * 0.95, "ARIMA_GARCH": y_val * 0.1},
                     {"LSTM": rng.normal(0, 0.01, 60), "ARIMA_GARCH": y_test * 0.1})
    models = (Model.LSTM, Model.ARIMA_GARCH)
    score = score_set(models, fitted, y_val, y_test, "constrained_ls", threshold=0.20, monitoring=True)
    assert score.divergence > 0.20 and score.is_overfitting and score.weights_reverted
    assert score.weights["LSTM"] > 0.9, "the fitted weights trusted the memorising model"
    assert score.forecast_weights == {"LSTM": 0.5, "ARIMA_GARCH": 0.5}
    off = score_set(models, fitted, y_val, y_test, "constrained_ls", threshold=0.20, monitoring=False)
    assert off.divergence == pytest.approx(score.divergence)
    assert not off.is_overfitting and not off.weights_reverted and off.forecast_weights == off.weights


def test_a_window_that_generalises_is_not_flagged() -> None:
    rng = np.random.default_rng(1)
    y_val, y_test = rng.normal(0, 0.01, 60), rng.normal(0, 0.02, 60)  # volatility doubles: raw RMSE jumps
    fitted = _fitted({"LSTM": y_val * 0.3, "ARIMA_GARCH": y_val * 0.2},
                     {"LSTM": y_test * 0.3, "ARIMA_GARCH": y_test * 0.2})
    score = score_set((Model.LSTM, Model.ARIMA_GARCH), fitted, y_val, y_test, "simple_avg", 0.20, True)
    assert score.test_rmse / score.val_rmse > 1.5, "raw RMSE moved a lot"
    assert abs(score.divergence) < 0.05 and not score.is_overfitting
