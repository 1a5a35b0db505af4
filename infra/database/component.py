"""The database: roles, schema, grants, migrations and the job's DATABASE_URL secret,
``ensemble:database:Schema``.

Order matters and is declared, not left to chance (``pulumi up`` runs independent resources
in parallel): the default privileges for the job role exist before the migrations create any
table (default privileges are not retroactive), and the per-table grants follow the
migrations (they name tables the migrations create). One ``command.local.Command`` runs
``python -m jobs.migrate``, which applies exactly the pending files; its triggers are the
migration files' names and hashes, so a new or edited file shows up by name in the diff and
replaces (re-runs) the command.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_postgresql as postgresql
import pulumi_random as random

from infra.database.args import DatabaseArgs
from jobs.sql import TABLES, migrations_dir

# The job's table rights (jobs.sql.TABLES): one grant per table the job reads or writes.
TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {table: rights for table, rights in TABLES.items() if rights}
# Every table the migration role creates is readable by the job (yoyo's own bookkeeping tables
# too: the job checks for pending migrations); writes need a grant in TABLE_PRIVILEGES.
DEFAULT_PRIVILEGES: dict[str, tuple[str, ...]] = {"table": ("SELECT",), "sequence": ("USAGE",)}
# The repository root, resolved when the program runs: pulumi-command runs a command in the
# program's directory (`main: infra/`) unless `dir` is set.
REPO_ROOT = Path(__file__).resolve().parents[2]
# The project's own interpreter (Pulumi.yaml: virtualenv .venv), relative to REPO_ROOT: a bare
# `python` would be whatever the runner has on PATH, without psycopg.
MIGRATE_COMMAND = ".venv/bin/python -m jobs.migrate"


@dataclass(frozen=True)
class MigrationFile:
    """A migration file as the stack sees it: its name and content hash."""

    name: str
    sha256: str

    @property
    def trigger(self) -> str:
        """``<name>:<sha256>``: one entry of the migration command's triggers."""
        return f"{self.name}:{self.sha256}"


def migration_files(folder: Path | None = None) -> list[MigrationFile]:
    """The migration files in apply order (their timestamped names sort chronologically)."""
    folder = migrations_dir() if folder is None else folder
    paths = sorted(folder.glob("*.sql"))
    if not paths:
        raise ValueError(f"no migration files (*.sql) in {folder}")
    return [MigrationFile(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]


def role_url(db: DatabaseArgs, role: str, password: pulumi.Input[str]) -> pulumi.Output[str]:
    """``role``'s connection URL (secret: it carries the password)."""
    return pulumi.Output.secret(
        pulumi.Output.from_input(password).apply(
            lambda pw: f"postgresql://{role}:{quote(pw, safe='')}@{db.host}:{db.port}/{db.name}?sslmode={db.ssl_mode}"
        )
    )


def admin_credential(secret_string: str) -> dict[str, str]:
    """The ``username`` and ``password`` of the admin secret (the RDS-managed JSON format)."""
    try:
        value = json.loads(secret_string)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) and value[k] for k in ("username", "password")):
        # Never echo the secret: name only what is expected.
        raise ValueError("dbAdminSecretArn: the secret must hold JSON with non-empty \"username\" and \"password\"")
    return {"username": value["username"], "password": value["password"]}


class DatabaseSchema(pulumi.ComponentResource):
    """Roles, schema, default privileges, migrations, grants and the DATABASE_URL secret.

    Attributes:
        job_role: The job's login role (no DDL, not owner), with a generated password.
        migration_role: The schema owner that applies migrations.
        migrations: The command that applies the pending migrations.
        url_secret: The Secrets Manager secret holding the job's DATABASE_URL.
    """

    def __init__(self, name: str, db: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ensemble:database:Schema", name, None, opts)
        if not db.manage or db.admin_secret_arn is None:
            raise ValueError("DatabaseSchema needs manageDatabase: true and dbAdminSecretArn (the owning stack)")
        self._db = db
        tags = dict(db.tags)
        child = pulumi.ResourceOptions(parent=self)
        admin = aws.secretsmanager.get_secret_version_output(
            secret_id=db.admin_secret_arn, opts=pulumi.InvokeOutputOptions(parent=self))
        credential = pulumi.Output.secret(admin.secret_string).apply(admin_credential)
        provider = postgresql.Provider(
            f"{name}-provider", host=db.host, port=db.port, database=db.name,
            username=credential.apply(lambda c: c["username"]), password=credential.apply(lambda c: c["password"]),
            sslmode=db.ssl_mode, superuser=False, opts=child,
        )
        self._opts = pulumi.ResourceOptions(parent=self, provider=provider)
        migrator_password = random.RandomPassword(f"{name}-migrator-password", length=32, special=False, opts=child)
        job_password = random.RandomPassword(f"{name}-job-password", length=32, special=False, opts=child)
        self.migration_role = postgresql.Role(
            f"{name}-migration-role", name=db.migration_role, login=True, password=migrator_password.result,
            search_paths=[db.schema], create_database=False, create_role=False, superuser=False, opts=self._opts,
        )
        self.job_role = postgresql.Role(
            f"{name}-job-role", name=db.job_role, login=True, password=job_password.result,
            search_paths=[db.schema], create_database=False, create_role=False, superuser=False,
            inherit=False, opts=self._opts,
        )
        schema = postgresql.Schema(f"{name}-schema", name=db.schema, database=db.name,
                                   owner=self.migration_role.name, opts=self._opts)
        defaults = self._default_privileges(name, schema)
        self.migrations = command.local.Command(
            f"{name}-migrations", create=MIGRATE_COMMAND, dir=str(REPO_ROOT),
            environment={"DATABASE_URL": role_url(db, db.migration_role, migrator_password.result)},
            triggers=[m.trigger for m in migration_files()],
            # Default privileges first: a table created before them is never readable by the job.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.migration_role, self.job_role, schema, *defaults]),
        )
        grants = self._grants(name, schema)
        self.url_secret = aws.secretsmanager.Secret(
            f"{name}-url-secret", name=db.url_secret_name, recovery_window_in_days=7,
            description="DATABASE_URL of the forecast job (job role login); read by every stack's job definitions",
            tags=tags, opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-url-secret-value", secret_id=self.url_secret.id,
            secret_string=role_url(db, db.job_role, job_password.result),
            # Published once the role can log in and work, so a job never starts with a useless URL.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        self.register_outputs({"jobRole": self.job_role.name, "urlSecretArn": self.url_secret.arn,
                               "migrations": [m.name for m in migration_files()]})

    def _default_privileges(self, name: str, schema: postgresql.Schema) -> list[pulumi.Resource]:
        db = self._db
        return [
            postgresql.DefaultPrivileges(
                f"{name}-job-default-{object_type}s", database=db.name, role=self.job_role.name,
                owner=self.migration_role.name, schema=schema.name, object_type=object_type,
                privileges=list(privileges), opts=self._opts,
            )
            for object_type, privileges in DEFAULT_PRIVILEGES.items()
        ]

    def _grants(self, name: str, schema: postgresql.Schema) -> list[pulumi.Resource]:
        db, role = self._db, self.job_role.name
        after = pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[self.migrations]))
        grants = [
            postgresql.Grant(f"{name}-job-connect", database=db.name, role=role, object_type="database",
                             privileges=["CONNECT"], opts=self._opts),
            postgresql.Grant(f"{name}-job-schema-usage", database=db.name, role=role, schema=schema.name,
                             object_type="schema", privileges=["USAGE"], opts=self._opts),
        ]
        for table, privileges in TABLE_PRIVILEGES.items():
            # One grant per table: grants on the same object type must not overlap.
            grants.append(postgresql.Grant(f"{name}-job-{table}", database=db.name, role=role, schema=schema.name,
                                           object_type="table", objects=[table], privileges=list(privileges),
                                           opts=after))
        grants.append(postgresql.Grant(f"{name}-job-sequences", database=db.name, role=role, schema=schema.name,
                                       object_type="sequence", privileges=["USAGE"], opts=after))
        return grants
