"""Every trigger at its boundary through the SQL the review reads, the review's outcome and the promotion gate.

Generated from ``jobs.contract.triggers.TRIGGERS`` (as tests/unit/test_trigger_boundaries.py is
for the figures alone): for each trigger a probe writes real rows whose figure, as the review's
queries compute it on PostgreSQL, sits just below, at or just above the trigger's threshold;
the review must fire the trigger exactly on the side its words name, and nothing else. Each
case's rows are rolled back. Minimum durations and the gate run on committed histories of
canary and limited runs (daily, and on weekdays as the stacks run), read "as of" chosen times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from jobs.contract.images import parse_image_ref
from jobs.contract.phases import MINIMUM_DAYS
from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import TRIGGERS, Trigger
from jobs.rollout.checks import Decision, Review, SymbolShare, evaluate
from jobs.rollout.daily import DAILY_PHASE, SHARE_TRIGGER, daily_params, divergence_trigger, judge_share
from jobs.rollout.data import load_review_data, read_review_data
from jobs.rollout.gate import GateDecision, decide
from jobs.storage.db import connect, load_sql, migrate
from tests.support.boundaries import COUNT_STEP, Rule, marks, reached, threshold_rule
from tests.support.filter_rows import Rows
from tests.support.fixtures import scratch_database
from tests.support.rollout_rows import CANARY, Run, add_failure, add_run, image_ref, seed_symbols

T = Thresholds()
# The probes' day, far from the gate history below; phase "local" (no minimum duration) keeps
# their rows out of every canary and limited query.
AT = datetime(2027, 3, 3, 12, tzinfo=timezone.utc)
PARAMS = {"phases": ["local"], "since": AT - timedelta(hours=12), "until": AT + timedelta(hours=12)}
ANY = Rule(">", 0, COUNT_STEP)
# Symbols of one run for the shares of symbols (a share steps by one symbol of them).
FLEET = 20


def run(r: Rows, symbol: str, *, divergences: Sequence[float] = (0.05,), overfitting: int = 0, test: float = 0.01,
        base: float | None = 0.0105, coverage: float | None = 0.9, errors: int = 0, price_error: float = 0.0,
        at: datetime = AT) -> None:
    """A local symbol's run: its windows (the first ``overfitting`` flagged), their baseline pairs, its forecast."""
    r.symbol(symbol, "local")
    for i, div in enumerate(divergences):
        r.window("b1", symbol, "1D", "local", at, window_id=i, divergence=div, overfitting=i < overfitting,
                 test_rmse=test, model_errors=errors if i == 0 else 0, coverage=coverage)
        if base is not None:
            r.window("b1", symbol, "1D", "local", at, window_id=i, test_rmse=base, baseline=True, coverage=coverage)
    r.forecast("b1", symbol, "1D", "local", at, price_error=price_error)


def alert(r: Rows, symbol: str, divergence: float, at: datetime) -> None:
    """One critical alert of ``symbol`` (its worst window at ``divergence``), its average and share healthy."""
    run(r, symbol, divergences=(divergence, *[-divergence / 10] * 10), overfitting=1, at=at)


def healthy(r: Rows) -> None:
    run(r, "BH")


def times(one: Callable[[Rows, int], None], base: Callable[[Rows], None] | None = healthy
          ) -> Callable[[Rows, float], None]:
    """Rows for ``n`` occurrences: ``one(rows, i)`` for each, beside ``base`` (the healthy symbol BH)."""
    def seed(r: Rows, n: float) -> None:
        if base is not None:
            base(r)
        for i in range(int(n)):
            one(r, i)
    return seed


def failed(r: Rows, i: int) -> None:
    r.symbol(f"F{i}", "local")
    r.failure("b1", f"F{i}", "1D", AT)


def refused(r: Rows, share: float) -> None:
    """One run of ``FLEET`` local symbols that refused ``share`` of them as data incidents (a stale feed)."""
    n = round(share * FLEET)
    for i in range(FLEET):
        if i < n:
            r.symbol(f"S{i}", "local")
            r.failure("b1", f"S{i}", "1D", AT, failure_class="data", cause="stale")
        else:
            run(r, f"S{i}")


def below_warning(r: Rows, share: float) -> None:
    """``FLEET`` symbols of which ``share`` average below the warning divergence (the others just above it)."""
    passing = round(share * FLEET)
    for i in range(FLEET):
        run(r, f"S{i}", divergences=(0.05 if i < passing else T.divergence_warning + 0.01,))


def forecast_only(r: Rows, i: int) -> None:
    r.symbol(f"L{i}", "local")
    r.forecast("b1", f"L{i}", "1D", "local", AT)


@dataclass(frozen=True)
class SqlProbe:
    """Rows that put one trigger's figure at a value; ``rule`` for a trigger without a threshold."""

    seed: Callable[[Rows, float], None]
    rule: Rule | None = None
    step: float | None = None  # the finest the rows can express, when coarser than the rule's
    # The phase whose review judges the rows (they stay local): a trigger of one phase's criteria.
    phase: str = "local"


PROBES: dict[str, SqlProbe] = {
    "no-runs": SqlProbe(lambda r, n: run(r, "BH", divergences=(0.05,) * int(n)) if n else None,
                        Rule("<", 1, COUNT_STEP)),
    "divergence-high": SqlProbe(lambda r, v: run(r, "BH", divergences=(v,))),
    "divergence-rollback": SqlProbe(lambda r, v: run(r, "BH", divergences=(v,))),
    "divergence-symbol-share": SqlProbe(below_warning, Rule("<", T.limited_symbol_share, 1 / FLEET), phase="limited"),
    "divergence-warning": SqlProbe(lambda r, v: run(r, "BH", divergences=(v,)), phase="prod"),
    # RMSEs whose ratio minus one is not exact in floating point: 0.0315 / 0.03 - 1 > 0.05 unrounded.
    "rmse-escalation": SqlProbe(lambda r, v: run(r, "BH", test=0.03 * (1 + v), base=0.03)),
    "rmse-rollback": SqlProbe(lambda r, v: run(r, "BH", test=0.03 * (1 + v), base=0.03)),
    "rmse-no-baseline": SqlProbe(times(lambda r, i: run(r, f"NB{i}", base=None)), ANY),
    "overfitting-share": SqlProbe(lambda r, v: run(r, "BH", divergences=(0.05,) * 100, overfitting=round(v * 100)),
                                  step=0.01),
    "model-errors": SqlProbe(lambda r, n: run(r, "BH", errors=int(n)), ANY),
    "uncaught-errors": SqlProbe(times(failed), ANY),
    "data-incidents-systemic": SqlProbe(refused, Rule(">", T.data_incident_share, 1 / FLEET)),
    "missing-forecasts": SqlProbe(times(lambda r, i: r.symbol(f"M{i}", "local")), ANY),
    "inconsistent-forecasts": SqlProbe(times(lambda r, i: run(r, f"I{i}", price_error=0.01)), ANY),
    "logging-gaps": SqlProbe(times(forecast_only), ANY),
    "coverage-low": SqlProbe(lambda r, v: run(r, "BH", coverage=v)),
    "coverage-high": SqlProbe(lambda r, v: run(r, "BH", coverage=v)),
    # BH recorded no coverage; n other symbols did.
    "coverage-unknown": SqlProbe(times(lambda r, i: run(r, f"C{i}"), lambda r: run(r, "BH", coverage=None)),
                                 Rule("<", 1, COUNT_STEP)),
    "coverage-missing": SqlProbe(times(lambda r, i: run(r, f"C{i}", coverage=None)), ANY, phase="limited"),
    "alert-storm": SqlProbe(times(lambda r, i: alert(r, f"A{i}", 0.5, AT + timedelta(minutes=i)), None)),
}
# Measured over the phase's whole history, not a review window: the gate history below.
ELSEWHERE = {"phase-too-young": "test_the_review_needs_the_minimum_run_days"}


def rule_of(trigger: Trigger) -> Rule:
    probe = PROBES[trigger.name]
    rule = probe.rule or threshold_rule(trigger, T)
    return replace(rule, step=probe.step) if probe.step else rule


CASES = [(t, point, value) for t in TRIGGERS if t.name in PROBES
         for point, value in rule_of(t).points().items() if value >= 0]


def read(url: str, seed: Callable[[Rows], None], t: Thresholds = T, phase: str = "local") -> Review:
    """The review over PARAMS of the local rows ``seed`` writes (rolled back afterwards), judged as ``phase``.

    Judged as another phase, the rows are not that phase's own: its minimum duration is not measured.
    """
    with connect(url) as conn, conn.transaction(force_rollback=True):
        seed(Rows(conn))
        data = read_review_data(conn, "local", PARAMS, t)
    run_days = data.run_days if phase == "local" else None
    return evaluate(phase, 1, data.stats, data.incidents, t, run_days=run_days, runs=data.run_shares)


def status_of(review: Review, check: str) -> Decision:
    return {c.name: c.status for c in review.checks}.get(check, Decision.PROCEED)


def test_every_trigger_has_an_sql_boundary_probe() -> None:
    assert set(PROBES) | set(ELSEWHERE) == {t.name for t in TRIGGERS}, "add a probe to PROBES for the new trigger"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].name}-{c[1]}")
def test_review_queries_fire_each_trigger_exactly_past_its_boundary(
        boundary_db: str, case: tuple[Trigger, str, float]) -> None:
    trigger, point, value = case
    probe = PROBES[trigger.name]
    review = read(boundary_db, lambda r: probe.seed(r, value), phase=probe.phase)
    status = status_of(review, trigger.check)
    assert reached(status, trigger.verdict) is rule_of(trigger).fires(value), f"{trigger.name} {point} ({value!r}): {review.reasons}"
    assert review.decision is status, f"{trigger.name} {point}: something else fired: {review.reasons}"


@pytest.mark.parametrize(("point", "storm"), [(-1e-12, False), (0.0, False), (1e-12, True)])
def test_a_critical_alert_is_a_window_above_the_critical_divergence(boundary_db: str, point: float,
                                                                    storm: bool) -> None:
    def seed(r: Rows) -> None:
        for i in range(T.alert_storm_count):
            alert(r, f"A{i}", 0.5, AT + timedelta(minutes=i))
        alert(r, "EDGE", T.divergence_critical + point, AT + timedelta(minutes=10))
    assert (status_of(read(boundary_db, seed), "alert_storms") is Decision.ROLLBACK) is storm


@pytest.mark.parametrize("period", [1_800, 3_600])
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_storm_counts_the_alerts_within_the_configured_period(boundary_db: str, period: int, offset: int) -> None:
    """Six alerts spanning the storm period +-1 s: a storm up to and at the period (inclusive), not past it."""
    t = Thresholds(alert_storm_period_seconds=period)

    def seed(r: Rows) -> None:
        span = period + offset
        for i in range(t.alert_storm_count + 1):
            alert(r, f"A{i}", 0.5, AT + timedelta(seconds=span * i / t.alert_storm_count))
    review = read(boundary_db, seed, t)
    assert (status_of(review, "alert_storms") is Decision.ROLLBACK) is (offset <= 0), review.reasons


DAILY_CHECKS = ("divergence", "overfitting")  # the checks the daily checks mark their rows with


def daily_row(url: str, trigger: Trigger, value: float) -> dict[str, Any]:
    """The daily checks' divergence summary row of a symbol whose figure is ``value`` an hour ago."""
    at = datetime.now(timezone.utc) - timedelta(hours=1)
    windows = (0.05,) * 100 if trigger.check == "overfitting" else (value,)
    flagged = round(value * 100) if trigger.check == "overfitting" else 0
    with connect(url) as conn, conn.transaction(force_rollback=True):
        run(Rows(conn), "DAILY", divergences=windows, overfitting=flagged, at=at)
        (row,) = conn.execute(load_sql("canary_divergence_summary"),
                              {"symbols": ["DAILY"], "window": timedelta(hours=24)}).fetchall()
    return row


@pytest.mark.parametrize("case", [c for c in CASES if c[0].check in DAILY_CHECKS and DAILY_PHASE in c[0].phases],
                         ids=lambda c: f"{c[0].name}-{c[1]}")
def test_daily_checks_mark_each_trigger_exactly_past_its_boundary(boundary_db: str,
                                                                 case: tuple[Trigger, str, float]) -> None:
    trigger, point, value = case
    marked = divergence_trigger(daily_row(boundary_db, trigger, value), T)
    assert marks(marked, trigger) is rule_of(trigger).fires(value), f"{trigger.name} {point} ({value!r}): {marked}"


def daily_share(url: str, share: float, more: Callable[[Rows, datetime], None] | None = None) -> SymbolShare:
    """The daily checks' judgement of limited's share over ``FLEET`` limited symbols, ``share`` of them below
    the warning divergence (the others exactly at it) an hour ago, beside rows that must not count."""
    at = datetime.now(timezone.utc) - timedelta(hours=1)
    passing = round(share * FLEET)
    fleet = [f"S{i}" for i in range(FLEET)]
    with connect(url) as conn, conn.transaction(force_rollback=True):
        r = Rows(conn)
        for i, sym in enumerate(fleet):
            r.window("l1", sym, "1D", "limited", at, divergence=0.05 if i < passing else T.divergence_warning)
        for sym in fleet[:passing]:  # each would fail a passing symbol if it counted
            r.window("p1", sym, "1D", "prod" if sym[-1] in "02468" else "local", at, divergence=0.9)  # another phase
            r.window("l0", sym, "1D", "limited", at - timedelta(hours=24), divergence=0.9)  # an older run
            r.window("l1", sym, "1D", "limited", at, divergence=0.9, baseline=True)  # the paired baseline
        r.window("l1", "OUT", "1D", "limited", at, divergence=0.05)  # a symbol not asked for
        if more:
            more(r, at)
        rows = conn.execute(load_sql("daily_symbol_share"), daily_params(fleet, 24)).fetchall()
    return judge_share(rows, T)


@pytest.mark.parametrize("case", [c for c in CASES if c[0].name == SHARE_TRIGGER], ids=lambda c: f"{c[0].name}-{c[1]}")
def test_daily_checks_judge_limiteds_share_of_symbols_exactly_past_its_boundary(
        boundary_db: str, case: tuple[Trigger, str, float]) -> None:
    trigger, point, value = case
    judged = daily_share(boundary_db, value)
    assert (judged.symbols, judged.share) == (FLEET, pytest.approx(value)), f"{point}: {judged}"
    assert (not judged.met) is rule_of(trigger).fires(value), f"{trigger.name} {point} ({value!r}): {judged}"


def test_daily_checks_count_a_symbol_once_and_judge_it_on_its_worst_horizon(boundary_db: str) -> None:
    at_limit = daily_share(boundary_db, T.limited_symbol_share)
    assert (at_limit.met, at_limit.above) == (True, ("S19",))
    worse = daily_share(boundary_db, T.limited_symbol_share,
                        lambda r, at: r.window("l1", "S0", "4h", "canary", at, divergence=T.divergence_warning))
    assert (worse.symbols, worse.above, worse.met) == (FLEET, ("S0", "S19"), False)
    other = daily_share(boundary_db, T.limited_symbol_share,
                        lambda r, at: r.window("l1", "S0", "4h", "canary", at, divergence=0.05))
    assert (other.symbols, other.above, other.met) == (FLEET, ("S19",), True)


# The gate history: canary from T0 daily, clean for 10 days, then 10 days with MSFT averaging 18%
# divergence (MONITOR), then 10 days with SPY failing (ROLLBACK); limited from day 100 on the
# weekdays of two weeks (no runs on days 105 and 106).
T0 = datetime(2026, 6, 1, 21, 30, tzinfo=timezone.utc)
LIMITED_DAYS = (100, 101, 102, 103, 104, 107, 108, 109)
# Every run of the gate histories ran one image, the one the stacks being promoted pin.
IMAGE = parse_image_ref("IMAGE", image_ref("c"))


def _history(conn: psycopg.Connection[Any]) -> None:
    seed_symbols(conn, CANARY)
    for k in range(30):
        for sym in CANARY:
            if k >= 20 and sym == "SPY":
                add_failure(conn, f"c{k}", sym, "1D", "ValueError: boom", T0 + timedelta(days=k))
                continue
            div = (0.18,) if 10 <= k < 20 and sym == "MSFT" else (0.05,)
            add_run(conn, Run(f"c{k}", sym, "1D", T0 + timedelta(days=k), divergences=div, image_ref=str(IMAGE)))
    for k in LIMITED_DAYS:
        for sym in CANARY:
            add_run(conn, Run(f"l{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,), phase="limited",
                              image_ref=str(IMAGE)))


@pytest.fixture(scope="module")
def boundary_db(pg_server_url: str) -> Iterator[str]:
    """One migrated database holding the gate history (the probes roll their rows back)."""
    with scratch_database(pg_server_url, "bounds") as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            _history(conn)
        yield url


def review_as_of(url: str, phase: str, until: datetime) -> Review:
    """``jobs.rollout.review.review`` of the minimum duration's window, as it would have read at ``until``."""
    days = MINIMUM_DAYS[phase]
    data = load_review_data(url, phase, days, T, until=until)
    return evaluate(phase, days, data.stats, data.incidents, T, run_days=data.run_days)


@pytest.mark.parametrize(("phase", "first_day"), [("canary", 0), ("limited", 100)])
@pytest.mark.parametrize("run_days", [6, 7, 8])
def test_the_review_needs_the_minimum_run_days(boundary_db: str, phase: str, first_day: int, run_days: int) -> None:
    need = MINIMUM_DAYS[phase]
    days = list(range(30)) if phase == "canary" else list(LIMITED_DAYS)
    until = T0 + timedelta(days=days[run_days - 1], hours=1)  # just after the run_days-th run day's run
    review = review_as_of(boundary_db, phase, until)
    assert need == 7 and status_of(review, "duration") is (Decision.MONITOR if run_days < need else Decision.PROCEED)
    assert review.decision is status_of(review, "duration"), review.reasons


@pytest.mark.parametrize(("seconds", "decision"), [(-1, GateDecision.REFUSE), (0, GateDecision.DEPLOY),
                                                   (1, GateDecision.DEPLOY)])
def test_the_gate_waits_the_minimum_days_from_the_first_run(boundary_db: str, seconds: int,
                                                          decision: GateDecision) -> None:
    at = T0 + timedelta(days=MINIMUM_DAYS["canary"], seconds=seconds)
    gate = decide(boundary_db, "limited", T, IMAGE, now=at)
    assert gate.decision is decision, gate.reason
    if decision is GateDecision.REFUSE:
        assert "canary has run 7.0 of its minimum 7 days" in gate.reason and gate.review is None


# As of these times, canary's last 7 days decide each outcome (the history above).
DECISION_AT = {Decision.PROCEED: T0 + timedelta(days=9.5), Decision.MONITOR: T0 + timedelta(days=19.5),
               Decision.ROLLBACK: T0 + timedelta(days=29.5)}


def test_every_decision_has_a_gate_case() -> None:
    assert set(DECISION_AT) == set(Decision)


@pytest.mark.parametrize("decision", list(Decision), ids=lambda d: d.value)
def test_only_a_proceed_review_promotes(boundary_db: str, decision: Decision) -> None:
    at = DECISION_AT[decision]
    gate = decide(boundary_db, "limited", T, IMAGE, now=at)
    assert gate.review is not None and gate.review.decision is decision, gate.reason
    assert review_as_of(boundary_db, "canary", at).decision is decision  # the review command says the same
    assert gate.decision is (GateDecision.DEPLOY if decision is Decision.PROCEED else GateDecision.REFUSE)
    assert gate.exit_code == (0 if decision is Decision.PROCEED else 3)
    if decision is not Decision.PROCEED:
        assert f"the canary review over 7 days says {decision.value}" in gate.reason


# Both phases on weekday schedules, as the stacks run them: canary from Monday W0 = T0 (days 0-4
# and 7-11), limited from day 14 (14-18, 21-25). Once a phase has run 7 calendar days it has run
# on 6 days only: the weekend.
WEEKDAY_RUNS = {"canary": (0, 1, 2, 3, 4, 7, 8, 9, 10, 11), "limited": (14, 15, 16, 17, 18, 21, 22, 23, 24, 25)}


@pytest.fixture(scope="module")
def weekday_db(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    """Canary, then limited, on weekdays (``WEEKDAY_RUNS``), healthy, committed."""
    with scratch_database(pg_server_url, "weekdays", template=migrated_template) as url:
        with psycopg.connect(url) as conn:
            seed_symbols(conn, CANARY)
            for phase, days in WEEKDAY_RUNS.items():
                for k in days:
                    for sym in CANARY:
                        add_run(conn, Run(f"{phase}{k}", sym, "1D", T0 + timedelta(days=k), divergences=(0.05,),
                                          phase=phase, image_ref=str(IMAGE)))
        yield url


@pytest.mark.parametrize(("stack", "prev"), [("limited", "canary"), ("prod", "limited")])
@pytest.mark.parametrize("run_days", [6, 7, 8])
def test_the_gate_needs_the_minimum_run_days_as_the_review_does(weekday_db: str, stack: str, prev: str,
                                                               run_days: int) -> None:
    need, days = MINIMUM_DAYS[prev], WEEKDAY_RUNS[prev]
    at = T0 + timedelta(days=days[run_days - 1], hours=1)  # just after the run_days-th run day's run
    assert need == 7 and at - (T0 + timedelta(days=days[0])) > timedelta(days=need)  # the time minimum holds
    gate = decide(weekday_db, stack, T, IMAGE, now=at)
    review = review_as_of(weekday_db, prev, at)
    assert gate.decision is (GateDecision.DEPLOY if run_days >= need else GateDecision.REFUSE), gate.reason
    assert gate.kind == "promotion" and gate.review is not None and gate.review.decision is review.decision
    if run_days < need:
        assert gate.reason.endswith(f"says MONITOR ([MONITOR] duration: {prev} has run on {run_days} of its "
                                    f"minimum {need} days)"), gate.reason
    else:
        assert f"({run_days} runs on {run_days} days since 2026-" in gate.reason, gate.reason
        assert gate.reason.endswith(f"and its {need}-day review says PROCEED"), gate.reason
