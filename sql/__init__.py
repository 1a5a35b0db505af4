"""The database contract: ``sql/`` at the top of the repository, installed as the package ``jobs.sql``.

``migrations/`` (yoyo, applied in file-name order, each exactly once), ``queries/`` (named, bind
parameters only) and ``schema.sql`` (the schema every migration leads to, as ``pg_dump
--schema-only`` prints it; ``make schema`` rewrites it) ship as package data, mapped by
pyproject.toml's ``package-dir``, and are read through ``importlib.resources`` so that a wheel
install carries them. The stacks import this module to list the migrations they apply and the
tables they grant on.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# Every table the migrations create (yoyo's bookkeeping aside; a test holds the names equal to
# schema.sql's), with what the stack grants the job's role on it (docs/design.md §3.2): it reads its
# input, writes its results, runs no DDL. The default privileges already let it read every
# table, so an empty grant means read-only.
TABLES: dict[str, tuple[str, ...]] = {
    "ohlc_bars": ("SELECT",),
    "symbol_metadata": ("INSERT", "SELECT", "UPDATE"),
    "forecasts": ("INSERT", "SELECT", "UPDATE"),
    # DELETE too: a retry that succeeds clears the failure an earlier attempt recorded (clear_failure.sql).
    "forecast_failures": ("DELETE", "INSERT", "SELECT", "UPDATE"),
    "ensemble_validation_metrics": ("INSERT", "SELECT", "UPDATE"),
    # Filled once, by migration 20261202_13; the job never touches it.
    "forecasts_quarantined": (),
    # Written only through the SECURITY DEFINER claim functions of migration 20261204_22 (so no
    # write grant); read through the default SELECT every migrated table gets.
    "forecast_tasks": (),
    # The run's date and image, recorded by its first attempt through the SECURITY DEFINER functions
    # of migrations 20261204_22_run_dates and 20261205_23_run_images (so no write grant either).
    "forecast_runs": (),
    # Each real large move kept in a symbol's bars, inserted once (ON CONFLICT DO NOTHING) by the job.
    "data_events": ("INSERT", "SELECT"),
}


def sql_dir() -> Path:
    """The installed ``sql/`` folder: a real directory, since the package is never zipped."""
    return Path(str(files(__name__)))


def migrations_dir() -> Path:
    """The yoyo migrations, applied in file-name order, each exactly once."""
    return sql_dir() / "migrations"


def queries_dir() -> Path:
    """The named queries the job, the review, the daily checks and the dashboard run."""
    return sql_dir() / "queries"


def schema_file() -> Path:
    """``schema.sql``: the schema after every migration, for reading (a test keeps it current)."""
    return sql_dir() / "schema.sql"
