"""The suite's leftover check: new files in a checkout are seen; outside git nothing is compared."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.checkout import checkout_leftovers


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("reports/\n.data/\n")
    (tmp_path / "reports").mkdir()
    return tmp_path


def test_a_new_file_a_changed_file_and_a_report_in_an_ignored_folder_are_leftovers(checkout: Path) -> None:
    before = checkout_leftovers(checkout)
    assert before is not None
    (checkout / "1").write_text("<!DOCTYPE html>")  # the stray dashboard of issue 22
    (checkout / "reports" / "dashboard.html").write_text("x")
    (checkout / ".data").mkdir()
    (checkout / ".data" / "pgdata").mkdir()
    after = checkout_leftovers(checkout)
    assert after is not None
    assert sorted(after - before) == ["!! .data/pgdata", "!! reports/dashboard.html", "?? 1"]


def test_outside_a_git_checkout_nothing_is_compared(tmp_path: Path) -> None:
    assert checkout_leftovers(tmp_path) is None
