"""The morning review prints the three tables from real rows."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from rich.console import Console

from jobs import daily_checks
from tests.support.rollout_rows import CANARY, Run, add_run, now, seed_symbols


def run_checks(db_url: str, *argv: str) -> tuple[int, str]:
    console = Console(record=True, width=200, color_system=None)
    code = daily_checks.main(list(argv), env={"DATABASE_URL": db_url}, console=console)
    return code, console.export_text()


def test_three_tables_with_the_window_and_symbols(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        seed_symbols(conn, CANARY)
        add_run(conn, Run("r1", "AAPL", "1D", now() - timedelta(hours=2), divergences=(0.10, 0.30), test_rmse=0.02))
        add_run(conn, Run("r1", "MSFT", "1D", now() - timedelta(hours=2), divergences=(0.05, 0.07)))
        add_run(conn, Run("r0", "SPY", "1D", now() - timedelta(hours=30), divergences=(0.45,)))
        add_run(conn, Run("r1", "NVDA", "1D", now() - timedelta(hours=2), divergences=(0.9,), phase="limited"))
    code, text = run_checks(db_url)
    assert code == 0
    assert "1. Divergence summary (last 24 h)" in text and "2. RMSE trends" in text and "3. Overfitting alerts" in text
    lines = text.splitlines()
    aapl = [[c for c in ln.split() if c != "│"] for ln in lines if ln.lstrip("│ ").startswith("AAPL")]
    # Divergence row, RMSE row, one alert row (the 0.30 window), in table order.
    # The trigger column is the review's table: 20% average is not below 15% (MONITOR).
    assert aapl[0] == ["AAPL", "1D", "2", "0.2000", "0.3000", "1", "MONITOR", "divergence-high"]
    msft = [[c for c in ln.split() if c != "│"] for ln in lines if ln.lstrip("│ ").startswith("MSFT")]
    assert msft[0][-1] == "-"
    assert aapl[1] == ["AAPL", "1D", "0.019000", "0.020000", "0.001000"]
    assert "0.3000" in aapl[2] and "LSTM,ARIMA_GARCH" in aapl[2]
    assert len(aapl) == 3
    assert "SPY" not in text  # 30 hours ago
    assert "NVDA" not in text  # not asked for
    code, text = run_checks(db_url, "--symbols", "SPY,NVDA", "--hours", "48")
    assert code == 0 and "0.4500" in text and "0.9000" in text and "AAPL" not in text
    spy = [ln for ln in text.splitlines() if ln.lstrip("│ ").startswith("SPY")][0]
    assert "ROLLBACK divergence-rollback" in spy  # 45% average, above the 25% rollback trigger


def test_empty_window_says_no_rows(db_url: str) -> None:
    code, text = run_checks(db_url, "--hours", "1")
    assert code == 0 and text.count("no rows") == 5


def share_row(text: str) -> list[str]:
    """Table 5's one row, its cells split at the column rules."""
    start = text.index("5. Limited's share of symbols (last 24 h)")
    rows = [ln for ln in text[start:].splitlines() if ln.startswith("│") and ln.strip("│ ")[:1].isdigit()]
    assert len(rows) == 1, text[start:]
    return [c.strip() for c in rows[0].strip("│").split("│")]


def test_limiteds_share_of_symbols_is_judged_over_limiteds_rows_of_the_symbols_asked_for(db_url: str) -> None:
    fleet = ["AAPL", "MSFT", "SPY", "NVDA", "GOOGL", "AMZN", "TSLA", "META", "NFLX", "CRM"]
    at = now() - timedelta(hours=2)
    with psycopg.connect(db_url) as conn:
        for i, sym in enumerate(fleet):
            phase = "canary" if sym in CANARY else "limited"
            add_run(conn, Run("l1", sym, "1D", at, divergences=(0.05,), phase=phase))
            add_run(conn, Run("l1", sym, "4h", at, divergences=(0.25 if i == 9 else 0.05,), phase=phase))
            add_run(conn, Run("p1", sym, "1D", at, divergences=(0.9,), phase="prod", forecast=False))  # not counted
    symbols = ",".join(fleet)
    code, text = run_checks(db_url, "--symbols", symbols)
    # 9 of 10: limited's 10 symbols must all pass (95% of 10 is 9.5); CRM fails on its 4h horizon.
    assert code == 0 and share_row(text) == ["10", "9", "90.0%", "95.0%", "MONITOR divergence-symbol-share", "CRM"]
    code, text = run_checks(db_url, "--symbols", symbols.removesuffix(",CRM"))
    assert share_row(text) == ["9", "9", "100.0%", "95.0%", "-", "-"]


@pytest.mark.parametrize("argv, message", [
    (["--symbols", "aapl"], "--symbols='aapl' is invalid"),
    (["--hours", "0"], "--hours='0' is invalid: expected an integer from 1 to 720"),
    (["--days", "3"], "unrecognized arguments: --days 3"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str, db_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert daily_checks.main(argv, env={"DATABASE_URL": db_url}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_retired_symbol_is_named_as_retired_not_left_looking_missing(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        seed_symbols(conn, CANARY)
        add_run(conn, Run("r1", "AAPL", "1D", now() - timedelta(hours=2)))
        conn.execute("UPDATE symbol_metadata SET retired_at = NOW() - INTERVAL '1 hour' WHERE symbol = 'SPY'")
    code, text = run_checks(db_url)
    assert code == 0
    assert "SPY retired" in text and "(no longer in its stack)" in text
    assert "MSFT retired" not in text and "AAPL retired" not in text
