"""The promotion gate's every answer, read back whole: decision, kind, the reason's exact words, the review behind it.

One committed history, read "as of" chosen times: canary daily from Monday T0 (days 0-9, with
paired baselines), limited on the weekdays of two weeks from Monday day 21 (days 21-25, 28-32,
without baselines), both running image A. What the gate says is what the deploy workflow prints
and the runbook quotes, so each line is pinned. The histories after it switch canary between
images A and B, to pin the image rule at its boundaries: a promotion deploys the image its stack
pins, and the previous phase must have run that image for its minimum days and run days.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from jobs.contract.images import ImageRef, parse_image_ref
from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import Decision
from jobs.rollout.gate import Gate, GateDecision, PhaseRuns, decide, phase_runs
from tests.support.filter_rows import Rows
from tests.support.fixtures import scratch_database
from tests.support.rollout_rows import CANARY, Run, add_run, add_run_image, image_ref, seed_symbols

T = Thresholds()
T0 = datetime(2026, 6, 1, 21, 30, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)
LIMITED_DAYS = (21, 22, 23, 24, 25, 28, 29, 30, 31, 32)
A, B = parse_image_ref("A", image_ref("a")), parse_image_ref("B", image_ref("b"))


@pytest.fixture(scope="module")
def history(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    with scratch_database(pg_server_url, "gate", template=migrated_template) as url:
        with psycopg.connect(url) as conn:
            seed_symbols(conn, CANARY)
            for sym in CANARY:
                for k in range(10):
                    add_run(conn, Run(f"c{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,),
                                      image_ref=str(A)))
                for k in LIMITED_DAYS:
                    add_run(conn, Run(f"l{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,), phase="limited",
                                      baseline_test_rmse=None, image_ref=str(A)))
        yield url


def test_the_first_phase_deploys_without_a_gate(history: str) -> None:
    assert decide(history, "canary", T, None, now=T0) == Gate(
        "canary", GateDecision.DEPLOY, "first-phase", "canary is the first phase: nothing to prove before it")


def test_a_promotion_before_the_previous_phase_ran_is_refused(history: str) -> None:
    gate = decide(history, "limited", T, A, now=T0 - SECOND)
    assert gate == Gate("limited", GateDecision.REFUSE, "promotion",
                        "promotion of limited refused: canary has no runs yet (it needs 7 days)")
    assert gate.exit_code == 3


def test_one_second_short_of_the_minimum_is_refused_naming_when_it_may_be_promoted(history: str) -> None:
    assert decide(history, "limited", T, A, now=T0 + timedelta(days=7) - SECOND) == Gate(
        "limited", GateDecision.REFUSE, "promotion",
        "promotion of limited refused: canary has run 7.0 of its minimum 7 days "
        "(first run 2026-06-01 21:30Z; not before 2026-06-08 21:30Z)")


def test_exactly_the_minimum_promotes_on_the_review_over_those_days(history: str) -> None:
    at = T0 + timedelta(days=7)
    gate = decide(history, "limited", T, A, now=at)
    assert (gate.stack, gate.decision, gate.kind, gate.exit_code) == ("limited", GateDecision.DEPLOY, "promotion", 0)
    assert gate.reason == (f"promotion of limited: canary ran {A} for 7.0 days (8 runs on 8 days since 2026-06-01 "
                           "21:30Z) and its 7-day review says PROCEED")
    assert gate.review is not None and (gate.review.phase, gate.review.days, gate.review.decision) == (
        "canary", 7, Decision.PROCEED)
    assert gate.review_data is not None and (gate.review_data.phase, gate.review_data.until) == ("canary", at)
    assert gate.review_data.run_days == 8


def test_a_promoted_phase_deploys_an_image_it_ran_ungated_whatever_its_predecessor_says(history: str) -> None:
    assert decide(history, "limited", T, A, now=T0 + timedelta(days=25)) == Gate(  # days 21-25: 5 runs
        "limited", GateDecision.DEPLOY, "promoted",
        f"limited is already promoted (5 run(s) of its own since 2026-06-22) and has run {A} before (5 run(s)): "
        "a redeploy, batch step or rollback is not gated")
    gate = decide(history, "limited", T, None)  # now: the history is months old, limited is still promoted
    assert gate == Gate("limited", GateDecision.DEPLOY, "promoted",
                        "limited is already promoted (10 run(s) of its own since 2026-06-22) and pins no image: "
                        "a redeploy, batch step or rollback is not gated")
    # An image it never ran is an image promotion: canary never ran B either.
    gate = decide(history, "limited", T, B, now=T0 + timedelta(days=25))
    assert (gate.decision, gate.kind) == (GateDecision.REFUSE, "image-promotion")
    assert gate.reason == (f"image promotion of limited refused: canary has never run {B} (a run of an unknown image "
                           "counts for none): a promotion needs 7 days and 7 run days of it")


def test_a_review_that_does_not_proceed_refuses_the_promotion_with_its_first_reason(history: str) -> None:
    at = T0 + timedelta(days=32, hours=1)
    gate = decide(history, "prod", T, A, now=at)
    assert (gate.stack, gate.decision, gate.kind) == ("prod", GateDecision.REFUSE, "promotion")
    assert gate.reason == ("promotion of prod refused: the limited review over 7 days says MONITOR ([MONITOR] "
                           "rmse_vs_baseline: AAPL 1D has no paired baseline windows: RMSE against baseline unknown)")
    assert gate.review is not None and gate.review.decision is Decision.MONITOR
    assert gate.review_data is not None and (gate.review_data.phase, gate.review_data.until) == ("limited", at)
    # The same history without the baseline requirement promotes.
    relaxed = decide(history, "prod", T, A, now=at, require_baseline=False)
    assert relaxed.decision is GateDecision.DEPLOY and relaxed.reason.endswith("its 7-day review says PROCEED")
    assert f"limited ran {A} for 11.0 days (10 runs on 10 days since 2026-06-22 21:30Z)" in relaxed.reason


def test_seven_days_on_six_run_days_is_refused_on_the_reviews_duration(history: str) -> None:
    at = T0 + timedelta(days=28, hours=1)  # 7 days and an hour after limited's first run, a weekend between
    gate = decide(history, "prod", T, A, now=at, require_baseline=False)
    assert (gate.stack, gate.decision, gate.kind) == ("prod", GateDecision.REFUSE, "promotion")
    assert gate.reason == ("promotion of prod refused: the limited review over 7 days says MONITOR ([MONITOR] "
                           "duration: limited has run on 6 of its minimum 7 days)")
    assert gate.review_data is not None and gate.review_data.run_days == 6


def test_a_stack_that_is_not_a_phase_is_refused() -> None:
    with pytest.raises(ValueError, match="^stack 'local' is invalid: expected one of canary, limited, prod$"):
        decide("postgresql://unused", "local", T, A)


def test_a_phases_own_runs_up_to_a_time(history: str) -> None:
    runs = phase_runs(history, "limited", T0 + timedelta(days=22, hours=1))
    assert runs == PhaseRuns("limited", 2, 2, T0 + timedelta(days=21), T0 + timedelta(days=22))
    assert runs.days_running(T0 + timedelta(days=28)) == 7.0
    assert PhaseRuns("prod", 0, 0, None, None).days_running(T0) == 0.0
    assert phase_runs(history, "prod", T0 + timedelta(days=40)) == PhaseRuns("prod", 0, 0, None, None)
    # Only one image's runs: limited's are all A's, none is B's.
    assert phase_runs(history, "limited", T0 + timedelta(days=22, hours=1), A) == PhaseRuns(
        "limited", 2, 2, T0 + timedelta(days=21), T0 + timedelta(days=22), A)
    assert phase_runs(history, "limited", T0 + timedelta(days=40), B) == PhaseRuns("limited", 0, 0, None, None, B)


def test_a_systemic_data_outage_in_the_previous_phase_refuses_the_promotion(pg_server_url: str,
                                                                            migrated_template: str) -> None:
    # Eight canary symbols run for eight days; the last run refused three symbols' input as data
    # incidents: 3 of 8 (37.5%) is above the systemic share (25%) and at the minimum count (3).
    symbols = ("AAPL", "MSFT", "SPY", "QQQ", "IWM", "DIA", "GLD", "TLT")
    with scratch_database(pg_server_url, "gate_outage", template=migrated_template) as url:
        with psycopg.connect(url) as conn:
            seed_symbols(conn, symbols)
            for k in range(8):
                for sym in symbols if k < 7 else symbols[:5]:
                    add_run(conn, Run(f"c{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,)))
            for sym in symbols[5:]:
                Rows(conn).failure("c7", sym, "1D", T0 + timedelta(days=7), failure_class="data", cause="stale")
        gate = decide(url, "limited", T, A, now=T0 + timedelta(days=7, hours=1))
    assert (gate.decision, gate.kind) == (GateDecision.REFUSE, "promotion")
    assert gate.reason == ("promotion of limited refused: the canary review over 7 days says ROLLBACK ([ROLLBACK] "
                           "data_incidents: run c7: 3 of 8 symbols (37.5%) refused as data incidents, more than 25.0%: "
                           "a systemic data outage (DIA, GLD, TLT))")


def test_a_promotion_of_an_image_the_previous_phase_never_ran_is_refused_naming_it(history: str) -> None:
    gate = decide(history, "limited", T, B, now=T0 + timedelta(days=9, hours=1))  # canary ran A, clean, 10 days
    assert (gate.decision, gate.kind, gate.exit_code) == (GateDecision.REFUSE, "promotion", 3)
    assert gate.reason == (f"promotion of limited refused: canary has never run {B} (a run of an unknown image "
                           "counts for none): a promotion needs 7 days and 7 run days of it")
    assert gate.review is not None and gate.review.decision is Decision.PROCEED  # the phase itself was fine


def test_a_promotion_of_a_stack_that_pins_no_image_is_refused(history: str) -> None:
    assert decide(history, "limited", T, None, now=T0 + timedelta(days=9, hours=1)) == Gate(
        "limited", GateDecision.REFUSE, "promotion",
        "promotion of limited refused: Pulumi.limited.yaml pins no image (imageRef is empty); pin the one canary "
        "ran: python -m jobs.promote --from canary --to limited")


def image_history(pg_server_url: str, template: str, runs: Mapping[float, ImageRef | None]) -> Iterator[str]:
    """Canary on ``runs`` (days after T0 -> the image it ran; None: recorded as unknown), healthy, committed."""
    with scratch_database(pg_server_url, "gate_images", template=template) as url:
        with psycopg.connect(url) as conn:
            seed_symbols(conn, CANARY)
            for k, image in runs.items():
                for sym in CANARY:
                    add_run(conn, Run(f"c{k:g}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,)))
                add_run_image(conn, f"c{k:g}", T0 + timedelta(days=k), None if image is None else str(image))
        yield url


@pytest.fixture()
def switched(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    """Canary ran B for its first week (days 0-6), then A (days 7-9)."""
    yield from image_history(pg_server_url, migrated_template, {**{k: B for k in range(7)}, 7: A, 8: A, 9: A})


def test_an_image_run_for_3_of_the_7_days_is_refused_with_its_figures(switched: str) -> None:
    at = T0 + timedelta(days=10)  # canary ran 10 days, 7 of its last 7 days: its review says PROCEED
    gate = decide(switched, "limited", T, A, now=at)
    assert gate.review is not None and gate.review.decision is Decision.PROCEED
    assert (gate.stack, gate.decision, gate.kind) == ("limited", GateDecision.REFUSE, "promotion")
    assert gate.reason == (f"promotion of limited refused: canary ran {A} for 3.0 days (3 runs on 3 days since "
                           "2026-06-08 21:30Z): a promotion needs 7 days and 7 run days of it")
    # The image it ran for its first week would pass: the gate judges the image the stack pins.
    assert decide(switched, "limited", T, B, now=at).decision is GateDecision.DEPLOY


@pytest.fixture()
def contiguous(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    """B on days 0-2; A first at 23:00 on day 3 (1.5 h after the schedule), then daily from day 4 to 10."""
    yield from image_history(pg_server_url, migrated_template,
                             {0: B, 1: B, 2: B, 3 + 1.5 / 24: A, **{k: A for k in range(4, 11)}})


@pytest.mark.parametrize(("seconds", "decision"), [(-1, GateDecision.REFUSE), (0, GateDecision.DEPLOY)])
def test_the_image_needs_the_minimum_days_from_its_own_first_run(contiguous: str, seconds: int,
                                                                 decision: GateDecision) -> None:
    # Its 7th run day (day 9) came a day before its 7th day: only the days since its first run decide here.
    at = T0 + timedelta(days=10, hours=1.5, seconds=seconds)
    gate = decide(contiguous, "limited", T, A, now=at)
    assert gate.decision is decision, gate.reason
    days = "6.9" if seconds < 0 else "7.0"
    ran = f"canary ran {A} for {days} days (8 runs on 8 days since 2026-06-04 23:00Z)"
    assert gate.reason == (f"promotion of limited refused: {ran}: a promotion needs 7 days and 7 run days of it"
                           if seconds < 0 else f"promotion of limited: {ran} and its 7-day review says PROCEED")


@pytest.fixture()
def gaps(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    """B on days 0-2, 7 and 9; A first at 23:00 on day 3, then on days 4-6, 8, 10 and 11."""
    runs: dict[float, ImageRef | None] = {0: B, 1: B, 2: B, 3 + 1.5 / 24: A, 4: A, 5: A, 6: A, 7: B, 8: A, 9: B,
                                          10: A, 11: A}
    yield from image_history(pg_server_url, migrated_template, runs)


@pytest.mark.parametrize(("day", "run_days", "decision"), [(10, 6, GateDecision.REFUSE), (11, 7, GateDecision.DEPLOY)])
def test_the_image_needs_as_many_run_days_as_the_minimum(gaps: str, day: int, run_days: int,
                                                         decision: GateDecision) -> None:
    # Day 10: 7.0 days since A's first run, and canary ran every day of them (B on days 7 and 9), so
    # its review says PROCEED; A itself ran on 6.
    at = T0 + timedelta(days=day, hours=1.5)
    gate = decide(gaps, "limited", T, A, now=at)
    assert gate.review is not None and gate.review.decision is Decision.PROCEED
    assert gate.decision is decision, gate.reason
    ran = f"canary ran {A} for {day - 3}.0 days ({run_days} runs on {run_days} days since 2026-06-04 23:00Z)"
    assert gate.reason == (f"promotion of limited refused: {ran}: a promotion needs 7 days and 7 run days of it"
                           if decision is GateDecision.REFUSE
                           else f"promotion of limited: {ran} and its 7-day review says PROCEED")


def test_runs_of_an_unknown_image_count_for_none(pg_server_url: str, migrated_template: str) -> None:
    # Ten clean days recorded as unknown (NULL: a local run, an image older than IMAGE_REF), then
    # ten with no image recorded at all (rows from before forecast_runs): none of them is A's.
    runs: dict[float, ImageRef | None] = {k: None for k in range(10)}
    for url in image_history(pg_server_url, migrated_template, runs):
        with psycopg.connect(url) as conn:
            for k in range(10, 20):
                for sym in CANARY:
                    add_run(conn, Run(f"c{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,)))
        gate = decide(url, "limited", T, A, now=T0 + timedelta(days=19, hours=1))
        assert gate.review is not None and gate.review.decision is Decision.PROCEED
        assert (gate.decision, gate.reason) == (GateDecision.REFUSE, (
            f"promotion of limited refused: canary has never run {A} (a run of an unknown image counts for none): "
            "a promotion needs 7 days and 7 run days of it"))
        assert phase_runs(url, "canary", T0 + timedelta(days=19, hours=1)).runs == 20
