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


def previous_phase(phase: str) -> str | None:
    """The phase that must prove itself before ``phase`` is promoted (None for the first)."""
    if phase not in DEPLOYED_PHASES:
        raise ValueError(f"phase {phase!r} is invalid: expected one of {', '.join(DEPLOYED_PHASES)}")
    index = DEPLOYED_PHASES.index(phase)
    return DEPLOYED_PHASES[index - 1] if index else None


# How long a phase must run before the next one may be promoted (rollout document: "Canary ...
# Duration: 7 days minimum"; "Limited ... Duration: 7-14 days"). The last phase promotes nothing.
MINIMUM_DAYS: dict[str, int] = {"canary": 7, "limited": 7, "prod": 0}
if set(MINIMUM_DAYS) != set(DEPLOYED_PHASES):  # import-time guard: a new phase needs its minimum
    raise ImportError("jobs.contract.phases.MINIMUM_DAYS must name every deployed phase")


def minimum_days(phase: str) -> int:
    """Days ``phase`` must have run (from its first run) before the next phase's promotion."""
    if phase not in MINIMUM_DAYS:
        raise ValueError(f"phase {phase!r} is invalid: expected one of {', '.join(DEPLOYED_PHASES)}")
    return MINIMUM_DAYS[phase]
