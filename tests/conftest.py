"""Every tier's shared fixtures live in ``tests/support/fixtures.py``."""

pytest_plugins = ["tests.support.fixtures"]
