"""Benchmark the 2-model walk-forward: cost per symbol-horizon, where it goes, and accuracy against naive.

``python -m bench.walk_forward [--windows 10] [--repeat 3] [--profile] [--only-timing]`` prints:

- per symbol-horizon, warm, in one process on one core (one torch thread, one BLAS thread): the
  job's compute (``pipeline.compute``: ``--windows`` walk-forward windows plus the production
  forecast) for SPY and MSFT (real daily data), AAPL daily and AAPL 4h/8h (simulated), in CPU
  seconds (the core's time: other work on the machine does not inflate it) and wall seconds;
- one plain ``arch`` AR(1)-GARCH(1,1)-t fit of the same data (SPY's latest 500 daily returns)
  measured in the same run, and the ratio line "one window / one arch fit" (SPY's seconds per
  symbol-horizon over the number of windows, over that fit), then the same ratio from
  interleaved pairs (each SPY run next to its own arch fits; the median of seven), which moves
  far less with the load of a shared machine;
- with ``--profile``: where SPY's symbol-horizon spends its time (cProfile, grouped);
- the job end to end on a temporary database: 3 symbols on 1 worker, 6 symbols on 2 workers;
- the ensemble's test RMSE relative to the naive zero-return forecast on the real sample data,
  over the configured windows and over 40 windows.

Targets (issue 24): 10 windows plus the forecast in at most 1.0 s on one core, and one window at
most one ``arch`` fit. Nothing is asserted. The timing part runs on any revision of the job
(it builds its window spec itself), so it measures "before" and "after" alike.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from jobs.forecasting.pipeline import compute, default_factory, evaluate_series
from jobs.forecasting.series import Series, validate_bars
from jobs.forecasting.walkforward import DEFAULT_SPECS, WindowSpec
from jobs.running.runner import Task, run_tasks
from jobs.storage.bars import read_bars
from jobs.storage.db import connect, embedded_url, migrate
from jobs.storage.sample_data import real_daily_bars, sample_bars, seed_sample_bars

SYMBOLS = ("AAPL", "MSFT", "SPY", "NVDA", "GOOGL", "AMZN")
TIMED = (("SPY", "1D"), ("MSFT", "1D"), ("AAPL", "1D"), ("AAPL", "4h"), ("AAPL", "8h"))
TARGET_SECONDS = 1.0
# cProfile groups: (label, [(file suffix, function)...]); the first present name of a group counts.
GROUPS = (
    ("LSTM training (epochs)", [("sequence.py", "train_nets"), ("sequence.py", "train_net")]),
    ("LSTM fits in all", [("sequence.py", "fit_batch"), ("sequence.py", "fit")]),
    ("ARIMA_GARCH fits", [("arima_garch.py", "fit_batch"), ("arima_garch.py", "fit")]),
    ("ARIMA_GARCH optimiser", [("arima_garch.py", "_fit_params")]),
    ("  of which Newton steps", [("newton.py", "constrained_newton")]),
    ("  of which SLSQP", [("_slsqp_py.py", "_minimize_slsqp")]),
)
PREDICT = (("residual.py", "predict"), ("arima_garch.py", "predict"))


def window_spec(horizon: str, windows: int) -> WindowSpec:
    """The horizon's window sizes with ``windows`` windows."""
    return replace(DEFAULT_SPECS[HORIZONS[horizon].timeframe], windows=windows)


def sample_series(symbol: str, horizon: str, spec: WindowSpec) -> Series:
    """The bars a task reads, from the labelled sample data (no database)."""
    timeframe = HORIZONS[horizon].timeframe
    need = spec.required_returns(True) + 1
    frame, _ = sample_bars(symbol, timeframe)
    return validate_bars(symbol, timeframe, frame.tail(need).reset_index(drop=True), need)


@dataclass(frozen=True)
class Cost:
    """Best-of-``repeat`` seconds of one symbol-horizon."""

    cpu: float
    wall: float


def symbol_horizon_cost(series: Series, horizon: str, cfg: JobConfig, spec: WindowSpec, repeat: int) -> Cost:
    """Seconds of ``pipeline.compute`` (windows plus forecast), warm: the fastest of ``repeat`` runs."""
    outcome = compute(series, horizon, cfg, spec)  # warm: imports, first-call set-up, kernel caches
    if not outcome.ok:
        raise SystemExit(f"benchmark run failed: {series.symbol} {horizon}: {outcome.error}")
    runs = []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        compute(series, horizon, cfg, spec)
        runs.append(Cost(time.process_time() - cpu, time.perf_counter() - wall))
    return Cost(min(r.cpu for r in runs), min(r.wall for r in runs))


def arch_fit_seconds(returns: np.ndarray, repeat: int = 20) -> float:
    """Median CPU seconds of one plain ``arch`` AR(1)-GARCH(1,1)-t fit of ``returns`` (in percent)."""
    from arch import arch_model

    times = []
    for _ in range(repeat + 2):
        cpu = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arch_model(returns, mean="AR", lags=1, vol="GARCH", p=1, q=1, dist="t", rescale=False).fit(disp="off")
        times.append(time.process_time() - cpu)
    return statistics.median(times[2:])


def print_costs(cfg: JobConfig, windows: int, repeat: int) -> dict[tuple[str, str], Cost]:
    """Per symbol-horizon seconds, the arch fit and the ratio line."""
    print(f"per symbol-horizon, {windows} windows + the production forecast, warm, one core "
          f"(best of {repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    costs = {}
    for symbol, horizon in TIMED:
        spec = window_spec(horizon, windows)
        try:
            series = sample_series(symbol, horizon, spec)
        except ValueError as exc:  # BadBarsError: fewer sample bars than the windows need
            print(f"  {symbol:5s} {horizon:3s} skipped: {exc}")
            continue
        costs[(symbol, horizon)] = cost = symbol_horizon_cost(series, horizon, cfg, spec, repeat)
        verdict = "met" if cost.cpu <= TARGET_SECONDS else "MISSED"
        print(f"  {symbol:5s} {horizon:3s} {cost.cpu:5.2f} s CPU ({cost.wall:5.2f} s wall)  "
              f"[target <= {TARGET_SECONDS:.1f} s: {verdict}]")
    print(f"  median {statistics.median(c.cpu for c in costs.values()):.2f} s CPU per symbol-horizon")
    latest = np.diff(np.log(real_daily_bars("SPY")["close"].to_numpy()))[-DEFAULT_SPECS["1d"].train:] * 100.0
    arch_fit = arch_fit_seconds(latest)
    window = costs[("SPY", "1D")].cpu / windows
    print(f"one plain arch AR(1)-GARCH(1,1)-t fit of the same data (SPY, latest 500 daily returns): "
          f"{arch_fit * 1000:.1f} ms CPU")
    print(f"one window / one arch fit: {window / arch_fit:.2f}  (one window = SPY 1D {costs[('SPY', '1D')].cpu:.3f} s "
          f"/ {windows} windows = {window * 1000:.1f} ms; target <= 1.0)")
    print_paired_ratio(cfg, windows, latest, 2 * repeat + 1)
    return costs


def print_paired_ratio(cfg: JobConfig, windows: int, latest: np.ndarray, pairs: int) -> None:
    """The same ratio from interleaved measurements: each SPY run next to its own arch fits.

    On a shared machine the CPU seconds of one moment differ from the next by 20% and more; a
    ratio of two figures taken side by side, repeated, and its median, moves much less than one
    of a best-of-three taken before a median taken later.
    """
    spec = window_spec("1D", windows)
    series = sample_series("SPY", "1D", spec)
    ratios = []
    for _ in range(pairs):
        cpu = time.process_time()
        compute(series, "1D", cfg, spec)
        ratios.append((time.process_time() - cpu) / windows / arch_fit_seconds(latest, 5))
    print(f"one window / one arch fit, {pairs} interleaved pairs: median {statistics.median(ratios):.2f} "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}; load average {os.getloadavg()[0]:.1f})")


def print_profile(cfg: JobConfig, windows: int) -> None:
    """Where SPY 1D's symbol-horizon spends its time, grouped (cProfile's overhead included)."""
    spec = window_spec("1D", windows)
    series = sample_series("SPY", "1D", spec)
    compute(series, "1D", cfg, spec)
    profiler = cProfile.Profile()
    profiler.enable()
    compute(series, "1D", cfg, spec)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, name), (_, _, _, ct, _) in stats.items() if name == "compute")

    def cumulative(names: Sequence[tuple[str, str]]) -> float:
        for suffix, func in names:
            found = [v[3] for (f, _, n), v in stats.items() if f.endswith(suffix) and n == func]
            if found:
                return max(found)
        return 0.0

    print(f"\nwhere SPY 1D's {windows} windows + forecast spend their time (cProfile, {total:.2f} s in all):")
    for label, names in GROUPS:
        seconds = cumulative(names)
        print(f"  {label:32s} {seconds:6.3f} s  {100 * seconds / total:5.1f}%")
    predict = sum(cumulative([name]) for name in PREDICT)
    print(f"  {'predictions (all origins)':32s} {predict:6.3f} s  {100 * predict / total:5.1f}%")


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
    threshold; ``divergence_flagged``: share whose divergence (docs/design.md §3.3) exceeds it.
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


def print_job_and_accuracy(cfg: JobConfig, windows: int) -> None:
    """The job end to end on a temporary database, then accuracy on the real sample data."""
    with tempfile.TemporaryDirectory() as tmp:
        url = embedded_url(Path(tmp))
        migrate(url)
        seed_sample_bars(url, SYMBOLS, ["1d"])
        one = timed_run(url, cfg, SYMBOLS[:3], 1, "bench-1")
        print(f"\njob, 1 worker : {one:6.1f} s for 3 symbol-horizons = {one / 3:.2f} s each, incl. reading and "
              "writing rows and the process's start-up (torch's imports and first fit)")
        two = timed_run(url, cfg, SYMBOLS, 2, "bench-2")
        print(f"job, 2 workers: {two:6.1f} s for 6 symbol-horizons = {two / 6:.2f} s each "
              f"(throughput x{(one / 3) / (two / 6):.2f} vs 1 worker, incl. worker start-up)")
        print("\nensemble test RMSE / naive (zero-return) test RMSE, 2-model LSTM + ARIMA-GARCH, simple_avg:")
        for symbol in ("SPY", "MSFT"):
            for spec in (window_spec("1D", windows), window_spec("1D", 40)):
                a = accuracy(url, cfg, symbol, spec)
                print(f"  {symbol:5s} {spec.windows:2d} windows  mean {a.mean_ratio:.4f}  median {a.median_ratio:.4f}  "
                      f"({'beats' if a.mean_ratio < 1 else 'does not beat'} naive; {100 * (a.mean_ratio - 1):+.2f}% "
                      f"RMSE); flagged at 20%: raw test/val RMSE {100 * a.raw_flagged:.0f}%, divergence vs naive "
                      f"{100 * a.divergence_flagged:.0f}%")
    print("(SPY = S&P 500 index and MSFT = NASDAQ Composite from arch.data, 1999-2018: real daily data.)")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.walk_forward", description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=10, help="walk-forward windows per symbol-horizon (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per symbol-horizon, best kept (default 3)")
    parser.add_argument("--profile", action="store_true", help="also print where the time goes (cProfile)")
    parser.add_argument("--only-timing", action="store_true", help="skip the job runs and the accuracy figures")
    args = parser.parse_args(argv)
    if args.windows < 1 or args.repeat < 1:
        parser.error(f"--windows={args.windows} and --repeat={args.repeat} are invalid: expected positive integers")
    cfg = JobConfig(torch_threads=1)
    torch.set_num_threads(1)
    with threadpool_limits(1):  # one core: numpy's and scipy's BLAS too
        print_costs(cfg, args.windows, args.repeat)
        if args.profile:
            print_profile(cfg, args.windows)
    if not args.only_timing:
        print_job_and_accuracy(JobConfig(torch_threads=1, walk_forward_windows=args.windows), args.windows)


if __name__ == "__main__":
    main()
