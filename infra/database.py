"""The database: roles, schema, grants and migrations, ``ensemble:database:Schema``.

The migration role owns the schema and applies ``sql/migrations`` (one resource per file,
named after it, whose triggers carry the file name and SHA-256, so a new or edited migration
shows up by name in the stack's diff). The job's login role gets only the rights it needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pulumi
import pulumi_command as command
import pulumi_postgresql as postgresql
import pulumi_random as random

from infra.settings_parts import DatabaseSettings
from jobs.contract.schema import migrations_dir

# The job's table rights (DESIGN §3.2): reads its input, writes its results, no DDL.
TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "ohlc_bars": ("SELECT",),
    "symbol_metadata": ("INSERT", "SELECT", "UPDATE"),
    "forecasts": ("INSERT", "SELECT", "UPDATE"),
    # DELETE too: a retry that succeeds clears the failure an earlier attempt recorded (clear_failure.sql).
    "forecast_failures": ("DELETE", "INSERT", "SELECT", "UPDATE"),
    "ensemble_validation_metrics": ("INSERT", "SELECT", "UPDATE"),
}
# The project's own interpreter (Pulumi.yaml: virtualenv .venv), relative to the project root
# where Pulumi runs: a bare `python` would be whatever the runner has on PATH, without psycopg.
MIGRATE_COMMAND = ".venv/bin/python -m jobs.migrate"


@dataclass(frozen=True)
class MigrationFile:
    """A migration file as the stack sees it: its name and content hash."""

    name: str
    sha256: str


def migration_files(folder: Path | None = None) -> list[MigrationFile]:
    """The migration files in apply order (their timestamped names sort chronologically)."""
    folder = migrations_dir() if folder is None else folder
    paths = sorted(folder.glob("*.sql"))
    if not paths:
        raise ValueError(f"no migration files (*.sql) in {folder}")
    return [MigrationFile(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]


def migrator_url(db: DatabaseSettings, password: pulumi.Input[str]) -> pulumi.Output[str]:
    """The migration role's connection URL (secret: it carries the generated password)."""
    return pulumi.Output.secret(
        pulumi.Output.from_input(password).apply(
            lambda pw: f"postgresql://{db.migration_role}:{quote(pw, safe='')}@{db.host}:{db.port}/{db.name}"
            f"?sslmode={db.ssl_mode}"
        )
    )


class DatabaseSchema(pulumi.ComponentResource):
    """Roles, schema, migrations, grants and default privileges on the forecast database.

    Attributes:
        job_role: The job's login role (no DDL, not owner).
        migration_role: The schema owner that applies migrations.
        migrations: One ``command.local.Command`` per migration file, in order.
    """

    def __init__(self, name: str, db: DatabaseSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ensemble:database:Schema", name, None, opts)
        if not db.manage or db.admin_password is None or db.admin_user is None:
            raise ValueError("DatabaseSchema needs manageDatabase: true, dbAdminUser and dbAdminPassword (the owning stack)")
        self._db = db
        provider = postgresql.Provider(
            f"{name}-provider", host=db.host, port=db.port, database=db.name, username=db.admin_user,
            password=db.admin_password, sslmode=db.ssl_mode, superuser=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._opts = pulumi.ResourceOptions(parent=self, provider=provider)
        password = random.RandomPassword(f"{name}-migrator-password", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        self.migration_role = postgresql.Role(
            f"{name}-migration-role", name=db.migration_role, login=True, password=password.result,
            search_paths=[db.schema], create_database=False, create_role=False, superuser=False, opts=self._opts,
        )
        self.job_role = postgresql.Role(
            f"{name}-job-role", name=db.job_role, login=True, password=db.job_password,
            search_paths=[db.schema], create_database=False, create_role=False, superuser=False,
            inherit=False, opts=self._opts,
        )
        schema = postgresql.Schema(
            f"{name}-schema", name=db.schema, database=db.name, owner=self.migration_role.name,
            opts=self._opts,
        )
        self.migrations = self._migrations(name, migrator_url(db, password.result), [self.migration_role, schema])
        self._grants(name, schema, self.migrations[-1])
        self.register_outputs({"jobRole": self.job_role.name, "migrations": [m.name for m in migration_files()]})

    def _migrations(self, name: str, url: pulumi.Output[str], after: list[pulumi.Resource]) -> list[command.local.Command]:
        commands: list[command.local.Command] = []
        for migration in migration_files():
            # Each file is applied in order; jobs.migrate applies whatever is pending, exactly once.
            commands.append(command.local.Command(
                f"{name}-migration-{migration.name}", create=MIGRATE_COMMAND,
                environment={"DATABASE_URL": url}, triggers=[migration.name, migration.sha256],
                opts=pulumi.ResourceOptions(parent=self, depends_on=commands[-1:] or after),
            ))
        return commands

    def _grants(self, name: str, schema: postgresql.Schema, last_migration: pulumi.Resource) -> None:
        db, role = self._db, self.job_role.name
        after = pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[last_migration]))
        postgresql.Grant(f"{name}-job-connect", database=db.name, role=role, object_type="database",
                         privileges=["CONNECT"], opts=self._opts)
        postgresql.Grant(f"{name}-job-schema-usage", database=db.name, role=role, schema=schema.name,
                         object_type="schema", privileges=["USAGE"], opts=self._opts)
        for table, privileges in TABLE_PRIVILEGES.items():
            # One grant per table: grants on the same object type must not overlap.
            postgresql.Grant(f"{name}-job-{table}", database=db.name, role=role, schema=schema.name,
                             object_type="table", objects=[table], privileges=list(privileges), opts=after)
        postgresql.Grant(f"{name}-job-sequences", database=db.name, role=role, schema=schema.name,
                         object_type="sequence", privileges=["USAGE"], opts=after)
        # Tables a later migration adds are readable, not writable, until a grant here says so.
        for object_type, privileges in (("table", ["SELECT"]), ("sequence", ["USAGE"])):
            postgresql.DefaultPrivileges(
                f"{name}-job-default-{object_type}s", database=db.name, role=role,
                owner=self.migration_role.name, schema=schema.name, object_type=object_type,
                privileges=privileges, opts=self._opts,
            )
