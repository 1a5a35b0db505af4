"""Per-model speed and accuracy: ``python -m bench.models [--windows N] [--steps S]``.

Speed: fit on 500 daily returns and predict 150 origins, one torch thread, median of 3
runs after a warm-up (imports excluded). Accuracy: on arch's bundled S&P 500 daily data
(1999-2018), non-overlapping windows of 500 training / 125 validation / 125 test bars;
each model's test RMSE against the naive zero-return forecast, its interval coverage,
and the 2-model ensemble under each weighting method (weights fitted on validation).
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from jobs.contract.domain import OPTIMIZATION_METHODS, Model
from jobs.forecasting.ensemble import combine, fit_weights
from jobs.forecasting.models import (
    ModelFitError,
    Prediction,
    build_model,
    cumulative_targets,
)
from jobs.forecasting.walkforward import rmse

TRAIN, VAL, TEST = 500, 125, 125


def sp500_returns() -> np.ndarray:
    """Daily log returns of the S&P 500 adjusted close bundled with ``arch``."""
    from arch.data import sp500

    close = sp500.load()["Adj Close"].to_numpy()
    return np.diff(np.log(close))


def time_model(model: Model, returns: np.ndarray, steps: int, seed: int = 0) -> tuple[float, float]:
    """Median fit and predict seconds over 3 runs, after one warm-up fit."""
    train, origins = returns[:TRAIN], np.arange(TRAIN, TRAIN + 150)
    build_model(model, seed).fit(train, steps)
    fits, preds = [], []
    for run in range(3):
        start = time.perf_counter()
        fitted = build_model(model, seed + run).fit(train, steps)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        fitted.predict(returns, origins)
        preds.append(time.perf_counter() - start)
    return statistics.median(fits), statistics.median(preds)


def coverage(pred: Prediction, target: np.ndarray) -> float:
    """Share of targets inside the interval."""
    return float(np.mean((target >= pred.lower) & (target <= pred.upper)))


def window_scores(returns: np.ndarray, start: int, steps: int) -> dict[str, tuple[float, float]]:
    """Test RMSE / naive RMSE and coverage per model and per 2-model ensemble method, one window.

    Origins stop ``steps`` bars before each slice's end, so every target is realised.
    """
    series = returns[start : start + TRAIN + VAL + TEST]
    val = np.arange(TRAIN, TRAIN + VAL - steps)
    test = np.arange(TRAIN + VAL, len(series) - steps)
    y_val, y_test = cumulative_targets(series, val, steps), cumulative_targets(series, test, steps)
    naive = rmse(np.zeros(len(test)), y_test)
    out: dict[str, tuple[float, float]] = {}
    val_preds: dict[str, np.ndarray] = {}
    test_preds: dict[str, Prediction] = {}
    for model in Model:
        try:
            fitted = build_model(model, seed=7).fit(series[:TRAIN], steps)
        except ModelFitError:
            continue
        val_preds[model.value] = fitted.predict(series, val).mean
        pred = test_preds[model.value] = fitted.predict(series, test)
        out[model.value] = (rmse(pred.mean, y_test) / naive, coverage(pred, y_test))
    pair = [m for m in ("LSTM", "ARIMA_GARCH") if m in test_preds]
    for method in OPTIMIZATION_METHODS:
        weights = fit_weights(method, {m: val_preds[m] for m in pair}, y_val)
        blend = combine(weights, {m: test_preds[m] for m in pair})
        out[f"2-model {method}"] = (rmse(blend.mean, y_test) / naive, coverage(blend, y_test))
    return out


def main() -> None:
    """Print the speed table, then the accuracy table."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=8, help="accuracy windows (non-overlapping)")
    parser.add_argument("--steps", type=int, default=1, help="horizon in bars")
    args = parser.parse_args()
    torch.set_num_threads(1)
    returns = sp500_returns()
    print(f"speed: fit on {TRAIN} daily returns, predict {150} origins, steps={args.steps}, 1 torch thread")
    for model in Model:
        fit_s, pred_s = time_model(model, returns, args.steps)
        print(f"  {model.value:<12} fit {fit_s:6.3f} s   predict {pred_s * 1000:7.2f} ms")
    span = TRAIN + VAL + TEST
    starts = np.linspace(0, len(returns) - span, args.windows).astype(int)
    print(f"\naccuracy: S&P 500 daily 1999-2018, {len(starts)} windows of {TRAIN}/{VAL}/{TEST}, steps={args.steps}")
    print("  test RMSE / naive RMSE (below 1 beats the zero forecast), 90% interval coverage; mean over windows")
    scores: dict[str, list[tuple[float, float]]] = {}
    for start in starts:
        for name, score in window_scores(returns, int(start), args.steps).items():
            scores.setdefault(name, []).append(score)
    for name, rows in scores.items():
        ratio = np.mean([r for r, _ in rows])
        cover = np.mean([c for _, c in rows])
        print(f"  {name:<26} rmse/naive {ratio:6.3f}   coverage {cover:5.3f}   ({len(rows)} windows)")


if __name__ == "__main__":
    main()
