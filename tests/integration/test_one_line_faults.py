"""Issue 22's bad inputs and faults: each is one clear ``error:`` line with the runbook's exit status.

Real commands through their ``main``, a real PostgreSQL (an empty, unmigrated database where the
case is a fresh data folder), real files; no traceback and no misleading text in any of them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobs import daily_checks, dashboard, load_bars, promotion_gate, rollback, rollout_review
from jobs.forecasting.damage import screen
from jobs.forecasting.series import BadBarsError, Series


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The single ``error:`` line on stderr; nothing else there, and nothing on stdout."""
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), captured.err
    assert captured.out == "", captured.out
    return err[0]


@pytest.mark.parametrize(("command", "table"), [
    (lambda env, out: rollout_review.main(["--phase", "canary", "--out-dir", str(out)], env), "forecasts"),
    (lambda env, out: daily_checks.main([], env), "ensemble_validation_metrics"),
    (lambda env, out: dashboard.main(["--out", str(out / "d.html")], env), "ensemble_validation_metrics"),
], ids=["rollout_review", "daily_checks", "dashboard"])
def test_a_read_command_on_an_unmigrated_database_says_to_migrate(
        empty_db_url: str, tmp_path: Path, command: object, table: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert command({"DATABASE_URL": empty_db_url}, tmp_path) == 1  # type: ignore[operator]
    line = one_error(capsys)
    assert line.startswith("error: the database schema is behind this code (relation "), line
    assert line.endswith("apply the migrations with `python -m jobs.migrate` (the stack applies them on deploy)")


def test_the_promotion_gates_github_output_naming_a_folder_is_bad_input_before_any_decision(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "outputs"
    folder.mkdir()
    argv = ["--stack", "limited", "--out-dir", str(tmp_path / "r"), "--github-output", str(folder)]
    assert promotion_gate.main(argv, {"DATABASE_URL": db_url}) == 2
    assert one_error(capsys) == f"error: --github-output={folder} is invalid: it is a folder, expected a file name"


def test_rollback_without_git_on_path_is_one_line_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the job image has no git
    assert rollback.main(["--stack", "canary"]) == 1
    assert one_error(capsys) == ("error: git is not installed (not on PATH): the rollback plan reads the stack "
                                 "file's history with git; run it from a checkout on a machine with git")


GOOD = "date,open,high,low,close\n2024-01-02,10,11,9.5,10.5\n"


@pytest.mark.parametrize(("name", "why"), [
    ("folder", "is a folder; name the CSV file in it"),
    ("-", "'-' (standard input) is not read; save the bars to a CSV file and name it"),
    ("/dev/stdin", "not a regular file (a pipe, a terminal or a device such as /dev/stdin); save the bars to a "
                   "CSV file"),
    ("missing.csv", "no such file"),
])
def test_a_folder_stdin_and_a_missing_file_are_told_apart(
        db_url: str, tmp_path: Path, name: str, why: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    assert load_bars.main([name, "--symbol", "AAPL"]) == 2
    assert one_error(capsys) == f"error: {name}: {why}"


def test_a_semicolon_separated_file_gets_a_delimiter_hint(db_url: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = tmp_path / "bars.csv"
    path.write_text(GOOD.replace(",", ";"))
    assert load_bars.main([str(path), "--symbol", "AAPL"]) == 2
    assert one_error(capsys).endswith("; the header is separated by semicolons, not commas: save the file as "
                                      "comma-separated CSV")


def test_a_changed_bar_is_printed_with_the_digits_that_differ(db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = tmp_path / "bars.csv"
    path.write_text("date,open,high,low,close\n2024-01-02,100,101,99,100.52\n")
    assert load_bars.main([str(path), "--symbol", "AAPL"]) == 0
    capsys.readouterr()
    path.write_text("date,open,high,low,close\n2024-01-02,100,101,99,100.52000000000001\n")
    assert load_bars.main([str(path), "--symbol", "AAPL"]) == 2
    assert "(close 100.52 -> 100.52000000000001)" in one_error(capsys)  # %g printed "100.52 -> 100.52"


def test_a_spike_to_1e308_is_not_a_300_digit_percentage() -> None:
    ts = pd.bdate_range("2024-01-01", periods=60, tz="UTC")
    close = 100 * np.exp(np.random.default_rng(1).normal(0, 0.01, 60).cumsum())
    close[40] = 1e308
    with pytest.raises(BadBarsError) as refused:
        screen(Series("SPIKE", "1d", ts, close, "test"), 25.0)
    message = str(refused.value)
    assert f"moves by a factor of about 1e+{math.log10(1e308 / close[39]):.0f} from the bar before" in message
    assert not re.search(r"\d{20}", message) and len(message) < 400, message  # no 300-digit number


def test_a_review_threshold_error_names_the_flag_that_was_typed(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--phase", "canary", "--out-dir", str(tmp_path), "--divergence-proceed", "0.5"]
    assert rollout_review.main(argv, {"DATABASE_URL": "postgresql://u@127.0.0.1:1/db"}) == 2
    assert one_error(capsys) == "error: --divergence-proceed=0.5 must be below DIVERGENCE_ROLLBACK_THRESHOLD=0.25"
