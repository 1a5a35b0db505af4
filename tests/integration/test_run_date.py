"""A run has one date and one image: its first attempt records them, a retry keeps them, another is refused.

Real PostgreSQL and the real job, with the stand-in models (``tests.support.models``): the subject is
the run's date, not the models. The date shows in the rows: the sample bars end on Friday
2026-11-20, so with ``MAX_STALE_SESSIONS=2`` a deployed phase finds them fresh on Tuesday
2026-11-24 (2 sessions behind) and refuses them as a stale feed on Wednesday 2026-11-25 (3).
The image is ``IMAGE_REF``, which the stacks render from their ``imageRef`` (the promotion gate
counts a phase's runs of one image by it).
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from jobs.storage.db import connect
from jobs.storage.sample_data import seed_sample_bars
from jobs.storage.tasks import RunDate, begin_run
from jobs.unified_forecast_job import main
from tests.support.models import stand_in_env
from tests.support.rollout_rows import image_ref

NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2026, 11, 24)  # the first attempt's day, where the exchange trades
LATE_ON_DAY = datetime(2026, 11, 24, 23, 30, tzinfo=NEW_YORK)  # 04:30 UTC on 11-25
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 25, 0, 30, tzinfo=NEW_YORK)  # 05:30 UTC on 11-25: the same UTC day
FAST = {**stand_in_env(), "ENABLE_WALK_FORWARD": "false", "BASELINE_MODELS": "none"}
ARGV = ["--horizon", "1D", "--workers", "1"]
IMAGE_A, IMAGE_B = image_ref("a"), image_ref("b")


@pytest.fixture()
def deployed(db_url: str) -> dict[str, str]:
    """A deployed phase's environment over a database with AAPL's and NVDA's daily sample bars."""
    seed_sample_bars(db_url, ["AAPL", "NVDA"], ["1d"])
    return {**FAST, "DATABASE_URL": db_url, "ROLLOUT_PHASE": "canary", "DEPLOY_STACK": "canary",
            "MAX_STALE_SESSIONS": "2"}


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def date_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if " keeps its date " in r.getMessage()]


def test_a_retry_after_midnight_computes_what_is_left_for_the_first_attempts_date(
        deployed: dict[str, str], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO)
    url = deployed["DATABASE_URL"]
    # The first attempt, late on day D, finishes AAPL only (as an attempt killed midway would).
    assert main([*ARGV, "--symbols", "AAPL", "--run-id", "overnight"], deployed, now=LATE_ON_DAY) == 0
    assert rows(url, "SELECT run_id, as_of FROM forecast_runs") == [("overnight", DAY)]
    assert date_lines(caplog) == [], "the first attempt records the date; it keeps nothing"
    capsys.readouterr()

    # Its retry, just after midnight, with today's default: D+1 would find NVDA's feed stale.
    assert main([*ARGV, "--symbols", "AAPL,NVDA", "--run-id", "overnight"], deployed, now=JUST_AFTER_MIDNIGHT) == 0
    [line] = date_lines(caplog)
    assert line.startswith("run overnight keeps its date 2026-11-24, recorded by its first attempt at 2026-")
    assert line.endswith(" UTC (today's date would be 2026-11-25)")
    assert "1 of 2 symbol-horizons were already written" in capsys.readouterr().out
    assert rows(url, "SELECT symbol, run_id FROM forecasts ORDER BY symbol") == [
        ("AAPL", "overnight"), ("NVDA", "overnight")]
    assert rows(url, "SELECT symbol FROM forecast_failures") == []
    assert rows(url, "SELECT run_id, as_of FROM forecast_runs") == [("overnight", DAY)]

    # The same retry as a new run is on D+1: NVDA's feed is stale then, so the date above was kept.
    assert main([*ARGV, "--symbols", "NVDA", "--run-id", "next-day"], deployed, now=JUST_AFTER_MIDNIGHT) == 0
    assert "3 XNYS sessions before the run's date 2026-11-25" in capsys.readouterr().err
    assert rows(url, "SELECT run_id, cause FROM forecast_failures") == [("next-day", "stale")]


def test_a_retry_with_another_as_of_is_refused_naming_both_dates_and_writes_nothing(
        deployed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    url = deployed["DATABASE_URL"]
    argv = [*ARGV, "--symbols", "AAPL,NVDA", "--run-id", "dated"]
    assert main([*argv[:-2], "--symbols", "AAPL", "--run-id", "dated", "--as-of", "2026-11-24"], deployed) == 0
    capsys.readouterr()
    claims = rows(url, "SELECT symbol, attempt, claimed_by, published_at FROM forecast_tasks")

    assert main([*argv, "--as-of", "2026-11-25"], deployed) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: --as-of=2026-11-25 is not the date of run dated: its date is 2026-11-24, "
                             "recorded by its first attempt at 2026-")
    assert err[0].endswith(" UTC; a run has one date: drop --as-of to resume the run for 2026-11-24, "
                           "or pass a new --run-id to forecast for 2026-11-25")
    assert rows(url, "SELECT symbol, attempt, claimed_by, published_at FROM forecast_tasks") == claims
    assert rows(url, "SELECT run_id, as_of FROM forecast_runs") == [("dated", DAY)]

    # The run's own date again, given or not, resumes it; a new run id takes the other date.
    assert main([*argv, "--as-of", "2026-11-24"], deployed) == 0
    assert rows(url, "SELECT symbol FROM forecasts ORDER BY symbol") == [("AAPL",), ("NVDA",)]
    assert main([*argv[:-1], "dated-25", "--as-of", "2026-11-25"], deployed) == 0
    assert rows(url, "SELECT run_id, as_of FROM forecast_runs ORDER BY run_id") == [
        ("dated", DAY), ("dated-25", date(2026, 11, 25))]


def test_a_second_process_starting_the_run_at_once_waits_and_takes_the_first_ones_date(db_url: str) -> None:
    found: list[RunDate] = []
    with connect(db_url) as first, first.transaction():
        mine = begin_run(first, "together", DAY, "first")
        other = threading.Thread(target=lambda: found.append(_begin(db_url, date(2026, 11, 25), "second")))
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive(), "the second process waits for the first one's uncommitted date"
    other.join(timeout=30.0)
    assert mine.first and mine.as_of == DAY
    assert [(r.as_of, r.first) for r in found] == [(DAY, False)]


def test_a_date_recorded_again_by_its_recorder_is_still_its_first_after_a_lost_acknowledgement(db_url: str) -> None:
    assert _begin(db_url, DAY, "p1").first
    again = _begin(db_url, date(2026, 11, 25), "p1")  # with_retry re-running a commit whose ack was lost
    assert (again.as_of, again.first) == (DAY, True)
    assert not _begin(db_url, DAY, "p2").first
    assert rows(db_url, "SELECT recorded_by FROM forecast_runs") == [("p1",)]


def _begin(url: str, as_of: date, recorder: str) -> RunDate:
    with connect(url) as conn:
        return begin_run(conn, "together", as_of, recorder)


def test_the_first_attempt_records_its_image_and_a_retry_with_another_is_refused_naming_both(
        deployed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    url = deployed["DATABASE_URL"]
    argv = [*ARGV, "--symbols", "AAPL,NVDA", "--run-id", "imaged", "--as-of", "2026-11-24"]
    assert main([*argv[:2], "--symbols", "AAPL", *argv[4:]], {**deployed, "IMAGE_REF": IMAGE_A}) == 0
    assert rows(url, "SELECT run_id, as_of, image_ref FROM forecast_runs") == [("imaged", DAY, IMAGE_A)]
    capsys.readouterr()
    written = "SELECT symbol, run_id FROM forecasts ORDER BY symbol"
    claims = "SELECT symbol, attempt, claimed_by, state, published_at FROM forecast_tasks ORDER BY symbol"
    before = rows(url, written), rows(url, claims)

    # A retry of the run by another image: nothing is claimed, computed or written.
    assert main(argv, {**deployed, "IMAGE_REF": IMAGE_B}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: IMAGE_REF={IMAGE_B} is not the image of run imaged: its first attempt ran {IMAGE_A}; "
                   "a run has one image: retry it with that image, or pass a new --run-id to run this one"]
    assert (rows(url, written), rows(url, claims)) == before
    assert rows(url, "SELECT run_id, as_of, image_ref FROM forecast_runs") == [("imaged", DAY, IMAGE_A)]

    # The same image resumes the run; so does an attempt whose image is unknown (no IMAGE_REF).
    assert main(argv, {**deployed, "IMAGE_REF": IMAGE_A}) == 0
    assert rows(url, written) == [("AAPL", "imaged"), ("NVDA", "imaged")]
    assert main(argv, deployed) == 0
    assert "2 of 2 symbol-horizons were already written" in capsys.readouterr().out
    assert rows(url, "SELECT run_id, as_of, image_ref FROM forecast_runs") == [("imaged", DAY, IMAGE_A)]


def test_a_run_of_an_unknown_image_stays_unknown_whatever_its_retry_runs(deployed: dict[str, str]) -> None:
    url = deployed["DATABASE_URL"]
    argv = [*ARGV, "--symbols", "AAPL", "--run-id", "unknown", "--as-of", "2026-11-24"]
    assert main(argv, deployed) == 0
    # Its rows were written by an image nobody recorded: a retry by A must not claim them for A.
    assert main(argv, {**deployed, "IMAGE_REF": IMAGE_A}) == 0
    assert rows(url, "SELECT run_id, image_ref FROM forecast_runs") == [("unknown", None)]


@pytest.mark.parametrize(("value", "message"), [
    ("ensemble-forecast:latest", "IMAGE_REF='ensemble-forecast:latest' is not pinned by digest: expected "
                                 "<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<64 hex>"),
    (IMAGE_A.replace("ensemble-forecast", "other"), f"IMAGE_REF={IMAGE_A.replace('ensemble-forecast', 'other')!r} "
                                                    "names repository 'other': every stack runs images from "
                                                    "'ensemble-forecast'"),
])
def test_a_bad_image_ref_is_one_config_error_before_anything_is_written(
        deployed: dict[str, str], capsys: pytest.CaptureFixture[str], value: str, message: str) -> None:
    url = deployed["DATABASE_URL"]
    assert main([*ARGV, "--symbols", "AAPL", "--run-id", "bad-image"], {**deployed, "IMAGE_REF": value}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {message}"), err
    assert rows(url, "SELECT run_id FROM forecast_runs UNION ALL SELECT run_id FROM forecast_tasks") == []
