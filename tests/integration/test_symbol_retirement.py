"""Symbols that leave a stack leave the review: a rollback that lowers enabledBatches demands no second rollback.

The prod stack's real program (under Pulumi mocks) renders each job definition's environment;
the real job runs with it on real PostgreSQL (with the stand-in model set of
``tests.support.models`` on top: retirement is not about the models), once with two batches
enabled, then (a day later) with one; then the real review reads what it wrote.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from jobs import rollout_review
from jobs.contract.thresholds import Thresholds
from jobs.forecasting.calendar import next_target
from jobs.rollout.data import load_review_data
from jobs.storage.bars import read_bars, upsert_bars
from jobs.storage.db import connect
from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main
from tests.support.fixtures import ANY_AGE
from tests.support.models import stand_in_baseline_env, stand_in_env
from tests.support.stacks import run_stack

# AAPL is canary and high-value (its own job group); ORCL stays; INTC and CSCO are batch 2.
BATCHES = [["AAPL", "ORCL"], ["INTC", "CSCO"]]
OVERRIDES = {"symbolBatches": BATCHES, "canarySymbols": ["AAPL"], "highValueSymbols": ["AAPL"], "horizons": ["1D"]}
ROW_TABLES = ("forecasts", "ensemble_validation_metrics", "forecast_failures")


@functools.cache
def job_definitions(enabled: int) -> tuple[tuple[list[str], dict[str, str]], ...]:
    """(command, environment) of each of prod's job definitions with ``enabled`` batches (run once)."""
    run = run_stack("prod", {**OVERRIDES, "enabledBatches": enabled})
    out = []
    for jd in run.of_type("aws:batch/jobDefinition:JobDefinition"):
        props = jd.inputs["containerProperties"]
        out.append((list(props["command"]), {e["name"]: e["value"] for e in props["environment"]}))
    assert len(out) == 2, [jd.name for jd in run.of_type("aws:batch/jobDefinition:JobDefinition")]
    return tuple(out)


def run_as_stack(url: str, enabled: int, run_id: str, tmp_path: Path) -> None:
    for command, env in job_definitions(enabled):
        argv = [*command, "--workers", "1", "--run-id", run_id]
        assert main(argv, {**env, **stand_in_env(), **stand_in_baseline_env(), **ANY_AGE, "DATABASE_URL": url,
                           "FORECAST_DATA_DIR": str(tmp_path)}) == 0


def shift_a_day_back(url: str) -> None:
    """Make the first run yesterday's: its rows and the listing it made (test time travel only)."""
    with psycopg.connect(url) as conn:
        for table in ROW_TABLES:
            conn.execute(f"UPDATE {table} SET created_at = created_at - INTERVAL '1 day'")  # fixed names
        conn.execute("UPDATE symbol_metadata SET listed_at = listed_at - INTERVAL '1 day'")


def next_bar(url: str, symbols: list[str]) -> None:
    """A new day's bar for each symbol, so the next run forecasts a new target (as on a real next day)."""
    with connect(url) as conn, conn.transaction():
        for symbol in symbols:
            last = read_bars(conn, symbol, "1d", 1)
            ts = pd.Timestamp(next_target(last["ts"].iloc[-1], "1d", 1))
            upsert_bars(conn, symbol, "1d", last.assign(ts=[ts], close=last["close"] * 1.001), "test: next day")


def metadata(url: str) -> dict[str, tuple[str, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT symbol, rollout_phase, retired_at IS NOT NULL FROM symbol_metadata").fetchall()
    return {s: (phase, retired) for s, phase, retired in rows}


def test_lowering_enabled_batches_retires_the_dropped_symbols_and_the_review_passes(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_sample_bars(db_url, [s for b in BATCHES for s in b], ["1d"])
    env_two = dict(job_definitions(2)[0][1])
    assert env_two["STACK_SYMBOLS"] == "AAPL,ORCL,INTC,CSCO"  # every group's job sees the whole list
    run_as_stack(db_url, 2, "day-1", tmp_path)
    assert metadata(db_url) == {"AAPL": ("canary", False), "ORCL": ("prod", False), "INTC": ("prod", False),
                                "CSCO": ("prod", False)}
    shift_a_day_back(db_url)
    next_bar(db_url, ["AAPL", "ORCL"])

    run_as_stack(db_url, 1, "day-2", tmp_path)  # the rollback: enabledBatches 2 -> 1
    assert metadata(db_url) == {"AAPL": ("canary", False), "ORCL": ("prod", False), "INTC": ("prod", True),
                                "CSCO": ("prod", True)}

    data = load_review_data(db_url, "prod", 7, Thresholds())
    assert [i for i in data.incidents if i.kind in ("missing", "failure")] == []
    capsys.readouterr()
    code = rollout_review.main(["--phase", "prod", "--days", "7", "--out-dir", str(tmp_path)],
                               env={"DATABASE_URL": db_url})
    out = capsys.readouterr().out
    assert code != 4 and "ROLLBACK" not in out, out
    assert "missing_forecasts" in out


def test_a_symbol_listed_again_is_expected_again_from_that_day(db_url: str, tmp_path: Path) -> None:
    seed_sample_bars(db_url, [s for b in BATCHES for s in b], ["1d"])
    run_as_stack(db_url, 2, "day-1", tmp_path)
    shift_a_day_back(db_url)
    next_bar(db_url, ["AAPL", "ORCL"])
    run_as_stack(db_url, 1, "day-2", tmp_path)
    with psycopg.connect(db_url) as conn:  # INTC and CSCO were retired yesterday
        conn.execute("UPDATE symbol_metadata SET retired_at = retired_at - INTERVAL '1 day' WHERE retired_at IS NOT NULL")
        for table in ROW_TABLES:
            conn.execute(f"UPDATE {table} SET created_at = created_at - INTERVAL '1 day'")  # fixed names
        conn.execute("UPDATE symbol_metadata SET listed_at = listed_at - INTERVAL '1 day'")
    next_bar(db_url, ["ORCL"])
    # Today the stack lists batch 2 again, but only the core job's start (for ORCL) runs before the
    # review: INTC and CSCO are expected again from today (not on yesterday, when they were retired),
    # and AAPL, listed throughout, has not been forecast today either.
    core = next((c, e) for c, e in job_definitions(2) if "ORCL" in e.get("ROLLOUT_SYMBOLS", ""))
    argv = [*core[0], "--workers", "1", "--run-id", "day-3", "--symbols", "ORCL"]
    assert main(argv, {**core[1], **stand_in_env(), **stand_in_baseline_env(), **ANY_AGE, "DATABASE_URL": db_url,
                       "FORECAST_DATA_DIR": str(tmp_path)}) == 0
    assert metadata(db_url)["INTC"] == ("prod", False)
    missing = {(i.symbol, i.detail) for i in load_review_data(db_url, "prod", 7, Thresholds()).incidents
               if i.kind == "missing"}
    with psycopg.connect(db_url) as conn:
        today = conn.execute("SELECT (NOW() AT TIME ZONE 'UTC')::date").fetchone()[0]  # type: ignore[index]
    assert missing == {(s, f"no forecast on {today:%Y-%m-%d}") for s in ("AAPL", "INTC", "CSCO")}

