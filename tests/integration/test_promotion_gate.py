"""``python -m jobs.promotion_gate``: only a promotion is gated, on the minimum days and the review."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from jobs import promotion_gate
from tests.support.rollout_rows import (
    Run,
    add_failure,
    add_run,
    clean_canary,
    day_time,
    seed_symbols,
)


def gate(db_url: str, stack: str, tmp_path: Path, *extra: str) -> tuple[int, str, dict[str, str]]:
    out = tmp_path / "github_output"
    out.unlink(missing_ok=True)
    code = promotion_gate.main(["--stack", stack, "--out-dir", str(tmp_path / "reports"), "--github-output", str(out),
                                *extra], env={"DATABASE_URL": db_url})
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines()) if out.exists() else {}
    return code, outputs.get("reason", ""), outputs


def test_canary_always_deploys_and_limited_waits_for_canary(db_url: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, reason, out = gate(db_url, "canary", tmp_path)
    assert (code, out["decision"], out["kind"]) == (0, "DEPLOY", "first-phase")
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["decision"]) == (3, "REFUSE") and "canary has no runs yet (it needs 7 days)" in reason
    printed = capsys.readouterr().out
    assert printed.startswith("DEPLOY canary (first-phase)") and "preflight" not in printed


def test_promotion_needs_the_minimum_days(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=3)  # a clean record of 3 days: the review alone would PROCEED
    code, reason, _ = gate(db_url, "limited", tmp_path)
    assert code == 3 and "canary has run 2.0 of its minimum 7 days" in reason


def test_promotion_after_seven_clean_days_writes_the_review(db_url: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=8)
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["kind"]) == (0, "promotion") and "its 7-day review says PROCEED" in reason
    assert (tmp_path / "reports" / "rollout_review_canary.md").exists()
    # The promotion names its next step, the quota preflight (which needs AWS credentials).
    assert "preflight: python -m jobs.quota_check --stack limited" in capsys.readouterr().out


def test_a_bad_previous_phase_refuses_the_promotion_but_never_a_promoted_stack(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=8)
        add_failure(conn, "run-1", "AAPL", "1D", "ValueError: boom", day_time(1))
    code, reason, _ = gate(db_url, "limited", tmp_path)
    assert code == 3 and "the canary review over 7 days says ROLLBACK ([ROLLBACK] uncaught_errors" in reason
    with psycopg.connect(db_url) as conn:  # limited has run once: it is promoted
        seed_symbols(conn, ["NVDA"], "limited")
        add_run(conn, Run("limited-1", "NVDA", "1D", day_time(0), phase="limited"))
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["kind"]) == (0, "promoted") and "is not gated" in reason
    # Prod's promotion still waits for limited's own 7 days.
    code, reason, _ = gate(db_url, "prod", tmp_path)
    assert code == 3 and "limited has run 0.0 of its minimum 7 days" in reason


@pytest.mark.parametrize("argv, message", [
    (["--stack", "local"], "argument --stack: invalid choice: 'local'"),
    ([], "the following arguments are required: --stack"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str, db_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert promotion_gate.main(argv, env={"DATABASE_URL": db_url}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_unreachable_database_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://nobody:x@127.0.0.1:9/none?connect_timeout=1"
    assert promotion_gate.main(["--stack", "limited"], env={"DATABASE_URL": url}) == 1
    assert "database unreachable" in capsys.readouterr().err
