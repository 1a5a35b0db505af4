"""Does any forecast claim skill it lacks? Pooled test RMSE on the real daily sample data.

``python -m bench.honesty [--windows 40]`` runs the 2-model core (LSTM + ARIMA-GARCH) over
``--windows`` walk-forward windows (daily 500 / 63 / 63, rolled by 63) of each real series
the project ships (arch's S&P 500 and NASDAQ Composite, 1999-2018) and prints, per series:

- the ensemble's pooled test RMSE over the naive (zero-return) forecast's, per
  optimisation method (below 1 beats naive);
- each single model's pooled test RMSE over naive, and the ensemble over the best of them;
- the divergence false-alarm rate: the share of windows whose divergence is above the
  warning threshold (there is no overfitting to find in a zero-skill model, so every flag
  is a false alarm);
- the interval's test-slice coverage (nominal 90%);

then, because those real series hold no signal the models find, simulated AR(1) returns
(``phi`` 0, 0.1 and 0.3, ``--signal-seeds`` series each, the job's default window count):
each model's and the ensemble's pooled test RMSE over naive, which shows a model that no
longer learns a signal where there is one.

Every window has the same number of test targets, so the pooled RMSE is the root of the
mean of the windows' squared RMSEs. The models are fitted once per window and every
optimisation method is scored on the same fits. The windows are fitted as the job fits them
(``walkforward.fit_models``: each model's windows together, oldest first, so a model that
carries work from one window to the next does so here too). Nothing is asserted: the figures
are the result. Run it before and after a model change to compare (README "Benchmarks").
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch
from scipy.signal import lfilter

from jobs.contract.config import DEFAULT_WALK_FORWARD_WINDOWS, JobConfig
from jobs.contract.domain import OPTIMIZATION_METHODS, Model
from jobs.forecasting.models.base import ForecastModel
from jobs.forecasting.pipeline import default_factory
from jobs.forecasting.series import validate_bars
from jobs.forecasting.walkforward import (
    DEFAULT_SPECS,
    WindowBounds,
    WindowSpec,
    fit_models,
    model_seed,
    plan_windows,
    predict_window,
    score_set,
    window_targets,
)
from jobs.storage.sample_data import REAL_DAILY, real_daily_bars

MODELS = (Model.LSTM, Model.ARIMA_GARCH)


def pooled(values: Sequence[float]) -> float:
    """Pooled RMSE from per-window RMSEs of equal-sized slices."""
    return math.sqrt(sum(v * v for v in values) / len(values))


def coverage(pred_lower: np.ndarray, pred_upper: np.ndarray, target: np.ndarray) -> float:
    """Share of targets inside their interval."""
    return float(np.mean((target >= pred_lower) & (target <= pred_upper)))


def fit_windows(returns: np.ndarray, spec: WindowSpec, name: str) -> tuple[list[WindowBounds],
                                                                          list[ForecastModel | Exception]]:
    """Every window's fits as the job makes them: one ``fit_models`` pass, oldest window first."""
    plans = plan_windows(len(returns), spec, 1, True)
    jobs = [(m, model_seed(0, name, "1D", b.window_id, m.value), b.train) for b in plans for m in MODELS]
    return plans, fit_models(jobs, default_factory(), returns, 1)


def ar1_returns(phi: float, length: int, seed: int, sd: float = 0.01) -> np.ndarray:
    """Simulated AR(1) log returns ``r[t] = phi * r[t-1] + e[t]``, Gaussian shocks from a seeded generator."""
    shocks = np.random.default_rng(seed).normal(0.0, sd, length)
    return np.asarray(lfilter([1.0], [1.0, -phi], shocks), dtype=float)


def run_signal(phis: Sequence[float], seeds: int, windows: int) -> None:
    """Where there is something to learn: simulated AR(1) returns, each model's and the ensemble's skill.

    The real series carry no forecastable signal the models find (every ratio is within 0.2% of
    naive), so they cannot show a model that stopped learning; these can.
    """
    spec = replace(DEFAULT_SPECS["1d"], windows=windows)
    print(f"\nsimulated AR(1) returns (sd 1%), {windows} windows, seeds 0-{seeds - 1}: pooled test RMSE / naive "
          "(simple_avg), mean over seeds:")
    sets = {"LSTM": (Model.LSTM,), "ARIMA_GARCH": (Model.ARIMA_GARCH,), "ensemble": MODELS}
    for phi in phis:
        ratios: dict[str, list[float]] = {name: [] for name in sets}
        for seed in range(seeds):
            returns = ar1_returns(phi, spec.required_returns(True), seed)
            plans, fits = fit_windows(returns, spec, f"AR1-{phi}-{seed}")
            tests: dict[str, list[float]] = {name: [] for name in (*sets, "naive")}
            for k, bounds in enumerate(plans):
                y_val, y_test = window_targets(returns, bounds, 1)
                fitted = predict_window(MODELS, fits[k * len(MODELS): (k + 1) * len(MODELS)], returns, bounds)
                for name, model_set in sets.items():
                    score = score_set(model_set, fitted, y_val, y_test, "simple_avg", 1.0, False)
                    tests[name].append(score.test_rmse)
                tests["naive"].append(score.naive_test_rmse)
            for name in sets:
                ratios[name].append(pooled(tests[name]) / pooled(tests["naive"]))
        print(f"  phi {phi:.1f}: " + "  ".join(f"{name} {float(np.mean(v)):.4f}" for name, v in ratios.items())
              + f"  (LSTM per seed {' '.join(f'{v:.4f}' for v in ratios['LSTM'])})")


def run_series(symbol: str, windows: int, threshold: float) -> None:
    """Fit every window of one real series once; print the figures for each method and model."""
    frame = real_daily_bars(symbol).assign(source="real")
    spec = replace(DEFAULT_SPECS["1d"], windows=windows)
    series = validate_bars(symbol, "1d", frame.tail(spec.required_returns(True) + 1), spec.required_returns(True) + 1)
    returns = series.returns
    tests: dict[str, list[float]] = {m: [] for m in (*OPTIMIZATION_METHODS, *(x.value for x in MODELS), "naive")}
    flagged = {m: 0 for m in OPTIMIZATION_METHODS}
    inside: list[float] = []
    started = time.perf_counter()
    plans, fits = fit_windows(returns, spec, symbol)
    for k, bounds in enumerate(plans):
        y_val, y_test = window_targets(returns, bounds, 1)
        fitted = predict_window(MODELS, fits[k * len(MODELS): (k + 1) * len(MODELS)], returns, bounds)
        for method in OPTIMIZATION_METHODS:
            s = score_set(MODELS, fitted, y_val, y_test, method, threshold, True)
            tests[method].append(s.test_rmse)
            flagged[method] += s.divergence > threshold
        tests["naive"].append(s.naive_test_rmse)
        for model in MODELS:
            tests[model.value].append(score_set((model,), fitted, y_val, y_test, "simple_avg", threshold,
                                                True).test_rmse)
        both = [fitted.test[m.value] for m in MODELS]
        inside.append(coverage(sum(p.lower for p in both) / 2, sum(p.upper for p in both) / 2, y_test))
    naive = pooled(tests["naive"])
    singles = {m.value: pooled(tests[m.value]) / naive for m in MODELS}
    best = min(singles, key=singles.__getitem__)
    label = REAL_DAILY[symbol][1].split("(")[1].split(",")[0]
    print(f"\n{label} ({symbol}), {windows} windows, {time.perf_counter() - started:.0f} s:")
    for name, ratio in singles.items():
        print(f"  {name:12s} alone            test RMSE / naive {ratio:.4f} ({100 * (ratio - 1):+.2f}%)")
    for method in OPTIMIZATION_METHODS:
        ens = pooled(tests[method])
        print(f"  ensemble {method:14s} test RMSE / naive {ens / naive:.4f} ({100 * (ens / naive - 1):+.2f}%), "
              f"/ best single ({best}) {ens / naive / singles[best]:.5f}, "
              f"divergence false alarms {flagged[method]}/{windows} ({100 * flagged[method] / windows:.0f}%)")
    print(f"  interval coverage (simple_avg, nominal 90%): {100 * float(np.mean(inside)):.1f}%")


def main(argv: Sequence[str] | None = None) -> None:
    """Print the honesty figures for every real daily series."""
    p = argparse.ArgumentParser(prog="python -m bench.honesty", description=__doc__.splitlines()[0])
    p.add_argument("--windows", type=int, default=40, help="walk-forward windows per series (default 40)")
    p.add_argument("--signal-seeds", type=int, default=5, help="simulated AR(1) series per phi (default 5; 0: none)")
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    threshold = JobConfig().divergence_threshold
    for symbol in REAL_DAILY:
        run_series(symbol, ns.windows, threshold)
    if ns.signal_seeds > 0:
        run_signal((0.0, 0.1, 0.3), ns.signal_seeds, DEFAULT_WALK_FORWARD_WINDOWS)


if __name__ == "__main__":
    main()
