"""The database component: one owner of the shared roles, and grants that let the job work, no more.

The grants are taken from the canary stack's recorded resources and applied to a real
PostgreSQL; the job's own storage code then runs as the job role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from infra.database.component import TABLE_PRIVILEGES, migration_files
from infra.values import SettingsError
from jobs.contract.config import JobConfig
from jobs.forecasting.results import (
    ForecastResult,
    SetScore,
    SymbolOutcome,
    WindowResult,
)
from jobs.storage.bars import read_bars
from jobs.storage.db import MIGRATIONS_DIR, migrate
from jobs.storage.forecasts import write_outcome
from tests.infra.test_stacks import stack_file
from tests.support.stacks import RecordedResource, StackRun, run_stack

SCHEMA = "forecast"


DATABASE_TYPES = ("postgresql:", "random:", "command:", "pulumi:providers:postgresql", "ensemble:database:")


def _database_resources(run: StackRun) -> list[str]:
    return [f"{r.type} {r.name}" for r in run if r.type.startswith(DATABASE_TYPES)]


def test_only_the_canary_stack_owns_the_shared_roles_schema_and_migrations(stack_runs: dict[str, StackRun]) -> None:
    # All stacks point at one database: a second owner would fail on `pulumi up` (roles exist)
    # and its `pulumi destroy` would drop roles the other stacks' jobs log in as.
    assert [s for s, run in stack_runs.items() if run.outputs["manageDatabase"]] == ["canary"]
    assert len(_database_resources(stack_runs["canary"])) > 10
    for stack in ("limited", "prod"):
        run = stack_runs[stack]
        assert _database_resources(run) == [], stack
        assert run.outputs["migrations"] == [], stack
        # The job still gets its DATABASE_URL (the canary's job role) from the canary's secret.
        assert run.outputs["databaseSecretArn"] == stack_runs["canary"].outputs["databaseSecretArn"], stack


def test_only_the_owner_reads_the_admin_secret_and_no_stack_needs_a_secret_value() -> None:
    from tests.support.pulumi_cli import PulumiConfigError

    run = run_stack("limited")
    assert _database_resources(run) == [] and run.outputs["databaseSecretArn"]
    assert "dbAdminSecretArn" not in stack_file("limited") and "dbAdminSecretArn" not in stack_file("prod")
    with pytest.raises(SettingsError, match="dbAdminSecretArn is required with manageDatabase: true"):
        run_stack("canary", {"dbAdminSecretArn": None})
    with pytest.raises(PulumiConfigError, match="configuration key 'manageDatabase' must be of type 'boolean'"):
        run_stack("canary", {"manageDatabase": "yes"})


def test_a_new_migration_file_appears_by_name(tmp_path: Path) -> None:
    for path in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "29991231_forecast_runs.sql").write_text("CREATE TABLE forecast_runs (id TEXT);\n")
    names = [m.name for m in migration_files(tmp_path)]
    assert names[-1] == "29991231_forecast_runs.sql" and len(names) == len(list(MIGRATIONS_DIR.glob("*.sql"))) + 1
    with pytest.raises(ValueError, match="no migration files"):
        migration_files(tmp_path / "empty")


def test_roles_schema_and_grants(stack_runs: dict[str, StackRun]) -> None:
    run = stack_runs["canary"]
    job, migrator = run.named("database-job-role").inputs, run.named("database-migration-role").inputs
    for role in (job, migrator):
        assert (role["superuser"], role["createDatabase"], role["createRole"], role["login"]) == (False, False, False, True)
    assert run.named("database-schema").inputs["owner"] == migrator["name"] != job["name"]
    table_grants = {g.inputs["objects"][0]: g.inputs["privileges"] for g in run.of_type("postgresql:index/grant:Grant")
                    if g.inputs["objectType"] == "table"}
    assert table_grants == {t: list(p) for t, p in TABLE_PRIVILEGES.items()}
    assert all(g.inputs["role"] == job["name"] for g in run.of_type("postgresql:index/grant:Grant"))


def _grant_sql(resource: RecordedResource, job: str, migrator: str, dbname: str) -> sql.Composed:
    """The SQL the postgresql provider runs for a recorded Grant/DefaultPrivileges."""
    i = resource.inputs
    privileges = sql.SQL(", ").join(sql.SQL(p) for p in i["privileges"])
    if resource.type.endswith("DefaultPrivileges"):
        kind = {"table": "TABLES", "sequence": "SEQUENCES"}[i["objectType"]]
        return sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON {} TO {}").format(
            sql.Identifier(migrator), sql.Identifier(SCHEMA), privileges, sql.SQL(kind), sql.Identifier(job))
    target = {
        "database": sql.SQL("DATABASE {}").format(sql.Identifier(dbname)),
        "schema": sql.SQL("SCHEMA {}").format(sql.Identifier(SCHEMA)),
        "sequence": sql.SQL("ALL SEQUENCES IN SCHEMA {}").format(sql.Identifier(SCHEMA)),
        "table": sql.SQL("TABLE {}").format(sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in i.get("objects", []))),
    }[i["objectType"]]
    return sql.SQL("GRANT {} ON {} TO {}").format(privileges, target, sql.Identifier(job))


def _as(url: str, user: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["user"] = user
    return psycopg.conninfo.make_conninfo(**info)


@pytest.fixture()
def job_url(empty_db_url: str, stack_runs: dict[str, StackRun]) -> Iterator[str]:
    """A database set up as the stack declares it; yields the job role's URL."""
    suffix = uuid.uuid4().hex[:8]
    job, migrator = f"job_{suffix}", f"migrator_{suffix}"
    dbname = psycopg.conninfo.conninfo_to_dict(empty_db_url)["dbname"]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        for role in (migrator, job):
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT").format(sql.Identifier(role)))
            conn.execute(sql.SQL("ALTER ROLE {} SET search_path TO {}").format(sql.Identifier(role), sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(SCHEMA), sql.Identifier(migrator)))
    migrate(_as(empty_db_url, migrator))
    grants = [r for r in stack_runs["canary"] if r.type in ("postgresql:index/grant:Grant", "postgresql:index/defaultPrivileges:DefaultPrivileges")]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        for resource in grants:
            conn.execute(_grant_sql(resource, job, migrator, dbname))
    yield _as(empty_db_url, job)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}, {} CASCADE").format(sql.Identifier(job), sql.Identifier(migrator)))
        conn.execute(sql.SQL("DROP ROLE {}, {}").format(sql.Identifier(job), sql.Identifier(migrator)))


def _outcome(symbol: str, error: str | None = None) -> SymbolOutcome:
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    score = SetScore(0.010, 0.011, 0.012, 0.012, 0.05, False, {"LSTM": 0.5, "ARIMA_GARCH": 0.5}, False,
                     ("LSTM", "ARIMA_GARCH"))
    window = WindowResult(0, t0, t0 + timedelta(days=60), t0 + timedelta(days=80), t0 + timedelta(days=100),
                          ("LSTM", "ARIMA_GARCH"), score)
    forecast = ForecastResult(t0, t0 + timedelta(days=1), 100.0, 0.001, -0.02, 0.02, 0.9,
                              {"LSTM": 0.5, "ARIMA_GARCH": 0.5}, False, ("LSTM", "ARIMA_GARCH"))
    if error:
        return SymbolOutcome(symbol, "1D", error=error)
    return SymbolOutcome(symbol, "1D", forecast=forecast, windows=(window,))


def test_the_job_role_can_do_its_work(job_url: str) -> None:
    cfg = JobConfig(rollout_phase="canary", canary_symbols=("AAPL",), canary_horizons=("1D",))
    with psycopg.connect(job_url) as conn:
        write_outcome(conn, _outcome("AAPL", error="no bars"), cfg, "run-1")  # first attempt fails
        write_outcome(conn, _outcome("AAPL"), cfg, "run-1")  # the retry clears the failure
        write_outcome(conn, _outcome("AAPL"), cfg, "run-1")  # a repeated retry writes nothing twice
        assert read_bars(conn, "AAPL", "1d", 10).empty
        counts = conn.execute(sql.SQL("SELECT (SELECT count(*) FROM forecasts), (SELECT count(*) FROM forecast_failures),"
                                      " (SELECT count(*) FROM ensemble_validation_metrics)")).fetchone()
    assert counts == (1, 0, 1)


@pytest.mark.parametrize("statement", [
    "CREATE TABLE forecast.scratch (x int)",
    "CREATE TABLE public.scratch (x int)",
    "DROP TABLE forecasts",
    "ALTER TABLE forecasts ADD COLUMN x int",
    "DELETE FROM forecasts",
    "DELETE FROM ensemble_validation_metrics",
    "INSERT INTO ohlc_bars (symbol, timeframe, ts, open, high, low, close) VALUES ('X', '1d', now(), 1, 1, 1, 1)",
    "TRUNCATE forecasts",
])
def test_the_job_role_has_no_ddl_and_no_other_writes(job_url: str, statement: str) -> None:
    with psycopg.connect(job_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql.SQL(statement))  # type: ignore[arg-type]  # fixed test statements, no input
