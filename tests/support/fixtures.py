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

from jobs.storage.db import embedded_url, migrate
from tests.support.stacks import STACKS, StackRun, run_stack

# The sample bars end on 2026-11-20 (MSFT and SPY: real data ending 2018), so a deployed phase
# would refuse them as stale feeds from a few sessions after that date: tests that are not about
# freshness run the job with this setting (tests/integration/test_data_incidents.py is about it).
ANY_AGE = {"MAX_STALE_SESSIONS": "10000"}


def with_dbname(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a real PostgreSQL server started from pgserver for this test session.

    Each pytest process (each xdist worker) gets its own server in its own folder, outside
    pytest's rotating temp folders (which a concurrent pytest run may prune); the server is
    stopped and its folder deleted when the session ends.
    """
    import pgserver

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(tempfile.mkdtemp(prefix=f"ef-pg-{worker}-"))
    embedded_url(folder, cleanup_mode="delete")  # the job's own start-up path
    server = pgserver.get_server(str((folder / "pgdata").resolve()), cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_database(server_url: str, prefix: str = "t") -> Iterator[str]:
    """A new, empty database on ``server_url`` for the ``with`` block; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # identifiers cannot be bound; name is generated above
    try:
        yield with_dbname(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """A new, empty database on the session's server; dropped after the test."""
    with scratch_database(pg_server_url) as url:
        yield url


@pytest.fixture()
def db_url(empty_db_url: str) -> str:
    """A new database with every migration applied."""
    migrate(empty_db_url)
    return empty_db_url


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
