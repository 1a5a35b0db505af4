"""The model registry: build any ``jobs.contract.domain.Model`` behind the ``ForecastModel`` interface.

Implementations are imported lazily: torch and prophet take seconds to import, and a
2-model run should not pay for models it does not use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib import import_module

import numpy as np

from jobs.contract.domain import Model
from jobs.forecasting.models.base import (
    ForecastModel,
    ModelFitError,
    Prediction,
    cumulative_targets,
)

__all__ = ["ForecastModel", "ModelFitError", "Prediction", "build_model", "cumulative_targets", "model_class",
           "register_model", "warm_up"]
log = logging.getLogger(__name__)

# Model -> (module, class name), resolved only when the model is built.
_REGISTRY: dict[Model, tuple[str, str]] = {
    Model.LSTM: ("jobs.forecasting.models.lstm", "LSTMModel"),
    Model.ARIMA_GARCH: ("jobs.forecasting.models.arima_garch", "ArimaGarchModel"),
    Model.GB: ("jobs.forecasting.models.gb", "GBModel"),
    Model.TRANSFORMER: ("jobs.forecasting.models.transformer", "TransformerModel"),
    Model.RF: ("jobs.forecasting.models.rf", "RFModel"),
    Model.PROPHET: ("jobs.forecasting.models.prophet_model", "ProphetModel"),
}


def register_model(model: Model, module: str, cls: str) -> tuple[str, str]:
    """Point ``model`` at another implementation in this process; return the one it replaces (to restore it).

    For a plug-in implementation of a known model, and for the fleet soak (``bench.soak``), which
    runs a model whose code is broken to show that a code failure rolls a release back. Worker
    processes import the registry afresh: a registration holds in the process that made it.
    """
    previous = _REGISTRY[Model(model)]
    _REGISTRY[Model(model)] = (module, cls)
    return previous


def model_class(model: Model | str) -> type[ForecastModel]:
    """The implementation class of ``model`` (a ``Model`` or its name such as ``"LSTM"``).

    Raises:
        ValueError: When ``model`` is not a known model.
    """
    try:
        key = Model(model)
    except ValueError:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(m.value for m in Model)}") from None
    module, cls = _REGISTRY[key]
    return getattr(import_module(module), cls)


def build_model(model: Model | str, seed: int, interval: float = 0.9) -> ForecastModel:
    """A new, unfitted instance of ``model`` with its default hyperparameters.

    Args:
        model: Which model (``jobs.contract.domain.Model`` or its name).
        seed: Seed for every random choice the model makes (initialisation, subsampling).
        interval: Central prediction interval level in (0, 1).

    Returns:
        The unfitted model; call ``fit(returns, steps)`` then ``predict(returns, origins)``.
    """
    return model_class(model)(seed=seed, interval=interval)


def warm_up(models: Iterable[Model | str]) -> None:
    """Import ``models`` and fit each once on a small seeded series, then forget the fits.

    A worker process calls this when it starts, so the imports (torch, scipy, scikit-learn) and
    the first-call set-up of torch's kernels are paid once per process, not inside its first task.
    A model that fails here is only logged: its real fits report their own errors.
    """
    returns = np.random.default_rng(0).standard_t(5, 260) * 0.01
    for model in models:
        try:
            build_model(model, seed=0).fit(returns, 1)
        except Exception as exc:  # warming must never stop a worker
            log.warning("warming up %s failed: %s", model, exc)
