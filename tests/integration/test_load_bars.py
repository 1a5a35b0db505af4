"""``python -m jobs.load_bars``: import a CSV idempotently; refuse a bad file with nothing written."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from jobs.load_bars import main

GOOD = """date,open,high,low,close,volume
2024-01-02,10,11,9.5,10.5,1000
2024-01-03,10.5,11.2,10.1,11.0,1200
2024-01-04,11.0,11.1,10.2,10.4,900
"""


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT COUNT(*) FROM ohlc_bars").fetchone()[0]


def test_import_is_idempotent_and_labelled(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = tmp_path / "aapl.csv"
    path.write_text(GOOD)
    assert main([str(path), "--symbol", "AAPL", "--source", "vendor-x"]) == 0
    assert main([str(path), "--symbol", "AAPL", "--source", "vendor-x"]) == 0
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT symbol, timeframe, close, source FROM ohlc_bars ORDER BY ts").fetchall()
    assert rows == [("AAPL", "1d", 10.5, "vendor-x"), ("AAPL", "1d", 11.0, "vendor-x"), ("AAPL", "1d", 10.4, "vendor-x")]


@pytest.mark.parametrize(("text", "argv", "needle"), [
    ("date,open,high,low\n2024-01-02,1,1,1\n", ["--symbol", "AAPL"], "missing columns ['close']"),
    (GOOD, [], "no symbol column; pass --symbol"),
    (GOOD, ["--symbol", "aapl"], "'aapl' is not a ticker"),
    ("ts,open,high,low,close,symbol\nnot-a-date,1,1,1,1,AAPL\n", [], "is not a date/time"),
    ("ts,open,high,low,close,symbol\n2024-01-02,1,1,1,1,AAPL\n2024-01-03,1,1,1,n/a,AAPL\n", [],
     "row 3 column 'close' = 'n/a' is not a number"),
])
def test_bad_file_exits_2_with_nothing_written(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], text: str, argv: list[str],
                                               needle: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert main([str(path), *argv]) == 2
    assert needle in capsys.readouterr().err
    assert count(db_url) == 0
