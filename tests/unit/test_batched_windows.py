"""A symbol-horizon's windows fitted together: LSTMs continue the previous window's net (issue 24).

And each GARCH window starts from the previous one's estimates and curvature.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from jobs.contract.domain import Model
from jobs.forecasting.models import ModelFitError, cumulative_targets, warm_up
from jobs.forecasting.models.arima_garch import ArimaGarchModel
from jobs.forecasting.models.lstm import LSTMModel
from jobs.forecasting.models.sequence import (
    TrainSettings,
    seeded_init,
    train_net,
)
from jobs.storage.sample_data import real_daily_bars
from tests.unit.test_models import ar1

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as the job runs them
TRAIN, STEP = 500, 63




def returns(symbol: str = "SPY") -> np.ndarray:
    return np.diff(np.log(real_daily_bars(symbol)["close"].to_numpy()))


def slices(r: np.ndarray, count: int) -> list[np.ndarray]:
    """The latest ``count`` walk-forward training slices, oldest first."""
    ends = [len(r) - 126 - STEP * (count - 1 - k) for k in range(count)]
    return [r[end - TRAIN: end] for end in ends]


def weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def test_warm_windows_train_at_the_model_s_warm_rate_with_patience_one() -> None:
    from jobs.forecasting.models.transformer import TransformerModel

    lstm = LSTMModel()
    assert (lstm.lookback, lstm.settings.lr, lstm.settings.patience) == (6, 2.5e-2, 5), "LSTM's measured defaults"
    assert lstm.warm_settings.lr == pytest.approx(1e-2, rel=1e-12), "LSTM warm: 0.4 times the rate"
    assert lstm.warm_settings.patience == 1 and lstm.warm_settings.max_epochs == lstm.settings.max_epochs
    own = LSTMModel(settings=TrainSettings(lr=5e-2, patience=3, max_epochs=9))
    assert own.warm_settings.lr == pytest.approx(2e-2, rel=1e-12)
    assert (own.warm_settings.patience, own.warm_settings.max_epochs) == (1, 9)
    given = TrainSettings(lr=5e-3, patience=2)
    assert LSTMModel(warm_settings=given).warm_settings is given
    transformer = TransformerModel()  # the base's defaults: its warm windows keep its rate
    assert (transformer.lookback, transformer.settings) == (10, TrainSettings())
    assert (transformer.warm_settings.lr, transformer.warm_settings.patience) == (1e-2, 1)
    assert LSTMModel(lookback=12).lookback == 12


@pytest.mark.slow
def test_the_first_window_trains_as_alone_and_each_later_one_continues_the_one_before() -> None:
    r = returns()
    windows = slices(r, 4)
    chained = LSTMModel.fit_batch([LSTMModel(seed=10 + k) for k in range(4)], windows, 1)
    first, alone = chained[0], LSTMModel(seed=10).fit(windows[0], 1)
    assert isinstance(first, LSTMModel) and not first.warm_started_ and first.best_epoch_ == alone.best_epoch_
    origins = np.arange(len(r) - 200, len(r) - 1)
    np.testing.assert_array_equal(first.predict(r, origins).mean, alone.predict(r, origins).mean)
    for before, model, window in zip(chained, chained[1:], windows[1:], strict=False):
        assert isinstance(before, LSTMModel) and isinstance(model, LSTMModel)
        assert model.warm_started_ and 0 <= model.best_epoch_ <= model.warm_settings.max_epochs
        # Its own start, replayed: the previous window's final weights, then the warm budget.
        replay = LSTMModel(seed=model.seed)
        run = replay._prepare(window, 1)
        run.net.load_state_dict(before.net_.state_dict())
        epoch = train_net(run.net, run.head, run.tail, model.warm_settings, run.generator, warm=True)
        assert epoch == model.best_epoch_
        for p, q in zip(weights(run.net), weights(model.net_), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    kept = [m for m in chained[1:] if isinstance(m, LSTMModel) and m.best_epoch_ == 0]
    for model in kept:  # epoch 0 kept: the inherited weights, unchanged
        before = chained[chained.index(model) - 1]
        assert isinstance(before, LSTMModel)
        for p, q in zip(weights(before.net_), weights(model.net_), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.slow
def test_chained_windows_forecast_a_signal_as_well_as_windows_trained_alone() -> None:
    y = ar1(TRAIN + STEP * 5 + 1, phi=0.5, seed=0)
    windows = [y[STEP * k: STEP * k + TRAIN] for k in range(5)]
    chained = LSTMModel.fit_batch([LSTMModel(seed=k) for k in range(5)], windows, 1)
    alone = [LSTMModel(seed=k).fit(w, 1) for k, w in enumerate(windows)]

    def skill(model: object, k: int) -> float:
        """Correlation of the forecasts with the targets over the window's next STEP bars (out of sample)."""
        assert isinstance(model, LSTMModel)
        origins = np.arange(STEP * k + TRAIN - 1, STEP * k + TRAIN + STEP - 1)
        return float(np.corrcoef(model.predict(y, origins).mean, cumulative_targets(y, origins, 1))[0, 1])

    with_chain = np.mean([skill(m, k) for k, m in enumerate(chained)])
    without = np.mean([skill(m, k) for k, m in enumerate(alone)])
    assert with_chain > 0.4 and with_chain >= without - 0.03, (with_chain, without)
    assert all(isinstance(m, LSTMModel) and m.warm_started_ for m in chained[1:])


def test_a_window_fits_only_from_windows_before_it() -> None:
    windows = slices(returns("MSFT"), 3)
    original = LSTMModel.fit_batch([LSTMModel(seed=k) for k in range(3)], windows, 1)
    changed = [*windows[:2], windows[2][::-1].copy()]
    again = LSTMModel.fit_batch([LSTMModel(seed=k) for k in range(3)], changed, 1)
    for a, b in zip(original[:2], again[:2], strict=True):
        assert isinstance(a, LSTMModel) and isinstance(b, LSTMModel)
        for p, q in zip(weights(a.net_), weights(b.net_), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert isinstance(again[2], LSTMModel) and isinstance(original[2], LSTMModel)
    assert again[2].quantiles_ != original[2].quantiles_  # the changed window did fit its own data


def test_a_window_that_fails_is_skipped_and_the_next_continues_the_last_one_fitted() -> None:
    windows = slices(returns("MSFT"), 3)
    windows[1] = np.zeros(TRAIN)  # no spread: this window cannot be fitted
    chained = LSTMModel.fit_batch([LSTMModel(seed=k) for k in range(3)], windows, 1)
    assert isinstance(chained[1], ModelFitError) and "no usable spread" in str(chained[1])
    first, last = chained[0], chained[2]
    assert isinstance(first, LSTMModel) and isinstance(last, LSTMModel) and last.warm_started_
    replay = LSTMModel(seed=2)
    run = replay._prepare(windows[2], 1)
    run.net.load_state_dict(first.net_.state_dict())
    assert train_net(run.net, run.head, run.tail, last.warm_settings, run.generator, warm=True) == last.best_epoch_
    for p, q in zip(weights(run.net), weights(last.net_), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_a_net_of_another_shape_is_not_continued() -> None:
    windows = slices(returns(), 2)
    chained = LSTMModel.fit_batch([LSTMModel(seed=0, hidden=8), LSTMModel(seed=1)], windows, 1)
    second = chained[1]
    assert isinstance(second, LSTMModel) and not second.warm_started_
    assert second.best_epoch_ == LSTMModel(seed=1).fit(windows[1], 1).best_epoch_


def test_warm_training_keeps_the_starting_weights_when_no_epoch_beats_them() -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 20, 2, generator=gen), torch.randn(300, generator=gen)
    net = LSTMModel().build_net(2)
    seeded_init(net, gen)
    start = weights(net)
    # A huge step can only make the tail worse: the warm start's weights win as epoch 0.
    assert train_net(net, (x[:240], y[:240]), (x[240:], y[240:]), TrainSettings(max_epochs=2, patience=1, lr=50.0),
                     gen, warm=True) == 0
    for p, q in zip(start, weights(net), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_a_loss_that_stops_being_finite_fails_the_net() -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 20, 2, generator=gen), torch.randn(300, generator=gen)
    x[7, 3, 0] = float("nan")
    net = LSTMModel().build_net(2)
    seeded_init(net, gen)
    with pytest.raises(ModelFitError, match="non-finite at epoch 1"):
        train_net(net, (x[:240], y[:240]), (x[240:], y[240:]), TrainSettings(max_epochs=3, patience=2), gen)


def test_garch_windows_started_from_the_previous_estimates_reach_the_same_fit() -> None:
    r = returns()
    windows = slices(r, 4)
    chained = ArimaGarchModel.fit_batch([ArimaGarchModel() for _ in windows], windows, 1)
    origins = np.arange(len(r) - 200, len(r) - 1)
    for model, window in zip(chained, windows, strict=True):
        alone = ArimaGarchModel().fit(window, 1)
        assert isinstance(model, ArimaGarchModel)
        np.testing.assert_allclose(model.params_.as_array()[:5], alone.params_.as_array()[:5], atol=1e-3)
        # The head fit, started from the previous window's full-slice maximum: the same maximum too.
        assert model.head_params_ is not None and alone.head_params_ is not None
        np.testing.assert_allclose(model.head_params_.as_array()[:5], alone.head_params_.as_array()[:5], atol=1e-3)
        assert model.shrink_ == pytest.approx(alone.shrink_, abs=0.02)
        np.testing.assert_allclose(model.predict(r, origins).upper, alone.predict(r, origins).upper, rtol=1e-2)


def test_warm_up_fits_each_model_once_and_only_logs_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        warm_up([Model.ARIMA_GARCH, "NOT_A_MODEL"])
    assert [r.getMessage() for r in caplog.records] == [
        "warming up NOT_A_MODEL failed: unknown model 'NOT_A_MODEL': expected one of "
        "LSTM, ARIMA_GARCH, GB, TRANSFORMER, RF, PROPHET"]
