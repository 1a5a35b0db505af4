"""The job's environment contract (docs/design.md §3.1)."""

from __future__ import annotations

import pytest

from jobs.contract.config import JobConfig
from jobs.contract.domain import Model
from jobs.contract.values import ConfigError

CANARY_ENV = {
    "ENSEMBLE_MODEL_COUNT": "2", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true", "ENABLE_GB": "false",
    "ENABLE_TRANSFORMER": "false", "ENABLE_RF": "false", "ENABLE_PROPHET": "false",
    "ENSEMBLE_OPTIMIZATION_METHOD": "simple_avg",
}
ROLLBACK_EXPORTS = {"ENSEMBLE_MODEL_COUNT": "4", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true",
                    "ENABLE_GB": "true", "ENABLE_TRANSFORMER": "false"}


def test_defaults_are_the_two_model_core() -> None:
    cfg = JobConfig.from_env({})
    assert cfg.models == (Model.LSTM, Model.ARIMA_GARCH)
    assert (cfg.divergence_threshold, cfg.divergence_critical_threshold) == (0.20, 0.30)
    assert cfg.walk_forward and cfg.divergence_monitoring
    assert cfg.walk_forward_windows == 10


@pytest.mark.parametrize(("count", "expected"), [
    ("2", ("LSTM", "ARIMA_GARCH")),
    ("3", ("LSTM", "ARIMA_GARCH", "GB")),
    ("4", ("LSTM", "ARIMA_GARCH", "GB", "RF")),
])
def test_count_selects_default_set(count: str, expected: tuple[str, ...]) -> None:
    assert tuple(m.value for m in JobConfig.from_env({"ENSEMBLE_MODEL_COUNT": count}).models) == expected


def test_flags_override_membership() -> None:
    cfg = JobConfig.from_env({"ENSEMBLE_MODEL_COUNT": "3", "ENABLE_GB": "false", "ENABLE_PROPHET": "true"})
    assert cfg.models == (Model.LSTM, Model.ARIMA_GARCH, Model.PROPHET)


def test_rollback_snippet_over_canary_env_is_refused_naming_count_models_and_flags() -> None:
    # The document's rollback exports, run in the canary's environment, leave ENABLE_RF=false.
    with pytest.raises(ConfigError) as err:
        JobConfig.from_env({**CANARY_ENV, **ROLLBACK_EXPORTS})
    msg = str(err.value)
    assert "ENSEMBLE_MODEL_COUNT=4" in msg
    assert "3 enabled (LSTM, ARIMA_GARCH, GB)" in msg
    assert "ENABLE_RF=false" in msg and "ENABLE_GB=true" in msg


def test_consistent_four_model_rollback_is_accepted() -> None:
    cfg = JobConfig.from_env({**CANARY_ENV, **ROLLBACK_EXPORTS, "ENABLE_RF": "true"})
    assert cfg.models == (Model.LSTM, Model.ARIMA_GARCH, Model.GB, Model.RF)


@pytest.mark.parametrize(("env", "needle"), [
    ({"ENSEMBLE_MODEL_COUNT": "abc"}, "ENSEMBLE_MODEL_COUNT='abc' is invalid: expected an integer from 2 to 4"),
    ({"ENSEMBLE_MODEL_COUNT": "5"}, "expected an integer from 2 to 4"),
    ({"DIVERGENCE_THRESHOLD": "-1"}, "DIVERGENCE_THRESHOLD='-1' is invalid: expected a number in (0, 1]"),
    ({"DIVERGENCE_THRESHOLD": "1.5"}, "expected a number in (0, 1]"),
    ({"DIVERGENCE_THRESHOLD": "0.4"}, "must be below DIVERGENCE_CRITICAL_THRESHOLD=0.3"),
    ({"ALERT_STORM_COUNT": "10001"}, "ALERT_STORM_COUNT='10001' is invalid: expected an integer from 0 to 10000"),
    ({"ALERT_STORM_PERIOD_SECONDS": "90"},
     "ALERT_STORM_PERIOD_SECONDS=90 is invalid: expected whole minutes from 60 to 86400 seconds"),
    ({"ENABLE_LSTM": "maybe"}, "ENABLE_LSTM='maybe' is invalid: expected true or false"),
    ({"ENSEMBLE_OPTIMIZATION_METHOD": "magic"}, "expected one of simple_avg, inverse_rmse, constrained_ls"),
    ({"ROLLOUT_HORIZONS": "1D,2D"}, "unknown horizon '2D'; known horizons: 1D, 4h, 8h"),
    ({"ROLLOUT_SYMBOLS": "AAPL,,MSFT"}, "expected a comma-separated list of symbols"),
    ({"CANARY_SYMBOLS": "AAPL,AAPL"}, "duplicate symbols AAPL"),
    ({"CANARY_SYMBOLS": "aapl"}, "'aapl' is not a ticker"),
    ({"DATABASE_URL": "mysql://u:secret@h/db"}, "expected a URL starting with postgresql://"),
    ({"AWS_BATCH_JOB_ARRAY_INDEX": "3"}, "set without AWS_BATCH_JOB_ARRAY_SIZE"),
    ({"AWS_BATCH_JOB_ARRAY_INDEX": "3", "AWS_BATCH_JOB_ARRAY_SIZE": "3"}, "expected an integer from 0 to 2"),
    ({"BASELINE_MODELS": "LSTM,XGB"}, "expected models from LSTM, ARIMA_GARCH"),
    ({"FORECAST_RUN_ID": "a/b"}, "FORECAST_RUN_ID='a/b' is invalid: expected letters, digits"),
    ({"AWS_BATCH_JOB_ID": "job 1"}, "AWS_BATCH_JOB_ID='job 1' is invalid: expected letters, digits"),
    ({"AWS_BATCH_JOB_ATTEMPT": "0"}, "AWS_BATCH_JOB_ATTEMPT='0' is invalid: expected an integer from 1 to 10"),
    ({"AWS_BATCH_JOB_ATTEMPT": "first"}, "AWS_BATCH_JOB_ATTEMPT='first' is invalid: expected an integer from 1 to 10"),
    ({"WALK_FORWARD_WINDOWS": "0"}, "WALK_FORWARD_WINDOWS='0' is invalid: expected an integer from 1 to 100"),
    ({"WALK_FORWARD_WINDOWS": "ten"}, "WALK_FORWARD_WINDOWS='ten' is invalid: expected an integer from 1 to 100"),
])
def test_bad_values_get_one_line_naming_variable_and_allowed(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        JobConfig.from_env(env)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("url", ["mysql://u:hunter2@h/db", "postgresql://forecast:hunter2%zz@localhost/db"])
def test_a_bad_database_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        JobConfig.from_env({"DATABASE_URL": url})
    assert "hunter2" not in str(err.value) and str(err.value).startswith("DATABASE_URL is invalid")


def test_render_round_trips_and_never_renders_the_database_url() -> None:
    cfg = JobConfig.from_env({
        "ENSEMBLE_MODEL_COUNT": "4", "ENSEMBLE_OPTIMIZATION_METHOD": "constrained_ls",
        "ROLLOUT_SYMBOLS": "AAPL,MSFT", "ROLLOUT_HORIZONS": "1D,4h", "ROLLOUT_PHASE": "limited",
        "DIVERGENCE_THRESHOLD": "0.15", "BASELINE_MODELS": "LSTM,ARIMA_GARCH,GB,RF",
        "DATABASE_URL": "postgresql://u:pw@h/db", "WALK_FORWARD_WINDOWS": "6",
    })
    env = cfg.to_env()
    assert "DATABASE_URL" not in env and env["WALK_FORWARD_WINDOWS"] == "6"
    assert env["ENABLE_RF"] == "true" and env["ENABLE_PROPHET"] == "false"
    again = JobConfig.from_env(env)
    assert again == JobConfig.from_env({**env})
    assert (again.models, again.rollout_symbols, again.divergence_threshold) == (
        cfg.models, cfg.rollout_symbols, cfg.divergence_threshold)


def test_array_size_alone_means_a_one_off_run_of_every_symbol() -> None:
    cfg = JobConfig.from_env({"AWS_BATCH_JOB_ARRAY_SIZE": "4"})
    assert cfg.array_index is None and cfg.array_size is None


def test_who_runs_is_read_but_never_rendered() -> None:
    """Batch and the operator supply the run's identity per job; a job definition never fixes it."""
    cfg = JobConfig.from_env({"AWS_BATCH_JOB_ID": "4f1c:2", "AWS_BATCH_JOB_ATTEMPT": "2", "FORECAST_RUN_ID": "rerun-7"})
    assert (cfg.batch_job_id, cfg.batch_attempt, cfg.forecast_run_id) == ("4f1c:2", 2, "rerun-7")
    assert not {"AWS_BATCH_JOB_ID", "AWS_BATCH_JOB_ATTEMPT", "FORECAST_RUN_ID"} & set(cfg.to_env())
    assert JobConfig.from_env({"AWS_BATCH_JOB_ID": "", "FORECAST_RUN_ID": ""}) == JobConfig()


def test_an_empty_list_is_rendered_as_none_and_read_back_as_empty() -> None:
    """Job definitions name every variable; Batch drops empty values, so an empty list is "none"."""
    env = JobConfig(rollout_phase="canary", canary_symbols=("AAPL",), canary_horizons=("1D",)).to_env()
    assert (env["ROLLOUT_SYMBOLS"], env["ROLLOUT_HORIZONS"], env["BASELINE_MODELS"]) == ("none", "none", "none")
    parsed = JobConfig.from_env(env)
    assert (parsed.rollout_symbols, parsed.rollout_horizons, parsed.baseline_models) == ((), (), ())
    assert JobConfig.from_env({"CANARY_SYMBOLS": "NONE,AAPL"}).canary_symbols == ("NONE", "AAPL"), "a ticker"


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ensemble-forecast@sha256:" + "ab12" * 16


def test_the_image_is_read_rendered_and_read_back_and_unknown_without_it() -> None:
    """A stack renders its pin as IMAGE_REF; a run records it. Absent or empty (a local run): unknown."""
    cfg = JobConfig.from_env({"IMAGE_REF": f" {IMAGE} "})
    assert cfg.image_ref == IMAGE and cfg.to_env()["IMAGE_REF"] == IMAGE
    assert JobConfig.from_env(cfg.to_env()) == cfg
    assert JobConfig.from_env({}).image_ref is None and JobConfig.from_env({"IMAGE_REF": ""}) == JobConfig()
    assert "IMAGE_REF" not in JobConfig().to_env(), "an unknown image is never rendered (Batch drops empty values)"


@pytest.mark.parametrize(("raw", "message"), [
    ("ensemble-forecast:latest", "IMAGE_REF='ensemble-forecast:latest' is not pinned by digest: expected "
                                 "<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<64 hex>"),
    (IMAGE[:-1], f"IMAGE_REF={IMAGE[:-1]!r} is invalid: expected <account>.dkr.ecr.<region>.amazonaws.com/"
                 "ensemble-forecast@sha256:<64 hex>"),
])
def test_a_bad_image_is_one_line_naming_the_variable_and_the_form(raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        JobConfig.from_env({"IMAGE_REF": raw})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"^IMAGE_REF='x' is not pinned by digest"):
        JobConfig(image_ref="x")  # built directly, as the stacks build it: the same rule


def test_a_misspelt_image_variable_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^IMAGE_REFS is not a setting of the job \(did you mean IMAGE_REF\?\)"):
        JobConfig.from_env({"IMAGE_REFS": IMAGE})
