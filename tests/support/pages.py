"""The dashboard and the review as a person sees them: rendered from rows, opened in headless Chromium.

``check_page`` drives the system's Chromium (``/usr/bin/chromium``, no browser download) through
playwright's DevTools-protocol client in a fresh browser context, takes a screenshot and reports what
the browser saw: console errors, drawn series per chart, and whether the decision and the
thresholds are visible.

``python -m tests.support.pages [DIR]`` rewrites the README's screenshots (``docs/`` by default)
from a seeded 7-day canary on a throw-away embedded PostgreSQL.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg

from tests.support.rollout_rows import CANARY, Run, add_run, day_time, seed_symbols

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run")
VIEWPORT = {"width": 1280, "height": 900}

# Per chart (figure.chart): its accessible name, and how many drawn data items have a visible box.
_CHARTS_JS = """() => [...document.querySelectorAll('figure.chart')].map(f => ({
  title: f.querySelector('svg').getAttribute('aria-label'),
  series: [...f.querySelectorAll('[aria-roledescription="series"]')].filter(e => {
    const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length,
}))"""


@dataclass
class PageCheck:
    """What the browser saw on one page."""

    console_errors: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    decision: str = ""
    decision_visible: bool = False
    thresholds: str = ""
    thresholds_visible: bool = False


def chromium_missing() -> str | None:
    """Why the browser check cannot run here (``None`` when it can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install the dev extra"
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium (a playwright ``Browser``) for any number of page checks."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(FLAGS))
        try:
            yield browser
        finally:
            browser.close()


def check_page(html: Path, screenshot: Path, decision: str = "#decision", thresholds: str = "#thresholds",
               browser: Any = None) -> PageCheck:
    """Open ``html`` in headless Chromium, save a full-page screenshot, and report what it shows.

    ``browser`` (from ``chromium()``) is reused when given: each page still gets a fresh
    context of its own, with no cookies, storage or cache from another page. Without it a
    Chromium is started for this page alone.
    """
    if browser is None:
        with chromium() as own:
            return check_page(html, screenshot, decision, thresholds, own)
    seen = PageCheck()
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    try:
        page = context.new_page()
        page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen.console_errors.append(str(e)))
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.screenshot(path=str(screenshot), full_page=True)
        seen.charts = page.evaluate(_CHARTS_JS)
        for selector, name in ((decision, "decision"), (thresholds, "thresholds")):
            loc = page.locator(selector).first
            setattr(seen, f"{name}_visible", loc.count() > 0 and loc.is_visible())
            setattr(seen, name, loc.inner_text() if loc.count() else "")
    finally:
        context.close()
    return seen


def seed_week(conn: psycopg.Connection[Any], at: datetime | None = None) -> None:
    """A 7-day canary (AAPL, MSFT, SPY at 1D, one run a day) whose figures move from day to day."""
    seed_symbols(conn, CANARY)
    for d in range(7):
        for k, sym in enumerate(CANARY):
            wave = math.sin(d + 2 * k)
            divergences = tuple(round(0.03 * (k + 1) + 0.02 * wave + 0.01 * w, 4) for w in range(4))
            add_run(conn, Run(f"run-{d}", sym, "1D", day_time(d, at), divergences=divergences,
                              test_rmse=round(0.0100 + 0.0004 * wave + 0.0003 * k, 5)))


def render_pages(url: str, out_dir: Path, phase: str = "canary") -> tuple[dict[str, Path], int]:
    """Render the dashboard and ``phase``'s review with the real commands; return the pages and the review's exit status."""
    from jobs import dashboard, rollout_review

    env = {"DATABASE_URL": url}
    page = out_dir / "dashboard.html"
    if dashboard.main(["--out", str(page), "--days", "7"], env) != 0:
        raise RuntimeError("the dashboard command failed")
    code = rollout_review.main(["--phase", phase, "--days", "7", "--out-dir", str(out_dir)], env)
    return {"dashboard": page, "review": out_dir / f"rollout_review_{phase}.html"}, code


def shrink_png(path: Path, colors: int = 128) -> None:
    """Quantise a screenshot to a palette: charts and text stay sharp at a fraction of the size."""
    from PIL import Image

    with Image.open(path) as img:
        img.convert("RGB").quantize(colors=colors, dither=Image.Dither.NONE).save(path, optimize=True)


def main(argv: list[str]) -> int:
    """Rewrite ``docs/dashboard.png`` and ``docs/rollout_review.png`` from a seeded week."""
    import pgserver

    from jobs.storage.db import migrate

    docs = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "docs"
    work = Path(tempfile.mkdtemp(prefix="pages-"))
    server = pgserver.get_server(str(work / "pgdata"), cleanup_mode="delete")
    try:
        url = server.get_uri()
        migrate(url)
        with psycopg.connect(url) as conn:
            seed_week(conn, datetime.now(timezone.utc).replace(hour=9, minute=30) + timedelta(hours=1))
        pages, _ = render_pages(url, work)
        with chromium() as browser:
            for name, html in pages.items():
                shot = docs / f"{'rollout_review' if name == 'review' else name}.png"
                seen = check_page(html, shot, thresholds="#thresholds-summary" if name == "review" else "#thresholds",
                                  browser=browser)
                shrink_png(shot)
                print(f"{shot}: {len(seen.charts)} charts, {shot.stat().st_size // 1024} KiB, "
                      f"console errors: {seen.console_errors or 'none'}")
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
