"""Where the database contract lives: the SQL files shipped inside the package (not beside it).

Migrations and named queries are package data of ``jobs.storage`` (``jobs/storage/sql/``), read
through ``importlib.resources`` so that a wheel install carries them; the stacks import this
module to list the migrations they apply.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SQL_PACKAGE = "jobs.storage"


def sql_dir() -> Path:
    """The installed ``sql/`` folder: a real directory, since the package is never zipped."""
    return Path(str(files(SQL_PACKAGE) / "sql"))


def migrations_dir() -> Path:
    """The yoyo migrations, applied in file-name order, each exactly once."""
    return sql_dir() / "migrations"


def queries_dir() -> Path:
    """The named queries the job, the review, the daily checks and the dashboard run."""
    return sql_dir() / "queries"
