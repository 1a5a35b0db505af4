"""Every named query plans against the migrated schema: the migrations produce what the SQL needs.

The job's queries (``sql/queries/``) and the test-only ones (``tests/support/sql/``) alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest

from jobs.storage.db import QUERIES_DIR, load_sql
from tests.support.fixtures import scratch_database
from tests.support.queries import known_test_queries, load_test_sql

QUERY_NAMES = sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))
TEST_QUERY_NAMES = known_test_queries()
PARAM = re.compile(r"%\((\w+)\)s")


def test_there_are_queries_to_check() -> None:
    assert {"insert_forecast", "insert_validation_metric", "select_bars"} <= set(QUERY_NAMES)
    assert {"review_seed_window", "model_performance_metrics"} <= set(TEST_QUERY_NAMES)


def test_no_test_query_shadows_one_of_the_jobs() -> None:
    """``tests.support.queries.query`` picks the test-only file first: a shared name would hide the job's."""
    assert not set(QUERY_NAMES) & set(TEST_QUERY_NAMES)


@pytest.fixture(scope="module")
def schema_db(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    """One migrated database for the module: EXPLAIN plans a statement without running it, so nothing is written."""
    with scratch_database(pg_server_url, "plans", migrated_template) as url:
        yield url


def explain(db_url: str, sql: str) -> None:
    sql = sql.strip().rstrip(";")
    params = {p: None for p in PARAM.findall(sql)}
    with psycopg.connect(db_url) as conn:
        # EXPLAIN plans without executing: a missing table, column or type mismatch fails here.
        conn.execute(f"EXPLAIN {sql}", params)  # sql is a committed file, not user input


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_plans_against_the_schema(schema_db: str, name: str) -> None:
    explain(schema_db, load_sql(name))


@pytest.mark.parametrize("name", TEST_QUERY_NAMES)
def test_test_only_query_plans_against_the_schema(schema_db: str, name: str) -> None:
    explain(schema_db, load_test_sql(name))
