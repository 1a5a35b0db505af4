"""A window's validation and test origins predicted together (``ForecastModel.predict_each``, issue 24)."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.forecasting.models.arima_garch import ArimaGarchModel
from jobs.forecasting.models.base import ForecastModel, Prediction
from jobs.forecasting.models.lstm import LSTMModel
from jobs.storage.sample_data import real_daily_bars

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as the job runs them


class Recorder(ForecastModel):
    """Not pointwise: answers each call with its call number, and records the origins asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[np.ndarray] = []

    def fit(self, returns: np.ndarray, steps: int) -> Recorder:
        return self

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        self.asked.append(origins)
        mean = np.full(len(origins), float(len(self.asked)))
        return Prediction(mean, mean - 1.0, mean + 1.0)


def sets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.diff(np.log(real_daily_bars("SPY")["close"].to_numpy()))[-700:]
    return r, np.arange(500, 562), np.arange(563, 625)


def test_a_model_that_is_not_pointwise_is_asked_once_per_set_in_order() -> None:
    r, val, test = sets()
    model = Recorder()
    first, second = model.predict_each(r, (val, test))
    assert [a.tolist() for a in model.asked] == [val.tolist(), test.tolist()]
    assert set(first.mean) == {1.0} and set(second.mean) == {2.0}


@pytest.mark.parametrize("build", [ArimaGarchModel, lambda: LSTMModel(seed=3)], ids=["ARIMA_GARCH", "LSTM"])
def test_a_pointwise_model_answers_every_set_as_its_own_predict_would(build: type[ForecastModel]) -> None:
    r, val, test = sets()
    model = build().fit(r[:500], 1)
    assert model.pointwise
    together = model.predict_each(r, (val, test))
    for got, origins in zip(together, (val, test), strict=True):
        alone = model.predict(r, origins)
        for field in ("mean", "lower", "upper"):
            # The LSTM's float32 forward rounds a larger batch a little differently.
            np.testing.assert_allclose(getattr(got, field), getattr(alone, field), rtol=1e-5, atol=1e-9)
