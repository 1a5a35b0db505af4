"""Report files: written atomically, never through a symbolic link; bad output paths are bad input.

The review and the dashboard run through their real commands against real rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from jobs import dashboard, rollout_review
from tests.support.rollout_rows import add_failure, clean_canary, day_time
from tests.support.stderr import one_error


def review(db_url: str, out_dir: Path) -> int:
    return rollout_review.main(["--phase", "canary", "--out-dir", str(out_dir)], env={"DATABASE_URL": db_url})


def test_the_review_replaces_a_link_never_its_target_and_leaves_no_temporary_file(
        db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn)
    out, precious = tmp_path / "reports", tmp_path / "precious.txt"
    out.mkdir()
    precious.write_text("keep me")
    (out / "rollout_review_canary.md").symlink_to(precious)
    (out / "rollout_review_canary.html").symlink_to(tmp_path / "missing-target.html")
    assert review(db_url, out) == 0
    assert precious.read_text() == "keep me"
    assert not (tmp_path / "missing-target.html").exists()
    for name in ("rollout_review_canary.md", "rollout_review_canary.html"):
        assert not (out / name).is_symlink() and "Rollout review: canary" in (out / name).read_text()
    assert sorted(p.name for p in out.iterdir()) == ["rollout_review_canary.html", "rollout_review_canary.md"]
    assert (out / "rollout_review_canary.md").stat().st_mode & 0o044  # readable like any report


def test_the_markdown_review_escapes_run_ids_and_reasons(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn)
        add_failure(conn, "run|<img src=x>", "SPY", "1D", "boom | <script>alert(1)</script> *bold* [x](http://e)",
                    day_time(1))
    assert review(db_url, tmp_path) == 4
    text = (tmp_path / "rollout_review_canary.md").read_text()
    for raw in ("<", "*bold", "[x]"):  # nothing the database said reaches Markdown unescaped
        assert not re.search(r"(?<!\\)" + re.escape(raw), text), raw
    assert r"run\|\<img src=x\>" in text and r"\<script\>alert(1)\</script\> \*bold\* \[x\](http://e)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "SPY" in line and "boom" in line]
    assert rows, text
    for row in rows:  # the cells stay where they belong: no unescaped '|' inside one
        assert len(re.findall(r"(?<!\\)\|", row)) == 5, row


def test_a_review_out_dir_that_is_a_file_is_bad_input(db_url: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file")
    assert review(db_url, blocker) == 2
    assert f"--out-dir={blocker} is invalid: it is a file, expected a folder" in one_error(capsys)
    assert blocker.read_text() == "a file"


@pytest.mark.parametrize(("make", "needle"), [
    (lambda p: p.mkdir() or p, "is invalid: it is a folder, expected a file name"),
    (lambda p: (p.write_text("x"), p / "dash.html")[1], "folder="),
])
def test_a_dashboard_out_that_cannot_be_written_is_bad_input(db_url: str, tmp_path: Path, make: object,
                                                            needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = make(tmp_path / "out")  # type: ignore[operator]
    assert dashboard.main(["--out", str(out)], {"DATABASE_URL": db_url}) == 2
    line = one_error(capsys)
    assert needle in line and "--out" in line, line


def test_the_dashboard_replaces_a_link_never_its_target(db_url: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    precious = tmp_path / "precious.html"
    precious.write_text("keep me")
    out = tmp_path / "dash.html"
    out.symlink_to(precious)
    assert dashboard.main(["--out", str(out)], {"DATABASE_URL": db_url}) == 0
    assert precious.read_text() == "keep me"
    assert not out.is_symlink() and out.read_text().startswith("<!DOCTYPE html>")
