"""The unit tier needs no database: asking for one fails the test, with where it belongs instead.

``make test-fast`` runs this folder alone and must stay quick, so the shared fixtures that start
PostgreSQL are replaced here by ones that fail at once. A test that needs rows belongs in
``tests/integration`` (the deploy tier's server over TCP is not even visible from here).
"""

from __future__ import annotations

import pytest

NO_DATABASE = ("the unit tier needs no database: {name} is not available in tests/unit; "
               "move the test to tests/integration")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """Refused: every database fixture (``db_url``, ``empty_db_url``, ``migrated_template``) starts here."""
    pytest.fail(NO_DATABASE.format(name="a PostgreSQL server"), pytrace=False)

