"""Running one symbol-horizon on an open connection, with a chosen window spec and model factory."""

from __future__ import annotations

from typing import Any

import psycopg

from jobs.contract.config import JobConfig
from jobs.forecasting.pipeline import compute
from jobs.forecasting.results import SymbolOutcome
from jobs.forecasting.walkforward import ModelFactory, WindowSpec
from jobs.storage.bars import load_series


def run_symbol(conn: psycopg.Connection[Any], symbol: str, horizon: str, cfg: JobConfig,
               spec: WindowSpec | None = None, factory: ModelFactory | None = None) -> SymbolOutcome:
    """Read and evaluate one symbol at one horizon, as a job task does, without writing; failures are returned."""
    loaded = load_series(conn, symbol, horizon, cfg, spec)
    return loaded if isinstance(loaded, SymbolOutcome) else compute(loaded, horizon, cfg, spec, factory)
