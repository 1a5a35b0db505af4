"""Shared fixtures: one real PostgreSQL (pgserver) per test session, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from jobs.db import embedded_url, migrate


def with_dbname(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a real PostgreSQL server started from pgserver for this test session.

    Under pytest-xdist each worker gets its own data folder, hence its own server.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return embedded_url(Path(tmp_path_factory.getbasetemp()) / f"pg-{worker}")


@pytest.fixture()
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """A new, empty database on the session's server; dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # identifiers cannot be bound; name is generated above
    url = with_dbname(pg_server_url, name)
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def db_url(empty_db_url: str) -> str:
    """A new database with every migration applied."""
    migrate(empty_db_url)
    return empty_db_url
