"""``jobs.sql`` (the top-level ``sql/`` folder): the lowest layer, its files, and the job's tables."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import jobs.sql
from jobs.sql import TABLES, migrations_dir, queries_dir, schema_file, sql_dir
from tests.support.stacks import ROOT


def test_the_package_is_the_checkouts_sql_folder() -> None:
    assert sql_dir() == ROOT / "sql" and Path(jobs.sql.__file__) == ROOT / "sql" / "__init__.py"
    assert migrations_dir() == ROOT / "sql" / "migrations" and queries_dir() == ROOT / "sql" / "queries"
    assert schema_file() == ROOT / "sql" / "schema.sql" and schema_file().is_file()
    assert sorted(p.name for p in migrations_dir().glob("*.sql"))[0] == "20260120_ohlc_bars.sql"


def test_it_imports_the_standard_library_only() -> None:
    """What import-linter cannot check here (it does not see jobs.sql): jobs/ and infra/ may both import it."""
    tree = ast.parse((ROOT / "sql" / "__init__.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported and imported <= sys.stdlib_module_names | {"__future__"}, sorted(imported)


def test_tables_are_the_tables_of_schema_sql() -> None:
    created = set(re.findall(r"^CREATE TABLE public\.(\w+) \(", schema_file().read_text(), re.MULTILINE))
    assert set(TABLES) == created, f"jobs.sql.TABLES {sorted(TABLES)} vs schema.sql {sorted(created)}"


def test_the_job_never_gets_ddl_and_reads_what_it_writes() -> None:
    for table, rights in TABLES.items():
        assert set(rights) <= {"SELECT", "INSERT", "UPDATE", "DELETE"}, table
        assert not rights or "SELECT" in rights, table
