"""Measure the damaged-price rule (``jobs.forecasting.damage``): false refusals on real and simulated moves.

``python -m bench.damage [--step 5] [--trials 400]`` prints:

1. Real data (``arch.data.sp500`` and ``nasdaq``, 1999-2018, closes and adjusted closes): every
   job-sized span (the returns a daily task reads: 1193 with ten windows) starting every ``--step``
   sessions, scored as the job scores it. Index data holds no damaged price, so every refusal is a false one; the
   former rule (any return beyond 25 robust scales refused) is shown beside it.
2. Simulated earnings gaps in seeded GARCH series (the sample data's model): daily gaps of
   5-60% either way, hourly gaps of 3-20% (the issue's +12% overnight gap), each alone, and
   with a partial rebound (up to 60% of the gap over 1-3 bars). Every one is a real move, so a
   refusal is false; the refusals are listed by size (the split-ratio band).
3. Damage injected into the same series: x1e4 spikes (1 and 2 bars), x100 and /100 shifts, and
   unadjusted 2:1, 3:1, 4:1 and 1:10 splits: the share refused and named right.

Nothing is asserted (the tests assert the rule's cases); the figures go in docs/data.md.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Callable

import numpy as np

from jobs.contract.values import RETURN_OUTLIER_DEFAULT
from jobs.forecasting.damage import classify
from jobs.forecasting.series import robust_scores
from jobs.forecasting.walkforward import DEFAULT_SPECS
from jobs.storage.sample_data import simulate_garch_returns

SPAN = {tf: spec.required_returns(True) for tf, spec in DEFAULT_SPECS.items()}  # returns a task reads
THRESHOLD = RETURN_OUTLIER_DEFAULT
DAMAGE: dict[str, tuple[str, Callable[[np.ndarray, int], None]]] = {
    "x1e4 spike, 1 bar": ("damaged", lambda r, i: _spike(r, i, 1e4, 1)),
    "x1e4 spike, 2 bars": ("damaged", lambda r, i: _spike(r, i, 1e4, 2)),
    "x100 shift": ("damaged", lambda r, i: _shift(r, i, 100.0)),
    "/100 shift": ("damaged", lambda r, i: _shift(r, i, 0.01)),
    "2:1 split": ("split", lambda r, i: _shift(r, i, 1 / 2)),
    "3:1 split": ("split", lambda r, i: _shift(r, i, 1 / 3)),
    "4:1 split": ("split", lambda r, i: _shift(r, i, 1 / 4)),
    "1:10 reverse split": ("split", lambda r, i: _shift(r, i, 10.0)),
}


def _spike(r: np.ndarray, i: int, factor: float, bars: int) -> None:
    r[i] += math.log(factor)
    r[i + bars] -= math.log(factor)


def _shift(r: np.ndarray, i: int, factor: float) -> None:
    r[i] += math.log(factor)


def refused(returns: np.ndarray, threshold: float = THRESHOLD) -> str | None:
    """What the job's rule refuses the span as (``spike``, ``split``, ``unit``), or None when kept."""
    return next((f.kind for f in classify(returns, threshold) if f.kind != "move"), None)


def real_spans(step: int) -> None:
    """Section 1: every job-sized span of the real index series."""
    from arch.data import nasdaq, sp500

    print(f"1. Real daily index data, job-sized spans ({SPAN['1d']} returns) every {step} sessions "
          f"(the default threshold is {THRESHOLD:g} robust scales; lower ones show the rule on real crash days)")
    for name, module in (("S&P 500", sp500), ("NASDAQ", nasdaq)):
        r = np.diff(np.log(module.load()["Adj Close"].to_numpy()))
        starts = range(0, len(r) - SPAN["1d"] + 1, step)
        for threshold in (THRESHOLD, 15.0, 10.0):
            spans = [r[s: s + SPAN["1d"]] for s in starts]
            kinds = Counter(refused(x, threshold) for x in spans)
            old = sum(robust_scores(x).max() > threshold for x in spans)
            moves = sum(any(f.kind == "move" for f in classify(x, threshold)) for x in spans)
            n = len(spans)
            print(f"   {name:8s} threshold {threshold:2g}: {n} spans, false refusals {n - kinds[None]} "
                  f"({(n - kinds[None]) / n:.2%}); spans with a large move kept {moves} ({moves / n:.1%}); "
                  f"the former rule refused {old} ({old / n:.2%})")


def gap_series(rng: np.random.Generator, timeframe: str) -> np.ndarray:
    """One job-sized span of the sample data's GARCH returns at ``timeframe``."""
    seed = int(rng.integers(0, 2**31 - 1))
    if timeframe == "1d":
        return simulate_garch_returns(SPAN["1d"], seed)
    return simulate_garch_returns(SPAN["1h"], seed, omega=3e-7, mu=3e-5)


def simulated_gaps(trials: int, seed: int) -> None:
    """Section 2: earnings gaps, alone and with a partial rebound; every refusal is false."""
    rng = np.random.default_rng(seed)
    print(f"2. Simulated earnings gaps in GARCH spans, {trials} per row, threshold {THRESHOLD:g}")
    rows = (("1d", 0.05, 0.60, False), ("1d", 0.05, 0.60, True), ("1h", 0.03, 0.20, False), ("1h", 0.03, 0.20, True))
    for timeframe, low, high, rebound in rows:
        false, large, sizes = 0, 0, []
        for _ in range(trials):
            r = gap_series(rng, timeframe)
            i = int(rng.integers(len(r) // 2, len(r) - 5))
            gap = float(rng.uniform(low, high)) * (1 if rng.random() < 0.5 else -1)
            r[i] += math.log1p(gap)
            if rebound:  # part of the gap given back over the next 1-3 bars
                bars = int(rng.integers(1, 4))
                r[i + 1: i + 1 + bars] -= math.log1p(gap) * float(rng.uniform(0, 0.6)) / bars
            large += np.abs(robust_scores(r)).max() > THRESHOLD
            if refused(r):
                false += 1
                sizes.append(gap)
        shown = ", ".join(f"{g:+.1%}" for g in sorted(sizes)[:8])
        print(f"   {timeframe} gaps {low:.0%}-{high:.0%} either way{' + rebound' if rebound else ''}: "
              f"{large} of {trials} beyond the threshold (large moves), false refusals {false} ({false / trials:.2%})"
              + (f": {shown}" if sizes else ""))
    for timeframe, gap in (("1h", 0.12), ("1d", -0.30)):
        kept = sum(refused(_with_gap(gap_series(rng, timeframe), gap)) is None for _ in range(trials))
        print(f"   the issue's {gap:+.0%} {timeframe} gap: kept in {kept} of {trials}")


def _with_gap(r: np.ndarray, gap: float) -> np.ndarray:
    r[len(r) - 20] += math.log1p(gap)
    return r


def injected_damage(trials: int, seed: int) -> None:
    """Section 3: injected damage, refused and named."""
    rng = np.random.default_rng(seed + 1)
    print(f"3. Injected damage in GARCH spans (daily and hourly), {trials} per row")
    for name, (cause, inject) in DAMAGE.items():
        right = 0
        for k in range(trials):
            r = gap_series(rng, "1d" if k % 2 else "1h")
            inject(r, int(rng.integers(len(r) // 2, len(r) - 5)))
            kind = refused(r)
            right += kind is not None and ("split" if kind == "split" else "damaged") == cause
        print(f"   {name:20s}: refused as {cause} in {right} of {trials} ({right / trials:.1%})")


def main(argv: list[str] | None = None) -> None:
    """Print the three sections."""
    parser = argparse.ArgumentParser(prog="python -m bench.damage", description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=5, help="sessions between real-data spans (default 5)")
    parser.add_argument("--trials", type=int, default=400, help="simulated series per row (default 400)")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args(argv)
    real_spans(args.step)
    simulated_gaps(args.trials, args.seed)
    injected_damage(args.trials // 4, args.seed)


if __name__ == "__main__":
    main()
