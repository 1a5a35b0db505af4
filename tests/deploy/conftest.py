"""Deploy-rehearsal fixtures: a real PostgreSQL reached the way a stack reaches it, over TCP
with password authentication (``host:port`` in the stack config, passwords checked)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

SUPERUSER = "postgres"


@dataclass(frozen=True)
class TcpPostgres:
    """A PostgreSQL server on 127.0.0.1:<port> with scram-sha-256 authentication."""

    host: str
    port: int
    password: str

    def url(self, user: str, password: str, dbname: str) -> str:
        """A libpq URL for ``user`` on ``dbname`` (no TLS: the test server has none)."""
        return psycopg.conninfo.make_conninfo(host=self.host, port=self.port, user=user, password=password,
                                              dbname=dbname, sslmode="disable")


def _as_server_user() -> dict[str, str]:
    # PostgreSQL refuses to run as root; pgserver runs it as its own system user then.
    return {"user": "pgserver"} if os.geteuid() == 0 else {}


@pytest.fixture(scope="session")
def tcp_postgres(pg_server_url: str) -> Iterator[TcpPostgres]:
    """A fresh cluster from pgserver's binaries, listening on TCP with passwords required.

    Depends on ``pg_server_url`` so that pgserver has prepared its binaries and system user.
    """
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import find_suitable_port

    folder = Path(tempfile.mkdtemp(prefix="ef-deploy-pg-"))
    folder.chmod(0o777)
    password = uuid.uuid4().hex
    pwfile = folder / "pw"
    pwfile.write_text(password)
    pwfile.chmod(0o644)
    data, user = folder / "data", _as_server_user()
    port = find_suitable_port("127.0.0.1")
    # A throw-away cluster: no fsync at initdb (--no-sync) nor while running (-F), as for the scratch server.
    subprocess.run([str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "scram-sha-256",
                    f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"], check=True, capture_output=True, **user)
    subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
                    "-o", f"-F -h 127.0.0.1 -p {port} -k {folder}", "start"], check=True, capture_output=True, **user)
    try:
        yield TcpPostgres("127.0.0.1", port, password)
    finally:
        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"],
                       check=False, capture_output=True, **user)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def deploy_database(tcp_postgres: TcpPostgres) -> Iterator[str]:
    """An empty database on the TCP server; its roles and the database are dropped afterwards."""
    name = f"deploy_{uuid.uuid4().hex[:10]}"
    admin = tcp_postgres.url(SUPERUSER, tcp_postgres.password, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        roles_before = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        for (role,) in conn.execute("SELECT rolname FROM pg_roles").fetchall():
            if role not in roles_before:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
