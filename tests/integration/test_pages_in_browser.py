"""The dashboard and the review, opened in headless Chromium as a reviewer would open them.

Pages come from the real commands over real rows: one real job run (3 symbols, the paired
legacy baseline) and a seeded week of runs. Each page must load without a console error,
draw at least one series in every chart, and show the decision and the thresholds.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.fixtures import scratch_database
from tests.support.pages import check_page, chromium, chromium_missing, render_pages, seed_week

pytestmark = pytest.mark.skipif(chromium_missing() is not None,
                                reason=f"browser check skipped: {chromium_missing()}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for every page check of the module; each check opens a fresh context in it."""
    with chromium() as one:
        yield one


@pytest.fixture(scope="module")
def job_pages(pg_server_url: str, legacy_demo_template: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[dict[str, Path], int]]:
    """Both pages after one real run of the job (the session's demo run, ``tests.support.demo_run``)."""
    with scratch_database(pg_server_url, "pages_job", legacy_demo_template) as url:
        yield render_pages(url, tmp_path_factory.mktemp("job_pages"), phase="local")


@pytest.fixture(scope="module")
def week_pages(pg_server_url: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[dict[str, Path], int]]:
    """Both pages over a seeded week: one run a day per symbol, written with the storage rows' SQL."""
    with scratch_database(pg_server_url, "pages_week", migrated_template) as url:
        with psycopg.connect(url) as conn:
            seed_week(conn)
        yield render_pages(url, tmp_path_factory.mktemp("week_pages"))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


DECISIONS = {0: "PROCEED", 3: "MONITOR", 4: "ROLLBACK"}


@pytest.mark.parametrize("fixture", ["job_pages", "week_pages"])
@pytest.mark.parametrize("page", ["dashboard", "review"])
def test_page_in_chromium(fixture: str, page: str, request: pytest.FixtureRequest, tmp_path: Path,
                          browser: Any) -> None:
    pages, review_code = request.getfixturevalue(fixture)
    shot = tmp_path / f"{page}.png"
    # The review states its thresholds beside the decision, the dashboard under its status line.
    seen = check_page(pages[page], shot, thresholds="#thresholds-summary" if page == "review" else "#thresholds",
                      browser=browser)
    assert seen.console_errors == [], seen.console_errors
    width, height = png_size(shot)
    assert width == 1280 and height > 900, "a full-page screenshot of a page longer than one screen"
    assert len(seen.charts) >= (4 if page == "review" else 6), [c["title"] for c in seen.charts]
    empty = [c["title"] for c in seen.charts if c["series"] < 1]
    assert not empty, f"charts with no drawn series: {empty}"
    assert seen.decision_visible and seen.thresholds_visible
    if page == "review":
        assert seen.decision == f"Decision: {DECISIONS[review_code]}"
        assert "15.0%" in seen.thresholds and "25.0%" in seen.thresholds
    else:
        assert re.fullmatch(r"Status: (OK|REVIEW|CRITICAL|FAILED|ROLLBACK) \(.+\)", seen.decision), seen.decision
        assert "warning 20%" in seen.thresholds and "rollback 25%" in seen.thresholds


def test_a_week_of_runs_draws_one_line_per_symbol_against_the_run_time(week_pages: tuple[dict[str, Path], int],
                                                                       tmp_path: Path, browser: Any) -> None:
    pages, code = week_pages
    assert code == 0  # the seeded week is a clean canary
    dashboard = check_page(pages["dashboard"], tmp_path / "d.png", browser=browser)
    charts = {c["title"]: c["series"] for c in dashboard.charts}
    # AAPL, MSFT, SPY and the worst window over all symbols (the warning and critical alarms' statistic).
    assert charts["1D: divergence vs naive by run"] == 4
    assert charts["1D: validation vs test RMSE by run"] == 2
    assert charts["1D: test RMSE vs the paired baseline by run"] == 3
    review = {c["title"]: c["series"] for c in check_page(pages["review"], tmp_path / "r.png", browser=browser).charts}
    assert review["Divergence vs naive by run"] == 3
