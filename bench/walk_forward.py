"""Benchmark the 2-model walk-forward: speed per symbol-horizon and accuracy against naive.

``python -m bench.walk_forward`` prints:
- seconds per symbol-horizon on one core (1 worker, 1 torch thread) and with two workers;
- the 3-symbol demo's wall time once set up (database up, bars loaded);
- the ensemble's test RMSE relative to the naive zero-return forecast on the real sample data
  (arch's S&P 500 and NASDAQ Composite), over the default windows and over a longer history.
Targets (issue 2): <= 3 s per symbol-horizon on one core, the demo under 60 s. Nothing is asserted.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from jobs.contract.config import JobConfig
from jobs.forecasting.pipeline import default_factory, evaluate_series
from jobs.forecasting.series import validate_bars
from jobs.forecasting.walkforward import DEFAULT_SPECS, WindowSpec
from jobs.running.runner import Task, run_tasks
from jobs.storage.bars import read_bars
from jobs.storage.db import connect, embedded_url, migrate
from jobs.storage.sample_data import seed_sample_bars

SYMBOLS = ("AAPL", "MSFT", "SPY", "NVDA", "GOOGL", "AMZN")


def timed_run(url: str, cfg: JobConfig, symbols: tuple[str, ...], workers: int, run_id: str) -> float:
    """Wall seconds to run ``symbols`` at 1D with ``workers`` processes."""
    tasks = [Task(s, "1D", run_id) for s in symbols]
    started = time.perf_counter()
    outcomes = run_tasks(tasks, cfg, url, workers)
    wall = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"benchmark run failed: {failed[0].symbol}: {failed[0].error}")
    return wall


@dataclass(frozen=True)
class Accuracy:
    """How the ensemble did over a symbol's windows."""

    mean_ratio: float
    median_ratio: float
    windows: int
    raw_flagged: float
    divergence_flagged: float


def accuracy(url: str, cfg: JobConfig, symbol: str, spec: WindowSpec) -> Accuracy:
    """Test RMSE / naive test RMSE over the windows, and how often each overfitting rule fires.

    ``raw_flagged``: share of windows whose raw test/val RMSE ratio moved by more than the
    threshold; ``divergence_flagged``: share whose divergence (DESIGN §3.3) exceeds it.
    """
    need = spec.required_returns(True) + 1
    with connect(url) as conn:
        series = validate_bars(symbol, "1d", read_bars(conn, symbol, "1d", need), need)
    windows, _, _ = evaluate_series(series, "1D", cfg, spec, default_factory())
    scores = [w.score for w in windows]
    ratios = [s.test_rmse / s.naive_test_rmse for s in scores]
    raw = sum(s.rmse_ratio - 1 > cfg.divergence_threshold for s in scores) / len(scores)
    div = sum(s.is_overfitting for s in scores) / len(scores)
    return Accuracy(statistics.fmean(ratios), statistics.median(ratios), len(ratios), raw, div)


def main() -> None:
    """Run the benchmark and print its figures."""
    cfg = JobConfig(torch_threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        url = embedded_url(Path(tmp))
        migrate(url)
        seed_sample_bars(url, SYMBOLS, ["1d"])
        one = timed_run(url, cfg, SYMBOLS[:3], 1, "bench-1")
        print(f"1 worker : {one:6.1f} s for 3 symbol-horizons = {one / 3:.2f} s per symbol-horizon "
              f"(target <= 3 s); the demo's compute once set up: {one:.1f} s (target < 60 s)")
        two = timed_run(url, cfg, SYMBOLS, 2, "bench-2")
        print(f"2 workers: {two:6.1f} s for 6 symbol-horizons = {two / 6:.2f} s per symbol-horizon "
              f"(throughput x{(one / 3) / (two / 6):.2f} vs 1 worker, incl. worker start-up)")
        default = DEFAULT_SPECS["1d"]
        long = replace(default, windows=40)
        print("\nensemble test RMSE / naive (zero-return) test RMSE, 2-model LSTM + ARIMA-GARCH, simple_avg:")
        for symbol in ("SPY", "MSFT"):
            for label, spec in (("default 4 windows", default), ("40 windows (~10 years)", long)):
                a = accuracy(url, cfg, symbol, spec)
                print(f"  {symbol:5s} {label:24s} mean {a.mean_ratio:.4f}  median {a.median_ratio:.4f}  "
                      f"({a.windows} windows; {'beats' if a.mean_ratio < 1 else 'does not beat'} naive; "
                      f"{100 * (a.mean_ratio - 1):+.2f}% RMSE)")
                print(f"  {'':5s} {'':24s} windows flagged at 20%: raw test/val RMSE {100 * a.raw_flagged:.0f}%, "
                      f"divergence vs naive {100 * a.divergence_flagged:.0f}%")
    print("(SPY = S&P 500 index and MSFT = NASDAQ Composite from arch.data, 1999-2018: real daily data.)")


if __name__ == "__main__":
    main()
