"""The rollout phases, in order: the one list the job, the review and the stacks share."""

from __future__ import annotations

# Deployed phases in promotion order; each is one Pulumi stack of the same name.
DEPLOYED_PHASES: tuple[str, ...] = ("canary", "limited", "prod")
# `local` is a run on someone's machine (embedded database, sample data); never a stack.
ROLLOUT_PHASES: tuple[str, ...] = ("local", *DEPLOYED_PHASES)


def covered_phases(phase: str) -> list[str]:
    """The phases whose rows a review of ``phase`` reads: it and every earlier one.

    A symbol's rows keep the phase they were written in, so limited's review also reads the
    canary symbols' rows written while canary ran, and so on.
    """
    if phase not in ROLLOUT_PHASES:
        raise ValueError(f"phase {phase!r} is invalid: expected one of {', '.join(ROLLOUT_PHASES)}")
    if phase not in DEPLOYED_PHASES:
        return [phase]
    return list(DEPLOYED_PHASES[: DEPLOYED_PHASES.index(phase) + 1])
