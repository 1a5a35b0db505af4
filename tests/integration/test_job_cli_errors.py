"""Bad input exits 2 with one clear line and writes no row; an unreachable database exits 1."""

from __future__ import annotations

import psycopg
import pytest

from jobs.unified_forecast_job import main

TABLES = ("ohlc_bars", "symbol_metadata", "forecasts", "forecast_failures", "ensemble_validation_metrics")


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}  # fixed names


CASES = [
    (["--symbols", "AAPL,MSFT,SPY", "--horizon", "1D"],
     {"ENSEMBLE_MODEL_COUNT": "4", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true", "ENABLE_GB": "true",
      "ENABLE_RF": "false"},
     "ENSEMBLE_MODEL_COUNT=4 does not match the enabled models: 3 enabled (LSTM, ARIMA_GARCH, GB)"),
    (["--symbols", "AAPL", "--horizon", "1D"], {"ENSEMBLE_MODEL_COUNT": "abc"},
     "ENSEMBLE_MODEL_COUNT='abc' is invalid"),
    (["--symbols", "AAPL", "--horizon", "2D"], {}, "--horizon='2D' is invalid: unknown horizon '2D'; known horizons: 1D, 4h, 8h"),
    (["--symbols", "", "--horizon", "1D"], {}, "--symbols='' is invalid"),
    (["--symbols", "AAPL", "--horizon", "1D"], {"DIVERGENCE_THRESHOLD": "-1"}, "DIVERGENCE_THRESHOLD='-1' is invalid"),
    (["--symbols", "AAPL", "--horizon", "1D", "--workers", "zero"], {}, "--workers='zero' is invalid"),
    (["--symbols", "AAPL", "--horizon", "1D", "--shard", "4/4"], {}, "--shard INDEX='4' is invalid"),
    (["--bogus"], {}, "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("argv", "env", "needle"), CASES)
def test_bad_input_exits_2_with_one_line_and_no_rows(
    db_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str], needle: str
) -> None:
    before = row_counts(db_url)
    assert main(argv, {"DATABASE_URL": db_url, **env}) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and needle in err[0], err
    assert row_counts(db_url) == before


def test_unreachable_database_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://nobody:pw@127.0.0.1:1/forecasts"
    assert main(["--symbols", "AAPL", "--horizon", "1D"], {"DATABASE_URL": url}) == 1
    err = capsys.readouterr().err
    assert "database unreachable after 5 attempts" in err
    assert "pw@" not in err
