"""The promotion gate: may the deploy workflow update a stack now? DEPLOY or REFUSE, with the reason.

A stack runs only an image its previous phase has proved. A phase's first deploy (its
*promotion*) needs the stack to pin an image (its ``imageRef``), the previous phase to have run
for its minimum days (``jobs.contract.phases.MINIMUM_DAYS``), both from its first run and on as
many days with runs, to have run *that image* as long (its runs' ``forecast_runs.image_ref``,
which each run's first attempt records from ``IMAGE_REF``; a run of an unknown image counts for
none), and its review over those days to say PROCEED. Once the phase has runs of its own (rows
with its ``rollout_phase``) it is promoted: a deploy pinning an image the phase has run before
(a fix, a daily ``enabledBatches`` step, a rollback) is never gated, so switching the previous
phase's schedules off (the handoff) can never lock a stack; a deploy pinning an image it has
never run is an *image promotion*, gated as the first one is on the image and the review (not on
the phase's own days, which the image's include). A *hotfix* (``--hotfix "<reason>"``, by hand)
deploys such an image unproved, its reason in the gate's answer; canary, with nothing before
it, is never gated. The pin's age in git (``jobs.promote``) is the pull request's offline
pre-check; this, at deploy time, is the authority.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from jobs.contract.images import ImageRef
from jobs.contract.phases import DEPLOYED_PHASES, minimum_days, previous_phase
from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import Decision, Review, evaluate
from jobs.rollout.data import ReviewData, load_review_data
from jobs.storage.db import connect, load_sql

# What ``--hotfix`` must say (the gate's answer and the deploy's summary keep it).
HOTFIX_REASON = "expected why an image the previous phase has not proved must deploy now, e.g. the CVE it fixes"


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
        kind: ``first-phase`` (nothing before it), ``promotion`` (a phase's first deploy, gated on
            the previous phase), ``promoted`` (an image the phase has run: never gated),
            ``image-promotion`` (an image it has never run: gated on the previous phase's runs of
            it and its review) or ``hotfix`` (such an image, ungated by hand, with its reason).
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
           require_baseline: bool = True, hotfix: str | None = None) -> Gate:
    """Decide whether ``stack`` may be deployed at ``now`` (default: the current time).

    ``image`` is the image the stack pins (its ``imageRef``; None: none yet). A promotion and an
    image promotion need the previous phase to have run it; a first phase deploys whatever it
    pins, a promoted stack any image it has run before. ``hotfix`` (its reason) deploys an image
    the previous phase has not proved to a stack that runs; a phase's first deploy is gated all the same.

    Raises:
        ValueError: ``stack`` is not a deployed phase, or ``hotfix`` is blank.
        jobs.storage.db.DatabaseUnavailable: the database cannot be reached.
    """
    if stack not in DEPLOYED_PHASES:
        raise ValueError(f"stack {stack!r} is invalid: expected one of {', '.join(DEPLOYED_PHASES)}")
    if hotfix is not None and not hotfix.strip():
        raise ValueError(f"hotfix reason {hotfix!r} is invalid: {HOTFIX_REASON}")
    at = now or datetime.now(timezone.utc)
    prev = previous_phase(stack)
    if prev is None:
        return Gate(stack, GateDecision.DEPLOY, "first-phase", f"{stack} is the first phase: nothing to prove before it")
    own = phase_runs(url, stack, at)
    if not own.runs:
        gate = _promotion(url, stack, prev, thresholds, at, require_baseline, image)
        if hotfix is None:
            return gate
        return replace(gate, reason=f"{gate.reason} (--hotfix applies only to a stack that already runs)")
    promoted = f"{stack} is already promoted ({own.runs} run(s) of its own since {own.first_run:%Y-%m-%d}) and"
    if image is None:
        return _redeploy(stack, f"{promoted} pins no image")
    mine = phase_runs(url, stack, at, image)
    if mine.runs:  # a redeploy, or a rollback to an image it ran: never blocked
        return _redeploy(stack, f"{promoted} has run {image} before ({mine.runs} run(s))")
    same = phase_runs(url, prev, at, image)
    if hotfix is not None:
        return Gate(stack, GateDecision.DEPLOY, "hotfix",
                    f"hotfix of {stack}: {stack} has never run {image} and {_ran(same, at)}; deployed without "
                    f"{prev}'s proof because: {' '.join(hotfix.split())}")
    # The image first, as a first promotion checks the phase's days first: it is what this deploy changes.
    refused = _unproved(f"image promotion of {stack}", same, at, minimum_days(prev))
    if refused is not None:
        return Gate(stack, GateDecision.REFUSE, "image-promotion", refused)
    return _proven(url, stack, prev, thresholds, at, require_baseline, same, "image-promotion")


def _redeploy(stack: str, why: str) -> Gate:
    return Gate(stack, GateDecision.DEPLOY, "promoted", f"{why}: a redeploy, batch step or rollback is not gated")


def _promotion(url: str, stack: str, prev: str, thresholds: Thresholds, at: datetime,
               require_baseline: bool, image: ImageRef | None) -> Gate:
    if image is None:
        return Gate(stack, GateDecision.REFUSE, "promotion",
                    f"promotion of {stack} refused: Pulumi.{stack}.yaml pins no image (imageRef is empty); pin "
                    f"the one {prev} ran: python -m jobs.promote --from {prev} --to {stack}")
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
    return _proven(url, stack, prev, thresholds, at, require_baseline, phase_runs(url, prev, at, image), "promotion")


def _proven(url: str, stack: str, prev: str, thresholds: Thresholds, at: datetime, require_baseline: bool,
            same: PhaseRuns, kind: str) -> Gate:
    """Gate ``kind`` on ``prev``'s review over its minimum days, then on its runs of the image (``same``)."""
    days = minimum_days(prev)
    what = f"{kind.replace('-', ' ')} of {stack}"
    data = load_review_data(url, prev, days, thresholds, until=at)
    # The review's own duration check too (run days, not only the time since the first run), so the
    # gate never promotes on a review that ``rollout_review``, run at the same time, would not
    # PROCEED: weekday schedules reach 7 run days only after 9 calendar days.
    result = evaluate(prev, days, data.stats, data.incidents, thresholds, require_baseline, data.run_days,
                      runs=data.run_shares)
    if result.decision is not Decision.PROCEED:
        first = result.reasons[0] if result.reasons else ""
        return Gate(stack, GateDecision.REFUSE, kind,
                    f"{what} refused: the {prev} review over {days} days says {result.decision.value} ({first})",
                    result, data)
    # The image last: the review judges the phase, this that it ran what the stack is about to run.
    refused = _unproved(what, same, at, days)
    if refused is not None:
        return Gate(stack, GateDecision.REFUSE, kind, refused, result, data)
    return Gate(stack, GateDecision.DEPLOY, kind,
                f"{what}: {_ran(same, at)} and its {days}-day review says PROCEED", result, data)


def _unproved(what: str, same: PhaseRuns, at: datetime, days: int) -> str | None:
    """Why ``what`` is refused when ``same.phase`` ran ``same.image`` under ``days`` days or run days (else None)."""
    if same.days_running(at) < days or same.run_days < days:
        return f"{what} refused: {_ran(same, at)}: a promotion needs {days} days and {days} run days of it"
    return None


def _ran(runs: PhaseRuns, at: datetime) -> str:
    """How long ``runs.phase`` ran ``runs.image``: the days since its first run of it, its runs and run days."""
    if runs.first_run is None:
        return f"{runs.phase} has never run {runs.image} (a run of an unknown image counts for none)"
    days = math.floor(runs.days_running(at) * 10) / 10  # rounded down: 6.99 days is not "7.0" of 7
    return (f"{runs.phase} ran {runs.image} for {days:.1f} days ({runs.runs} runs on {runs.run_days} days since "
            f"{runs.first_run:%Y-%m-%d %H:%M}Z)")
