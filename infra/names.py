"""Physical names of a stack's resources: each starts with ``ensemble-forecast-<stack>``, except
the one image repository every stack shares (``jobs.contract.images.IMAGE_REPOSITORY``).

One module builds them, so the job definitions, the schedule rules the alarms watch, the IAM
pattern that limits the EventBridge role to the stack's rules, the alarm names in the
rollback rule and the automatic abort's rule cannot drift apart. Renaming a resource replaces it
on the next ``pulumi up``: the snapshots (``tests/snapshots``) show every name.
"""

from __future__ import annotations

# The Pulumi project: the prefix of every config key and of every resource name.
PROJECT = "ensemble-forecast"
# The job group that runs the phase's model set; its job names carry no group suffix.
CORE_GROUP = "core"
# The rollback composite alarm's key: the automatic abort listens for it.
ROLLBACK_ALARM = "rollback-required"
AUTO_ABORT = "auto-abort"


def stack_prefix(stack: str) -> str:
    """``ensemble-forecast-<stack>``: the compute environment, queue and dashboard."""
    return f"{PROJECT}-{stack}"


def resource_name(stack: str, *parts: str) -> str:
    """``ensemble-forecast-<stack>-<part>-...``: an alarm, topic or rule of the stack."""
    return "-".join((stack_prefix(stack), *parts))


def job_name(stack: str, group: str, horizon: str) -> str:
    """The job definition, schedule rule and scheduled job name of a job group and horizon."""
    return resource_name(stack, horizon) if group == CORE_GROUP else resource_name(stack, group, horizon)


def job_name_prefix(stack: str) -> str:
    """What every job and schedule rule name of the stack starts with."""
    return f"{stack_prefix(stack)}-"


def log_group_name(stack: str) -> str:
    """The CloudWatch log group of the stack's jobs."""
    return f"/aws/batch/{stack_prefix(stack)}"
