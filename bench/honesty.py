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
- the interval's test-slice coverage (nominal 90%).

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

from jobs.contract.config import JobConfig
from jobs.contract.domain import OPTIMIZATION_METHODS, Model
from jobs.forecasting.pipeline import default_factory
from jobs.forecasting.series import validate_bars
from jobs.forecasting.walkforward import (
    DEFAULT_SPECS,
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


def run_series(symbol: str, windows: int, threshold: float) -> None:
    """Fit every window of one real series once; print the figures for each method and model."""
    frame = real_daily_bars(symbol).assign(source="real")
    spec = replace(DEFAULT_SPECS["1d"], windows=windows)
    series = validate_bars(symbol, "1d", frame.tail(spec.required_returns(True) + 1), spec.required_returns(True) + 1)
    returns, factory = series.returns, default_factory()
    tests: dict[str, list[float]] = {m: [] for m in (*OPTIMIZATION_METHODS, *(x.value for x in MODELS), "naive")}
    flagged = {m: 0 for m in OPTIMIZATION_METHODS}
    inside: list[float] = []
    started = time.perf_counter()
    plans = plan_windows(len(returns), spec, 1, True)
    fits = fit_models([(m, model_seed(0, symbol, "1D", b.window_id, m.value), b.train) for b in plans for m in MODELS],
                      factory, returns, 1)
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
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    threshold = JobConfig().divergence_threshold
    for symbol in REAL_DAILY:
        run_series(symbol, ns.windows, threshold)


if __name__ == "__main__":
    main()
