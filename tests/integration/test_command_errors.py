"""Every command's bad input and faults: one ``error:`` line, the documented exit status, nothing lost.

Commands run in-process through their real ``main`` (argument parsing, configuration, the
database, the files), against a real PostgreSQL where they need one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from jobs import (
    daily_checks,
    dashboard,
    load_bars,
    migrate,
    rollout_review,
    unified_forecast_job,
)
from jobs.storage.db import with_retry
from tests.integration.test_job_cli_errors import row_counts
from tests.support.stderr import one_error

ROOT = Path(__file__).resolve().parents[2]


BAD_URLS = [
    ("postgresql://u:hunter2@localhost:notaport/db", "the port must be a number from 1 to 65535"),
    ("postgresql://u:hunter2@localhost:5432/db?sslmode=bogus", "sslmode='bogus' is not one of disable"),
]


def _run(command: str, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    bars = tmp_path / "bars.csv"
    bars.write_text("date,open,high,low,close\n2024-01-02,10,11,9,10.5\n")
    if command == "job":
        return unified_forecast_job.main(["--symbols", "AAPL", "--horizon", "1D"], env)
    if command == "migrate":
        return migrate.main([])
    if command == "load_bars":
        return load_bars.main([str(bars), "--symbol", "AAPL"])
    if command == "daily_checks":
        return daily_checks.main([], env)
    if command == "rollout_review":
        return rollout_review.main(["--phase", "canary", "--out-dir", str(tmp_path / "r")], env)
    return dashboard.main(["--out", str(tmp_path / "d.html")], env)


COMMANDS = ("job", "migrate", "load_bars", "daily_checks", "rollout_review", "dashboard")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("url", "needle"), BAD_URLS)
def test_a_database_url_that_can_never_work_is_bad_input_exit_2_at_once(
        command: str, url: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(command, {"DATABASE_URL": url}, tmp_path, monkeypatch) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("{")]
    assert len(lines) == 1 and needle in lines[0], err
    assert "hunter2" not in err and "attempt" not in err  # no password echoed, no connection retried


@pytest.mark.parametrize("command", ("migrate", "load_bars", "job", "rollout_review", "dashboard"))
def test_an_unreachable_database_is_one_line_exit_1_without_the_password(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://u:hunter2@127.0.0.1:1/db"
    assert _run(command, {"DATABASE_URL": url, "ROLLOUT_PHASE": "local"}, tmp_path, monkeypatch) == 1
    line = one_error(capsys, log_records=True)
    assert "unreachable" in line and "hunter2" not in line, line


@pytest.mark.parametrize(("argv", "needle"), [
    (["--run-id", "x" * 10_000], "--run-id is invalid: 10000 characters long; expected at most 128"),
    (["--run-id", "run id; DROP"], "--run-id='run id; DROP' is invalid: expected letters, digits"),
    (["--run-id", ""], "--run-id='' is invalid"),
    (["--run-id=-starts-with-dash"], "expected letters, digits"),
])
def test_a_bad_run_id_exits_2_before_any_work(db_url: str, capsys: pytest.CaptureFixture[str], argv: list[str],
                                             needle: str) -> None:
    before = row_counts(db_url)
    assert unified_forecast_job.main(["--symbols", "AAPL", "--horizon", "1D", *argv], {"DATABASE_URL": db_url}) == 2
    assert needle in one_error(capsys, log_records=True)
    assert row_counts(db_url) == before


def test_a_run_id_from_the_environment_is_checked_too(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DATABASE_URL": db_url, "FORECAST_RUN_ID": "a/b"}
    assert unified_forecast_job.main(["--symbols", "AAPL", "--horizon", "1D"], env) == 2
    assert "FORECAST_RUN_ID='a/b' is invalid" in one_error(capsys, log_records=True)


def test_an_error_that_cannot_heal_is_raised_at_once_not_retried(db_url: str) -> None:
    calls = []

    def work(conn: psycopg.Connection) -> None:  # the 10 KB run id of the issue: too big for the key's index
        calls.append(1)
        conn.execute("INSERT INTO forecast_failures (run_id, symbol, horizon, reason) VALUES (%(r)s, 'A', '1D', 'x')",
                     {"r": "".join(f"{i:x}" for i in range(4000))})

    with pytest.raises(psycopg.errors.ProgramLimitExceeded):
        with_retry(db_url, work)
    assert len(calls) == 1
    assert row_counts(db_url)["forecast_failures"] == 0


def test_a_data_dir_that_is_a_file_is_bad_input_and_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    env = {"FORECAST_DATA_DIR": str(blocker)}
    assert unified_forecast_job.main(["--symbols", "AAPL", "--horizon", "1D"], env) == 2
    assert f"FORECAST_DATA_DIR={blocker} is invalid: it is a file, expected a folder" in one_error(capsys, log_records=True)
    below = blocker / "sub"
    assert unified_forecast_job.main(["--symbols", "AAPL", "--horizon", "1D"], {"FORECAST_DATA_DIR": str(below)}) == 2
    assert f"FORECAST_DATA_DIR={below} is invalid: the folder cannot be created" in one_error(capsys, log_records=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_bad_input_creates_neither_the_data_folder_nor_a_metrics_file(tmp_path: Path) -> None:
    """As a fresh process: logging is set up once per process, and that is where the file was made."""
    data = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "jobs.unified_forecast_job", "--symbols", "AAPL", "--horizon", "2D"],
                          env={**env, "PYTHONPATH": str(ROOT), "FORECAST_DATA_DIR": str(data)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: --horizon='2D' is invalid: unknown horizon '2D'; known horizons: 1D, 4h, 8h"], done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(("command", "argv", "needle"), [
    ("rollout_review", ["--phase", "canary", "--days", "abc"], "--days: 'abc' is invalid"),
    ("rollout_review", ["--phase", "canary", "--days", "0"], "--days: '0' is invalid"),
    ("dashboard", ["--days", "abc"], "--days='abc' is invalid"),
    ("daily_checks", ["--hours", "x"], "--hours='x' is invalid"),
    ("load_bars", ["f.csv", "--timeframe", "5m"], "--timeframe: invalid choice: '5m' (choose from '1d', '1h')"),
    ("load_bars", [], "the following arguments are required: file"),
])
def test_argparse_errors_are_one_line(db_url: str, command: str, argv: list[str], needle: str,
                                      capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    module = {"rollout_review": rollout_review, "dashboard": dashboard, "daily_checks": daily_checks,
              "load_bars": load_bars}[command]
    assert module.main(argv) == 2
    assert needle in one_error(capsys, log_records=True)


@pytest.mark.parametrize("argv", [["jobs.load_bars", "BARS", "--symbol", "AAPL"], ["jobs.dashboard", "--out", "OUT"],
                                  ["jobs.migrate"]])
def test_as_a_process_an_unreachable_database_prints_exactly_one_line(argv: list[str], tmp_path: Path) -> None:
    """Outside pytest's log capture: no retry warnings, no traceback, just the error line."""
    bars = tmp_path / "bars.csv"
    bars.write_text("date,open,high,low,close\n2024-01-02,10,11,9,10.5\n")
    args = [str(bars) if a == "BARS" else str(tmp_path / "d.html") if a == "OUT" else a for a in argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/db",
           "ROLLOUT_PHASE": "canary"}
    done = subprocess.run([sys.executable, "-m", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database unreachable"), done.stderr
    assert "hunter2" not in done.stderr + done.stdout
