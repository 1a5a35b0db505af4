"""``python -m jobs.load_bars``: every row validated, nothing stored changes without ``--replace``.

Each refusal is one ``error:`` line naming the file (and the line), exit 2, with the table
byte for byte as it was (a full ``COPY`` of ``ohlc_bars`` before and after).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from jobs.load_bars import main
from tests.support.stderr import one_error

GOOD = """date,open,high,low,close,volume
2024-01-02,10,11,9.5,10.5,1000
2024-01-03,10.5,11.2,10.1,11.0,1200
2024-01-04,11.0,11.1,10.2,10.4,900
"""


def dump(url: str) -> bytes:
    """Every row of ``ohlc_bars`` in key order, as PostgreSQL's COPY text (exact to the bit)."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY (SELECT * FROM ohlc_bars ORDER BY symbol, timeframe, ts) TO STDOUT") as copy:
            return b"".join(bytes(chunk) for chunk in copy)


def closes(url: str) -> list[tuple[str, float]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT symbol, close FROM ohlc_bars ORDER BY symbol, ts").fetchall()


def write(tmp_path: Path, text: str | bytes, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.fixture()
def loaded(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database holding the three good AAPL bars."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main([str(write(tmp_path, GOOD, "good.csv")), "--symbol", "AAPL"]) == 0
    return db_url


def test_import_is_idempotent_and_labelled(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = write(tmp_path, GOOD, "aapl.csv")
    assert main([str(path), "--symbol", "AAPL", "--source", "vendor-x"]) == 0
    assert "3 new, 0 already stored unchanged, 0 replaced" in capsys.readouterr().out
    assert main([str(path), "--symbol", "AAPL", "--source", "vendor-x"]) == 0
    assert "0 new, 3 already stored unchanged, 0 replaced" in capsys.readouterr().out
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT symbol, timeframe, close, source FROM ohlc_bars ORDER BY ts").fetchall()
    assert rows == [("AAPL", "1d", 10.5, "vendor-x"), ("AAPL", "1d", 11.0, "vendor-x"), ("AAPL", "1d", 10.4, "vendor-x")]


BAD_ROWS = [
    ("2024-01-03,10.5,11.2,10.1,inf,1200", "line 3: close = 'inf' is not a finite price > 0"),
    ("2024-01-03,10.5,11.2,10.1,-inf,1200", "line 3: close = '-inf' is not a finite price > 0"),
    ("2024-01-03,0,11.2,10.1,11,1200", "line 3: open = '0' is not a finite price > 0"),
    ("2024-01-03,10.5,11.2,-10.1,11,1200", "line 3: low = '-10.1' is not a finite price > 0"),
    ("2024-01-03,10.5,9,10.1,11,1200", "line 3: high 9 is below the open, low or close"),
    ("2024-01-03,10.5,11.2,10.8,10.6,1200", "line 3: low 10.8 is above the open or close"),
    ("2024-01-03,10.5,11.2,10.1,11,-5", "line 3: volume = '-5' is not a finite number >= 0"),
    ("2024-01-03,10.5,11.2,10.1,nan,1200", "line 3: close = 'nan' is not a finite price > 0"),
    ("2024-01-02,10,11,9.5,10.6,1000", "line 3: a second AAPL bar at 2024-01-02 00:00:00+00:00"),
    ("2024-13-03,10.5,11.2,10.1,11,1200", "line 3: time '2024-13-03' is not an ISO 8601 date/time"),
]


@pytest.mark.parametrize(("row", "needle"), BAD_ROWS)
def test_a_bad_row_refuses_the_file_naming_file_and_line_and_changes_nothing(
        loaded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, needle: str) -> None:
    capsys.readouterr()
    before = dump(loaded)
    path = write(tmp_path, "date,open,high,low,close,volume\n2024-01-02,10,11,9.5,10.5,1000\n" + row + "\n")
    assert main([str(path), "--symbol", "AAPL"]) == 2
    line = one_error(capsys)
    assert f"{path} {needle}" in line, line
    assert dump(loaded) == before


def test_a_stored_bar_changes_only_with_replace_which_reports_the_count(
        loaded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    before = dump(loaded)
    changed = GOOD.replace("10.5,11.2,10.1,11.0,1200", "10.5,11.2,10.1,11.1,1200") + "2024-01-05,10.4,10.9,10.0,10.8,700\n"
    path = write(tmp_path, changed)
    assert main([str(path), "--symbol", "AAPL"]) == 2
    line = one_error(capsys)
    assert f"{path} line 3: the stored AAPL 1d bar at 2024-01-03 00:00:00+00:00 differs (close 11 -> 11.1)" in line
    assert "1 stored bar(s) would change. Pass --replace" in line
    assert dump(loaded) == before

    assert main([str(path), "--symbol", "AAPL", "--replace"]) == 0
    assert "1 new, 2 already stored unchanged, 1 replaced" in capsys.readouterr().out
    assert closes(loaded) == [("AAPL", 10.5), ("AAPL", 11.1), ("AAPL", 10.4), ("AAPL", 10.8)]


MIXED = """ts,symbol,open,high,low,close
2024-01-02,AAPL,10,11,9,10.5
2024-01-02,MSFT,300,310,295,305
2024-01-03,AAPL,10.5,11,10,10.8
2024-01-03,MSFT,305,312,301,309
"""


def test_symbol_flag_is_refused_for_a_file_of_several_symbols(db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = write(tmp_path, MIXED)
    assert main([str(path), "--symbol", "MIX"]) == 2
    assert "--symbol MIX given, but the file's symbol column holds AAPL, MSFT" in one_error(capsys)
    assert dump(db_url) == b""
    assert main([str(path)]) == 0  # without --symbol each symbol keeps its own name
    assert "4 1d bars for 2 symbol(s): 4 new" in capsys.readouterr().out
    assert closes(db_url) == [("AAPL", 10.5), ("AAPL", 10.8), ("MSFT", 305.0), ("MSFT", 309.0)]


# The calendar's bar ends of 2 January 2024 (EST, UTC-5): 10:30 ... 15:30, 16:00 New York.
HOURLY = "ts,open,high,low,close\n" + "".join(
    f"2024-01-02T{t}:00Z,10,11,9,10.{i}\n" for i, t in enumerate(["15:30", "16:30", "17:30", "18:30", "19:30",
                                                                  "20:30", "21:00"]))


@pytest.mark.parametrize(("text", "timeframe", "needle"), [
    (HOURLY, "1d", " line 3: a second AAPL bar for the session 2024-01-02 (line 2 has it; one bar each) "
                   "(is this 1h data? pass --timeframe 1h)"),
    (GOOD, "1h", " line 2: the bar at 2024-01-01 19:00 America/New_York is on 2024-01-01 Mon, not a XNYS session "
                 "(1 such bar(s)) (is this 1d data? pass --timeframe 1d)"),
])
def test_bar_spacing_must_fit_the_timeframe(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], text: str, timeframe: str,
                                            needle: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = write(tmp_path, text)
    assert main([str(path), "--symbol", "AAPL", "--timeframe", timeframe]) == 2
    assert f"{path}{needle}" in one_error(capsys)
    assert dump(db_url) == b""
    assert main([str(path), "--symbol", "AAPL", "--timeframe", "1h" if timeframe == "1d" else "1d"]) == 0


@pytest.mark.parametrize(("text", "argv", "needle"), [
    ("date,open,high,low\n2024-01-02,1,1,1\n", ["--symbol", "AAPL"], "missing columns ['close']"),
    (GOOD, [], "no symbol column; pass --symbol"),
    (GOOD, ["--symbol", "aapl"], "--symbol='aapl' is invalid: 'aapl' is not a ticker"),
    ("ts,open,high,low,close,symbol\n2024-01-02,1,1,1,1,aapl\n", [],
     "line 2: symbol 'aapl' is not a ticker (1-10 of A-Z, 0-9, '.', '-', upper case, the same rule as --symbol)"),
    ("ts,open,high,low,close,symbol\n2024-01-02,1,1,1,1,AAPL\n2024-01-03,1,1,1,n/a,AAPL\n", [],
     "line 3: close = 'n/a' is not a finite price > 0"),
    ("ts,open,high,low,close,symbol\nnot-a-date,1,1,1,1,AAPL\n", [], "line 2: time 'not-a-date' is not an ISO 8601"),
    ("", ["--symbol", "AAPL"], ": the file is empty"),
    ("date,open,high,low,close\n", ["--symbol", "AAPL"], ": no bars, only a header row"),
    ("date,open,high,low,close\n2024-01-02,10,11,9,10\n2024-01-03,caf\xe9,11,9,10\n".encode("latin-1"),
     ["--symbol", "AAPL"], " line 3: not UTF-8 text (byte 0xe9)"),
    ("date,open,high,low,close\n2024-01-02,10,11,9,10,7,8\n", ["--symbol", "AAPL"], ": not a CSV table of bars"),
    ("date,open,high,low,close\n2024-01-02,10,11,9,10\n2024-01-03,10,11,9,10,7\n", ["--symbol", "AAPL"],
     ": not a CSV table of bars: Error tokenizing data. C error: Expected 5 fields in line 3, saw 6"),
])
def test_bad_file_exits_2_with_one_line_naming_it_and_nothing_written(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        text: str | bytes, argv: list[str], needle: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = write(tmp_path, text, "bad.csv")
    assert main([str(path), *argv]) == 2
    line = one_error(capsys)
    assert needle in line, line
    if not needle.startswith("--symbol="):
        assert str(path) in line
    assert dump(db_url) == b""


def test_unreachable_database_is_one_line_exit_1_without_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://loader:s3cr3t-pw@127.0.0.1:1/forecasts")
    monkeypatch.setenv("ROLLOUT_PHASE", "local")
    assert main([str(write(tmp_path, GOOD)), "--symbol", "AAPL"]) == 1
    line = one_error(capsys)
    assert "database unreachable" in line and "s3cr3t" not in line
