"""Walk-forward's steps one by one: window sizes, fitting each model's windows, predicting, scoring, calibration.

The subject is the walk-forward's bookkeeping (which model is fitted on which slice, what a
failing model leaves behind, what each score holds), not the models, so the models here are
small deterministic ``ForecastModel`` implementations: ``Drift`` forecasts its training slice's
mean return per step; the others fail in one named way each.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from jobs.contract.domain import Model
from jobs.forecasting.models.base import ForecastModel, ModelFitError, Prediction
from jobs.forecasting.walkforward import (
    DEFAULT_SPECS,
    FittedWindow,
    WindowBounds,
    WindowSpec,
    capped_ratio,
    divergence,
    fit_and_predict,
    fit_models,
    interval_calibration,
    model_seed,
    plan_windows,
    predict_window,
    score_set,
    window_spec,
    window_targets,
)

RETURNS = np.arange(1.0, 41.0) / 1000  # 0.001, 0.002, ..., 0.040: every slice has its own mean


class Drift(ForecastModel):
    """Forecasts ``steps`` times its training slice's mean return, with a +-0.01 interval."""

    def fit(self, returns: np.ndarray, steps: int) -> Drift:
        self.level_ = float(np.mean(returns)) * steps
        self.trained_on_ = len(returns)
        return self

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        mean = np.full(origins.shape, self.level_) + 0 * returns[origins]  # reads the origins it is asked
        return Prediction(mean, mean - 0.01, mean + 0.01)


class Batched(Drift):
    """Records each ``fit_batch`` call: the seeds and slice lengths it was given, in order."""

    calls: list[tuple[list[int], list[int]]] = []

    @classmethod
    def fit_batch(cls, models: Sequence[ForecastModel], slices: Sequence[np.ndarray],
                  steps: int) -> list[ForecastModel | Exception]:
        cls.calls.append(([m.seed for m in models], [len(s) for s in slices]))
        return super().fit_batch(models, slices, steps)


class Unfit(Drift):
    def fit(self, returns: np.ndarray, steps: int) -> Drift:
        raise ModelFitError("did not converge " + "x" * 400)  # longer than an error is kept


class Raising(Drift):
    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        raise RuntimeError("predict blew up")


class NotFinite(Drift):
    """Finite up to origin ``after``, NaN beyond: fine on the validation slice, not on the test slice."""

    after = 0

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        mean = np.where(origins > self.after, np.nan, self.level_)
        return Prediction(mean, mean, mean)


class Short(Drift):
    @classmethod
    def fit_batch(cls, models: Sequence[ForecastModel], slices: Sequence[np.ndarray],
                  steps: int) -> list[ForecastModel | Exception]:
        return super().fit_batch(models, slices, steps)[:-1]  # one result too few: a broken override


CLASSES: dict[Model, type[Drift]] = {Model.LSTM: Batched, Model.ARIMA_GARCH: Drift, Model.GB: Unfit,
                                     Model.RF: Raising, Model.PROPHET: NotFinite, Model.TRANSFORMER: Short}


def factory(model: Model, seed: int) -> ForecastModel:
    return CLASSES[model](seed=seed)


def unbuildable(model: Model, seed: int) -> ForecastModel:
    if model is Model.GB:
        raise ValueError("GB is not installed")
    return factory(model, seed)


@pytest.mark.parametrize("field", ["train", "val", "test", "step", "windows"])
def test_each_window_size_must_be_at_least_one(field: str) -> None:
    ones = WindowSpec(1, 1, 1, 1, 1)  # the smallest spec is valid
    with pytest.raises(ValueError, match=rf"window sizes must be positive, got WindowSpec\(.*{field}=0"):
        replace(ones, **{field: 0})


def test_window_spec_keeps_the_timeframe_sizes_and_sets_the_windows() -> None:
    assert window_spec("1d", 3) == WindowSpec(train=500, val=63, test=63, step=63, windows=3)
    assert window_spec("1h", 2) == WindowSpec(train=600, val=100, test=100, step=100, windows=2)
    assert DEFAULT_SPECS["1d"].windows == window_spec("1d", DEFAULT_SPECS["1d"].windows).windows


@pytest.mark.parametrize("steps", [0, 5])
def test_steps_must_leave_a_target_in_each_slice(steps: int) -> None:
    spec = WindowSpec(train=10, val=5, test=6, step=5, windows=1)
    with pytest.raises(ValueError, match=rf"^steps={steps} is invalid: expected 1 to 4$"):
        plan_windows(40, spec, steps, walk_forward=True)


def test_window_bounds_exactly() -> None:
    spec = WindowSpec(train=10, val=5, test=6, step=5, windows=2)
    first, last = plan_windows(40, spec, 2, walk_forward=True)
    assert (first.window_id, first.train) == (0, slice(14, 24))
    assert first.val_origins.tolist() == [23, 24, 25, 26] and first.test_origins.tolist() == [28, 29, 30, 31, 32]
    assert (last.window_id, last.train) == (1, slice(19, 29))
    assert last.val_origins.tolist() == [28, 29, 30, 31] and last.test_origins.tolist() == [33, 34, 35, 36, 37]
    # Each window's targets: the realised 2-step returns after its origins (none past the data).
    val, test = window_targets(RETURNS, last, 2)
    assert np.allclose(val, [RETURNS[o + 1] + RETURNS[o + 2] for o in last.val_origins])
    assert np.allclose(test, [RETURNS[o + 1] + RETURNS[o + 2] for o in last.test_origins])


def test_a_naive_rmse_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="naive test 0.0"):
        divergence(0.1, 0.1, 0.1, 0.0)


def test_model_seeds_are_31_bit_and_stable_across_processes() -> None:
    # Literal: the seed must not depend on Python's salted hash or on anything but its parts.
    assert model_seed(7, "AAPL", "1D", 0, "LSTM") == 1_983_914_105
    assert all(0 <= model_seed(s, "X") < 2**31 for s in range(50))


def test_each_model_s_windows_are_fitted_together_on_their_own_slices() -> None:
    Batched.calls = []
    jobs = [(Model.LSTM, 11, slice(0, 10)), (Model.ARIMA_GARCH, 12, slice(0, 10)), (Model.GB, 13, slice(0, 10)),
            (Model.LSTM, 21, slice(5, 20))]
    fitted = fit_models(jobs, factory, RETURNS, 2)
    assert Batched.calls == [([11, 21], [10, 15])]  # the LSTM's two windows in one batch, oldest first
    first, second, third, fourth = fitted
    assert isinstance(first, Batched) and (first.seed, first.level_) == (11, pytest.approx(2 * RETURNS[:10].mean()))
    assert isinstance(second, Drift) and (second.seed, second.trained_on_) == (12, 10)
    assert isinstance(third, ModelFitError) and str(third).startswith("did not converge")
    assert isinstance(fourth, Batched) and (fourth.seed, fourth.level_) == (21, pytest.approx(2 * RETURNS[5:20].mean()))


def test_a_model_that_cannot_be_built_drops_out_like_one_that_cannot_fit() -> None:
    fitted = fit_models([(Model.GB, 1, slice(0, 10)), (Model.ARIMA_GARCH, 2, slice(0, 10))], unbuildable, RETURNS, 1)
    assert [type(f) for f in fitted] == [ValueError, Drift] and str(fitted[0]) == "GB is not installed"


def test_a_batch_fit_must_answer_for_every_window() -> None:
    with pytest.raises(ValueError, match="zip"):
        fit_models([(Model.TRANSFORMER, 1, slice(0, 10)), (Model.TRANSFORMER, 2, slice(5, 15))], factory, RETURNS, 1)


def test_a_window_keeps_each_model_that_predicts_and_records_why_the_others_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    (bounds,) = plan_windows(40, WindowSpec(train=10, val=5, test=6, step=5, windows=1), 1, walk_forward=False)
    bounds = WindowBounds(4, bounds.train, bounds.val_origins, bounds.test_origins)
    models = (Model.ARIMA_GARCH, Model.GB, Model.RF, Model.PROPHET, Model.LSTM)
    NotFinite.after = int(bounds.val_origins.max())
    with caplog.at_level(logging.WARNING, logger="jobs.forecasting.walkforward"):
        window = fit_and_predict(models, factory, RETURNS, bounds, 1, seed_of=lambda m: len(m.value))
    assert list(window.val) == list(window.test) == ["ARIMA_GARCH", "LSTM"]  # the rest dropped, the window kept
    level = float(np.mean(RETURNS[bounds.train]))
    assert np.allclose(window.val["ARIMA_GARCH"].mean, np.full(len(bounds.val_origins), level))
    assert np.allclose(window.test["LSTM"].upper, np.full(len(bounds.test_origins), level + 0.01))
    assert window.errors == {"GB": ("ModelFitError: did not converge " + "x" * 400)[:300],
                             "RF": "RuntimeError: predict blew up", "PROPHET": "ValueError: non-finite prediction"}
    assert len(window.errors["GB"]) == 300
    assert caplog.messages == ["model GB dropped in window 4: did not converge " + "x" * 400,
                               "model RF dropped in window 4: predict blew up",
                               "model PROPHET dropped in window 4: non-finite prediction"]


def test_predicting_needs_one_fit_per_model() -> None:
    (bounds,) = plan_windows(40, WindowSpec(train=10, val=5, test=6, step=5, windows=1), 1, walk_forward=False)
    with pytest.raises(ValueError, match="zip"):
        predict_window((Model.ARIMA_GARCH, Model.LSTM), [Drift().fit(RETURNS[:10], 1)], RETURNS, bounds)


def _window(val: dict[str, np.ndarray], test: dict[str, np.ndarray], errors: dict[str, str] | None = None,
            width: float = 0.01) -> FittedWindow:
    def pred(x: np.ndarray) -> Prediction:
        return Prediction(x, x - width, x + width)
    return FittedWindow({k: pred(v) for k, v in val.items()}, {k: pred(v) for k, v in test.items()}, errors or {})


def test_a_score_holds_every_figure_of_its_window() -> None:
    y_val = np.array([0.01, -0.02, 0.0, 0.03])  # a realised return of exactly 0 is a target like any other
    y_test = np.array([0.02, 0.0, -0.01, 0.01])
    fitted = _window({"ARIMA_GARCH": y_val * 0.5}, {"ARIMA_GARCH": y_test * 0.4}, {"LSTM": "ModelFitError: no"})
    score = score_set((Model.LSTM, Model.ARIMA_GARCH), fitted, y_val, y_test, "simple_avg", 0.20, True)
    naive_val, naive_test = float(np.sqrt(np.mean(y_val**2))), float(np.sqrt(np.mean(y_test**2)))
    assert (score.naive_val_rmse, score.naive_test_rmse) == (pytest.approx(naive_val), pytest.approx(naive_test))
    assert (score.val_rmse, score.test_rmse) == (pytest.approx(0.5 * naive_val), pytest.approx(0.6 * naive_test))
    # Skill went from 0.5 to 0.6 of the naive RMSE: exactly 20% worse, which is not above 20%.
    assert score.divergence == 0.2 and not score.is_overfitting and not score.weights_reverted
    assert score.models_used == ("ARIMA_GARCH",) and score.weights == {"ARIMA_GARCH": 1.0}
    assert score.errors == {"LSTM": "ModelFitError: no"}
    assert score.rmse_ratio == pytest.approx(capped_ratio(score.test_rmse, score.val_rmse))
    assert score.rmse_ratio == pytest.approx(1.2 * naive_test / naive_val)
    # Intervals of +-0.01 around 0.4 * y_test: only y_test 0.02 falls outside (above 0.018).
    assert (score.coverage, score.interval_width) == (0.75, pytest.approx(0.02))


def test_a_window_where_every_model_failed_is_refused_naming_the_set() -> None:
    fitted = _window({}, {}, {"LSTM": "boom", "GB": "boom"})
    with pytest.raises(ValueError, match="^every model of LSTM,GB failed in this window$"):
        score_set((Model.LSTM, Model.GB), fitted, np.zeros(3), np.zeros(3), "simple_avg", 0.2, True)


def test_interval_calibration_counts_a_target_on_either_bound_as_covered() -> None:
    pred = Prediction(np.zeros(5), np.array([-1.0, -1.0, -1.0, 0.5, 0.0]), np.array([1.0, 1.0, 1.0, 1.0, 2.0]))
    target = np.array([-1.0, 1.0, 2.0, 0.0, np.nan])  # on the lower bound, on the upper, above, below, none
    assert interval_calibration(pred, target) == (0.5, pytest.approx(1.625))
    assert interval_calibration(pred, np.full(5, np.nan)) == (None, None)
