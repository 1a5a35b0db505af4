"""Every tier's shared fixtures live in ``tests/support/fixtures.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jobs.storage.db import RETRY_WAIT_SCALE_ENV
from tests.support.checkout import checkout_leftovers
from tests.support.schedule import long_first

_LEFTOVERS_BEFORE = pytest.StashKey[set[str] | None]()

pytest_plugins = ["tests.support.fixtures", "tests.support.demo_run"]

# Database retries wait a hundredth of their real time in every test and every process a test
# starts (they inherit the environment): an unreachable database is refused at once, so the
# real 3.75 s of back-off per case proved nothing. tests/unit/test_db_retry_waits.py checks the
# real waits with the scale unset.
os.environ.setdefault(RETRY_WAIT_SCALE_ENV, "0.01")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long modules first, one worker's share each (``tests.support.schedule``); every worker orders alike."""
    workerinput = getattr(config, "workerinput", None)
    workers = int(workerinput["workercount"]) if workerinput else 1
    root = Path(str(config.rootpath))
    module_of = {i: item.path.relative_to(root).as_posix() for i, item in enumerate(items)}
    items[:] = long_first(items, module_of, workers)


# The suite leaves the checkout as it found it: reports, pages and databases go to temporary
# folders, never the working directory (a stray dashboard named `1` was once committed).
# Only the controlling process checks (xdist workers share the checkout), and only in a git checkout.
def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        session.config.stash[_LEFTOVERS_BEFORE] = checkout_leftovers(Path(str(session.config.rootpath)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_LEFTOVERS_BEFORE, None)
    if before is None:
        return
    new = sorted((checkout_leftovers(Path(str(session.config.rootpath))) or set()) - before)
    if new:
        session.config.get_terminal_writer().line(
            "error: the tests left files in the checkout (write them to tmp_path): " + ", ".join(new), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
