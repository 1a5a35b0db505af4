"""A promoted stack's later image: gated on the previous phase's runs of it, never an image the stack ran.

One committed history, read "as of" chosen times. Canary runs daily from Monday T0: image A on
days 0-9, then B on days 10-26 (a failure on day 18 turns its review to ROLLBACK for 7 days).
Limited (NVDA, no paired baselines) was promoted on A: it ran C once on day 10 (an image canary
never ran: a hotfix, say), then A on days 11-26. Prod (TSLA) ran C once, on day 20. Every answer
is read back whole, as the deploy workflow prints it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from jobs.contract.images import ImageRef, parse_image_ref
from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import Decision
from jobs.rollout.gate import Gate, GateDecision, decide
from tests.support.fixtures import scratch_database
from tests.support.rollout_rows import CANARY, Run, add_failure, add_run, image_ref, seed_symbols

T = Thresholds()
T0 = datetime(2026, 6, 1, 21, 30, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)
A, B, C, D = (parse_image_ref(name, image_ref(name.lower())) for name in "ABCD")
PROMOTED = "limited is already promoted ({runs} run(s) of its own since 2026-06-11)"
NEEDS = "a promotion needs 7 days and 7 run days of it"


def at(day: float, hours: float = 0) -> datetime:
    return T0 + timedelta(days=day, hours=hours)


@pytest.fixture(scope="module")
def history(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    with scratch_database(pg_server_url, "image_gate", template=migrated_template) as url:
        with psycopg.connect(url) as conn:
            seed_symbols(conn, CANARY)
            seed_symbols(conn, ["NVDA"], "limited")
            seed_symbols(conn, ["TSLA"], "prod")
            for k in range(27):
                for sym in CANARY:
                    add_run(conn, Run(f"c{k}", sym, "1D", at(k), divergences=(0.05,), image_ref=str(A if k < 10 else B)))
                if k >= 10:
                    add_run(conn, Run(f"l{k}", "NVDA", "1D", at(k), divergences=(0.05,), phase="limited",
                                      baseline_test_rmse=None, image_ref=str(C if k == 10 else A)))
            add_run(conn, Run("p20", "TSLA", "1D", at(20, hours=2), divergences=(0.05,), phase="prod", image_ref=str(C)))
            add_failure(conn, "c18", "AAPL", "1D", "ValueError: boom", at(18) + SECOND)
        yield url


@pytest.mark.parametrize(("image", "runs"), [(A, 9), (C, 1)])
def test_an_image_the_stack_ran_deploys_ungated_even_one_the_previous_phase_never_ran(
        history: str, image: ImageRef, runs: int) -> None:
    # Day 19: canary's review says ROLLBACK, and canary never ran C: a rollback is never blocked.
    gate = decide(history, "limited", T, image, now=at(19.5))
    assert gate == Gate("limited", GateDecision.DEPLOY, "promoted",
                        f"{PROMOTED.format(runs=10)} and has run {image} before ({runs} run(s)): a redeploy, batch "
                        "step or rollback is not gated")
    assert gate.exit_code == 0


def test_a_new_image_the_previous_phase_ran_for_the_minimum_deploys_as_an_image_promotion(history: str) -> None:
    gate = decide(history, "limited", T, B, now=at(17))  # canary's first run of B: day 10, 21:30
    assert (gate.stack, gate.decision, gate.kind, gate.exit_code) == ("limited", GateDecision.DEPLOY,
                                                                      "image-promotion", 0)
    assert gate.reason == (f"image promotion of limited: canary ran {B} for 7.0 days (8 runs on 8 days since "
                           "2026-06-11 21:30Z) and its 7-day review says PROCEED")
    assert gate.review is not None and (gate.review.phase, gate.review.days, gate.review.decision) == (
        "canary", 7, Decision.PROCEED)
    assert gate.review_data is not None and (gate.review_data.phase, gate.review_data.until) == ("canary", at(17))


@pytest.mark.parametrize(("now", "ran"), [
    (at(17) - SECOND, "6.9 days (7 runs on 7 days"),  # one second short of the minimum
    (at(13) + timedelta(hours=1), "3.0 days (4 runs on 4 days"),
])
def test_a_new_image_the_previous_phase_ran_too_briefly_is_refused_with_its_figures(
        history: str, now: datetime, ran: str) -> None:
    assert decide(history, "limited", T, B, now=now) == Gate(
        "limited", GateDecision.REFUSE, "image-promotion",
        f"image promotion of limited refused: canary ran {B} for {ran} since 2026-06-11 21:30Z): {NEEDS}")


def test_a_new_image_the_previous_phase_never_ran_is_refused(history: str) -> None:
    assert decide(history, "limited", T, D, now=at(17)) == Gate(
        "limited", GateDecision.REFUSE, "image-promotion",
        f"image promotion of limited refused: canary has never run {D} (a run of an unknown image counts for none): "
        f"{NEEDS}")


def test_a_new_image_is_refused_while_the_previous_phases_review_says_rollback(history: str) -> None:
    gate = decide(history, "limited", T, B, now=at(19.5))  # 9.5 days of B, but the failure on day 18
    assert (gate.decision, gate.kind, gate.exit_code) == (GateDecision.REFUSE, "image-promotion", 3)
    assert gate.reason.startswith("image promotion of limited refused: the canary review over 7 days says ROLLBACK "
                                  "([ROLLBACK] uncaught_errors: "), gate.reason
    assert gate.review is not None and gate.review.decision is Decision.ROLLBACK
    assert gate.review_data is not None and (gate.review_data.phase, gate.review_data.until) == ("canary", at(19.5))


@pytest.mark.parametrize(("image", "now", "ran"), [
    (D, at(19.5), f"canary has never run {D} (a run of an unknown image counts for none)"),
    (B, at(12.5), f"canary ran {B} for 2.5 days (3 runs on 3 days since 2026-06-11 21:30Z)"),
])
def test_a_hotfix_deploys_a_new_image_unproved_with_its_reason(history: str, image: ImageRef, now: datetime,
                                                               ran: str) -> None:
    gate = decide(history, "limited", T, image, now=now, hotfix="CVE-2026-0001:\n  openssl")
    assert gate == Gate("limited", GateDecision.DEPLOY, "hotfix",
                        f"hotfix of limited: limited has never run {image} and {ran}; deployed without canary's "
                        "proof because: CVE-2026-0001: openssl")
    assert gate.exit_code == 0


def test_a_hotfix_overrides_nothing_else(history: str) -> None:
    # An image the stack ran needs no override; canary is never gated.
    ran = decide(history, "limited", T, A, now=at(19.5), hotfix="CVE-2026-0001")
    assert (ran.decision, ran.kind) == (GateDecision.DEPLOY, "promoted")
    assert decide(history, "canary", T, D, now=at(19.5), hotfix="CVE-2026-0001") == decide(
        history, "canary", T, D, now=at(19.5))
    # A phase's first deploy is gated all the same: prod has no runs, limited not its 7 run days of A.
    gate = decide(history, "prod", T, A, now=at(19.5), hotfix="CVE-2026-0001")
    assert (gate.decision, gate.kind) == (GateDecision.REFUSE, "promotion")
    assert gate.reason == decide(history, "prod", T, A, now=at(19.5)).reason + (
        " (--hotfix applies only to a stack that already runs)")


@pytest.mark.parametrize("reason", ["", "  \n"])
def test_a_blank_hotfix_reason_is_invalid(reason: str) -> None:
    with pytest.raises(ValueError, match=r"^hotfix reason '.*' is invalid: expected why an image the previous phase "
                                         r"has not proved must deploy now, e\.g\. the CVE it fixes$"):
        decide("postgresql://unused", "limited", T, A, hotfix=reason)


def test_canary_deploys_a_new_image_ungated(history: str) -> None:
    assert decide(history, "canary", T, D, now=at(19.5)) == Gate(
        "canary", GateDecision.DEPLOY, "first-phase", "canary is the first phase: nothing to prove before it")


def test_an_image_promotion_reviews_the_previous_phase_with_the_baseline_requirement_given(history: str) -> None:
    # Prod runs C; limited ran A for 16 days, without paired baselines (canary's failure on day 18
    # is out of the 7 days reviewed: limited's review covers the canary symbols' rows too).
    strict = decide(history, "prod", T, A, now=at(27))
    assert (strict.stack, strict.decision, strict.kind) == ("prod", GateDecision.REFUSE, "image-promotion")
    assert strict.reason == ("image promotion of prod refused: the limited review over 7 days says MONITOR ([MONITOR] "
                             "rmse_vs_baseline: NVDA 1D has no paired baseline windows: RMSE against baseline unknown)")
    relaxed = decide(history, "prod", T, A, now=at(27), require_baseline=False)
    assert (relaxed.stack, relaxed.decision, relaxed.kind) == ("prod", GateDecision.DEPLOY, "image-promotion")
    assert relaxed.reason == (f"image promotion of prod: limited ran {A} for 16.0 days (16 runs on 16 days since "
                              "2026-06-12 21:30Z) and its 7-day review says PROCEED")
