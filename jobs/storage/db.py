"""Database access: the embedded default server, connections with retry, named SQL, migrations."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import psycopg
from psycopg.rows import dict_row

from jobs.contract.values import ConfigError
from jobs.sql import migrations_dir, queries_dir

MIGRATIONS_DIR = migrations_dir()
QUERIES_DIR = queries_dir()

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached after retrying; the message carries the reason."""


@cache
def load_sql(name: str) -> str:
    """Return the text of ``sql/queries/<name>.sql``; named bind parameters only."""
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in QUERIES_DIR.glob("*.sql")))
        raise ValueError(f"unknown query {name!r}; known queries: {known}")
    return path.read_text()


def embedded_url(data_dir: Path, cleanup_mode: str | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL from ``pgserver`` in ``data_dir`` and return its URL.

    ``cleanup_mode=None`` (the default) keeps the server up for the next run and for other
    worker processes; ``"delete"`` stops it and removes ``data_dir`` when this process exits.
    """
    import warnings

    # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    import pgserver  # imported lazily: only the embedded default needs it

    pgdata = (data_dir / "pgdata").resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"FORECAST_DATA_DIR={data_dir} is invalid: it is a file, expected a folder "
                          "for the embedded database (or set DATABASE_URL)")
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"FORECAST_DATA_DIR={data_dir} is invalid: the folder cannot be created "
                          f"({exc.strerror}); name a writable folder or set DATABASE_URL") from None
    forget_dead_handles(pgdata)
    server = pgserver.get_server(str(pgdata), cleanup_mode=cleanup_mode)
    return server.get_uri()


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop the pids of exited processes from pgserver's handle list (``.handle_pids.json``); return them.

    pgserver stops a server when its last handle goes away, and a process killed (SIGKILL,
    SIGTERM) never removes its pid: with a dead pid left in the list, no later cleanup ever
    stops the server again. Done under pgserver's own lock, which it holds while it edits the list.
    """
    from pgserver.postgres_server import PostgresServer

    path = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            pids = [int(p) for p in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            return []  # no list yet (a new server), or not pgserver's format: leave it to pgserver
        dead = [p for p in pids if not _alive(p)]
        if dead:
            path.write_text(json.dumps([p for p in pids if p not in dead]))
    return dead


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def resolve_url(database_url: str | None, data_dir: Path) -> str:
    """The configured ``DATABASE_URL``, or the embedded default's when it is unset."""
    return database_url if database_url else embedded_url(data_dir)


# Every wait between database retries is multiplied by this variable's value (default 1: a
# connection waits 0.25, 0.5, 1 and 2 s between its five attempts, long enough to ride out a
# restart; a write 0.5 and 1 s between its three). The test suite sets 0.01: its unreachable
# databases are refused at once, and waiting 3.75 s for each proved nothing the values do not.
RETRY_WAIT_SCALE_ENV = "DB_RETRY_WAIT_SCALE"
MAX_RETRY_WAIT_SCALE = 100.0


def retry_wait_scale() -> float:
    """``DB_RETRY_WAIT_SCALE`` from the environment (1 when unset); ``ConfigError`` when it is no factor."""
    raw = os.environ.get(RETRY_WAIT_SCALE_ENV)
    if raw is None:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = -1.0
    if not 0.0 <= scale <= MAX_RETRY_WAIT_SCALE:  # also refuses nan and inf
        raise ConfigError(f"{RETRY_WAIT_SCALE_ENV}={raw!r} is invalid: expected a number from 0 to "
                          f"{MAX_RETRY_WAIT_SCALE:g} (1, the default, keeps the documented waits)")
    return scale


def retry_waits(attempts: int, first: float) -> list[float]:
    """The waits between ``attempts`` tries: ``first`` doubling each time, scaled by ``retry_wait_scale``."""
    scale = retry_wait_scale()
    return [first * 2**k * scale for k in range(attempts - 1)]


def connect(url: str, attempts: int = 5, base_delay: float = 0.25) -> psycopg.Connection[dict[str, Any]]:
    """Connect with exponential back-off; raise ``DatabaseUnavailable`` naming the last error."""
    waits = retry_waits(attempts, base_delay)
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return psycopg.connect(url, row_factory=dict_row, connect_timeout=5)
        except psycopg.OperationalError as exc:
            last = exc
            log.warning("database connect failed (attempt %d/%d): %s", attempt + 1, attempts, _first_line(exc))
            if attempt + 1 < attempts:
                time.sleep(waits[attempt])
    raise DatabaseUnavailable(f"database unreachable after {attempts} attempts: {_first_line(last)}")


# SQLSTATEs that can heal on a new connection or a new attempt: the connection class (08),
# an administrator or crash shutdown, a server still starting, too many connections, and
# serialization failures and deadlocks (PostgreSQL docs, Appendix A "Error Codes").
TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "40001", "40P01"})


def is_transient(exc: BaseException) -> bool:
    """True when retrying may succeed: a lost connection, a restart, a lock conflict.

    Everything else (bad data, a value too long for an index, a violated constraint, a
    missing table, a disk full) fails the same way every time, so it is never retried.
    """
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:  # raised by the client: the connection broke or could not be made
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith("08") or state in TRANSIENT_SQLSTATES


def with_retry(url: str, work: Callable[[psycopg.Connection[dict[str, Any]]], T], attempts: int = 3) -> T:
    """Run ``work`` in one transaction; on a dropped connection reconnect and run it again.

    ``work`` must be idempotent (every write is an upsert keyed by run), so a transaction
    that committed before the connection dropped is not written twice. Errors that cannot
    heal (``is_transient`` is false) are raised at once, unretried.
    """
    waits = retry_waits(attempts, 0.5)
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            with connect(url) as conn, conn.transaction():
                return work(conn)
        except psycopg.Error as exc:
            if not is_transient(exc):
                raise
            last = exc
            log.warning("database error (attempt %d/%d): %s", attempt + 1, attempts, _first_line(exc))
            if attempt + 1 < attempts:  # no back-off after the last attempt: fail with the reason now
                time.sleep(waits[attempt])
    raise DatabaseUnavailable(f"database write failed after {attempts} attempts: {_first_line(last)}")


def yoyo_url(url: str) -> str:
    """Translate a libpq URL for yoyo, which names the psycopg 3 driver in the scheme.

    User, password and database go in the URL; every other connection option (``sslmode``,
    ``sslrootcert``, a Unix-socket or multi-host ``host``, ``port`` ...) goes in the query
    string, which yoyo hands to ``psycopg.connect`` unchanged.
    """
    info = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(url).items()}
    user = quote(info.pop("user", ""), safe="")
    password = quote(info.pop("password", ""), safe="")
    dbname = quote(info.pop("dbname", "postgres"), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgresql+psycopg://{auth}/{dbname}" + (f"?{urlencode(info)}" if info else "")


def migrate(url: str) -> list[str]:
    """Apply pending migrations in order, exactly once (yoyo tracks them); return their ids."""
    from yoyo import read_migrations

    backend = _backend(url)
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]


def _backend(url: str) -> Any:
    """yoyo's backend for ``url``; an unreachable server is ``DatabaseUnavailable`` (one line, no URL)."""
    from yoyo import get_backend

    try:
        return get_backend(yoyo_url(url))
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"database unreachable: {_first_line(exc)}") from None


def pending_migrations(url: str) -> list[str]:
    """Ids of migrations not yet applied to ``url``."""
    from yoyo import read_migrations

    backend = _backend(url)
    return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]


def _first_line(exc: Exception | None) -> str:
    text = str(exc).strip() if exc is not None else "unknown error"
    return text.splitlines()[0] if text else type(exc).__name__
