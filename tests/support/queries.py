"""Named SQL in the tests: the job's queries (``sql/queries/``) and the test-only ones (``tests/support/sql/``).

Test-only SQL (seed rows, the tests' own reads, and the rollout document's monitoring queries that
no command runs) stays out of the package and the image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from jobs.storage.db import load_sql

TEST_SQL = Path(__file__).resolve().parent / "sql"


def known_test_queries() -> list[str]:
    """The test-only statements, by name."""
    return sorted(p.stem for p in TEST_SQL.glob("*.sql"))


def load_test_sql(name: str) -> str:
    """The text of ``tests/support/sql/<name>.sql``; named bind parameters only."""
    path = TEST_SQL / f"{name}.sql"
    if not path.is_file():
        raise ValueError(f"unknown test query {name!r}; known test queries: {', '.join(known_test_queries())}")
    return path.read_text()


def query(url: str, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run the named query with ``params`` on ``url``: a test-only one if it is one, else the job's."""
    sql = load_test_sql(name) if (TEST_SQL / f"{name}.sql").is_file() else load_sql(name)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()
