"""A pytest plugin for ``make mutate`` only (pyproject's ``[tool.mutmut] pytest_add_cli_args``).

mutmut forks every mutant's pytest session from a server process that has collected the tests
(``--collect-only``); whatever that process computed, each fork inherits. An exchange calendar
takes seconds to build and ``trading_calendar`` keeps it per process, so the calendars the tests
read are built here, once, instead of once per mutant.
"""

from __future__ import annotations

import pytest

# The exchanges of tests/unit/test_calendar*.py.
WARM_EXCHANGES = ("XNYS", "XNAS", "XLON", "XNZE")


def pytest_collection_finish(session: pytest.Session) -> None:
    """After a collect-only run (the fork server's warm-up), build the calendars the mutants' tests read."""
    if session.config.option.collectonly:
        from jobs.forecasting.calendar import trading_calendar

        for exchange in WARM_EXCHANGES:
            trading_calendar(exchange)
