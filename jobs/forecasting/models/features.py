"""Pure helpers shared by the models: input checks, lagged features, volatility and intervals.

Everything here is a pure function of its arguments. The volatility scale used to
standardise targets and residuals is an EWMA of squared returns started from a variance
frozen at fit time, so it is causal: its value at origin ``o`` uses only ``returns[: o+1]``.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from scipy.signal import lfilter

from jobs.forecasting.models.base import (
    ModelFitError,
)

# RiskMetrics' daily decay; the volatility scale only needs to track clustering roughly.
EWMA_DECAY = 0.94


def check_returns(returns: np.ndarray, min_length: int = 2, what: str = "returns") -> np.ndarray:
    """Validate a 1-D series of finite log returns and return it as float64.

    Raises:
        ValueError: When ``returns`` is not 1-D, is shorter than ``min_length`` or has non-finite values.
    """
    arr = np.asarray(returns, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of log returns, got shape {arr.shape}")
    if arr.size < min_length:
        raise ValueError(f"{what} has {arr.size} values: at least {min_length} are needed")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{what} must be finite: value at index {bad} is {arr[bad]}")
    return arr


def check_steps(steps: int) -> int:
    """Validate a horizon length in bars (a positive integer)."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps={steps!r} is invalid: expected a positive integer number of bars")
    return int(steps)


def check_origins(origins: np.ndarray, length: int) -> np.ndarray:
    """Validate forecast origins: 1-D integer indices into a series of ``length`` returns."""
    arr = np.asarray(origins)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"origins must be a 1-D array of integer indices, got {arr.dtype} shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= length):
        raise ValueError(f"origins must lie in [0, {length - 1}] (the returns given), got {arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def training_scale(returns: np.ndarray, model: str) -> float:
    """The training slice's standard deviation, the unit every model scales returns by.

    Raises:
        ModelFitError: When it is zero (a constant series) or overflows.
    """
    with np.errstate(over="ignore"):  # an overflowing spread is reported just below
        scale = float(np.std(returns))
    if not np.isfinite(scale) or scale <= 0.0:
        raise ModelFitError(f"{model}: training returns have no usable spread (std {scale})")
    return scale


def training_origins(length: int, steps: int, first: int = 0) -> np.ndarray:
    """Origins ``first..`` whose full ``steps``-bar target lies inside a slice of ``length`` returns."""
    return np.arange(first, length - steps, dtype=np.int64)


def lag_matrix(series: np.ndarray, origins: np.ndarray, lookback: int, fill: float = 0.0) -> np.ndarray:
    """Row ``i`` holds ``series[o-lookback+1 : o+1]`` (oldest first) for ``o = origins[i]``.

    Positions before the series' start are ``fill``, so early origins still get a window.
    """
    padded = np.concatenate([np.full(lookback - 1, fill), series])
    idx = origins[:, None] + np.arange(lookback)[None, :]
    return padded[idx]


def ewma_variance(returns: np.ndarray, start_variance: float, decay: float = EWMA_DECAY) -> np.ndarray:
    """EWMA variance ``v[t] = decay*v[t-1] + (1-decay)*r[t]^2`` with ``v[-1] = start_variance``.

    ``v[t]`` uses returns up to and including ``t``: the scale at origin ``t``.
    """
    v, _ = lfilter([1.0 - decay], [1.0, -decay], returns**2, zi=[decay * start_variance])
    return v


def volatility_scale(returns: np.ndarray, origins: np.ndarray, steps: int, start_variance: float) -> np.ndarray:
    """Causal scale of the ``steps``-bar cumulative return at each origin (EWMA sd x sqrt(steps))."""
    var = ewma_variance(returns, start_variance)[origins]
    floor = 1e-4 * start_variance  # a run of zero returns must not make the scale vanish
    return np.sqrt(np.maximum(var, floor) * steps)


def rolling_std(returns: np.ndarray, window: int) -> np.ndarray:
    """Standard deviation of ``returns[t-window+1 : t+1]`` at each ``t`` (shorter window at the start)."""
    c1 = np.concatenate([[0.0], np.cumsum(returns)])
    c2 = np.concatenate([[0.0], np.cumsum(returns**2)])
    t = np.arange(1, len(returns) + 1)
    lo = np.maximum(t - window, 0)
    n = t - lo
    mean = (c1[t] - c1[lo]) / n
    return np.sqrt(np.maximum((c2[t] - c2[lo]) / n - mean**2, 0.0))


def tabular_features(returns: np.ndarray, origins: np.ndarray, lookback: int, scale: float) -> np.ndarray:
    """Features for tree models: ``lookback`` scaled lags, 5/20-bar momentum and 5/20-bar volatility."""
    lags = lag_matrix(returns / scale, origins, lookback)
    csum = np.concatenate([[0.0], np.cumsum(returns / scale)])
    mom = [(csum[origins + 1] - csum[np.maximum(origins + 1 - w, 0)]) / w for w in (5, 20)]
    vol = [rolling_std(returns / scale, w)[origins] for w in (5, 20)]
    return np.column_stack([lags, *mom, *vol])


def residual_quantiles(standardised: np.ndarray, level: float) -> tuple[float, float]:
    """Lower and upper empirical quantiles of standardised residuals for a central ``level`` interval.

    Falls back to normal quantiles of the residuals' spread when there are too few to
    estimate tail quantiles (fewer than 20).

    Raises:
        ValueError: When no finite residual is given.
    """
    z = standardised[np.isfinite(standardised)]
    if z.size == 0:
        raise ValueError("residual_quantiles needs at least one finite residual")
    tail = (1.0 - level) / 2.0
    if z.size < 20:
        half = NormalDist().inv_cdf(1.0 - tail) * float(np.sqrt(np.mean(z**2)))
        return -half, half
    lo, hi = np.quantile(z, [tail, 1.0 - tail])
    return float(lo), float(hi)


def scaled_interval(
    mean: np.ndarray, scale: np.ndarray, quantiles: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Interval ``mean + scale * q`` for the standardised residual quantiles ``q = (lo, hi)``."""
    lo, hi = quantiles
    return mean + scale * lo, mean + scale * hi


def sequence_features(returns: np.ndarray, origins: np.ndarray, lookback: int, scale: float) -> np.ndarray:
    """Inputs for sequence nets, shape ``(origins, lookback, 2)``: scaled returns and scaled |returns|.

    The absolute return channel lets a net see volatility regimes without learning squares.
    """
    scaled = returns / scale
    return np.stack([lag_matrix(scaled, origins, lookback), lag_matrix(np.abs(scaled), origins, lookback)], axis=-1)


def holdout_split(origins: np.ndarray, steps: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split time-ordered training origins into a head (fit) and a tail (early stopping).

    Head origins stop ``steps`` bars before the tail's first origin, so no head target
    overlaps a tail target.
    """
    n_tail = max(int(round(len(origins) * fraction)), 1)
    tail = origins[-n_tail:]
    head = origins[origins + steps <= tail[0]]
    return head, tail




def skill_shrinkage(forecasts: np.ndarray, targets: np.ndarray, steps: int = 1) -> float:
    """How much of a model's point forecast to keep, from out-of-sample pairs on its own training holdout.

    The least-squares slope ``b`` of the targets on the forecasts (through zero) says how much
    of each forecast came true; it is clipped to ``[0, 1]`` (a forecast never gets amplified,
    nor flipped) and shrunk again by the positive-part Stein factor ``max(0, 1 - 1/t^2)`` of its
    t-statistic, so a slope that noise alone explains (``|t| <= 1``) keeps nothing. A model with
    no skill thus forecasts zero, the naive forecast, instead of noise. ``steps``-bar targets
    from consecutive origins overlap, so the standard error is widened by ``sqrt(steps)``.

    Returns:
        A factor in ``[0, 1]``; 0 when fewer than 10 finite pairs or the forecasts are all zero.
    """
    keep = np.isfinite(forecasts) & np.isfinite(targets)
    p, y = forecasts[keep], targets[keep]
    power = float(p @ p)
    if p.size < 10 or power <= 0.0:
        return 0.0
    slope = float(p @ y) / power
    if slope <= 0.0:
        return 0.0
    resid = y - slope * p
    variance = float(resid @ resid) / (p.size - 1) / power * steps
    if variance <= 0.0:
        return min(slope, 1.0)  # forecasts that explain the holdout exactly keep their (clipped) slope
    t_squared = slope * slope / variance
    return min(slope, 1.0) * max(0.0, 1.0 - 1.0 / t_squared)
