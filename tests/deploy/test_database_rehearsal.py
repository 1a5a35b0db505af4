"""Deploy rehearsal of the canary stack's database on a real PostgreSQL (issue 11, items 2-4).

The canary stack is run under mocks with its database pointed at a real server; its roles,
schema, default privileges, grants and migration command are applied in an order the engine
could choose (each command as early as its declared dependencies allow), the command run as
pulumi-command runs it; then the real forecast job runs as the job role, with the DATABASE_URL
the stack stored in Secrets Manager and the environment of the stack's job definition.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from jobs.sql import migrations_dir
from jobs.storage.sample_data import SIM_END, seed_sample_bars
from tests.deploy.conftest import SUPERUSER, TcpPostgres
from tests.deploy.rehearsal import (
    COMMAND,
    DEFAULT_PRIVILEGES,
    PROGRAM_DIR,
    Rehearsal,
    command_env,
    rehearse_database,
    run_command,
)
from tests.support.stacks import ROOT, STACKS, StackRun, run_stack

JOB_DEF = "aws:batch/jobDefinition:JobDefinition"


def canary_against(server: TcpPostgres, dbname: str) -> StackRun:
    """The canary stack with its database at ``server``: the admin secret holds its superuser."""
    overrides = {"dbHost": server.host, "dbPort": server.port, "dbName": dbname, "dbSslMode": "disable"}
    return run_stack("canary", overrides, admin={"username": SUPERUSER, "password": server.password})


def admin_url(run: StackRun, server: TcpPostgres, dbname: str) -> str:
    """Connect as the postgresql provider does: with the credential read from the admin secret."""
    provider = run.named("database-provider").raw_inputs
    return server.url(provider["username"], provider["password"], dbname)


def seed_bars(admin: str) -> None:
    """Sample bars for AAPL, written by the admin (the job role may only read them)."""
    seed_sample_bars(psycopg.conninfo.make_conninfo(admin, options="-c search_path=forecast"), ["AAPL"], ["1d"], seed=7)


def run_job(run: StackRun, rehearsal: Rehearsal, symbols: str) -> subprocess.CompletedProcess[str]:
    """The real job, as Batch would start it: the 1D definition's environment and command,
    DATABASE_URL from the stack's secret; no AWS credentials (metrics go to the log)."""
    definition = run.named("forecast-core-1D").raw_inputs
    props = json.loads(definition["containerProperties"])
    env = {e["name"]: e["value"] for e in props["environment"]}
    [secret] = props["secrets"]
    assert secret["valueFrom"] == run.outputs["databaseSecretArn"]
    env["DATABASE_URL"] = rehearsal.secrets["database-url-secret-value"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # --as-of: the sample bars' last session, so the deployed phase finds the feed fresh.
    return subprocess.run([sys.executable, "-m", "jobs.unified_forecast_job", *props["command"], "--symbols", symbols,
                           "--workers", "1", "--as-of", f"{SIM_END:%Y-%m-%d}"], cwd=ROOT, env={**base, **env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=600, check=False)


def test_every_local_command_has_an_absolute_dir_and_runs_there(tcp_postgres: TcpPostgres, deploy_database: str) -> None:
    run = canary_against(tcp_postgres, deploy_database)
    commands = run.of_type(COMMAND)
    assert commands, "the owning stack declares its migration command"
    for command in commands:
        directory = command.raw_inputs.get("dir")
        # Without dir, pulumi-command runs in the program's directory (infra/), where
        # .venv/bin/python does not exist.
        assert directory and Path(directory).is_absolute(), f"{command.name}: dir must be absolute, got {directory!r}"
        assert Path(directory).resolve() == ROOT, f"{command.name}: dir must be the repository root"
        assert command.inputs["dir"] == "<repo>", "snapshots show the checkout's path as <repo>"
    rehearsal = rehearse_database(run, admin_url(run, tcp_postgres, deploy_database))
    for name, done in rehearsal.commands.items():
        assert done.returncode == 0, f"{name} failed as pulumi-command would run it:\n{done.stdout}\n{done.stderr}"
    migrations = len(list(migrations_dir().glob("*.sql")))
    assert f"applied {migrations} migration(s)" in rehearsal.commands["database-migrations"].stdout
    # Any input change (another checkout's dir, a new password) re-runs `create` as an update:
    # it must apply nothing twice.
    [command] = commands
    again = run_command(command)
    assert again.returncode == 0 and "applied 0 migration(s) (up to date)" in again.stdout, again.stderr


def test_the_migration_command_is_what_the_diff_shows(stack_runs: dict[str, StackRun]) -> None:
    """One command runs `jobs.migrate`; its triggers name every file it applies, with its hash."""
    from infra.database.component import migration_files

    [command] = stack_runs["canary"].of_type(COMMAND)
    assert command.inputs["create"] == ".venv/bin/python -m jobs.migrate"
    assert command.inputs["triggers"] == [f"{m.name}:{m.sha256}" for m in migration_files()]
    assert command.inputs["environment"] == "[secret]", "the migrator URL carries a password"


def test_a_command_without_dir_would_not_find_the_project_interpreter() -> None:
    """The rule the dir fixes, as pulumi-command applies it: cwd is the program directory."""
    done = subprocess.run(["/bin/sh", "-c", ".venv/bin/python -c pass"], cwd=PROGRAM_DIR, env=command_env({}),
                          capture_output=True, text=True, check=False)
    assert done.returncode == 127 and "not found" in done.stderr


def test_default_privileges_are_declared_before_the_migrations(stack_runs: dict[str, StackRun]) -> None:
    run = stack_runs["canary"]
    [command] = run.of_type(COMMAND)
    defaults = run.of_type(DEFAULT_PRIVILEGES)
    assert defaults and all(d.urn in command.dependencies for d in defaults), (
        "database-migrations must depend on every DefaultPrivileges: they are not retroactive")


def test_grants_then_migrations_then_the_job_as_its_own_role(tcp_postgres: TcpPostgres, deploy_database: str) -> None:
    run = canary_against(tcp_postgres, deploy_database)
    admin = admin_url(run, tcp_postgres, deploy_database)
    rehearsal = rehearse_database(run, admin)
    assert rehearsal.commands["database-migrations"].returncode == 0, rehearsal.commands["database-migrations"].stderr
    order = rehearsal.order
    assert max(order.index(n) for n in ("database-job-default-tables", "database-job-default-sequences")) < order.index(
        "database-migrations") < order.index("database-job-forecasts")
    seed_bars(admin)
    done = run_job(run, rehearsal, "AAPL")
    assert done.returncode == 0, f"the job failed as the job role:\n{done.stderr[-3000:]}"
    job_url = rehearsal.secrets["database-url-secret-value"]
    with psycopg.connect(job_url) as conn:
        user = conn.execute("SELECT current_user").fetchone()
        rows = conn.execute("SELECT count(*) FROM forecasts WHERE symbol = 'AAPL' AND horizon = '1D'").fetchone()
        windows = conn.execute("SELECT count(*) FROM ensemble_validation_metrics WHERE symbol = 'AAPL'").fetchone()
        # The review and the dashboard read the paired-baseline view; the default privileges cover views.
        paired = conn.execute("SELECT count(*) FROM paired_baseline_windows WHERE symbol = 'AAPL'").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE scratch (x int)")
    assert user == ("forecast_job",) and rows == (1,) and windows is not None and windows[0] > 0
    assert paired is not None and 0 < paired[0] < windows[0], "the stacks score the baseline on the same windows"


def test_default_privileges_after_the_migrations_lock_the_job_out(tcp_postgres: TcpPostgres,
                                                                  deploy_database: str) -> None:
    """The failure the declared order prevents: tables created first are never readable."""
    run = canary_against(tcp_postgres, deploy_database)
    admin = admin_url(run, tcp_postgres, deploy_database)
    late = [r for r in run if r.type != DEFAULT_PRIVILEGES] + run.of_type(DEFAULT_PRIVILEGES)
    stripped = StackRun()
    stripped.extend(type(r)(r.type, r.name, r.inputs, r.urn,
                            tuple(d for d in r.dependencies if "DefaultPrivileges" not in d), r.raw_inputs)
                    for r in late)
    stripped.outputs = run.outputs
    rehearsal = rehearse_database(stripped, admin)
    assert rehearsal.order.index("database-migrations") < rehearsal.order.index("database-job-default-tables")
    seed_bars(admin)
    done = run_job(stripped, rehearsal, "AAPL")
    assert done.returncode != 0 and "permission denied" in done.stderr


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "canary"])
def test_reusing_stacks_reference_the_owners_database_url_secret(stack_runs: dict[str, StackRun], stack: str) -> None:
    owner = stack_runs["canary"].outputs["databaseSecretArn"]
    run = stack_runs[stack]
    assert run.outputs["databaseSecretArn"] == owner
    for definition in run.of_type(JOB_DEF):
        assert definition.inputs["containerProperties"]["secrets"] == [{"name": "DATABASE_URL", "valueFrom": owner}], (
            definition.name)
    assert not run.of_type("aws:secretsmanager/secretVersion:SecretVersion"), f"{stack} must not write the secret"
