"""The forecasting domain's tables: the models, their default sets, the weighting methods and the horizons.

These are facts about the ensemble, not about the environment: ``jobs.contract.config`` parses
the environment variables that choose among them (``ENSEMBLE_MODEL_COUNT``, ``ENABLE_<MODEL>``,
``ENSEMBLE_OPTIMIZATION_METHOD``, the horizon lists), and the forecasting core builds on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Model(str, Enum):
    """Every model the ensemble knows, by the name used in ``ENABLE_<NAME>`` flags."""

    LSTM = "LSTM"
    ARIMA_GARCH = "ARIMA_GARCH"
    GB = "GB"
    TRANSFORMER = "TRANSFORMER"
    RF = "RF"
    PROPHET = "PROPHET"


# Canonical order: weights, models_used and summaries list models in this order.
MODEL_ORDER: tuple[Model, ...] = tuple(Model)

# ENSEMBLE_MODEL_COUNT picks a default set; ENABLE_* flags then override membership.
DEFAULT_MODEL_SETS: dict[int, tuple[Model, ...]] = {
    2: (Model.LSTM, Model.ARIMA_GARCH),
    3: (Model.LSTM, Model.ARIMA_GARCH, Model.GB),
    4: (Model.LSTM, Model.ARIMA_GARCH, Model.GB, Model.RF),
}

OPTIMIZATION_METHODS: tuple[str, ...] = ("simple_avg", "inverse_rmse", "constrained_ls")


@dataclass(frozen=True)
class Horizon:
    """A forecast horizon: the bar timeframe it is computed on and the steps ahead."""

    name: str
    timeframe: str
    steps: int


HORIZONS: dict[str, Horizon] = {
    "1D": Horizon("1D", "1d", 1),
    "4h": Horizon("4h", "1h", 4),
    "8h": Horizon("8h", "1h", 8),
}
