"""The promotion gate's every answer, read back whole: decision, kind, the reason's exact words, the review behind it.

One committed history, read "as of" chosen times: canary daily from Monday T0 (days 0-9, with
paired baselines), limited on the weekdays of two weeks from Monday day 21 (days 21-25, 28-32,
without baselines). What the gate says is what the deploy workflow prints and the runbook
quotes, so each line is pinned.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import Decision
from jobs.rollout.gate import Gate, GateDecision, PhaseRuns, decide, phase_runs
from tests.support.filter_rows import Rows
from tests.support.fixtures import scratch_database
from tests.support.rollout_rows import CANARY, Run, add_run, seed_symbols

T = Thresholds()
T0 = datetime(2026, 6, 1, 21, 30, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)
LIMITED_DAYS = (21, 22, 23, 24, 25, 28, 29, 30, 31, 32)


@pytest.fixture(scope="module")
def history(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    with scratch_database(pg_server_url, "gate", template=migrated_template) as url:
        with psycopg.connect(url) as conn:
            seed_symbols(conn, CANARY)
            for sym in CANARY:
                for k in range(10):
                    add_run(conn, Run(f"c{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,)))
                for k in LIMITED_DAYS:
                    add_run(conn, Run(f"l{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,), phase="limited",
                                      baseline_test_rmse=None))
        yield url


def test_the_first_phase_deploys_without_a_gate(history: str) -> None:
    assert decide(history, "canary", T, now=T0) == Gate(
        "canary", GateDecision.DEPLOY, "first-phase", "canary is the first phase: nothing to prove before it")


def test_a_promotion_before_the_previous_phase_ran_is_refused(history: str) -> None:
    gate = decide(history, "limited", T, now=T0 - SECOND)
    assert gate == Gate("limited", GateDecision.REFUSE, "promotion",
                        "promotion of limited refused: canary has no runs yet (it needs 7 days)")
    assert gate.exit_code == 3


def test_one_second_short_of_the_minimum_is_refused_naming_when_it_may_be_promoted(history: str) -> None:
    assert decide(history, "limited", T, now=T0 + timedelta(days=7) - SECOND) == Gate(
        "limited", GateDecision.REFUSE, "promotion",
        "promotion of limited refused: canary has run 7.0 of its minimum 7 days "
        "(first run 2026-06-01 21:30Z; not before 2026-06-08 21:30Z)")


def test_exactly_the_minimum_promotes_on_the_review_over_those_days(history: str) -> None:
    at = T0 + timedelta(days=7)
    gate = decide(history, "limited", T, now=at)
    assert (gate.stack, gate.decision, gate.kind, gate.exit_code) == ("limited", GateDecision.DEPLOY, "promotion", 0)
    assert gate.reason == ("promotion of limited: canary ran 7.0 days (8 runs on 8 days) and its 7-day review "
                           "says PROCEED")
    assert gate.review is not None and (gate.review.phase, gate.review.days, gate.review.decision) == (
        "canary", 7, Decision.PROCEED)
    assert gate.review_data is not None and (gate.review_data.phase, gate.review_data.until) == ("canary", at)
    assert gate.review_data.run_days == 8


def test_a_promoted_phase_deploys_ungated_whatever_its_predecessor_says(history: str) -> None:
    assert decide(history, "limited", T, now=T0 + timedelta(days=25)) == Gate(  # days 21-25: 5 runs
        "limited", GateDecision.DEPLOY, "promoted",
        "limited is already promoted (5 run(s) of its own since 2026-06-22): a redeploy, batch step or rollback "
        "is not gated")
    gate = decide(history, "limited", T)  # now: the history is months old, limited is still promoted
    assert (gate.kind, gate.decision) == ("promoted", GateDecision.DEPLOY) and "10 run(s) of its own" in gate.reason


def test_a_review_that_does_not_proceed_refuses_the_promotion_with_its_first_reason(history: str) -> None:
    at = T0 + timedelta(days=32, hours=1)
    gate = decide(history, "prod", T, now=at)
    assert (gate.stack, gate.decision, gate.kind) == ("prod", GateDecision.REFUSE, "promotion")
    assert gate.reason == ("promotion of prod refused: the limited review over 7 days says MONITOR ([MONITOR] "
                           "rmse_vs_baseline: AAPL 1D has no paired baseline windows: RMSE against baseline unknown)")
    assert gate.review is not None and gate.review.decision is Decision.MONITOR
    assert gate.review_data is not None and (gate.review_data.phase, gate.review_data.until) == ("limited", at)
    # The same history without the baseline requirement promotes.
    relaxed = decide(history, "prod", T, now=at, require_baseline=False)
    assert relaxed.decision is GateDecision.DEPLOY and relaxed.reason.endswith("its 7-day review says PROCEED")


def test_seven_days_on_six_run_days_is_refused_on_the_reviews_duration(history: str) -> None:
    at = T0 + timedelta(days=28, hours=1)  # 7 days and an hour after limited's first run, a weekend between
    gate = decide(history, "prod", T, now=at, require_baseline=False)
    assert (gate.stack, gate.decision, gate.kind) == ("prod", GateDecision.REFUSE, "promotion")
    assert gate.reason == ("promotion of prod refused: the limited review over 7 days says MONITOR ([MONITOR] "
                           "duration: limited has run on 6 of its minimum 7 days)")
    assert gate.review_data is not None and gate.review_data.run_days == 6


def test_a_stack_that_is_not_a_phase_is_refused() -> None:
    with pytest.raises(ValueError, match="^stack 'local' is invalid: expected one of canary, limited, prod$"):
        decide("postgresql://unused", "local", T)


def test_a_phases_own_runs_up_to_a_time(history: str) -> None:
    runs = phase_runs(history, "limited", T0 + timedelta(days=22, hours=1))
    assert runs == PhaseRuns("limited", 2, 2, T0 + timedelta(days=21), T0 + timedelta(days=22))
    assert runs.days_running(T0 + timedelta(days=28)) == 7.0
    assert PhaseRuns("prod", 0, 0, None, None).days_running(T0) == 0.0
    assert phase_runs(history, "prod", T0 + timedelta(days=40)) == PhaseRuns("prod", 0, 0, None, None)


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
        gate = decide(url, "limited", T, now=T0 + timedelta(days=7, hours=1))
    assert (gate.decision, gate.kind) == (GateDecision.REFUSE, "promotion")
    assert gate.reason == ("promotion of limited refused: the canary review over 7 days says ROLLBACK ([ROLLBACK] "
                           "data_incidents: run c7: 3 of 8 symbols (37.5%) refused as data incidents, more than 25.0%: "
                           "a systemic data outage (DIA, GLD, TLT))")
