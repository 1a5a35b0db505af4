"""One "RMSE vs baseline": the Python definition and every SQL query (all over one view) give the same figure.

The rows are built so the definitions people reach for differ: a window the baseline did not
evaluate, a baseline window with no ensemble window, two runs with different window counts,
a zero baseline and an ensemble without any baseline. Test RMSEs are dyadic fractions, so
sums are exact in any order and the two sides can be compared for equality, not closeness.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from jobs.forecasting.results import paired_rmse_gap, rounded_gap
from tests.support.queries import query
from tests.support.rollout_rows import (
    CANARY,
    ENSEMBLE,
    LEGACY,
    add_window,
    now,
    seed_symbols,
)

# (run, symbol, horizon): ({window: ensemble test RMSE}, {window: baseline test RMSE})
RUNS: dict[tuple[str, str, str], tuple[dict[int, float], dict[int, float]]] = {
    ("r1", "AAPL", "1D"): ({0: 0.0625, 1: 0.125, 2: 0.25}, {0: 0.0625, 1: 0.0625, 5: 1.0}),
    ("r2", "AAPL", "1D"): ({0: 0.03125, 1: 0.5}, {0: 0.125, 1: 0.25}),
    ("r1", "MSFT", "1D"): ({0: 0.25}, {0: 0.5}),
    ("r1", "SPY", "1D"): ({0: 0.125}, {0: 0.0}),
    ("r1", "AAPL", "4h"): ({0: 0.125, 1: 0.25}, {}),
    ("r1", "MSFT", "4h"): ({0: 0.125, 1: 0.25}, {1: 0.5}),
}


@pytest.fixture()
def rows_url(db_url: str) -> str:
    """The runs above, written as window rows an hour ago in the canary phase."""
    at = now() - timedelta(hours=1)
    with psycopg.connect(db_url) as conn:
        seed_symbols(conn, CANARY)
        for (run_id, symbol, horizon), (ours, base) in RUNS.items():
            key = {"run_id": run_id, "symbol": symbol, "horizon": horizon, "rollout_phase": "canary",
                   "created_at": at}
            for window_id, rmse in ours.items():
                add_window(conn, key, window_id, 0.0, rmse, False, 0, False, ENSEMBLE)
            for window_id, rmse in base.items():
                add_window(conn, key, window_id, 0.0, rmse, False, 0, True, LEGACY)
    return db_url


def python_gaps(url: str, group: tuple[str, ...]) -> dict[tuple[Any, ...], float | None]:
    """``paired_rmse_gap`` over the stored rows, grouped by ``group`` columns of the ensemble rows.

    Windows are keyed by run, symbol, horizon and window id, as the queries pair them.
    """
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT run_id, symbol, horizon, window_id, model_count, is_baseline, test_rmse "
                            "FROM ensemble_validation_metrics ORDER BY id").fetchall()
    ours: dict[tuple[Any, ...], dict[Hashable, float]] = defaultdict(dict)
    base: dict[Hashable, float] = {}
    for r in rows:
        key = (r["run_id"], r["symbol"], r["horizon"], r["window_id"])
        if r["is_baseline"]:
            base[key] = r["test_rmse"]
        else:
            ours[tuple(r[c] for c in group)][key] = r["test_rmse"]
    return {g: paired_rmse_gap(windows, base) for g, windows in ours.items()}


def test_the_figure_is_paired_by_window(rows_url: str) -> None:
    gaps = python_gaps(rows_url, ("symbol", "horizon"))
    # AAPL 1D: windows r1/0, r1/1, r2/0, r2/1 are paired (r1/2 and the baseline's r1/5 are not).
    assert gaps[("AAPL", "1D")] == (0.0625 + 0.125 + 0.03125 + 0.5) / (0.0625 + 0.0625 + 0.125 + 0.25) - 1
    assert gaps[("MSFT", "1D")] == -0.5 and gaps[("MSFT", "4h")] == -0.5
    assert gaps[("SPY", "1D")] is None and gaps[("AAPL", "4h")] is None


def test_review_query_computes_the_python_figure(rows_url: str) -> None:
    rows = query(rows_url, "review_baseline_rmse", phases=["canary"], since=now() - timedelta(days=7),
                 until=now())
    want = {k: v for k, v in python_gaps(rows_url, ("symbol", "horizon")).items() if k != ("AAPL", "4h")}
    assert {(r["symbol"], r["horizon"]): r["rmse_vs_baseline"] for r in rows} == want
    assert [r["paired_windows"] for r in rows] == [4, 1, 1, 1]  # AAPL 1D, MSFT 1D, MSFT 4h, SPY 1D


def test_dashboard_query_computes_the_python_figure(rows_url: str) -> None:
    rows = query(rows_url, "dashboard_baseline", days=7)
    want = {k: v for k, v in python_gaps(rows_url, ("symbol", "horizon")).items() if k != ("AAPL", "4h")}
    assert {(r["symbol"], r["horizon"]): r["rmse_vs_baseline"] for r in rows} == want


def test_model_performance_query_computes_the_python_figure(rows_url: str) -> None:
    rows = query(rows_url, "model_performance_metrics", window=timedelta(days=7))
    got = {(r["model_count"], r["horizon"]): r["rmse_vs_baseline"] for r in rows if not r["is_baseline"]}
    assert got == python_gaps(rows_url, ("model_count", "horizon"))
    assert got[(2, "1D")] is not None and got[(2, "4h")] == -0.5
    assert all(r["rmse_vs_baseline"] is None for r in rows if r["is_baseline"])
    # The paired join must not change the document's per-group figures: every row counted once.
    assert {(r["model_count"], r["horizon"]): r["windows"] for r in rows} == {(2, "1D"): 7, (2, "4h"): 4,
                                                                             (4, "1D"): 7, (4, "4h"): 1}


def test_run_figures_query_computes_the_python_figure_per_run(rows_url: str) -> None:
    rows = query(rows_url, "run_figures", phases=["canary"], since=now() - timedelta(days=7), until=now())
    # The query computes the ratio of means; its reader (jobs.monitoring.runs) rounds it as every rule does.
    got = {(r["run_id"], r["symbol"], r["horizon"]): rounded_gap(r["rmse_vs_baseline"]) for r in rows}
    assert got == python_gaps(rows_url, ("run_id", "symbol", "horizon"))
    assert got[("r1", "MSFT", "4h")] == -0.5 and got[("r1", "AAPL", "4h")] is None
