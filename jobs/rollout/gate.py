"""The promotion gate: may the deploy workflow update a stack now? DEPLOY or REFUSE, with the reason.

Only a *promotion* is gated: the first deploy of a phase, after the previous phase has
proved itself. A phase is promoted once it has runs of its own in the database (rows with
its ``rollout_phase``); from then on every deploy of its stack (a fix, a daily
``enabledBatches`` step, a rollback to a previous config) deploys without a gate, so
switching the previous phase's schedules off (the handoff) can never lock a stack. A
promotion needs the stack to pin an image (its ``imageRef``), the previous phase to have run
for its minimum days (``jobs.contract.phases.MINIMUM_DAYS``), both from its first run and on as
many days with runs, to have run *that image* as long (its runs' ``forecast_runs.image_ref``,
which each run's first attempt records from ``IMAGE_REF``; a run of an unknown image counts for
none), and its review over those days to say PROCEED. The pin's age in git (``jobs.promote``)
is the pull request's offline pre-check; this, at deploy time, is the authority.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from jobs.contract.images import ImageRef
from jobs.contract.phases import DEPLOYED_PHASES, minimum_days, previous_phase
from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import Decision, Review, evaluate
from jobs.rollout.data import ReviewData, load_review_data
from jobs.storage.db import connect, load_sql


class GateDecision(str, Enum):
    """What the workflow does with the stack."""

    DEPLOY = "DEPLOY"
    REFUSE = "REFUSE"


@dataclass(frozen=True)
class PhaseRuns:
    """A phase's own runs up to a time, only ``image``'s when set (``first_run`` None when it has none)."""

    phase: str
    runs: int
    run_days: int
    first_run: datetime | None
    last_run: datetime | None
    image: ImageRef | None = None

    def days_running(self, now: datetime) -> float:
        """Days from the first run to ``now`` (0 without runs)."""
        return (now - self.first_run).total_seconds() / 86_400 if self.first_run else 0.0


@dataclass(frozen=True)
class Gate:
    """The gate's answer for one stack.

    Attributes:
        stack: the stack (= phase) to deploy.
        decision: DEPLOY or REFUSE.
        kind: ``first-phase`` (nothing before it), ``promoted`` (a redeploy, never gated) or
            ``promotion`` (gated on the previous phase).
        reason: one line saying why.
        review: the previous phase's review, when the gate ran one.
        review_data: what that review read (for the reports).
    """

    stack: str
    decision: GateDecision
    kind: str
    reason: str
    review: Review | None = None
    review_data: ReviewData | None = None

    @property
    def exit_code(self) -> int:
        """0 deploy, 3 refuse (the stack is skipped, later stacks are not promoted)."""
        return 0 if self.decision is GateDecision.DEPLOY else 3


def phase_runs(url: str, phase: str, until: datetime, image: ImageRef | None = None) -> PhaseRuns:
    """Read ``phase``'s own runs up to ``until``: all of them, or only those of ``image``."""
    params = {"phase": phase, "until": until, "image_ref": None if image is None else str(image)}
    with connect(url) as conn:
        row: dict[str, Any] = conn.execute(load_sql("gate_phase_runs"), params).fetchone() or {}
    return PhaseRuns(phase, int(row.get("runs") or 0), int(row.get("run_days") or 0), row.get("first_run"),
                     row.get("last_run"), image)


def decide(url: str, stack: str, thresholds: Thresholds, image: ImageRef | None, now: datetime | None = None,
           require_baseline: bool = True) -> Gate:
    """Decide whether ``stack`` may be deployed at ``now`` (default: the current time).

    ``image`` is the image the stack pins (its ``imageRef``; None: none yet). A promotion needs
    the previous phase to have run it; a first phase or a promoted stack deploys whatever it pins.

    Raises:
        ValueError: ``stack`` is not a deployed phase.
        jobs.storage.db.DatabaseUnavailable: the database cannot be reached.
    """
    if stack not in DEPLOYED_PHASES:
        raise ValueError(f"stack {stack!r} is invalid: expected one of {', '.join(DEPLOYED_PHASES)}")
    at = now or datetime.now(timezone.utc)
    prev = previous_phase(stack)
    if prev is None:
        return Gate(stack, GateDecision.DEPLOY, "first-phase", f"{stack} is the first phase: nothing to prove before it")
    own = phase_runs(url, stack, at)
    if own.runs:
        return Gate(stack, GateDecision.DEPLOY, "promoted",
                    f"{stack} is already promoted ({own.runs} run(s) of its own since {own.first_run:%Y-%m-%d}): "
                    "a redeploy, batch step or rollback is not gated")
    if image is None:
        return Gate(stack, GateDecision.REFUSE, "promotion",
                    f"promotion of {stack} refused: Pulumi.{stack}.yaml pins no image (imageRef is empty); pin "
                    f"the one {prev} ran: python -m jobs.promote --from {prev} --to {stack}")
    return _promotion(url, stack, prev, thresholds, at, require_baseline, image)


def _promotion(url: str, stack: str, prev: str, thresholds: Thresholds, at: datetime,
               require_baseline: bool, image: ImageRef) -> Gate:
    days = minimum_days(prev)
    before = phase_runs(url, prev, at)
    ran = before.days_running(at)
    if before.first_run is None:
        return Gate(stack, GateDecision.REFUSE, "promotion",
                    f"promotion of {stack} refused: {prev} has no runs yet (it needs {days} days)")
    if ran < days:
        ready = before.first_run + timedelta(days=days)
        return Gate(stack, GateDecision.REFUSE, "promotion",
                    f"promotion of {stack} refused: {prev} has run {ran:.1f} of its minimum {days} days "
                    f"(first run {before.first_run:%Y-%m-%d %H:%M}Z; not before {ready:%Y-%m-%d %H:%M}Z)")
    data = load_review_data(url, prev, days, thresholds, until=at)
    # The review's own duration check too (run days, not only the time since the first run), so the
    # gate never promotes on a review that ``rollout_review``, run at the same time, would not
    # PROCEED: weekday schedules reach 7 run days only after 9 calendar days.
    result = evaluate(prev, days, data.stats, data.incidents, thresholds, require_baseline, data.run_days,
                      runs=data.run_shares)
    if result.decision is not Decision.PROCEED:
        first = result.reasons[0] if result.reasons else ""
        return Gate(stack, GateDecision.REFUSE, "promotion",
                    f"promotion of {stack} refused: the {prev} review over {days} days says {result.decision.value} "
                    f"({first})", result, data)
    # The image last: the review judges the phase, this that it ran what the stack is about to run.
    same = phase_runs(url, prev, at, image)
    if same.days_running(at) < days or same.run_days < days:
        return Gate(stack, GateDecision.REFUSE, "promotion", f"promotion of {stack} refused: {_ran(same, at)}: "
                    f"a promotion needs {days} days and {days} run days of it", result, data)
    return Gate(stack, GateDecision.DEPLOY, "promotion",
                f"promotion of {stack}: {_ran(same, at)} and its {days}-day review says PROCEED", result, data)


def _ran(runs: PhaseRuns, at: datetime) -> str:
    """How long ``runs.phase`` ran ``runs.image``: the days since its first run of it, its runs and run days."""
    if runs.first_run is None:
        return f"{runs.phase} has never run {runs.image} (a run of an unknown image counts for none)"
    days = math.floor(runs.days_running(at) * 10) / 10  # rounded down: 6.99 days is not "7.0" of 7
    return (f"{runs.phase} ran {runs.image} for {days:.1f} days ({runs.runs} runs on {runs.run_days} days since "
            f"{runs.first_run:%Y-%m-%d %H:%M}Z)")
