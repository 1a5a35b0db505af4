"""Every model set the rollout document uses, run for real on PostgreSQL, plus the paired baseline."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from jobs.contract.config import JobConfig
from jobs.contract.domain import Model
from jobs.forecasting.models import build_model
from jobs.forecasting.models.base import ForecastModel, Prediction
from jobs.forecasting.walkforward import WindowSpec
from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main
from tests.support.fixtures import scratch_database
from tests.support.pipeline import run_symbol

CANARY = {"ENSEMBLE_MODEL_COUNT": "2", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true", "ENABLE_GB": "false",
          "ENABLE_TRANSFORMER": "false", "ENABLE_RF": "false", "ENABLE_PROPHET": "false",
          "ENSEMBLE_OPTIMIZATION_METHOD": "simple_avg"}
FULL = {"ENSEMBLE_MODEL_COUNT": "2", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true", "ENABLE_GB": "false",
        "ENABLE_WALK_FORWARD": "true", "ENABLE_DIVERGENCE_MONITORING": "true"}
ROLLBACK = {"ENSEMBLE_MODEL_COUNT": "4", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true", "ENABLE_GB": "true",
            "ENABLE_TRANSFORMER": "false"}
# Which set each configuration runs and writes is the subject, not how many windows score it:
# two walk-forward windows fit every real model 3 times per symbol-horizon instead of 11.
TWO_WINDOWS = {"WALK_FORWARD_WINDOWS": "2"}
LEGACY_BASELINE = {"BASELINE_MODELS": "LSTM,ARIMA_GARCH,GB,RF"}


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize(("env", "argv", "models"), [
    (CANARY, ["--symbols", "AAPL", "--horizon", "1D"], "LSTM,ARIMA_GARCH"),
    ({**CANARY, "ROLLOUT_SYMBOLS": "AAPL,NVDA", "ROLLOUT_HORIZONS": "1D,4h"}, [], "LSTM,ARIMA_GARCH"),
    (FULL, ["--symbols", "SPY", "--horizon", "8h"], "LSTM,ARIMA_GARCH"),
    ({**CANARY, **ROLLBACK, "ENABLE_RF": "true"}, ["--symbols", "MSFT", "--horizon", "1D"], "LSTM,ARIMA_GARCH,GB,RF"),
    ({"ENSEMBLE_MODEL_COUNT": "3", "ENABLE_LSTM": "false", "ENABLE_ARIMA_GARCH": "false", "ENABLE_GB": "false",
      "ENABLE_TRANSFORMER": "true", "ENABLE_RF": "true", "ENABLE_PROPHET": "true",
      "ENSEMBLE_OPTIMIZATION_METHOD": "constrained_ls"}, ["--symbols", "AAPL", "--horizon", "1D"],
     "TRANSFORMER,RF,PROPHET"),
], ids=["canary", "limited", "full", "rollback-4-model", "other-three-models"])
def test_document_configurations_run_and_write_their_model_set(
        db_url: str, env: dict[str, str], argv: list[str], models: str) -> None:
    assert main([*argv, "--workers", "1"], {"DATABASE_URL": db_url, **TWO_WINDOWS, **env}) == 0
    forecasts = rows(db_url, "SELECT models_used, model_count, weights FROM forecasts")
    assert forecasts and all(f["models_used"] == models for f in forecasts)
    assert all(f["model_count"] == len(models.split(",")) for f in forecasts)
    assert all(set(f["weights"]) == set(models.split(",")) for f in forecasts)
    metrics = rows(db_url, "SELECT DISTINCT model_set, model_count FROM ensemble_validation_metrics")
    assert metrics == [{"model_set": models, "model_count": len(models.split(","))}]


def test_rollback_snippet_in_the_canary_environment_is_refused(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--symbols", "AAPL,MSFT,SPY", "--horizon", "1D"], {"DATABASE_URL": db_url, **CANARY, **ROLLBACK}) == 2
    assert "ENSEMBLE_MODEL_COUNT=4 does not match the enabled models: 3 enabled" in capsys.readouterr().err
    assert rows(db_url, "SELECT COUNT(*) AS n FROM forecasts") == [{"n": 0}]


@pytest.fixture(scope="module")
def spy_with_baseline(pg_server_url: str, migrated_template: str) -> Iterator[tuple[str, str]]:
    """One real SPY run with the paired legacy baseline (URL, what it printed), read by the tests below."""
    with scratch_database(pg_server_url, "baseline", migrated_template) as url, io.StringIO() as out:
        with contextlib.redirect_stdout(out):
            assert main(["--symbols", "SPY", "--horizon", "1D", "--workers", "1"],
                        {"DATABASE_URL": url, **LEGACY_BASELINE}) == 0
        yield url, out.getvalue()


def test_paired_baseline_scores_the_legacy_set_on_the_same_windows(spy_with_baseline: tuple[str, str]) -> None:
    db_url, _ = spy_with_baseline
    pairs = rows(db_url, "SELECT a.window_id, a.test_start = b.test_start AS same, a.naive_test_rmse = b.naive_test_rmse "
                         "AS same_naive, b.model_count FROM ensemble_validation_metrics a JOIN ensemble_validation_metrics b "
                         "USING (run_id, symbol, horizon, window_id) WHERE NOT a.is_baseline AND b.is_baseline")
    assert len(pairs) == JobConfig().walk_forward_windows
    assert all(p["same"] and p["same_naive"] and p["model_count"] == 4 for p in pairs)
    assert rows(db_url, "SELECT model_count FROM forecasts") == [{"model_count": 2}]


class FailingModel(ForecastModel):
    """A test implementation of the model interface that fails the way a broken model does."""

    name = "failing"

    def __init__(self, mode: str, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.mode = mode

    def fit(self, returns: np.ndarray, steps: int) -> FailingModel:
        if self.mode == "raise":
            raise RuntimeError("optimizer blew up")
        return self

    def predict(self, returns: np.ndarray, origins: np.ndarray) -> Prediction:
        nan = np.full(len(origins), np.nan)
        return Prediction(nan, nan, nan)


@pytest.mark.parametrize("mode", ["raise", "nan"])
def test_a_failing_model_is_dropped_weights_renormalised_and_recorded(db_url: str, mode: str) -> None:
    seed_sample_bars(db_url, ["AAPL"], ["1d"])

    def factory(model: Model, seed: int) -> ForecastModel:
        return FailingModel(mode, seed) if model is Model.GB else build_model(model, seed)

    cfg = JobConfig(models=(Model.LSTM, Model.ARIMA_GARCH, Model.GB), optimization_method="inverse_rmse")
    spec = WindowSpec(train=300, val=40, test=40, step=40, windows=2)
    with psycopg.connect(db_url) as conn:
        outcome = run_symbol(conn, "AAPL", "1D", cfg, spec=spec, factory=factory)
    assert outcome.ok, outcome.error
    for w in outcome.windows:
        assert w.score.models_used == ("LSTM", "ARIMA_GARCH") and w.model_set == ("LSTM", "ARIMA_GARCH", "GB")
        assert set(w.score.errors) == {"GB"}
        assert sum(w.score.weights.values()) == pytest.approx(1.0) and "GB" not in w.score.weights
    assert outcome.forecast is not None and set(outcome.forecast.weights) == {"LSTM", "ARIMA_GARCH"}


def test_the_summary_shows_rmse_against_the_paired_baseline(spy_with_baseline: tuple[str, str]) -> None:
    db_url, out = spy_with_baseline
    ratio = rows(db_url, "SELECT AVG(test_rmse) FILTER (WHERE NOT is_baseline) / AVG(test_rmse) FILTER "
                         "(WHERE is_baseline) AS r FROM ensemble_validation_metrics")[0]["r"]
    assert "vs baseline" in out and f" {ratio:.3f} " in out, out
