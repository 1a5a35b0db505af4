"""Shared fixtures: one real PostgreSQL (pgserver) per test session, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from jobs.db import embedded_url, migrate


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
    info = psycopg.conninfo.conninfo_to_dict(pg_server_url)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def db_url(empty_db_url: str) -> str:
    """A new database with every migration applied."""
    migrate(empty_db_url)
    return empty_db_url
