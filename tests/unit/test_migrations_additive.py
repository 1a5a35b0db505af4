"""CI: every migration is additive, so the schema may run ahead of the images limited and prod still run.

Canary's deploy applies the checkout's migrations to the one shared database; limited and prod
keep running the images they pin until a promotion. A migration that drops, renames or
retypes what such an image reads (or adds a NOT NULL column its INSERTs do not name) breaks
them. An old migration that legitimately did one is allow-listed below, with the reason.
"""

from __future__ import annotations

import pytest

from jobs.sql import migrations_dir
from tests.support.migration_rules import Violation, violations

# (migration, kind) -> why it is allowed. Every entry must still match a statement.
ALLOWED: dict[tuple[str, str], str] = {
    ("20260128_forecast_target_key", "DROP CONSTRAINT"): (
        "the per-run unique keys gave way to one forecast per symbol, horizon and target time (docs/design.md §3.2) in the "
        "project's first week, before any stack ran an image and before this check; no image in use upserts on "
        "the dropped keys (insert_forecast.sql and insert_validation_metric.sql name the new ones)"),
}


def found() -> list[Violation]:
    """Every non-additive statement of every migration the job ships."""
    files = sorted(migrations_dir().glob("*.sql"))
    assert files, f"no migrations in {migrations_dir()}"
    return [v for path in files for v in violations(path.stem, path.read_text(encoding="utf-8"))]


def test_every_migration_is_additive() -> None:
    bad = [str(v) for v in found() if (v.migration, v.kind) not in ALLOWED]
    assert bad == [], ("migrations must only add (deployed images still read the old schema): "
                       + "; ".join(bad) + ". Add a new column or table instead; allow-list an old one in "
                       "tests/unit/test_migrations_additive.py ALLOWED with the reason")


def test_every_allowance_is_used_and_explained() -> None:
    used = {(v.migration, v.kind) for v in found()}
    for key, reason in ALLOWED.items():
        assert key in used, f"{key} is allow-listed but no migration does it any more: remove the entry"
        assert len(reason) > 40, f"{key}: say why it is allowed"


@pytest.mark.parametrize("sql, kinds", [
    ("DROP TABLE forecasts;", ["DROP TABLE"]),
    ("drop index if exists forecasts_created_idx;", ["DROP INDEX"]),
    ("ALTER TABLE forecasts DROP COLUMN weights;", ["DROP COLUMN"]),
    ("ALTER TABLE forecasts DROP weights, DROP CONSTRAINT c;", ["DROP COLUMN", "DROP CONSTRAINT"]),
    ("ALTER TABLE forecasts ALTER COLUMN weights DROP DEFAULT;", ["DROP DEFAULT"]),
    ("ALTER TABLE forecasts ALTER COLUMN weights DROP NOT NULL;", ["DROP NOT NULL"]),
    ("ALTER TABLE forecasts RENAME COLUMN weights TO model_weights;", ["RENAME"]),
    ("ALTER TABLE forecasts RENAME TO forecast;", ["RENAME"]),
    ("ALTER INDEX forecasts_created_idx RENAME TO f_idx;", ["RENAME"]),
    ("ALTER TABLE forecasts ALTER COLUMN horizon TYPE VARCHAR(8);", ["ALTER COLUMN TYPE"]),
    ("ALTER TABLE ONLY forecast.forecasts ALTER horizon SET DATA TYPE VARCHAR(8);", ["ALTER COLUMN TYPE"]),
    ("ALTER TABLE forecasts ALTER COLUMN run_id SET NOT NULL;", ["SET NOT NULL"]),
    ("ALTER TABLE forecasts ADD COLUMN source TEXT NOT NULL;", ["ADD COLUMN NOT NULL without DEFAULT"]),
    ("ALTER TABLE forecasts ADD COLUMN a TEXT, ADD COLUMN b INT NOT NULL;", ["ADD COLUMN NOT NULL without DEFAULT"]),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE forecasts'; END $$;", ["DO block (not checkable)"]),
    ("-- depends: x\nCREATE TABLE t (a INT);\nALTER TABLE t DROP COLUMN a;", ["DROP COLUMN"]),
])
def test_the_rules_catch_what_breaks_a_deployed_image(sql: str, kinds: list[str]) -> None:
    assert [v.kind for v in violations("m", sql)] == kinds


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, note TEXT NOT NULL);",
    "ALTER TABLE forecasts ADD COLUMN note TEXT;",
    "ALTER TABLE forecasts ADD COLUMN seen TIMESTAMPTZ NOT NULL DEFAULT NOW();",
    "ALTER TABLE forecasts ADD COLUMN type TEXT, ALTER COLUMN type SET DEFAULT 'x';",
    "ALTER TABLE forecasts ADD CONSTRAINT c CHECK (run_id IS NOT NULL);",
    "CREATE INDEX forecasts_note_idx ON forecasts (note);",
    "COMMENT ON COLUMN forecasts.note IS 'drop it, rename it, alter its type';",
    "-- DROP TABLE forecasts; ALTER TABLE x RENAME TO y\nINSERT INTO t (a) VALUES ('DROP TABLE t');",
    "DELETE FROM forecasts WHERE false; UPDATE forecasts SET note = 'x';",
])
def test_additive_statements_pass(sql: str) -> None:
    assert violations("m", sql) == []
