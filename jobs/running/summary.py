"""The end-of-run summary table and the progress bar."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table

from jobs.contract.config import JobConfig
from jobs.contract.thresholds import LEAK_DIVERGENCE
from jobs.forecasting.results import SymbolOutcome, relative_rmse_gap


@contextmanager
def progress(total: int) -> Iterator[Callable[[SymbolOutcome], None]]:
    """A tqdm bar on a terminal; elsewhere each finished task is a JSON log line instead."""
    if not sys.stderr.isatty():
        import logging

        log = logging.getLogger("jobs.progress")

        def note(o: SymbolOutcome) -> None:
            log.info("task done", extra={"fields": {"symbol": o.symbol, "horizon": o.horizon, "ok": o.ok,
                                                     "seconds": round(o.seconds, 2), "error": o.error}})
        yield note
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="task", desc="forecasting", file=sys.stderr) as bar:
        def advance(o: SymbolOutcome) -> None:
            bar.set_postfix_str(f"{o.symbol} {o.horizon}")
            bar.update(1)
        yield advance


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def _vs_baseline(o: SymbolOutcome) -> str:
    """Test RMSE over the paired baseline's on the same windows, as a ratio like ``vs naive`` (below 1 beats it).

    The ratio is ``1 +`` the "RMSE vs baseline" figure the metrics, review and dashboard report.
    """
    gap = relative_rmse_gap(o.windows, o.baseline_windows)
    return "–" if gap is None else f"{1 + gap:.3f}"


def summary_table(outcomes: list[SymbolOutcome], run_id: str, cfg: JobConfig, seconds: float) -> Table:
    """One row per symbol and horizon: forecast, interval, val/test RMSE, divergence, weights."""
    table = Table(title=f"run {run_id} · models {'+'.join(m.value for m in cfg.models)} · "
                        f"{cfg.optimization_method} · {seconds:.1f}s", title_justify="left")
    baseline = bool(cfg.baseline_models)  # the paired legacy set's column only when it was scored
    for col in ("symbol", "horizon", "target", "forecast", "90% interval", "val RMSE", "test RMSE",
                "vs naive", *(["vs baseline"] if baseline else []), "divergence", "coverage", "overfit", "weights"):
        table.add_column(col, justify="right" if col not in ("symbol", "horizon", "weights") else "left")
    for o in outcomes:
        if o.cause == "unknown-symbol":
            continue  # named once each below the table, not once per horizon
        if not o.ok or o.forecast is None:
            label = "[red]failed[/red]" if o.failure == "pipeline" else f"[yellow]refused: {o.cause}[/yellow]"
            table.add_row(o.symbol, o.horizon, label, *([""] * (9 if baseline else 8)), (o.error or "")[:60])
            continue
        f, w = o.forecast, [x.score for x in o.windows]
        val = sum(x.val_rmse for x in w) / len(w)
        test = sum(x.test_rmse for x in w) / len(w)
        naive = sum(x.naive_test_rmse for x in w) / len(w)
        div = sum(x.divergence for x in w) / len(w)
        overfit = sum(x.is_overfitting for x in w)
        covered = [x.coverage for x in w if x.coverage is not None]
        table.add_row(
            o.symbol, o.horizon, f"{f.target_ts:%Y-%m-%d}" if o.horizon == "1D" else f"{f.target_ts:%Y-%m-%d %H:%M}",
            f"{f.predicted_price:,.2f} ({_pct(f.predicted_return)})",
            f"{f.lower_price:,.2f} – {f.upper_price:,.2f}",
            f"{val:.5f}", f"{test:.5f}", f"{test / naive:.3f}", *([_vs_baseline(o)] if baseline else []),
            "leak" if any(x.divergence >= LEAK_DIVERGENCE for x in w) else _pct(div),
            f"{100 * sum(covered) / len(covered):.0f}%" if covered else "–",
            f"{overfit}/{len(w)}" + (" [yellow]⚠[/yellow]" if overfit else ""),
            " ".join(f"{k}:{v:.2f}" for k, v in f.weights.items()) + (" (reverted)" if f.weights_reverted else ""),
        )
    return table


def print_summary(outcomes: list[SymbolOutcome], run_id: str, cfg: JobConfig, seconds: float) -> None:
    """Print the summary table and a one-line verdict to stdout."""
    console = Console(width=max(190, Console().width))
    console.print(summary_table(outcomes, run_id, cfg, seconds))
    ok = sum(o.ok for o in outcomes)
    windows = sum(len(o.windows) + len(o.baseline_windows) for o in outcomes)
    console.print(f"{ok}/{len(outcomes)} forecasts written, {windows} validation windows logged "
                  f"(val/test RMSE, divergence vs the naive forecast, 90% interval coverage: see ensemble_validation_metrics).")
    if line := failure_line(outcomes):
        console.print(line)


def failure_line(outcomes: list[SymbolOutcome]) -> str | None:
    """One line counting what was not forecast: data incidents by cause, unknown symbols, pipeline failures, events."""
    data = Counter(o.cause for o in outcomes if o.failure == "data" and o.cause != "unknown-symbol")
    unknown = sorted({o.symbol for o in outcomes if o.cause == "unknown-symbol"})
    pipeline = sum(o.failure == "pipeline" for o in outcomes)
    events = sum(o.new_events for o in outcomes)
    parts = []
    if data:
        parts.append(f"{sum(data.values())} refused as data incidents ("
                     + ", ".join(f"{n} {cause}" for cause, n in sorted(data.items())) + ")")
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        parts.append(f"{len(unknown)} unknown symbol(s), nothing fitted: {shown}")
    if pipeline:
        parts.append(f"{pipeline} pipeline failure(s) (code raised: see the errors)")
    if events:
        parts.append(f"{events} real large move(s) kept and recorded (data_events)")
    warned = sum(bool(o.warnings) for o in outcomes)
    if warned:
        parts.append(f"{warned} forecast(s) with a warning (see stderr)")
    return "; ".join(parts) + "." if parts else None
