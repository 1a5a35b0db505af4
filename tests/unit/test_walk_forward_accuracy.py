"""Fitting the windows together must not move the ensemble's accuracy (issue 24).

The real sample data (arch's S&P 500 and NASDAQ Composite, 1999-2018) over the 40-window history:
the ensemble's pooled test RMSE over the naive forecast's within 0.001 of the figure before the
change, and the 90% interval's coverage within 1 point.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from jobs.contract.config import JobConfig
from jobs.forecasting.pipeline import default_factory, evaluate_series
from jobs.forecasting.series import validate_bars
from jobs.forecasting.walkforward import DEFAULT_SPECS
from jobs.storage.sample_data import real_daily_bars

# Measured on main at 4c34a03 (every window's models fitted one by one, arch's optimiser), with
# this test's own computation: evaluate_series with JobConfig() (seed 7, simple_avg) over 40 daily
# windows (train 500, validation 63, test 63, rolled by 63) ending at each series' last bar.
# (pooled ensemble test RMSE / pooled naive test RMSE, mean 90% interval coverage of the test slices)
BEFORE = {"SPY": (0.99874793, 0.90278), "MSFT": (0.99995635, 0.90119)}
SPEC = replace(DEFAULT_SPECS["1d"], windows=40)
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as the job runs them




@pytest.mark.slow
@pytest.mark.parametrize("symbol", sorted(BEFORE))
def test_ensemble_accuracy_on_the_real_sample_data_is_unchanged(symbol: str) -> None:
    need = SPEC.required_returns(True) + 1
    series = validate_bars(symbol, "1d", real_daily_bars(symbol).tail(need), need)
    windows, _, _ = evaluate_series(series, "1D", JobConfig(), SPEC, default_factory())
    scores = [w.score for w in windows]
    assert len(scores) == 40
    ratio = math.sqrt(sum(s.test_rmse**2 for s in scores) / sum(s.naive_test_rmse**2 for s in scores))
    coverage = float(np.mean([s.coverage for s in scores]))
    ratio_before, coverage_before = BEFORE[symbol]
    assert abs(ratio - ratio_before) <= 0.001, f"{symbol}: test RMSE / naive {ratio:.6f}, before {ratio_before}"
    assert abs(coverage - coverage_before) <= 0.01, f"{symbol}: coverage {coverage:.4f}, before {coverage_before}"
