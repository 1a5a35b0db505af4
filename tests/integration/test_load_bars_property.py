"""Properties of the import: every file exactly or not at all; concurrent imports as if one by one.

Hypothesis writes files of daily bars for up to two symbols over a table that already holds
bars, and injects at most one defect (a non-finite, zero or negative value, an inverted
high/low, a duplicate time, a bad date, a lower-case symbol, a blank price, or a value that
differs from a stored bar). The real command decides. The oracle: a file with a defect is
refused (exit 2, the whole table byte for byte as before); a clean file exits 0 and afterwards
each of its rows is stored with exactly its values while every other bar is untouched.

Concurrent imports of overlapping and disjoint files (threads running the real import path at
the same moment) leave the table a serial import in some order would leave, and each import's
report (new, unchanged, replaced, or refused) is what that serial import would report.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.forecasting.calendar import trading_calendar
from jobs.load_bars import main, store
from jobs.storage.bars import ChangedBarsError
from jobs.storage.csv_import import read_csv
from tests.support.fixtures import scratch_database

# Twelve XNYS sessions (2024-01-01 and 2024-01-15 are holidays: a bar there is refused, not a defect here).
DAYS = pd.DatetimeIndex(trading_calendar("XNYS").sessions_in_range("2024-01-02", "2024-01-18")[:12], tz="UTC")
# Stored before every example: AAA on the first four business days.
STORED = [("AAA", DAYS[i], 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 1000.0) for i in range(4)]
DEFECTS = ("inf", "-inf", "nan", "zero", "negative", "inverted", "duplicate", "bad_date", "lowercase", "blank",
           "changes_stored", "negative_volume")


@pytest.fixture(scope="module")
def prop_db(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    """One migrated database for the module (hypothesis examples cannot use per-test fixtures)."""
    with scratch_database(pg_server_url, "prop", migrated_template) as url:
        yield url


def reset(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE ohlc_bars")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO ohlc_bars (symbol, timeframe, ts, open, high, low, close, volume, source) "
                            "VALUES (%s, '1d', %s, %s, %s, %s, %s, %s, 'seed')", STORED)


def dump(url: str) -> bytes:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY (SELECT * FROM ohlc_bars ORDER BY symbol, timeframe, ts) TO STDOUT") as copy:
            return b"".join(bytes(chunk) for chunk in copy)


def stored(url: str) -> dict[tuple[str, pd.Timestamp], tuple[float, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT symbol, ts, open, high, low, close, volume FROM ohlc_bars").fetchall()
    return {(r[0], pd.Timestamp(r[1]).tz_convert("UTC")): tuple(r[2:]) for r in rows}


prices = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def bar(draw: st.DrawFn) -> tuple[float, float, float, float, float]:
    """Consistent open, high, low, close, volume."""
    o, c = draw(prices), draw(prices)
    high = max(o, c) * draw(st.floats(1.0, 1.5))
    low = min(o, c) * draw(st.floats(0.5, 1.0))
    return o, high, low, c, draw(st.floats(0, 1e9, allow_nan=False))


@st.composite
def csv_case(draw: st.DrawFn) -> tuple[list[list[str]], str | None]:
    """Rows (header first) and the defect injected, if any."""
    rows: list[list[str]] = []
    for symbol in draw(st.sampled_from([["AAA"], ["BBB"], ["AAA", "BBB"]])):
        start = draw(st.integers(0, len(DAYS) - 1))
        for d in range(start, min(len(DAYS), start + draw(st.integers(1, 8)))):  # consecutive business days
            stored_bar = next((s for s in STORED if s[0] == symbol and s[1] == DAYS[d]), None)
            values = stored_bar[2:] if stored_bar else draw(bar())  # a clean file never changes a stored bar
            rows.append([DAYS[d].strftime("%Y-%m-%d"), symbol, *(repr(float(v)) for v in values)])
    defect = draw(st.none() | st.sampled_from(DEFECTS))
    if defect is not None:
        target = draw(st.integers(0, len(rows) - 1))
        inject(rows, target, defect, draw)
    return [["date", "symbol", "open", "high", "low", "close", "volume"], *rows], defect


def inject(rows: list[list[str]], i: int, defect: str, draw: st.DrawFn) -> None:
    """Damage row ``i`` in place."""
    column = draw(st.sampled_from([2, 3, 4, 5]))  # open, high, low, close
    if defect in ("inf", "-inf", "nan"):
        rows[i][column] = defect
    elif defect == "zero":
        rows[i][column] = "0"
    elif defect == "negative":
        rows[i][column] = "-" + rows[i][column]
    elif defect == "inverted":
        rows[i][3], rows[i][4] = repr(float(rows[i][4]) * 0.5), repr(float(rows[i][3]) * 2 + 1)
    elif defect == "duplicate":
        rows.insert(i, list(rows[i]))
    elif defect == "bad_date":
        rows[i][0] = draw(st.sampled_from(["2024-02-30", "01/02/2024", "yesterday", ""]))
    elif defect == "lowercase":
        rows[i][1] = rows[i][1].lower()
    elif defect == "blank":
        rows[i][column] = ""
    elif defect == "negative_volume":
        rows[i][6] = "-1"
    else:  # changes_stored: the file carries AAA's first stored bar with another close
        first = STORED[0]
        o, h, lo, c, v = first[2:]
        rows.insert(0, [first[1].strftime("%Y-%m-%d"), "AAA", repr(o), repr(h * 2), repr(lo), repr(c * 1.5), repr(v)])
        seen = {(r[0], r[1]) for r in rows[1:]}
        if (rows[0][0], "AAA") in seen:  # keep the duplicate rule out of this case
            rows[:] = [rows[0], *[r for r in rows[1:] if (r[0], r[1]) != (rows[0][0], "AAA")]]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=csv_case())
def test_each_file_is_imported_exactly_or_refused_with_the_table_unchanged(
        prop_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[list[list[str]], str | None]
) -> None:
    rows, defect = case
    monkeypatch.setenv("DATABASE_URL", prop_db)
    monkeypatch.setenv("ROLLOUT_PHASE", "canary")  # migrated once above; skip yoyo per example
    reset(prop_db)
    before, before_rows = dump(prop_db), stored(prop_db)
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")

    status = main([str(path)])

    if defect is not None:
        assert status == 2, (defect, rows)
        assert dump(prop_db) == before
        return
    assert status == 0, rows
    after = stored(prop_db)
    expected = dict(before_rows)
    for r in rows[1:]:
        expected[(r[1], pd.Timestamp(r[0], tz="UTC"))] = tuple(float(x) for x in r[2:])
    assert after == expected


# Concurrent imports. Each (symbol, day) has two versions of its bar, so two files overlap with the
# same values or with different ones; the table starts with version 0 of a few bars.
CONCURRENT_DAYS = DAYS[:6]
VERSIONS = {(s, d, v): (10.0 + i + v, 11.0 + i + v, 9.0 + i, 10.5 + i + v / 2, 100.0 * (v + 1))
            for s in ("AAA", "BBB") for i, d in enumerate(CONCURRENT_DAYS) for v in (0, 1)}
REPORT = re.compile(r": (\d+) 1d bars for \d+ symbol\(s\): (\d+) new, (\d+) already stored unchanged, (\d+) replaced \(")

Bars = dict[tuple[str, pd.Timestamp], tuple[float, ...]]


@dataclass(frozen=True)
class ImportFile:
    """One file of a concurrent import: its bars (values, then the source label) and ``--replace``."""

    name: str
    bars: Bars
    replace: bool


@st.composite
def concurrent_case(draw: st.DrawFn) -> tuple[Bars, list[ImportFile]]:
    """The bars stored before, and 2 to 4 files of overlapping or disjoint bars to import at once."""
    keys = [(s, d) for s in ("AAA", "BBB") for d in CONCURRENT_DAYS]
    stored = {k: VERSIONS[(*k, 0)] for k in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True))}
    files = []
    for n in range(draw(st.integers(2, 4))):
        bars = {}
        for symbol in draw(st.sampled_from([["AAA"], ["BBB"], ["AAA", "BBB"]])):
            start = draw(st.integers(0, len(CONCURRENT_DAYS) - 1))
            for d in CONCURRENT_DAYS[start:start + draw(st.integers(1, 4))]:  # consecutive: daily spacing
                bars[(symbol, d)] = VERSIONS[(symbol, d, draw(st.integers(0, 1)))]
        files.append(ImportFile(f"file{n}", bars, draw(st.booleans())))
    return stored, files


def serial(stored: dict[tuple[str, pd.Timestamp], tuple[object, ...]], files: list[ImportFile]
           ) -> tuple[dict[tuple[str, pd.Timestamp], tuple[object, ...]], dict[str, object]]:
    """The table and each file's report after importing ``files`` one by one in this order (the oracle)."""
    table, reports = dict(stored), {}
    for f in files:
        after, new, unchanged, replaced = dict(table), 0, 0, 0
        for key, values in f.bars.items():
            if key not in after:
                new, after[key] = new + 1, (*values, f.name)
            elif after[key][:5] == values:
                unchanged += 1
            elif f.replace:
                replaced, after[key] = replaced + 1, (*values, f.name)
            else:
                break
        else:
            table, reports[f.name] = after, (len(f.bars), new, unchanged, replaced)
            continue
        reports[f.name] = "refused"
    return table, reports


def import_concurrently(url: str, folder: Path, files: list[ImportFile]) -> dict[str, object]:
    """Each file imported by the real import path on its own thread, all released at once; each one's report."""
    start = threading.Barrier(len(files))

    frames = {}
    for f in files:  # checked first, as the command does before it touches the database
        path = folder / f"{f.name}.csv"
        rows = [f"{d:%Y-%m-%d},{s},{','.join(repr(v) for v in values)}" for (s, d), values in f.bars.items()]
        path.write_text("date,symbol,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
        frames[f.name] = (path, read_csv(path, None, "1d"))

    def one(f: ImportFile) -> object:
        path, frame = frames[f.name]
        start.wait(timeout=60)
        try:
            line = store(url, path, frame, "1d", f.name, f.replace, "XNYS")
        except ChangedBarsError:
            return "refused"
        match = REPORT.search(line)
        assert match, line
        return tuple(int(x) for x in match.groups())

    with ThreadPoolExecutor(len(files)) as pool:
        return dict(zip([f.name for f in files], pool.map(one, files), strict=True))


@contextmanager
def slow_inserts(url: str) -> Iterator[None]:
    """Every INSERT into ohlc_bars waits 20 ms first: an import's compare-then-write takes long enough
    for the others to start theirs meanwhile (what two operators at the same moment do)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ "
                     "BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER slow_insert BEFORE INSERT ON ohlc_bars FOR EACH STATEMENT "
                     "EXECUTE FUNCTION slow_insert()")
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER slow_insert ON ohlc_bars")
            conn.execute("DROP FUNCTION slow_insert()")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=concurrent_case())
def test_concurrent_imports_equal_a_serial_import_in_some_order_and_each_report_is_true(
        prop_db: str, tmp_path_factory: pytest.TempPathFactory, case: tuple[Bars, list[ImportFile]]) -> None:
    stored, files = case
    with psycopg.connect(prop_db) as conn:
        conn.execute("TRUNCATE ohlc_bars")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO ohlc_bars (symbol, timeframe, ts, open, high, low, close, volume, source) "
                            "VALUES (%s, '1d', %s, %s, %s, %s, %s, %s, 'seed')",
                            [(s, d, *values) for (s, d), values in stored.items()])
    with slow_inserts(prop_db):
        reports = import_concurrently(prop_db, tmp_path_factory.mktemp("concurrent"), files)
    with psycopg.connect(prop_db) as conn:
        rows = conn.execute("SELECT symbol, ts, open, high, low, close, volume, source FROM ohlc_bars").fetchall()
    table = {(r[0], pd.Timestamp(r[1]).tz_convert("UTC")): tuple(r[2:]) for r in rows}
    before = {k: (*v, "seed") for k, v in stored.items()}
    orders = [order for order in permutations(files) if serial(before, list(order)) == (table, reports)]
    assert orders, f"no serial order explains the table and the reports: {reports}, {files}"
