"""One real run of the demo with the paired legacy baseline, shared by the tests that only read its rows.

The dashboard, the pages in Chromium and the monitoring queries each read what the demo
(``--symbols AAPL,MSFT,SPY --horizon 1D``, the default models, ``BASELINE_MODELS`` the legacy
set) writes into an empty database. The run is the same for all of them and costs about 10 s of
CPU, so the pytest session runs it once: the first xdist worker to need it runs the real job and
keeps a ``pg_dump`` of the database beside the workers' temporary folders; the other worker
restores that dump into its own server. On each server the result is a template that every
test clones (``CREATE DATABASE ... TEMPLATE``), so no test sees another's writes.

The rows keep the time of that one run: a test that reads "the last hour" must run within an
hour of it, which a session of this suite does.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.support.fixtures import scratch_database, with_dbname

LEGACY_DEMO_ARGV = ("--symbols", "AAPL,MSFT,SPY", "--horizon", "1D", "--workers", "1")
LEGACY_DEMO_ENV = {"BASELINE_MODELS": "LSTM,ARIMA_GARCH,GB,RF"}


def _pg_tool(name: str) -> str:
    """A client program of the PostgreSQL that pgserver bundles (the test server's version)."""
    return str(files("pgserver") / "pginstall" / "bin" / name)


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (created if needed) for the ``with`` block."""
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _session_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by every xdist worker of this session, and by no other session."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def legacy_demo_template(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Name of a database on this worker's server holding the demo's rows; clone it, never connect to it."""
    name = f"legacy_demo_{uuid.uuid4().hex[:8]}"
    url = with_dbname(pg_server_url, name)
    folder = _session_folder(tmp_path_factory)
    dump = folder / "legacy_demo.dump"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with _exclusive(folder / "legacy_demo.lock"):
        if dump.exists():
            subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={url}", str(dump)],
                           check=True, capture_output=True)
        else:
            from jobs.unified_forecast_job import main as job_main  # here: the unit tier loads this module too

            # A local run on an empty database, as `make demo` does: it migrates and seeds sample bars.
            assert job_main(list(LEGACY_DEMO_ARGV), {"DATABASE_URL": url, **LEGACY_DEMO_ENV}) == 0
            subprocess.run([_pg_tool("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={url}"],
                           check=True, capture_output=True)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name)))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(db)s", {"db": name})
    yield name
    with psycopg.connect(pg_server_url, autocommit=True) as conn:  # a server a caller keeps running (make mutate)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture()
def legacy_demo_url(pg_server_url: str, legacy_demo_template: str) -> Iterator[str]:
    """A copy of the demo run's database for one test; dropped afterwards."""
    with scratch_database(pg_server_url, "demo", legacy_demo_template) as url:
        yield url
