"""A symbol-horizon's windows fitted together end as each window fitted alone (issue 24)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from jobs.contract.domain import Model
from jobs.forecasting.models import ModelFitError, warm_up
from jobs.forecasting.models.arima_garch import ArimaGarchModel
from jobs.forecasting.models.lstm import LSTMModel
from jobs.forecasting.models.sequence import (
    TrainSettings,
    seeded_init,
    train_net,
    train_nets,
)
from jobs.storage.sample_data import real_daily_bars

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as the job runs them
TRAIN, STEP = 500, 63




def returns(symbol: str = "SPY") -> np.ndarray:
    return np.diff(np.log(real_daily_bars(symbol)["close"].to_numpy()))


def slices(r: np.ndarray, count: int) -> list[np.ndarray]:
    """The latest ``count`` walk-forward training slices, oldest first."""
    ends = [len(r) - 126 - STEP * (count - 1 - k) for k in range(count)]
    return [r[end - TRAIN: end] for end in ends]


@pytest.mark.slow
def test_lstm_windows_trained_together_end_as_each_trained_alone() -> None:
    r = returns()
    windows = slices(r, 4)
    origins = np.arange(len(r) - 200, len(r) - 1)
    together = LSTMModel.fit_batch([LSTMModel(seed=10 + k) for k in range(4)], windows, 1)
    alone = [LSTMModel(seed=10 + k).fit(w, 1) for k, w in enumerate(windows)]
    for batched, single in zip(together, alone, strict=True):
        assert isinstance(batched, LSTMModel)
        assert batched.best_epoch_ == single.best_epoch_
        a, b = batched.predict(r, origins), single.predict(r, origins)
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(a.upper, b.upper, rtol=1e-5, atol=1e-9)


def test_a_window_that_fails_drops_out_and_leaves_the_others_as_they_were() -> None:
    windows = slices(returns("MSFT"), 3)
    windows[1] = np.zeros(TRAIN)  # no spread: this window cannot be fitted
    together = LSTMModel.fit_batch([LSTMModel(seed=k) for k in range(3)], windows, 1)
    assert isinstance(together[1], ModelFitError) and "no usable spread" in str(together[1])
    for k in (0, 2):
        alone = LSTMModel(seed=k).fit(windows[k], 1)
        assert isinstance(together[k], LSTMModel) and together[k].best_epoch_ == alone.best_epoch_
        np.testing.assert_allclose(together[k].predict(windows[k], np.arange(400, 499)).mean,
                                   alone.predict(windows[k], np.arange(400, 499)).mean, rtol=1e-5, atol=1e-9)


def test_a_net_whose_loss_stops_being_finite_fails_alone() -> None:
    settings = TrainSettings(max_epochs=6, patience=3)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 20, 2, generator=gen), torch.randn(300, generator=gen)
    broken = x.clone()
    broken[7, 3, 0] = float("nan")

    def net(seed: int) -> tuple[torch.nn.Module, torch.Generator]:
        model, generator = LSTMModel(seed=seed).build_net(2), torch.Generator().manual_seed(seed)
        seeded_init(model, generator)
        return model, generator

    (good, g_good), (bad, g_bad) = net(1), net(2)
    outcomes = train_nets([good, bad], [(x[:240], y[:240]), (broken[:240], y[:240])], [(x[240:], y[240:])] * 2,
                          settings, [g_good, g_bad])
    assert isinstance(outcomes[1], ModelFitError) and "non-finite at epoch 1" in str(outcomes[1])
    alone, g_alone = net(1)
    assert outcomes[0] == train_net(alone, (x[:240], y[:240]), (x[240:], y[240:]), settings, g_alone)
    for p, q in zip(good.parameters(), alone.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="heads of one size"):
        train_nets([good, bad], [(x[:240], y[:240]), (x[:200], y[:200])], [(x[240:], y[240:])] * 2, settings,
                   [g_good, g_bad])


def test_garch_windows_started_from_the_previous_estimates_reach_the_same_fit() -> None:
    r = returns()
    windows = slices(r, 4)
    chained = ArimaGarchModel.fit_batch([ArimaGarchModel() for _ in windows], windows, 1)
    origins = np.arange(len(r) - 200, len(r) - 1)
    for model, window in zip(chained, windows, strict=True):
        alone = ArimaGarchModel().fit(window, 1)
        assert isinstance(model, ArimaGarchModel)
        np.testing.assert_allclose(model.params_.as_array()[:5], alone.params_.as_array()[:5], atol=1e-3)
        assert model.shrink_ == pytest.approx(alone.shrink_, abs=0.02)
        np.testing.assert_allclose(model.predict(r, origins).upper, alone.predict(r, origins).upper, rtol=1e-2)


def test_warm_up_fits_each_model_once_and_only_logs_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        warm_up([Model.ARIMA_GARCH, "NOT_A_MODEL"])
    assert [r.getMessage() for r in caplog.records] == [
        "warming up NOT_A_MODEL failed: unknown model 'NOT_A_MODEL': expected one of "
        "LSTM, ARIMA_GARCH, GB, TRANSFORMER, RF, PROPHET"]
