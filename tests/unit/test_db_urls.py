"""The migration tool connects with every option of DATABASE_URL (TLS included)."""

from __future__ import annotations

from yoyo.connections import parse_uri

from jobs.storage.db import yoyo_url


def test_tls_and_host_options_survive_the_translation_for_yoyo() -> None:
    url = "postgresql://migrator:p%40ss@db.example.com:6432/forecast?sslmode=verify-full&sslrootcert=/etc/rds.pem"
    parsed = parse_uri(yoyo_url(url))
    assert (parsed.scheme, parsed.username, parsed.password, parsed.database) == (
        "postgresql+psycopg", "migrator", "p@ss", "forecast")
    assert parsed.args == {"host": "db.example.com", "port": "6432", "sslmode": "verify-full",
                           "sslrootcert": "/etc/rds.pem"}


def test_unix_socket_urls_of_the_embedded_server_translate() -> None:
    parsed = parse_uri(yoyo_url("postgresql://postgres:@/postgres?host=/tmp/pg/data"))
    assert parsed.username == "postgres" and parsed.database == "postgres"
    assert parsed.args == {"host": "/tmp/pg/data"}
