"""What one symbol-horizon run produces: the contract between the pipeline, storage and metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class WindowResult:
    """One walk-forward window's evaluation (one ``ensemble_validation_metrics`` row)."""

    window_id: int
    train_start: datetime
    val_start: datetime
    test_start: datetime
    test_end: datetime
    val_rmse: float
    test_rmse: float
    naive_val_rmse: float
    naive_test_rmse: float
    rmse_ratio: float
    divergence: float
    is_overfitting: bool
    weights: dict[str, float]
    weights_reverted: bool
    model_set: tuple[str, ...]
    models_used: tuple[str, ...]
    model_errors: dict[str, str] = field(default_factory=dict)
    is_baseline: bool = False
    # Test slice: share of realised returns inside the forecast interval, and its mean width
    # (log-return units). None when the slice had no realised target.
    interval_coverage: float | None = None
    interval_width: float | None = None


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
class SymbolOutcome:
    """Everything one symbol-horizon produced, or the reason it failed."""

    symbol: str
    horizon: str
    forecast: ForecastResult | None = None
    windows: tuple[WindowResult, ...] = ()
    baseline_windows: tuple[WindowResult, ...] = ()
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the symbol produced a forecast."""
        return self.error is None and self.forecast is not None
