"""A real, small model configuration for tests about processes, faults and rows rather than the models.

The job's default ensemble trains an LSTM: about 2.5 s of CPU per symbol-horizon. Tests whose
subject is a killed worker, a Ctrl-C, a resumed run or a retired symbol run the job with a
two-model set chosen through the documented flags (docs/design.md §3.1) instead: ARIMA-GARCH and
gradient boosting, about 0.5 s per symbol-horizon, the same code path from the environment to
the rows. The model tests, the model-set tests and the end-to-end runs keep the real defaults.
A worker of the stand-in set never imports torch (``jobs.running.runner``): about 2 s of CPU less
per worker process.
"""

from __future__ import annotations

from jobs.contract.config import JobConfig, flag_var
from jobs.contract.domain import MODEL_ORDER, Model

STAND_IN_MODELS: tuple[Model, ...] = (Model.ARIMA_GARCH, Model.GB)


def stand_in_env() -> dict[str, str]:
    """``ENSEMBLE_MODEL_COUNT`` and every ``ENABLE_*`` flag selecting ``STAND_IN_MODELS``."""
    flags = {flag_var(m): "true" if m in STAND_IN_MODELS else "false" for m in MODEL_ORDER}
    return {"ENSEMBLE_MODEL_COUNT": str(len(STAND_IN_MODELS)), **flags}


def stand_in_baseline_env() -> dict[str, str]:
    """``BASELINE_MODELS`` naming ``STAND_IN_MODELS``: a stack-rendered environment asks for the legacy set.

    The job fits the union of the production set and the paired baseline once per window, so a
    baseline equal to the stand-in set adds no fit, while the baseline rows and the review's
    RMSE-against-baseline check run as with the legacy set (LSTM and random forest: about 4 s of
    CPU per symbol-horizon).
    """
    return {"BASELINE_MODELS": ",".join(m.value for m in STAND_IN_MODELS)}


def stand_in_config(**fields: object) -> JobConfig:
    """A ``JobConfig`` running ``STAND_IN_MODELS`` (other fields as given)."""
    return JobConfig(models=STAND_IN_MODELS, **fields)
