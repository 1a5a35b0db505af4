"""The whole rollout as a state machine over a simulated calendar (issue 12).

Each "push" or "dispatch" runs the jobs of ``.github/workflows/deploy.yml`` whose ``if`` holds
(evaluated from the workflow file itself), each job asks the real promotion gate against a real
PostgreSQL holding the rows the stacks' jobs write (seed SQL with controlled run ids and
``created_at``), and a deployed stack is built from its real ``Pulumi.<stack>.yaml`` with the
story's config changes under Pulumi mocks, to read which alarms have their actions on.

Calendar (2026, UTC; schedules run on weekdays): canary from Mon 5 Jan; limited promoted once
canary has run 7 days and on 7 days (a weekend in between: 9 calendar days) and its stack file
pins the image canary ran (``jobs.promote`` copies the pin), canary handed off; prod promoted
after limited's 7 run days of that image, limited handed off; four daily ``enabledBatches``
steps; a bad run forces ROLLBACK; prod's rollback composite alarm fires and its automatic abort
disables prod's schedules (EventBridge in moto, the rules and targets the deployed stack declares,
AWS's sample alarm event, moto's pattern matcher, the runbook's effect); prod rolls back to its
previous config (dispatch), which turns the schedules back on, and regenerates; a later image
copied into limited is refused while canary, handed off, has never run it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
import psycopg
import pytest
import yaml
from moto.cloudwatch.models import cloudwatch_backends

from infra.monitoring.alarms import ROLLBACK_KEYS
from jobs.contract.images import ImageRef, parse_image_ref
from jobs.contract.phases import DEPLOYED_PHASES
from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import Decision, evaluate
from jobs.rollout.data import load_review_data
from jobs.rollout.gate import Gate, GateDecision, decide
from jobs.rollout.stackfile import pinned_image
from tests.support.alarm_events import alarm_state_change, matching_rules, run_runbook
from tests.support.rollout_rows import Run, add_run, image_ref, seed_symbols
from tests.support.stacks import ACCOUNT, REGION, ROOT, StackRun, run_stack

CANARY = ("AAPL", "MSFT", "SPY")
# Horizon -> hour and minute of its weekday schedule in the stack files.
RUN_AT = {"1D": (21, 30), "4h": (14, 5), "8h": (14, 10)}
HEALTHY = (0.05,)  # one window per run keeps 30 simulated days fast
DEPLOY_YML = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())


def day(d: int, hour: int = 10, minute: int = 0) -> datetime:
    """A time on January ``d``, 2026 (the 5th is a Monday)."""
    return datetime(2026, 1, d, hour, minute, tzinfo=timezone.utc)


def job_runs(job: Mapping[str, Any], event: str, stack_input: str, results: Mapping[str, str]) -> bool:
    """Evaluate a deploy.yml job's ``if`` (and its ``needs``) as GitHub Actions would for this story."""
    cond = str(job.get("if", "success()")).strip()
    cond = cond.removeprefix("${{").removesuffix("}}").strip()
    need = job.get("needs")
    if need and cond == "success()":
        return results[need] == "success"
    expr = cond.replace("!cancelled()", "True").replace("&&", " and ").replace("||", " or ")
    expr = expr.replace("github.event_name", repr(event)).replace("inputs.stack", repr(stack_input))
    expr = re.sub(r"needs\.(\w+)\.result", lambda m: repr(results[m.group(1)]), expr)
    if not re.fullmatch(r"[\sA-Za-z'=()_]*", expr.replace("==", "")):
        raise ValueError(f"unexpected workflow expression: {cond}")
    return bool(eval(expr, {"__builtins__": {}}, {}))  # noqa: S307 - the repository's own workflow, checked above


@dataclass
class Rollout:
    """The deploy workflow, the stacks' configs and the database, stepped through the calendar."""

    url: str
    configs: dict[str, dict[str, Any]] = field(default_factory=lambda: {s: {} for s in DEPLOYED_PHASES})
    deployed: dict[str, dict[str, Any]] = field(default_factory=dict)
    _built: dict[tuple[str, str], StackRun] = field(default_factory=dict)

    def workflow(self, now: datetime, event: str = "push", stack: str = "") -> dict[str, Gate | None]:
        """One run of deploy.yml: each stack's gate (None when its job is skipped); DEPLOY builds the stack."""
        results: dict[str, str] = {}
        gates: dict[str, Gate | None] = {}
        for name, job in DEPLOY_YML["jobs"].items():
            if not job_runs(job, event, stack, results):
                results[name], gates[name] = "skipped", None
                continue
            gate = decide(self.url, job["with"]["stack"], Thresholds(), self.image(name), now=now)
            if gate.decision is GateDecision.DEPLOY:
                self.deployed[name] = dict(self.configs[name])
            results[name], gates[name] = "success", gate
        return gates

    def image(self, name: str) -> ImageRef | None:
        """The image the stack's file pins, with the story's changes (a promotion copies a pin)."""
        raw = self.configs[name].get("imageRef")
        return pinned_image(ROOT, name) if raw is None else parse_image_ref("imageRef", raw)

    def promote(self, source: str, target: str) -> None:
        """``python -m jobs.promote --from source --to target``: the target's file pins the source's image."""
        self.configs[target]["imageRef"] = str(self.image(source))

    def stack(self, name: str) -> StackRun:
        """The deployed stack, built from its file plus the config it was last deployed with."""
        overrides = self.deployed[name]
        key = (name, repr(sorted(overrides.items())))
        if key not in self._built:
            self._built[key] = run_stack(name, overrides=overrides)
        return self._built[key]

    def paging(self, name: str) -> tuple[set[str], set[str]]:
        """The deployed stack's alarms that notify someone: (all of them, those with actions on)."""
        run = self.stack(name)
        alarms = [r.inputs for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                  + run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm") if r.inputs.get("alarmActions")]
        names = {a.get("name") or a["alarmName"] for a in alarms}
        return names, {a.get("name") or a["alarmName"] for a in alarms if a["actionsEnabled"]}

    def actions_on(self, name: str) -> bool:
        """True when every notifying alarm of the stack has actions on, False when none has (else fail)."""
        names, on = self.paging(name)
        assert names and on in (names, set()), f"{name}: actions on for only {sorted(on)}"
        rollback = f"ensemble-forecast-{name}-rollback-required"
        assert rollback in names, f"{name}: the rollback composite notifies on-call"
        return on == names

    def run_jobs(self, name: str, d: int, divergences: Sequence[float] = HEALTHY, run_id: str | None = None,
                 hour_offset: int = 0) -> int:
        """The deployed stack's scheduled runs on January ``d`` (if its schedules are on); rows written."""
        run = self.stack(name)
        if not run.outputs["schedulesEnabled"] and run_id is None:
            return 0
        rows = 0
        with psycopg.connect(self.url) as conn, conn.pipeline():  # one round trip per batch, not per row
            for sym in run.outputs["symbols"]:
                phase = "canary" if sym in CANARY else name  # the job's jobs.storage.forecasts.symbol_phase
                seed_symbols(conn, [sym], phase)
                for horizon in run.outputs["horizons"]:
                    hour, minute = RUN_AT[horizon]
                    rid = run_id or f"{name}-{horizon}-2026-01-{d:02d}"
                    add_run(conn, Run(rid, sym, horizon, day(d, hour + hour_offset, minute), divergences=divergences,
                                      phase=phase, image_ref=run.outputs["imageRef"]))
                    rows += 1
        return rows


def apply_event_rules(events: Any, run: StackRun) -> None:
    """The stack's EventBridge rules and targets as ``pulumi up --refresh`` leaves them (state included)."""
    for rule in run.of_type("aws:cloudwatch/eventRule:EventRule"):
        i = rule.raw_inputs
        shape = {"ScheduleExpression": i["scheduleExpression"]} if i.get("scheduleExpression") else {
            "EventPattern": i["eventPattern"]}
        events.put_rule(Name=i["name"], State=i["state"], **shape)
    for target in run.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        i = target.raw_inputs
        extra = {k: i[v] for k, v in (("Input", "input"), ("RoleArn", "roleArn")) if i.get(v)}
        events.put_targets(Rule=i["rule"], Targets=[{"Id": target.name[:64], "Arn": i["arn"], **extra}])


def rollback_alarm_fires(run: StackRun) -> dict[str, Any]:
    """The deployed rollback composite, entering ALARM in CloudWatch; the event CloudWatch sends for it."""
    comp = run.named("monitoring-rollback-required").inputs
    # moto serves composite alarms through its backend (the PutCompositeAlarm API is not implemented).
    cloudwatch_backends[ACCOUNT][REGION].put_metric_alarm(
        name=comp["alarmName"], namespace="", metric_name="", metric_data_queries=None, comparison_operator="",
        evaluation_periods=1, datapoints_to_alarm=None, period=60, threshold=0.0, statistic="", extended_statistic=None,
        description=comp["alarmDescription"], dimensions=[], alarm_actions=comp["alarmActions"], ok_actions=[],
        insufficient_data_actions=[], unit=None, actions_enabled=True, rule=comp["alarmRule"])
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.set_alarm_state(AlarmName=comp["alarmName"], StateValue="ALARM",
                               StateReason="ensemble-forecast-prod-rollback-divergence-1D transitioned to ALARM")
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[comp["alarmName"]], AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"]
    assert alarm["StateValue"] == "ALARM"
    return alarm_state_change(alarm["AlarmName"], alarm["AlarmArn"], state="ALARM", previous="OK")


def schedule_states(events: Any, run: StackRun) -> set[str]:
    """The states of the deployed stack's schedule rules in EventBridge."""
    names = [r.inputs["name"] for r in run.of_type("aws:cloudwatch/eventRule:EventRule")
             if r.inputs.get("scheduleExpression")]
    return {events.describe_rule(Name=n)["State"] for n in names}


def deploys(gates: Mapping[str, Gate | None]) -> dict[str, str]:
    """Stack -> DEPLOY / REFUSE / skipped."""
    return {s: g.decision.value if g else "skipped" for s, g in gates.items()}


def weekdays(first: int, last: int) -> Iterator[int]:
    """January days from ``first`` to ``last`` that are weekdays."""
    return (d for d in range(first, last + 1) if day(d).weekday() < 5)


def test_the_whole_rollout(db_url: str, fake_aws: None) -> None:
    story = Rollout(db_url)
    events = boto3.client("events", region_name=REGION)

    # Mon 5 Jan: first push. Canary deploys; limited and prod have nothing proved before them.
    gates = story.workflow(day(5))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "REFUSE", "prod": "REFUSE"}
    assert gates["canary"].kind == "first-phase"
    assert "canary has no runs yet (it needs 7 days)" in gates["limited"].reason
    assert "limited has no runs yet" in gates["prod"].reason
    assert story.actions_on("canary")

    # Canary runs on weekdays. Wed 7: a fix is pushed; limited is refused on the 7-day minimum
    # (today's workflow promoted it: the 2-day canary's review said PROCEED).
    story.run_jobs("canary", 5)
    story.run_jobs("canary", 6)
    gates = story.workflow(day(7))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "REFUSE", "prod": "REFUSE"}
    assert re.search(r"canary has run 1\.5 of its minimum 7 days .*not before 2026-01-12 21:30Z", gates["limited"].reason)
    for d in weekdays(7, 12):
        story.run_jobs("canary", d)

    # Mon 12, 22:00: canary has run 7 days from its first run, but on 6 days only (the weekend):
    # its review says MONITOR on the duration, and the gate refuses on that review.
    gates = story.workflow(day(12, 22))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "REFUSE", "prod": "REFUSE"}
    assert gates["limited"].review.decision is Decision.MONITOR
    assert "says MONITOR ([MONITOR] duration: canary has run on 6 of its minimum 7 days)" in gates["limited"].reason
    story.run_jobs("canary", 13)

    # Tue 13, 22:00: the seventh run day; canary's review says PROCEED, but limited's file still
    # pins an image canary never ran. The promotion copies canary's pin; then limited deploys.
    gates = story.workflow(day(13, 22))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "REFUSE", "prod": "REFUSE"}
    assert gates["limited"].review.decision is Decision.PROCEED
    assert f"canary has never run {story.image('limited')} " in gates["limited"].reason
    story.promote("canary", "limited")
    gates = story.workflow(day(13, 22, 5))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "DEPLOY", "prod": "REFUSE"}
    assert gates["limited"].kind == "promotion" and gates["limited"].review.decision is Decision.PROCEED
    assert f"canary ran {story.image('canary')} for 8.0 days (7 runs on 7 days since " in gates["limited"].reason
    assert "limited has no runs yet" in gates["prod"].reason

    # Wed 14, 10:00: handoff before limited's first run: canary's schedules off.
    story.configs["canary"]["schedulesEnabled"] = False
    gates = story.workflow(day(14))
    assert deploys(gates)["canary"] == "DEPLOY" and gates["limited"].decision is GateDecision.DEPLOY
    assert not story.actions_on("canary"), "canary's schedules are off: no alarm may notify"
    assert story.actions_on("limited")
    for d in weekdays(14, 21):
        assert story.run_jobs("canary", d) == 0
        story.run_jobs("limited", d)

    # Fri 16: a push after the handoff. Limited is promoted (runs of its own): it deploys ungated.
    gates = story.workflow(day(16))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "DEPLOY", "prod": "REFUSE"}
    assert gates["limited"].kind == "promoted" and gates["limited"].review is None
    assert re.search(r"limited has run 1\.8 of its minimum 7 days .*not before 2026-01-21 14:05Z", gates["prod"].reason)

    # Wed 21, 22:00: limited ran 7 days (first run Wed 14 14:05), but on 6 days: prod is refused.
    gates = story.workflow(day(21, 22))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "DEPLOY", "prod": "REFUSE"}
    assert "says MONITOR ([MONITOR] duration: limited has run on 6 of its minimum 7 days)" in gates["prod"].reason
    story.run_jobs("limited", 22)

    # Thu 22, 22:00: the seventh run day: prod, pinned to the image limited ran, is promoted; then the handoff.
    story.promote("limited", "prod")
    gates = story.workflow(day(22, 22))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "DEPLOY", "prod": "DEPLOY"}
    assert gates["prod"].kind == "promotion" and gates["prod"].review.decision is Decision.PROCEED
    story.configs["limited"]["schedulesEnabled"] = False
    gates = story.workflow(day(22, 23))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "DEPLOY", "prod": "DEPLOY"}
    assert not story.actions_on("limited") and story.actions_on("prod") and not story.actions_on("canary")
    story.run_jobs("prod", 23)

    # Four daily batch increases: each is a prod redeploy, never gated.
    for batches, d in zip((2, 3, 4, 5), (26, 27, 28, 29)):
        story.configs["prod"]["enabledBatches"] = batches
        gates = story.workflow(day(d))
        assert deploys(gates) == {"canary": "DEPLOY", "limited": "DEPLOY", "prod": "DEPLOY"}, batches
        assert gates["prod"].kind == "promoted"
        assert len(story.stack("prod").outputs["symbols"]) == min(25 * batches, 104)
        assert story.actions_on("prod") and not story.actions_on("limited")
        if d < 29:
            story.run_jobs("prod", d)

    # Thu 29: the run after the fifth batch goes bad everywhere: the prod review says ROLLBACK.
    story.run_jobs("prod", 29, divergences=(0.40,))
    data = load_review_data(db_url, "prod", 1, Thresholds(), until=day(30, 8))
    review = evaluate("prod", 1, data.stats, data.incidents, Thresholds())
    assert review.decision is Decision.ROLLBACK
    assert any(r.startswith("[ROLLBACK] divergence: AAPL 1D average divergence 40.0%") for r in review.reasons)
    rule = next(r for r in story.stack("prod").of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
                if r.name == "monitoring-rollback-required").inputs["alarmRule"]
    assert 'ALARM("ensemble-forecast-prod-rollback-divergence-1D")' in rule and "rollback-divergence" in ROLLBACK_KEYS
    # The review today's workflow gated prod on (limited's, which covers the canary symbols' rows)
    # now says ROLLBACK too: it would refuse the very rollback below.
    old = load_review_data(db_url, "limited", 7, Thresholds(), until=day(30, 9))
    assert evaluate("limited", 7, old.stats, old.incidents, Thresholds()).decision is Decision.ROLLBACK

    # Thu 29, the bad run's alarms: prod's rollback composite enters ALARM. The abort rules match the
    # event CloudWatch sends, and their targets run AWS-DisableEventBridgeRule on every schedule of prod.
    bad = story.stack("prod")
    apply_event_rules(events, bad)
    assert schedule_states(events, bad) == {"ENABLED"}
    fired = matching_rules(events, rollback_alarm_fires(bad))
    assert sorted(fired) == sorted(r.inputs["name"] for r in bad.of_type("aws:cloudwatch/eventRule:EventRule")
                                   if r.name.startswith("abort-")), fired
    targets = [t for rule in fired for t in events.list_targets_by_rule(Rule=rule)["Targets"]]
    disabled = run_runbook(events, targets)
    assert schedule_states(events, bad) == {"DISABLED"} and len(disabled) == 6  # 3 horizons x 2 job groups
    assert f"arn:aws:sns:{REGION}:{ACCOUNT}:ensemble-forecast-prod-immediate" in {t["Arn"] for t in targets}

    # Fri 30, 09:00: roll prod back to its previous config (enabledBatches 4) by hand: only prod runs, ungated.
    story.configs["prod"]["enabledBatches"] = 4
    gates = story.workflow(day(30, 9), event="workflow_dispatch", stack="prod")
    assert deploys(gates) == {"canary": "skipped", "limited": "skipped", "prod": "DEPLOY"}
    assert gates["prod"].kind == "promoted" and "rollback is not gated" in gates["prod"].reason
    assert len(story.stack("prod").outputs["symbols"]) == 100
    assert story.actions_on("prod")
    # The deploy refreshes: the rules' state changed outside Pulumi, so `pulumi up --refresh` puts them back.
    apply_event_rules(events, story.stack("prod"))
    assert schedule_states(events, story.stack("prod")) == {"ENABLED"}

    # Regenerate: a one-off job per horizon with its own run id, the rolled-back config's symbols.
    assert story.run_jobs("prod", 30, run_id="regenerate-prod-2026-01-30", hour_offset=-11) == 100 * 3
    with psycopg.connect(db_url) as conn:
        regenerated = conn.execute("SELECT COUNT(DISTINCT symbol) FROM forecasts WHERE run_id = %(r)s",
                                   {"r": "regenerate-prod-2026-01-30"}).fetchone()[0]
    assert regenerated == 100
    # And a push the day after still deploys every stack: nothing is locked by the handoffs or the rollback.
    gates = story.workflow(day(31))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "DEPLOY", "prod": "DEPLOY"}

    # A later image copied into limited is an image promotion: canary, its schedules off since the
    # handoff, never ran it, so limited keeps the image it runs; prod, on an image it ran, deploys.
    later = image_ref("e")
    story.configs["limited"]["imageRef"] = later
    gates = story.workflow(day(31, 12))
    assert deploys(gates) == {"canary": "DEPLOY", "limited": "REFUSE", "prod": "DEPLOY"}
    assert gates["limited"].kind == "image-promotion" and gates["prod"].kind == "promoted"
    assert gates["limited"].reason.startswith(f"image promotion of limited refused: canary has never run {later} ")


@pytest.mark.parametrize(("event", "stack", "expected"), [
    ("push", "", ["canary", "limited", "prod"]),
    ("workflow_dispatch", "canary", ["canary"]),
    ("workflow_dispatch", "limited", ["limited"]),
    ("workflow_dispatch", "prod", ["prod"]),
])
def test_which_deploy_jobs_run(event: str, stack: str, expected: list[str]) -> None:
    results: dict[str, str] = {}
    for name, job in DEPLOY_YML["jobs"].items():
        results[name] = "success" if job_runs(job, event, stack, results) else "skipped"
    assert [n for n, r in results.items() if r == "success"] == expected


def test_a_failed_stack_stops_the_later_ones() -> None:
    jobs = DEPLOY_YML["jobs"]
    assert not job_runs(jobs["limited"], "push", "", {"canary": "failure"})
    assert not job_runs(jobs["prod"], "push", "", {"canary": "success", "limited": "failure"})
