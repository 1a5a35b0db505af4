"""Boundaries of the rollout rules, read from the trigger table (``jobs.contract.triggers``).

A trigger with a threshold says in its words which side of the threshold fires it ("above",
"more than", "less than", "fewer than" are strict; "not below" and "or more" include the threshold).
``comparison_of`` reads that, so the boundary tests of every implementation (the review's
checks, the daily checks, the SQL, the alarms) are generated from the table and a reworded
or new trigger is tested at its own boundary, or refused with its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import Trigger, Verdict
from jobs.rollout.checks import Decision

# The smallest step a fraction is judged on: divergence is rounded to 12 decimals
# (jobs.forecasting.walkforward.DIVERGENCE_DECIMALS), so nothing finer can decide a verdict.
FRACTION_STEP = 1e-12
COUNT_STEP = 1.0
# Words around "{value}" -> the comparison that fires the trigger; "not below" before "below".
_WORDING: tuple[tuple[str, str], ...] = (
    (r"not below \{value\}", ">="), (r"at least \{value\}", ">="), (r"\{value\} or more", ">="),
    (r"(?:above|more than) \{value\}", ">"), (r"(?:below|less than|fewer than) \{value\}", "<"),
)
_FIRES = {">": lambda v, t: v > t, ">=": lambda v, t: v >= t, "<": lambda v, t: v < t, "<=": lambda v, t: v <= t}
# CloudWatch's comparison operators as the same comparisons ("value OP threshold" alarms).
CLOUDWATCH = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=", "LessThanThreshold": "<",
              "LessThanOrEqualToThreshold": "<="}


def comparison_of(trigger: Trigger) -> str:
    """The comparison ``value OP threshold`` that fires ``trigger``, from its words.

    Raises:
        ValueError: the trigger has no threshold, or its words say no side.
    """
    if trigger.threshold is None:
        raise ValueError(f"trigger {trigger.name} has no threshold")
    for pattern, op in _WORDING:
        if re.search(pattern, trigger.when):
            return op
    raise ValueError(f"trigger {trigger.name}: its words {trigger.when!r} say no side of {{value}}; "
                     f"expected one of: {', '.join(p for p, _ in _WORDING)}")


@dataclass(frozen=True)
class Rule:
    """``value OP limit`` fires; ``step`` is the finest difference a value can have."""

    op: str
    limit: float
    step: float

    def fires(self, value: float) -> bool:
        """Whether ``value`` is on the firing side."""
        return bool(_FIRES[self.op](value, self.limit))

    def points(self) -> dict[str, float]:
        """Just below, at and just above the limit."""
        return {"below": self.limit - self.step, "at": self.limit, "above": self.limit + self.step}


def threshold_rule(trigger: Trigger, t: Thresholds) -> Rule:
    """The rule of a trigger with a threshold, with ``t``'s value (counts step by one)."""
    limit = getattr(t, trigger.threshold or "")
    step = COUNT_STEP if isinstance(limit, int) else FRACTION_STEP
    return Rule(comparison_of(trigger), float(limit), step)


def fires(op: str, value: float, limit: float) -> bool:
    """``value OP limit`` for one of ``>``, ``>=``, ``<``, ``<=``."""
    return bool(_FIRES[op](value, limit))


def reached(status: Decision, verdict: Verdict) -> bool:
    """A check at ``status`` has fired a trigger of ``verdict`` (a ROLLBACK includes its check's MONITOR level)."""
    return status.rank >= Decision(verdict.value).rank


def marks(marked: Trigger | None, trigger: Trigger) -> bool:
    """The daily checks' mark on a row (``jobs.rollout.daily.divergence_trigger``) says ``trigger`` fired."""
    return marked is not None and marked.check == trigger.check and reached(Decision(marked.verdict.value),
                                                                             trigger.verdict)
