"""The run's plan: which run id, which shard and which symbols, decided before any row is written."""

from __future__ import annotations

import re

import pytest

from jobs.contract.config import JobConfig
from jobs.contract.values import ConfigError
from jobs.running.plan import Request, make_plan

BATCH_CHILD = {"AWS_BATCH_JOB_ID": "4f1c-77:2", "AWS_BATCH_JOB_ARRAY_INDEX": "2", "AWS_BATCH_JOB_ARRAY_SIZE": "3"}


def plan_of(env: dict[str, str], **flags: str) -> tuple[str, tuple[str, ...]]:
    plan = make_plan(JobConfig.from_env(env), Request(symbols="A,B,C,D,E", horizon="1D", workers="1", **flags))
    return plan.run_id, plan.symbols


def test_an_array_child_runs_its_shard_under_the_parent_jobs_run_id() -> None:
    assert plan_of(BATCH_CHILD) == ("batch-4f1c-77", ("C",))


def test_the_run_id_is_the_flag_else_forecast_run_id_else_the_batch_job() -> None:
    assert plan_of({**BATCH_CHILD, "FORECAST_RUN_ID": "rerun-7"})[0] == "rerun-7"
    assert plan_of({**BATCH_CHILD, "FORECAST_RUN_ID": "rerun-7"}, run_id="mine")[0] == "mine"


def test_a_local_run_id_is_the_same_for_the_same_command_and_differs_with_the_symbols() -> None:
    first, again = plan_of({})[0], plan_of({})[0]
    assert first == again and first.startswith("local-")
    other = make_plan(JobConfig(), Request(symbols="A,B", horizon="1D", workers="1")).run_id
    assert other != first


def test_the_shard_flag_overrides_the_array_position() -> None:
    assert plan_of(BATCH_CHILD, shard="0/2")[1] == ("A", "C", "E")


@pytest.mark.parametrize(("flags", "needle"), [
    ({"shard": "1"}, "--shard='1' is invalid: expected INDEX/COUNT such as 0/4"),
    ({"shard": "2/2"}, "--shard INDEX='2' is invalid: expected an integer from 0 to 1"),
    ({"run_id": "a b"}, "--run-id='a b' is invalid"),
])
def test_bad_flags_name_the_flag_and_what_is_allowed(flags: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(needle)):
        plan_of({}, **flags)


def test_without_symbols_the_flag_or_a_list_variable_is_asked_for() -> None:
    with pytest.raises(ConfigError, match="no symbols: pass --symbols or set ROLLOUT_SYMBOLS or CANARY_SYMBOLS"):
        make_plan(JobConfig(), Request(horizon="1D"))


def test_the_default_date_is_today_where_the_exchange_trades_and_is_marked_not_given() -> None:
    from datetime import UTC, date, datetime

    late_in_new_york = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 23:30 on 11-24 in New York
    request = Request(symbols="A", horizon="1D", workers="1")
    plan = make_plan(JobConfig(), request, now=late_in_new_york)
    assert (plan.as_of, plan.as_of_given) == (date(2026, 11, 24), False)
    assert plan.run_id.startswith("local-20261125-"), "a local run id's day is the clock's UTC day"
    given = make_plan(JobConfig(), Request(symbols="A", horizon="1D", workers="1", as_of="2026-11-20"),
                      now=late_in_new_york)
    assert (given.as_of, given.as_of_given) == (date(2026, 11, 20), True)
