"""Bars are identified by session: the job's own hourly layout imports, three stamp conventions
store one, offsets name the same session, bars off the calendar are refused, and
``python -m jobs.bars`` deletes bars (printing each one) and quarantines or re-admits a symbol."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
import pytest

from jobs.bars import main as bars
from jobs.load_bars import main as load
from jobs.storage.sample_data import simulated_bars
from tests.integration.test_load_bars import dump, one_error, write

NY = "America/New_York"


def stored(url: str, timeframe: str) -> list[tuple[pd.Timestamp, float]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT ts, close FROM ohlc_bars WHERE timeframe = %s ORDER BY ts", (timeframe,)).fetchall()
    return [(pd.Timestamp(ts).tz_convert("UTC"), close) for ts, close in rows]


def csv_of(frame: pd.DataFrame, stamps: list[str]) -> str:
    lines = ["ts,open,high,low,close,volume"]
    lines += [f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}" for t, o, h, lo, c, v in
              zip(stamps, frame["open"], frame["high"], frame["low"], frame["close"], frame["volume"], strict=True)]
    return "\n".join(lines) + "\n"


@pytest.fixture()
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def test_the_jobs_own_hourly_bars_export_and_import(env: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The regression: ``simulated_bars("X", "1h")`` written to CSV is accepted, stamp for stamp."""
    frame = simulated_bars("X", "1h")
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    assert load([str(path), "--symbol", "X", "--timeframe", "1h"]) == 0
    assert f"{len(frame)} 1h bars for 1 symbol(s): {len(frame)} new" in capsys.readouterr().out
    assert [t for t, _ in stored(env, "1h")] == list(pd.to_datetime(frame["ts"], utc=True))


# Tuesday 2 and Wednesday 3 January 2024 (EST), and Friday 24 November 2023 (early close 13:00).
DAYS = ("2024-01-02", "2024-01-03")
ENDS = ["10:30", "11:30", "12:30", "13:30", "14:30", "15:30", "16:00"]
STARTS = ["09:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"]
CLOCK = ["10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"]


def ny_stamps(times: list[str], days: tuple[str, ...] = DAYS) -> list[str]:
    return [pd.Timestamp(f"{d} {t}", tz=NY).isoformat() for d in days for t in times]


@pytest.mark.parametrize(("times", "convention"), [(ENDS, "bar ends, stored as they are"),
                                                   (STARTS, "bar starts, stored as bar ends"),
                                                   (CLOCK, "clock hours, stored as the calendar's bar ends")])
def test_three_hourly_conventions_store_the_calendars_bar_ends(env: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str],
                                                               times: list[str], convention: str) -> None:
    frame = simulated_bars("X", "1h").iloc[:14].reset_index(drop=True)
    path = write(tmp_path, csv_of(frame, ny_stamps(times)))
    assert load([str(path), "--symbol", "X", "--timeframe", "1h"]) == 0
    assert f"(hourly stamps are {convention} on XNYS)" in capsys.readouterr().out
    expected = [pd.Timestamp(s).tz_convert("UTC") for s in ny_stamps(ENDS)]
    assert stored(env, "1h") == list(zip(expected, frame["close"], strict=True))


def test_an_early_close_ends_the_day_there_in_every_convention(env: str, tmp_path: Path) -> None:
    frame = simulated_bars("X", "1h").iloc[:4].reset_index(drop=True)
    day = ("2023-11-24",)  # the day after Thanksgiving: 09:30-13:00
    path = write(tmp_path, csv_of(frame, ny_stamps(["09:30", "10:30", "11:30", "12:30"], day)))
    assert load([str(path), "--symbol", "X", "--timeframe", "1h"]) == 0
    assert [t for t, _ in stored(env, "1h")] == [pd.Timestamp(s).tz_convert("UTC")
                                                 for s in ny_stamps(["10:30", "11:30", "12:30", "13:00"], day)]


@pytest.mark.parametrize(("times", "argv", "needle"), [
    (["10:30", "11:15"], [], "line 3: 2024-01-02 11:15 America/New_York fits none; hourly stamps must follow one "
                             "accepted convention on the XNYS calendar: bar ends on the calendar (10:30 ... 15:30, "
                             "16:00 New York: the stored convention); bar starts"),
    (ENDS, ["--stamps", "start"], "line 8: 2024-01-02 16:00 America/New_York fits none; hourly stamps must follow the "
                                  "convention --stamps start on the XNYS calendar: bar starts (09:30 ... 15:30"),
    (["10:30", "11:30"], [], "the stamps fit several conventions (end, start) that name different bars (no first or "
                             "last bar of a session tells them apart): pass --stamps end or --stamps start"),
    (["08:00"], [], "line 2: 2024-01-02 08:00 America/New_York fits none"),
])
def test_stamps_that_fit_no_convention_are_refused_naming_the_one_expected(
        env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], times: list[str], argv: list[str],
        needle: str) -> None:
    frame = simulated_bars("X", "1h").iloc[:len(times)].reset_index(drop=True)
    path = write(tmp_path, csv_of(frame, ny_stamps(times, DAYS[:1])))
    assert load([str(path), "--symbol", "X", "--timeframe", "1h", *argv]) == 2
    assert needle in one_error(capsys)
    assert dump(env) == b""


def test_the_ambiguous_file_imports_with_stamps_named(env: str, tmp_path: Path) -> None:
    frame = simulated_bars("X", "1h").iloc[:2].reset_index(drop=True)
    path = write(tmp_path, csv_of(frame, ny_stamps(["10:30", "11:30"], DAYS[:1])))
    assert load([str(path), "--symbol", "X", "--timeframe", "1h", "--stamps", "start"]) == 0
    assert [t for t, _ in stored(env, "1h")] == [pd.Timestamp(s).tz_convert("UTC")
                                                 for s in ny_stamps(["11:30", "12:30"], DAYS[:1])]


DAILY = simulated_bars("D", "1d").iloc[-3:].reset_index(drop=True)
SESSIONS = ["2026-11-18", "2026-11-19", "2026-11-20"]


@pytest.mark.parametrize("offset", ["T00:00:00-05:00", "T16:00:00-05:00", "T00:00:00+09:00", "T21:00:00Z"])
def test_a_daily_bar_is_its_session_whatever_the_offset(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        offset: str) -> None:
    assert load([str(write(tmp_path, csv_of(DAILY, SESSIONS), "plain.csv")), "--symbol", "D"]) == 0
    capsys.readouterr()
    before = dump(env)
    again = write(tmp_path, csv_of(DAILY, [d + offset for d in SESSIONS]), "offset.csv")
    assert load([str(again), "--symbol", "D"]) == 0
    assert "0 new, 3 already stored unchanged, 0 replaced (daily stamps read as exchange sessions" in \
        capsys.readouterr().out
    assert dump(env) == before  # the same three bars, at 00:00 UTC of each session
    changed = DAILY.assign(close=DAILY["close"] * 1.01, high=DAILY["high"] * 1.02)
    path = write(tmp_path, csv_of(changed, [d + offset for d in SESSIONS]), "changed.csv")
    assert load([str(path), "--symbol", "D"]) == 2
    assert "the stored D 1d bar at 2026-11-18 00:00:00+00:00 differs" in one_error(capsys)
    assert load([str(path), "--symbol", "D", "--replace"]) == 0
    assert "0 new, 0 already stored unchanged, 3 replaced" in capsys.readouterr().out


def test_bars_off_the_calendar_are_refused_naming_the_dates(env: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.concat([DAILY, DAILY.iloc[:2]]).reset_index(drop=True)
    path = write(tmp_path, csv_of(frame, [*SESSIONS, "2026-11-21", "2026-11-26"]))
    assert load([str(path), "--symbol", "D"]) == 2
    assert (f"{path}: 2 bar(s) dated on days that are not XNYS sessions: 2026-11-21 Sat (line 5), "
            "2026-11-26 Thu (line 6); a daily bar is one session of EXCHANGE_CALENDAR=XNYS; nothing was imported"
            ) in one_error(capsys)
    assert dump(env) == b""


def test_bars_delete_prints_every_bar_it_removes(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load([str(write(tmp_path, csv_of(DAILY, SESSIONS))), "--symbol", "D"]) == 0
    capsys.readouterr()
    assert bars(["delete", "--symbol", "D", "--timeframe", "1d", "--from", "2026-11-19", "--to", "2026-11-20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"deleted D 1d 2026-11-19 00:00Z open {DAILY['open'][1]:g} high {DAILY['high'][1]:g} "
                      f"low {DAILY['low'][1]:g} close {DAILY['close'][1]:g} volume {DAILY['volume'][1]:g} "
                      "source 'import'")
    assert out[-1] == "2 D 1d bar(s) of 2026-11-19 to 2026-11-20 deleted"
    assert [t for t, _ in stored(env, "1d")] == [pd.Timestamp("2026-11-18", tz="UTC")]
    assert bars(["delete", "--symbol", "D", "--timeframe", "1d", "--from", "2026-11-19"]) == 1  # nothing left there
    assert "0 D 1d bar(s) of 2026-11-19 deleted" in capsys.readouterr().out


def test_bars_delete_hourly_takes_whole_sessions(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = simulated_bars("X", "1h").iloc[:14].reset_index(drop=True)
    assert load([str(write(tmp_path, csv_of(frame, ny_stamps(ENDS)))), "--symbol", "X", "--timeframe", "1h"]) == 0
    assert bars(["delete", "--symbol", "X", "--timeframe", "1h", "--from", "2024-01-03"]) == 0
    assert "7 X 1h bar(s) of 2024-01-03 deleted" in capsys.readouterr().out
    assert len(stored(env, "1h")) == 7


@pytest.mark.parametrize(("argv", "needle"), [
    (["delete", "--symbol", "D", "--timeframe", "1d", "--from", "2026-13-01"],
     "--from='2026-13-01' is invalid: expected a date such as 2024-01-02"),
    (["delete", "--symbol", "D", "--timeframe", "1d", "--from", "2026-11-20", "--to", "2026-11-19"],
     "--to=2026-11-19 is before --from=2026-11-20"),
    (["quarantine", "--symbol", "d", "--reason", "x"], "--symbol='d' is invalid"),
])
def test_bad_bars_commands_exit_2_before_touching_the_database(env: str, capsys: pytest.CaptureFixture[str],
                                                               argv: list[str], needle: str) -> None:
    assert bars(argv) == 2
    assert needle in one_error(capsys)


def test_quarantine_by_hand_status_and_readmit(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(env) as conn:
        conn.execute("INSERT INTO symbol_metadata (symbol, rollout_phase) VALUES ('NFLX', 'limited')")
    assert bars(["quarantine", "--symbol", "NFLX", "--reason", "vendor sends unadjusted prices"]) == 0
    assert bars(["status"]) == 0
    out = capsys.readouterr().out
    assert "NFLX quarantined since" in out and "(by hand: vendor sends unadjusted prices)" in out
    assert bars(["readmit", "--symbol", "NFLX"]) == 0
    assert "NFLX re-admitted: its next run fits it in full" in capsys.readouterr().out
    with psycopg.connect(env) as conn:
        row = conn.execute("SELECT quarantined_at, data_incident_streak FROM symbol_metadata").fetchall()
    assert row == [(None, 0)]
    assert bars(["readmit", "--symbol", "ZZZ"]) == 1
    assert "ZZZ is not in symbol_metadata" in capsys.readouterr().err
