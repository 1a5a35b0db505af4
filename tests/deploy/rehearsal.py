"""A deploy rehearsal: what ``pulumi up`` would do with a recorded stack, done for real.

Mocks never run a ``command.local.Command`` and grant nothing (docs/design.md §5). Here the recorded
resources of a stack run (``tests.support.stacks.run_stack``) are applied to a real
PostgreSQL in an order the engine could choose: topological over the recorded dependencies,
with each local command run as early as its dependencies allow (the engine runs independent
resources in parallel, so nothing undeclared may be relied on). Commands run as
pulumi-command runs them (``provider/pkg/provider/local/commandOutputs.go``): ``/bin/sh -c
<create>`` in ``dir`` (else the program's directory, ``main: infra/``), with the deployer's
environment plus ``environment``. PostgreSQL resources are applied as the SQL the postgresql
provider issues for them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.support.stacks import ROOT, RecordedResource, StackRun

COMMAND = "command:local:Command"
ROLE = "postgresql:index/role:Role"
SCHEMA = "postgresql:index/schema:Schema"
GRANT = "postgresql:index/grant:Grant"
DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
DATABASE_TYPES = (ROLE, SCHEMA, GRANT, DEFAULT_PRIVILEGES, COMMAND)
PROGRAM_DIR = ROOT / "infra"  # Pulumi.yaml `main`: where the provider runs a command without `dir`


def deploy_order(resources: Iterable[RecordedResource], eager: Callable[[RecordedResource], bool]) -> list[RecordedResource]:
    """A topological order over the recorded dependencies, ``eager`` resources first when ready.

    Raises ``ValueError`` on a dependency cycle.
    """
    pending = list(resources)
    by_urn = {r.urn for r in pending}
    done: set[str] = set()
    order: list[RecordedResource] = []
    while pending:
        ready = [r for r in pending if all(d in done or d not in by_urn for d in r.dependencies)]
        if not ready:
            raise ValueError(f"dependency cycle among {[r.name for r in pending]}")
        ready.sort(key=lambda r: not eager(r))
        chosen = ready[0]
        order.append(chosen)
        done.add(chosen.urn)
        pending.remove(chosen)
    return order


def command_env(declared: dict[str, str]) -> dict[str, str]:
    """The command's environment: the deployer's (``os.Environ()``) plus the declared one.

    The deployer runs ``pulumi up`` from a plain shell: no PYTHONPATH pointing at a checkout.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **declared}


def run_command(resource: RecordedResource) -> subprocess.CompletedProcess[str]:
    """Run a recorded ``command.local.Command``'s ``create`` exactly as pulumi-command would."""
    inputs = resource.raw_inputs
    interpreter = inputs.get("interpreter") or ["/bin/sh", "-c"]
    cwd = Path(inputs["dir"]) if inputs.get("dir") else PROGRAM_DIR
    return subprocess.run([*interpreter, inputs["create"]], cwd=cwd, env=command_env(inputs.get("environment") or {}),
                          capture_output=True, text=True, timeout=300, check=False)


def _privileges(inputs: dict[str, Any]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(p) for p in inputs["privileges"])


def resource_sql(resource: RecordedResource) -> list[sql.Composable]:
    """The statements the postgresql provider runs to create ``resource``."""
    i = resource.raw_inputs
    if resource.type == ROLE:
        options = [sql.SQL("LOGIN" if i.get("login") else "NOLOGIN"),
                   sql.SQL("SUPERUSER" if i.get("superuser") else "NOSUPERUSER"),
                   sql.SQL("CREATEDB" if i.get("createDatabase") else "NOCREATEDB"),
                   sql.SQL("CREATEROLE" if i.get("createRole") else "NOCREATEROLE"),
                   sql.SQL("INHERIT" if i.get("inherit", True) else "NOINHERIT")]
        statements: list[sql.Composable] = [sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
            sql.Identifier(i["name"]), sql.SQL(" ").join(options), sql.Literal(i["password"]))]
        if i.get("searchPaths"):
            statements.append(sql.SQL("ALTER ROLE {} SET search_path TO {}").format(
                sql.Identifier(i["name"]), sql.SQL(", ").join(sql.Identifier(s) for s in i["searchPaths"])))
        return statements
    if resource.type == SCHEMA:
        return [sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(i["name"]), sql.Identifier(i["owner"]))]
    if resource.type == DEFAULT_PRIVILEGES:
        kind = {"table": "TABLES", "sequence": "SEQUENCES"}[i["objectType"]]
        return [sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON {} TO {}").format(
            sql.Identifier(i["owner"]), sql.Identifier(i["schema"]), _privileges(i), sql.SQL(kind),
            sql.Identifier(i["role"]))]
    if resource.type == GRANT:
        return _grant_sql(i)
    raise ValueError(f"no SQL for {resource.type} {resource.name}")


def _grant_sql(i: dict[str, Any]) -> list[sql.Composable]:
    role = sql.Identifier(i["role"])
    target = {
        "database": lambda: sql.SQL("DATABASE {}").format(sql.Identifier(i["database"])),
        "schema": lambda: sql.SQL("SCHEMA {}").format(sql.Identifier(i["schema"])),
        "sequence": lambda: sql.SQL("ALL SEQUENCES IN SCHEMA {}").format(sql.Identifier(i["schema"])),
        "table": lambda: sql.SQL("TABLE {}").format(
            sql.SQL(", ").join(sql.Identifier(i["schema"], t) for t in i["objects"])) if i.get("objects")
        else sql.SQL("ALL TABLES IN SCHEMA {}").format(sql.Identifier(i["schema"])),
    }[i["objectType"]]()
    # The provider revokes first, so the grant is exactly the declared privileges.
    return [sql.SQL("REVOKE ALL ON {} FROM {}").format(target, role),
            sql.SQL("GRANT {} ON {} TO {}").format(_privileges(i), target, role)]


@dataclass
class Rehearsal:
    """What applying a stack's database resources did: the order, command results, secrets."""

    order: list[str] = field(default_factory=list)
    commands: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def rehearse_database(run: StackRun, admin_url: str,
                      eager: Callable[[RecordedResource], bool] = lambda r: r.type == COMMAND) -> Rehearsal:
    """Apply ``run``'s roles, schema, privileges, grants and commands to ``admin_url``'s database.

    Stops at the first failing command (``pulumi up`` stops there too). Secret versions are
    collected by resource name (their plain values, for the job's DATABASE_URL).
    """
    result = Rehearsal()
    relevant = [r for r in run if r.type in DATABASE_TYPES or r.type == SECRET_VERSION]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for resource in deploy_order(relevant, eager):
            result.order.append(resource.name)
            if resource.type == SECRET_VERSION:
                result.secrets[resource.name] = resource.raw_inputs["secretString"]
            elif resource.type == COMMAND:
                done = run_command(resource)
                result.commands[resource.name] = done
                if done.returncode != 0:
                    break
            else:
                for statement in resource_sql(resource):
                    conn.execute(statement)
    return result
