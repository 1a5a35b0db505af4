"""Every named query plans against the migrated schema: the migrations produce what the SQL needs."""

from __future__ import annotations

import re

import psycopg
import pytest

from jobs.storage.db import QUERIES_DIR, load_sql

QUERY_NAMES = sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))
PARAM = re.compile(r"%\((\w+)\)s")


def test_there_are_queries_to_check() -> None:
    assert {"insert_forecast", "insert_validation_metric", "select_bars"} <= set(QUERY_NAMES)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_plans_against_the_schema(db_url: str, name: str) -> None:
    sql = load_sql(name).strip().rstrip(";")
    params = {p: None for p in PARAM.findall(sql)}
    with psycopg.connect(db_url) as conn:
        # EXPLAIN plans without executing: a missing table, column or type mismatch fails here.
        conn.execute(f"EXPLAIN {sql}", params)  # sql is a committed file, not user input
