"""What one symbol-horizon run produces: the contract between the pipeline, storage and metrics.

It also owns the one definition of "RMSE vs baseline" (``paired_rmse_gap``) that the
summary, the CloudWatch metric and the review and dashboard queries all compute.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from jobs.forecasting.ensemble import equal_weights

K = TypeVar("K", bound=Hashable)
# "RMSE vs baseline" is rounded to this many decimals, as divergence is (walkforward's
# DIVERGENCE_DECIMALS says why): ``mean / mean - 1`` does not land on 0.05 or 0.10, so "more than
# 5% worse" would be decided by rounding noise (1.05 / 1.00 - 1 is 0.050000000000000044, above
# 5%; 0.011 / 0.010 - 1 is 0.09999999999999987, below 10%). Rounded, exactly 5% worse is 0.05.
GAP_DECIMALS = 12


@dataclass(frozen=True)
class SetScore:
    """How one model set did on one window."""

    val_rmse: float
    test_rmse: float
    naive_val_rmse: float
    naive_test_rmse: float
    divergence: float
    is_overfitting: bool
    weights: dict[str, float]
    weights_reverted: bool
    models_used: tuple[str, ...]
    errors: dict[str, str] = field(default_factory=dict)
    # Raw test / validation RMSE, kept beside the divergence for the dashboards (docs/design.md §3.3);
    # capped (walkforward.capped_ratio) so a leak's zero validation RMSE stays finite.
    rmse_ratio: float = 1.0
    # Test slice: share of realised returns inside the forecast interval, and its mean width
    # (log-return units). None when the slice had no realised target.
    coverage: float | None = None
    interval_width: float | None = None

    @property
    def forecast_weights(self) -> dict[str, float]:
        """The weights a forecast after this window uses: equal when the window overfitted."""
        return equal_weights(self.models_used) if self.weights_reverted else self.weights


@dataclass(frozen=True)
class WindowResult:
    """One walk-forward window's evaluation (one ``ensemble_validation_metrics`` row).

    The dates place the window; ``score`` is how ``model_set`` did on it.
    """

    window_id: int
    train_start: datetime
    val_start: datetime
    test_start: datetime
    test_end: datetime
    model_set: tuple[str, ...]
    score: SetScore
    is_baseline: bool = False


def paired_rmse_gap(ours: Mapping[K, float], baseline: Mapping[K, float]) -> float | None:
    """The "RMSE vs baseline" figure: mean test RMSE over the windows both sides share, relative to the baseline's.

    Windows are paired by key (a window id within one run; run, symbol, horizon and window id
    across runs) and only paired windows count, so both means cover the same slices. A ratio
    of means rather than a mean of ratios, so one near-zero baseline window cannot dominate.
    In SQL the pairing is the view ``paired_baseline_windows`` (one migration defines it); the
    queries ``review_baseline_rmse``, ``dashboard_baseline`` and ``run_figures`` (and the tests'
    ``model_performance_metrics``) compute the same figure over it.

    Returns:
        ``mean(ours) / mean(baseline) - 1`` (positive = worse than the baseline; ``rounded_gap``), or ``None``
        when no key is shared or the baseline's mean is zero.
    """
    paired = [(rmse, baseline[key]) for key, rmse in ours.items() if key in baseline]
    if not paired:
        return None
    mean_ours = sum(a for a, _ in paired) / len(paired)
    mean_theirs = sum(b for _, b in paired) / len(paired)
    return rounded_gap(mean_ours / mean_theirs - 1.0) if mean_theirs > 0 else None


def rounded_gap(gap: float | None) -> float | None:
    """An "RMSE vs baseline" figure as every rule compares it: rounded to ``GAP_DECIMALS`` (None stays None).

    The queries compute the same ratio of means; their readers round it with this, so the review,
    the charts and the published metric agree on a figure exactly at a threshold.
    """
    return None if gap is None else round(gap, GAP_DECIMALS)


def relative_rmse_gap(windows: Sequence[WindowResult], baseline: Sequence[WindowResult]) -> float | None:
    """``paired_rmse_gap`` of one symbol-horizon run: its windows paired with the baseline's by window id."""
    return paired_rmse_gap({w.window_id: w.score.test_rmse for w in windows},
                           {w.window_id: w.score.test_rmse for w in baseline})


@dataclass(frozen=True)
class ForecastResult:
    """The production forecast for the next target time (one ``forecasts`` row)."""

    origin_ts: datetime
    target_ts: datetime
    last_close: float
    predicted_return: float
    lower_return: float
    upper_return: float
    interval_level: float
    weights: dict[str, float]
    weights_reverted: bool
    models_used: tuple[str, ...]

    def __post_init__(self) -> None:
        """Refuse a forecast whose point lies outside its own interval (the table's CHECK does too)."""
        values = (self.lower_return, self.predicted_return, self.upper_return)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"non-finite forecast: lower {values[0]}, point {values[1]}, upper {values[2]}")
        if not self.lower_return <= self.predicted_return <= self.upper_return:
            raise ValueError(
                f"the forecast {self.predicted_return:+.4f} lies outside its own {self.interval_level:.0%} interval "
                f"[{self.lower_return:+.4f}, {self.upper_return:+.4f}] (log returns); the models disagree with "
                "their own residuals, so the forecast is refused rather than stored"
            )

    @property
    def predicted_price(self) -> float:
        """Price implied by the log-return forecast."""
        return self.last_close * math.exp(self.predicted_return)

    @property
    def lower_price(self) -> float:
        """Lower interval bound as a price."""
        return self.last_close * math.exp(self.lower_return)

    @property
    def upper_price(self) -> float:
        """Upper interval bound as a price."""
        return self.last_close * math.exp(self.upper_return)


@dataclass(frozen=True)
class DataEvent:
    """A real large move kept in a symbol's bars (``jobs.forecasting.damage``): one ``data_events`` row.

    ``ts`` is the bar the move ends at, ``change`` its simple return (``-0.3`` is -30%), ``scales``
    how many robust scales it lies from the median return.
    """

    ts: datetime
    change: float
    scales: float


# Failure classes (``forecast_failures.failure_class``): the input was refused (a data incident, for
# the data team), or code raised (a release failure: a rollback trigger).
DATA = "data"
PIPELINE = "pipeline"
# The cause of a quarantined symbol's refusal: reported once as quarantined, not as a new incident.
QUARANTINED = "quarantined"


@dataclass(frozen=True)
class SymbolOutcome:
    """Everything one symbol-horizon produced, or the reason it failed.

    A failure is a data incident when ``failure_class`` is ``data`` (its ``cause`` says which:
    ``jobs.forecasting.series.BadBarsError``); any other failure is a pipeline failure. ``events``
    are the real large moves in the bars read; ``new_events`` how many of them this task recorded
    first; ``warnings`` what a local run let through (a stale feed).
    """

    symbol: str
    horizon: str
    forecast: ForecastResult | None = None
    windows: tuple[WindowResult, ...] = ()
    baseline_windows: tuple[WindowResult, ...] = ()
    error: str | None = None
    seconds: float = 0.0
    # The outcome's rows (its forecast, or its failure) committed: only then are its metrics published.
    recorded: bool = False
    failure_class: str | None = None
    cause: str | None = None
    events: tuple[DataEvent, ...] = ()
    new_events: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the symbol produced a forecast."""
        return self.error is None and self.forecast is not None

    @classmethod
    def refused(cls, symbol: str, horizon: str, exc: Exception, seconds: float = 0.0) -> SymbolOutcome:
        """A data incident: the input was refused (``exc`` a ``BadBarsError``, whose ``cause`` is recorded)."""
        return cls(symbol, horizon, error=str(exc), seconds=seconds, failure_class=DATA,
                   cause=getattr(exc, "cause", None) or "bad-bars")

    @property
    def failure(self) -> str | None:
        """``data`` or ``pipeline`` for a failure (a failure not marked data is a pipeline failure), else None."""
        if self.ok:
            return None
        return DATA if self.failure_class == DATA else PIPELINE

    @property
    def data_incident(self) -> bool:
        """A new data incident: input refused, and the symbol was not already quarantined."""
        return self.failure == DATA and self.cause != QUARANTINED
