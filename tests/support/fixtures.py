"""Shared fixtures for every tier: real PostgreSQL, moto-served AWS, and the recorded stacks."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from moto import mock_aws
from psycopg import sql

from jobs.storage.db import embedded_url, migrate
from tests.support.stacks import STACKS, StackRun, run_stack, stack_file_values

# The sample bars end on 2026-11-20 (MSFT and SPY: real data ending 2018), so a deployed phase
# would refuse them as stale feeds from a few sessions after that date: tests that are not about
# freshness run the job with this setting (tests/integration/test_data_incidents.py is about it).
ANY_AGE = {"MAX_STALE_SESSIONS": "10000"}


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread, as the job runs them (and xdist workers do not oversubscribe 2 cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def with_dbname(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# A throw-away cluster needs no crash safety: without fsync a DROP DATABASE takes milliseconds
# instead of a forced checkpoint's second or two, and every commit stops waiting for the disk.
# The server is still the real PostgreSQL, with the same SQL, locks and constraints.
SCRATCH_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
TEMPLATE_DB = "migrated_template"


# A server the caller keeps running (``make mutate`` runs hundreds of short sessions): used as it
# is, neither configured, migrated into twice nor stopped by the session.
SERVER_URL_ENV = "TEST_PG_SERVER_URL"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a real PostgreSQL server started from pgserver for this test session.

    Each pytest process (each xdist worker) gets its own server in its own folder, outside
    pytest's rotating temp folders (which a concurrent pytest run may prune); the server is
    stopped and its folder deleted when the session ends. ``TEST_PG_SERVER_URL`` names a
    running server to use instead (see ``start_scratch_server``).
    """
    if shared := os.environ.get(SERVER_URL_ENV):
        yield shared
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(tempfile.mkdtemp(prefix=f"ef-pg-{worker}-"))
    embedded_url(folder, cleanup_mode="delete")  # the job's own start-up path
    with start_scratch_server(folder) as url:
        yield url
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def start_scratch_server(folder: Path) -> Iterator[str]:
    """A pgserver PostgreSQL in ``folder`` set up for throw-away data; stopped on exit."""
    import pgserver

    server = pgserver.get_server(str((folder / "pgdata").resolve()), cleanup_mode="delete")
    url = server.get_uri()
    with psycopg.connect(url, autocommit=True) as conn:
        for name, value in SCRATCH_SETTINGS.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield url
    finally:
        server.cleanup()


@pytest.fixture()
def server_folder() -> Iterator[Path]:
    """An empty folder for a test's own PostgreSQL data directory, outside pytest's temporary folders.

    pgserver, run as root, opens the data directory's parents to its own system user; but every
    pytest session that starts on the machine closes ``/tmp/pytest-of-<user>`` again (mode 0700),
    and a server under ``tmp_path`` then fails to initialise or to open its files whenever
    another session starts meanwhile (as under ``make mutate``).
    """
    folder = Path(tempfile.mkdtemp(prefix="ef-pg-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(pg_server_url: str) -> str:
    """Name of a database on the session's server with every migration applied, to clone from.

    Migrating takes about a second; ``CREATE DATABASE ... TEMPLATE`` copies the result in tens of
    milliseconds. On a server named by ``TEST_PG_SERVER_URL`` the template is made once, by
    whoever started the server (``make_template``).
    """
    if not os.environ.get(SERVER_URL_ENV):
        make_template(pg_server_url)
    return TEMPLATE_DB


def make_template(server_url: str) -> None:
    """Create and migrate ``TEMPLATE_DB`` on ``server_url``; then nobody may connect to it.

    A template cannot be copied while anyone is connected to it, so the migration's
    connections are ended and new ones refused.
    """
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
    migrate(with_dbname(server_url, TEMPLATE_DB))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(TEMPLATE_DB)))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(db)s",
                     {"db": TEMPLATE_DB})


@contextmanager
def scratch_database(server_url: str, prefix: str = "t", template: str | None = None) -> Iterator[str]:
    """A new database on ``server_url`` for the ``with`` block, dropped afterwards.

    Empty by default; a copy of database ``template`` (e.g. ``migrated_template``) when named.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(create)
    try:
        yield with_dbname(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture()
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """A new, empty database on the session's server; dropped after the test."""
    with scratch_database(pg_server_url) as url:
        yield url


@pytest.fixture()
def db_url(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    """A new database with every migration applied (a copy of the session's migrated template)."""
    with scratch_database(pg_server_url, template=migrated_template) as url:
        yield url


@pytest.fixture()
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and a region in the environment, with every AWS call served by moto."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, StackRun]:
    """The recorded run of every stack from the real ``Pulumi.<stack>.yaml`` files (read-only)."""
    return {name: run_stack(name) for name in STACKS}


@pytest.fixture(scope="session")
def stack_files() -> dict[str, dict[str, object]]:
    """The project keys of every committed ``Pulumi.<stack>.yaml``, short names, as YAML values."""
    return {name: stack_file_values(name) for name in STACKS}
