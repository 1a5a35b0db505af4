"""``python -m jobs.promotion_gate``: only a promotion is gated, on the minimum days, the review and the image.

The image is the one the stack file being deployed pins (``--repo``: the repository's own files,
or a copy with another ``imageRef``).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from jobs import promotion_gate
from jobs.rollout.stackfile import pinned_image
from tests.support.rollout_rows import (
    Run,
    add_failure,
    add_run,
    clean_canary,
    day_time,
    image_ref,
    seed_symbols,
)
from tests.support.stacks import ROOT

# The image the repository's limited stack pins: what its promotion would deploy.
LIMITED_IMAGE = str(pinned_image(ROOT, "limited"))


def gate(db_url: str, stack: str, tmp_path: Path, *extra: str, repo: Path = ROOT) -> tuple[int, str, dict[str, str]]:
    out = tmp_path / "github_output"
    out.unlink(missing_ok=True)
    code = promotion_gate.main(["--stack", stack, "--out-dir", str(tmp_path / "reports"), "--github-output", str(out),
                                "--repo", str(repo), *extra], env={"DATABASE_URL": db_url})
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines()) if out.exists() else {}
    return code, outputs.get("reason", ""), outputs


def test_canary_always_deploys_and_limited_waits_for_canary(db_url: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, reason, out = gate(db_url, "canary", tmp_path)
    assert (code, out["decision"], out["kind"]) == (0, "DEPLOY", "first-phase")
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["decision"]) == (3, "REFUSE") and "canary has no runs yet (it needs 7 days)" in reason
    printed = capsys.readouterr().out
    assert printed.startswith("DEPLOY canary (first-phase)") and "preflight" not in printed


def test_promotion_needs_the_minimum_days(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=3)  # a clean record of 3 days: the review alone would PROCEED
    code, reason, _ = gate(db_url, "limited", tmp_path)
    assert code == 3 and "canary has run 2.0 of its minimum 7 days" in reason


def test_promotion_after_seven_clean_days_writes_the_review(db_url: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=8, image_ref=LIMITED_IMAGE)
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["kind"]) == (0, "promotion") and "its 7-day review says PROCEED" in reason
    assert f"canary ran {LIMITED_IMAGE} for 7.0 days (8 runs on 8 days since " in reason
    assert (tmp_path / "reports" / "rollout_review_canary.md").exists()
    # The promotion names its next step, the quota preflight (which needs AWS credentials).
    assert "preflight: python -m jobs.quota_check --stack limited" in capsys.readouterr().out


def test_a_bad_previous_phase_refuses_a_new_image_but_never_one_the_stack_ran(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=8, image_ref=LIMITED_IMAGE)
        add_failure(conn, "run-1", "AAPL", "1D", "ValueError: boom", day_time(1))
    code, reason, _ = gate(db_url, "limited", tmp_path)
    assert code == 3 and "the canary review over 7 days says ROLLBACK ([ROLLBACK] uncaught_errors" in reason
    with psycopg.connect(db_url) as conn:  # limited has run once, an older image: it is promoted
        seed_symbols(conn, ["NVDA"], "limited")
        add_run(conn, Run("limited-1", "NVDA", "1D", day_time(2), phase="limited", image_ref=image_ref("c")))
    # Its file pins an image it never ran: an image promotion, refused on canary's review.
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["kind"]) == (3, "image-promotion")
    assert reason.startswith("image promotion of limited refused: the canary review over 7 days says ROLLBACK "
                             "([ROLLBACK] uncaught_errors")
    # Back to the image it ran (a rollback): never gated.
    code, reason, out = gate(db_url, "limited", tmp_path, repo=repo_pinning(tmp_path, "limited", image_ref("c")))
    assert (code, out["kind"]) == (0, "promoted") and reason.endswith("rollback is not gated")
    with psycopg.connect(db_url) as conn:  # limited's next run is of the pinned image: redeploys pass
        add_run(conn, Run("limited-2", "NVDA", "1D", day_time(0), phase="limited", image_ref=LIMITED_IMAGE))
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["kind"]) == (0, "promoted") and f"has run {LIMITED_IMAGE} before (1 run(s))" in reason
    # Prod's promotion still waits for limited's own 7 days.
    code, reason, _ = gate(db_url, "prod", tmp_path)
    assert code == 3 and "limited has run 2.0 of its minimum 7 days" in reason


def test_a_hotfix_deploys_an_image_the_previous_phase_never_ran_with_its_reason(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(db_url) as conn:  # limited runs an older image; canary never ran the one it pins
        seed_symbols(conn, ["NVDA"], "limited")
        add_run(conn, Run("limited-1", "NVDA", "1D", day_time(0), phase="limited", image_ref=image_ref("c")))
    code, reason, out = gate(db_url, "limited", tmp_path)
    assert (code, out["decision"], out["kind"]) == (3, "REFUSE", "image-promotion")
    assert reason == (f"image promotion of limited refused: canary has never run {LIMITED_IMAGE} (a run of an "
                      "unknown image counts for none): a promotion needs 7 days and 7 run days of it")
    capsys.readouterr()
    code, reason, out = gate(db_url, "limited", tmp_path, "--hotfix", "CVE-2026-0001 in openssl")
    assert (code, out["decision"], out["kind"]) == (0, "DEPLOY", "hotfix")
    assert reason == (f"hotfix of limited: limited has never run {LIMITED_IMAGE} and canary has never run "
                      f"{LIMITED_IMAGE} (a run of an unknown image counts for none); deployed without canary's proof "
                      "because: CVE-2026-0001 in openssl")
    printed = capsys.readouterr().out
    assert printed.startswith("DEPLOY limited (hotfix): hotfix of limited: ") and "preflight" not in printed
    assert not (tmp_path / "reports").exists()  # no review ran


@pytest.mark.parametrize("argv, message", [
    (["--stack", "local"], "argument --stack: invalid choice: 'local'"),
    ([], "the following arguments are required: --stack"),
    (["--stack", "prod", "--hotfix", " "], "error: --hotfix ' ' is invalid: expected why an image the previous phase "
                                           "has not proved must deploy now, e.g. the CVE it fixes\n"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str, db_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert promotion_gate.main(argv, env={"DATABASE_URL": db_url}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_unreachable_database_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://nobody:x@127.0.0.1:9/none?connect_timeout=1"
    assert promotion_gate.main(["--stack", "limited"], env={"DATABASE_URL": url}) == 1
    assert "database unreachable" in capsys.readouterr().err


def repo_pinning(tmp_path: Path, stack: str, image: str) -> Path:
    """A checkout whose ``Pulumi.<stack>.yaml`` is the repository's with ``imageRef: "<image>"``."""
    repo = tmp_path / "checkout"
    repo.mkdir(exist_ok=True)
    (repo / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    pinned = str(pinned_image(ROOT, stack))
    assert text.count(pinned) == 1
    (repo / f"Pulumi.{stack}.yaml").write_text(text.replace(pinned, image))
    return repo


def test_the_promotion_deploys_only_the_image_the_stack_file_pins(db_url: str, tmp_path: Path) -> None:
    other = image_ref("b")
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=8, image_ref=LIMITED_IMAGE)
    code, reason, out = gate(db_url, "limited", tmp_path, repo=repo_pinning(tmp_path, "limited", other))
    assert (code, out["decision"], out["kind"]) == (3, "REFUSE", "promotion")
    assert reason == (f"promotion of limited refused: canary has never run {other} (a run of an unknown image counts "
                      "for none): a promotion needs 7 days and 7 run days of it")
    assert (tmp_path / "reports" / "rollout_review_canary.md").exists()  # the review ran, and said PROCEED
    code, reason, _ = gate(db_url, "limited", tmp_path, repo=repo_pinning(tmp_path, "limited", LIMITED_IMAGE))
    assert code == 0 and f"canary ran {LIMITED_IMAGE} for 7.0 days" in reason


def test_a_stack_file_that_pins_no_image_refuses_its_promotion(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        clean_canary(conn, days=8, image_ref=LIMITED_IMAGE)
    code, reason, _ = gate(db_url, "limited", tmp_path, repo=repo_pinning(tmp_path, "limited", ""))
    assert (code, reason) == (3, "promotion of limited refused: Pulumi.limited.yaml pins no image (imageRef is "
                                 "empty); pin the one canary ran: python -m jobs.promote --from canary --to limited")


@pytest.mark.parametrize(("image", "message"), [
    ("ensemble-forecast:latest", "error: Pulumi.limited.yaml imageRef='ensemble-forecast:latest' is not pinned by "
                                 "digest: expected <account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:"
                                 "<64 hex>"),
    (None, "error: Pulumi.limited.yaml does not exist in "),
])
def test_a_bad_or_missing_stack_file_is_bad_input(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  image: str | None, message: str) -> None:
    repo = repo_pinning(tmp_path, "limited", image) if image is not None else tmp_path
    assert gate(db_url, "limited", tmp_path, repo=repo)[0] == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(message), err
