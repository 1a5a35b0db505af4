"""The morning review: ``python -m jobs.daily_checks [--symbols AAPL,MSFT,SPY] [--hours 24]``.

Prints the rollout document's three daily checks as ``rich`` tables: divergence summary,
RMSE trends and overfitting alerts, from ``sql/queries/canary_*.sql``. Exit status 0,
2 on bad input, 1 when the database is unreachable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from rich.table import Table

from jobs.storage.db import connect, load_sql


def fetch(url: str, symbols: Sequence[str], hours: int) -> dict[str, list[dict[str, Any]]]:
    """Run the three morning queries and ``retired_symbols``; keys are the query names."""
    params = {"symbols": list(symbols), "window": timedelta(hours=hours)}
    names = ("canary_divergence_summary", "canary_rmse_trends", "canary_overfitting_alerts", "retired_symbols")
    with connect(url) as conn:
        return {name: conn.execute(load_sql(name), params).fetchall() for name in names}


def _f(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def build_tables(results: Mapping[str, list[dict[str, Any]]], threshold: float, hours: int) -> list[Table]:
    """The three tables; rows above the warning ``threshold`` are marked in red."""
    div = Table(title=f"1. Divergence summary (last {hours} h)")
    for col in ("symbol", "horizon", "windows", "avg_div", "max_div", "overfitting_count"):
        div.add_column(col, justify="left" if col in ("symbol", "horizon") else "right")
    for r in results["canary_divergence_summary"]:
        style = "red" if r["avg_div"] is not None and r["avg_div"] > threshold else None
        div.add_row(r["symbol"], r["horizon"], str(r["windows"]), _f(r["avg_div"]), _f(r["max_div"]),
                    str(r["overfitting_count"]), style=style)
    rmse = Table(title=f"2. RMSE trends (last {hours} h)")
    for col in ("symbol", "horizon", "avg_val", "avg_test", "rmse_diff"):
        rmse.add_column(col, justify="left" if col in ("symbol", "horizon") else "right")
    for r in results["canary_rmse_trends"]:
        rmse.add_row(r["symbol"], r["horizon"], _f(r["avg_val"], 6), _f(r["avg_test"], 6), _f(r["rmse_diff"], 6))
    alerts = Table(title=f"3. Overfitting alerts (last {hours} h, divergence above {threshold:.0%} flags a window)")
    for col in ("symbol", "horizon", "divergence", "model_count", "models_used", "created_at"):
        alerts.add_column(col, justify="right" if col in ("divergence", "model_count") else "left")
    for r in results["canary_overfitting_alerts"]:
        alerts.add_row(r["symbol"], r["horizon"], _f(r["divergence"]), str(r["model_count"]), r["models_used"],
                       f"{r['created_at']:%Y-%m-%d %H:%M}Z")
    for table, name in ((div, "canary_divergence_summary"), (rmse, "canary_rmse_trends"),
                        (alerts, "canary_overfitting_alerts")):
        if not results[name]:
            table.caption = "no rows"
    # A symbol its stack no longer lists is not expected to have rows: say so rather than let
    # its absence read as a missing run.
    retired = "; ".join(f"{r['symbol']} retired {r['retired_at']:%Y-%m-%d %H:%M}Z (no longer in its stack)"
                        for r in results.get("retired_symbols", []))
    if retired:
        div.caption = f"{div.caption + '; ' if div.caption else ''}{retired}"
    return [div, rmse, alerts]
