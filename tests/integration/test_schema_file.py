"""``sql/schema.sql`` is the schema a fresh database has after every migration (``make schema``)."""

from __future__ import annotations

from tests.support.schema import HEADER, dump_schema, stale_diff


def test_schema_file_is_what_a_fresh_migrate_leads_to(db_url: str) -> None:
    problem = stale_diff(dump_schema(db_url))
    assert problem is None, problem


def test_the_dump_is_the_schema_not_yoyos_bookkeeping_or_versions(db_url: str) -> None:
    dump = dump_schema(db_url)
    assert dump.startswith(HEADER) and "CREATE TABLE public.forecasts (" in dump
    assert "yoyo" not in dump.removeprefix(HEADER) and "Dumped by" not in dump and "OWNER TO" not in dump
