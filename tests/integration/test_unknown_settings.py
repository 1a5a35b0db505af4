"""A misspelt setting is refused (exit 2, naming it and the closest known name), never silently ignored."""

from __future__ import annotations

import pytest

from jobs import daily_checks, unified_forecast_job
from jobs.contract.config import JobConfig, checked_prefixes, known_variables
from jobs.contract.values import ConfigError
from tests.integration.test_job_cli_errors import row_counts


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip() and not line.startswith("{")]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_the_issues_typo_is_refused_before_any_row_and_names_the_flag_it_meant(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # ENABLE_GB_MODEL=false was ignored: the 3-model default set ran GB, the opposite of what was asked.
    env = {"DATABASE_URL": db_url, "ENSEMBLE_MODEL_COUNT": "3", "ENABLE_GB_MODEL": "false"}
    before = row_counts(db_url)
    assert unified_forecast_job.main(["--symbols", "AAPL", "--horizon", "1D", "--workers", "1"], env) == 2
    assert one_error(capsys) == ("error: ENABLE_GB_MODEL is not a setting of the job (did you mean ENABLE_GB?); "
                                 "correct or unset it")
    assert row_counts(db_url) == before


@pytest.mark.parametrize(("name", "meant"), [
    ("DIVERGENCE_THRESHHOLD", "DIVERGENCE_THRESHOLD"),
    ("ENSEMBLE_MODELS_COUNT", "ENSEMBLE_MODEL_COUNT"),
    ("RMSE_ROLLBACK_THRESHOLDS", "RMSE_ROLLBACK_THRESHOLD"),
    ("COVERAGE_REVIEW_LOWER", "COVERAGE_REVIEW_LOW"),
    ("ALERT_STORM_COUNTS", "ALERT_STORM_COUNT"),
    ("ROLLOUT_SYMBOL", "ROLLOUT_SYMBOLS"),
    ("FORECAST_RUNID", "FORECAST_RUN_ID"),
])
def test_a_near_miss_in_any_of_the_jobs_namespaces_names_the_closest_known_variable(name: str, meant: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{name} is not a setting of the job \(did you mean {meant}\?\)"):
        JobConfig.from_env({name: "1"})


def test_an_unknown_name_with_no_near_miss_lists_its_namespace() -> None:
    with pytest.raises(ConfigError, match=r"ENABLE_GRADIENT_BOOSTING is not a setting of the job \(the job's "
                                          r"ENABLE_ settings: ENABLE_ARIMA_GARCH, .*ENABLE_GB, "):
        JobConfig.from_env({"ENABLE_GRADIENT_BOOSTING": "true"})


def test_known_but_unused_settings_and_other_programs_variables_are_fine() -> None:
    cfg = JobConfig.from_env({
        "ENABLE_PROPHET": "false", "ENABLE_TRANSFORMER": "false",  # known, unused by the 2-model set
        "AWS_BATCH_CE_NAME": "ce", "AWS_REGION": "us-east-1", "TORCH_HOME": "/tmp", "MAX_JOBS": "4",
        "STACK_REF": "org/canary", "PATH": "/bin", "ENABLED": "1",
    })
    assert [m.value for m in cfg.models] == ["LSTM", "ARIMA_GARCH"]


def test_the_namespaces_come_from_the_contracts_own_names() -> None:
    assert {"ENABLE_", "ENSEMBLE_", "DIVERGENCE_", "RMSE_", "COVERAGE_", "ALERT_"} <= set(checked_prefixes())
    assert not {"AWS_", "TORCH_"} & set(checked_prefixes())
    assert every_rendered_variable_is_known()


def every_rendered_variable_is_known() -> bool:
    return set(JobConfig().to_env()) <= known_variables()


def test_every_command_refuses_it(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert daily_checks.main([], {"DATABASE_URL": db_url, "DIVERGENCE_TRESHOLD": "0.2"}) == 2
    assert "did you mean DIVERGENCE_THRESHOLD?" in one_error(capsys)
