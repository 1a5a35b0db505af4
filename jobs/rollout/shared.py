"""The Fargate vCPU that every stack sharing one account and region holds at once.

Fargate's "Fargate On-Demand vCPU resource count" quota is per account and region, and the
stacks canary, limited and prod may share both: while more than one has its schedules on (the
handoff between phases), their runs add up wherever they overlap in time. ``shared_peak``
reads the committed stack files of every deployed phase, keeps the stacks that share the
target's account and region and have ``schedulesEnabled`` on, and adds their vCPU
(``jobs.rollout.capacity.Load``, every batch enabled, each capped by its own ``maxVcpus``)
minute by minute over the week. The total only rises when a run starts, so the peak is at
one of the runs' start minutes.

Where a stack runs is read the way the stack and ``jobs.promote`` read it: the region is
``aws:region`` (else the region of ``imageRef``), the account is ``imageRef``'s (the deploy
checks the digest in the deploying account's repository). A stack whose account or region
cannot be known is assumed to share, and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.contract.images import parse_image_ref
from jobs.contract.phases import DEPLOYED_PHASES
from jobs.contract.values import ConfigError
from jobs.rollout.capacity import Load, load
from jobs.rollout.stackfile import PROJECT, StackConfig, StackFileError, read_stack, stack_path

_DAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # minute 0 of the week is Sunday 00:00 UTC
_DAY = 1_440


@dataclass(frozen=True)
class Placement:
    """The account and region a stack deploys to, None where its file does not say."""

    account: str | None
    region: str | None


def placement(config: StackConfig) -> Placement:
    """Where ``config``'s stack runs: ``aws:region`` (else ``imageRef``'s region) and ``imageRef``'s account."""
    raw = config.values.get("imageRef")
    try:
        ref = parse_image_ref(f"{PROJECT}:imageRef", raw) if raw else None
    except ConfigError:
        ref = None  # the stack refuses it on its own deploy; here it only leaves the account unknown
    return Placement(ref.account if ref else None, config.region or (ref.region if ref else None))


def schedules_on(config: StackConfig) -> bool:
    """``schedulesEnabled`` as the stack reads it: a YAML boolean, or "true"/"false" (``pulumi config set``)."""
    raw = config.get("schedulesEnabled")
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise StackFileError(f"{config.path.name} sets {PROJECT}:schedulesEnabled={raw!r}: expected true or false")


def _apart(target: Placement, other: Placement) -> str | None:
    """Why ``other`` uses a different quota than ``target`` (None: the same one, or not known to differ)."""
    if target.region and other.region and other.region != target.region:
        return f"in {other.region}"
    if target.account and other.account and other.account != target.account:
        return f"in account {other.account}"
    return None


def _assumed(target: Placement, other: Placement) -> str:
    """What had to be assumed to count ``other`` with ``target`` ("" when both are known)."""
    unknown = [what for what, known in (("account", target.account and other.account),
                                        ("region", target.region and other.region)) if not known]
    return f"{' and '.join(unknown)} unknown, assumed to share" if unknown else ""


@dataclass(frozen=True)
class Member:
    """A stack counted against the target's quota, and what had to be assumed to count it."""

    runs: Load
    batches: str
    assumed: str


def _other(repo: Path, stack: str) -> StackConfig | None:
    """Another phase's committed stack file (None when the phase has none: it is not deployed)."""
    if not stack_path(repo, stack).exists():
        return None
    return read_stack(repo, stack)


def members(repo: Path, target: StackConfig, region: str) -> tuple[list[Member], list[str]]:
    """The stacks counted with ``target`` in ``region``, and the ones left out with the reason."""
    where = Placement(placement(target).account, region)
    counted: list[Member] = []
    left_out: list[str] = []
    for stack in DEPLOYED_PHASES:
        config = target if stack == target.stack else _other(repo, stack)
        if config is None:
            left_out.append(f"{stack} (no {stack_path(repo, stack).name})")
            continue
        there = where if config is target else placement(config)
        why = "schedules off" if not schedules_on(config) else _apart(where, there)
        if why:
            left_out.append(f"{stack} ({why})")
        else:
            batches = len(config.values.get("symbolBatches") or [])
            counted.append(Member(load(config), f"all {batches} batches enabled" if batches else "",
                                  "" if config is target else _assumed(where, there)))
    return counted, left_out


@dataclass(frozen=True)
class Share:
    """One stack's vCPU at the shared peak."""

    stack: str
    vcpu: float
    runs: str
    batches: str
    assumed: str

    def explain(self) -> str:
        """``prod 64 (4h and 8h overlap: ...)``."""
        notes = "; ".join(n for n in (self.runs, self.batches, self.assumed) if n)
        return f"{self.stack} {self.vcpu:g} ({notes})"


@dataclass(frozen=True)
class SharedPeak:
    """The most vCPU the stacks sharing the target's quota hold at once, when, and each one's share."""

    stack: str
    vcpu: float
    minute: int
    days: tuple[int, ...]
    shares: tuple[Share, ...]
    idle: tuple[str, ...]
    left_out: tuple[str, ...]
    starts_jobs: bool

    def when(self) -> str:
        """``21:30 UTC on weekdays`` and the like."""
        hour, minute = divmod(self.minute % _DAY, 60)
        days = ("weekdays" if self.days == (1, 2, 3, 4, 5) else "every day" if len(self.days) == 7
                else ", ".join(_DAY_NAMES[d] for d in self.days))
        return f"{hour:02d}:{minute:02d} UTC on {days}"

    def explain(self) -> str:
        """``peak 74 vCPU at 14:10 UTC on weekdays: prod 64 (...), limited 10 (...); ...``."""
        text = (f"peak {self.vcpu:g} vCPU at {self.when()}: " + ", ".join(s.explain() for s in self.shares)
                if self.shares else "no stack sharing the quota has a run")
        if self.idle:
            text += f"; no run then: {', '.join(self.idle)}"
        if self.left_out:
            text += f"; not counted: {', '.join(self.left_out)}"
        return text

    def needs(self) -> str:
        """The preflight's clause: what the stacks sharing the quota need at once, and why."""
        names = [s.stack for s in self.shares] or [self.stack]
        who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"{who} {'needs' if len(names) == 1 else 'need'} {self.vcpu:g} at once ({self.explain()})"


def _total(counted: list[Member], minute: int) -> tuple[float, ...]:
    return tuple(m.runs.vcpu(minute) for m in counted)


def _peak_minute(counted: list[Member], during: Load | None) -> int | None:
    """The first minute of the week at which the counted stacks hold the most vCPU together.

    With ``during``, only the minutes at which that stack's own runs are in flight: the total
    only rises when some run starts, so the start minutes are the only candidates.
    """
    starts = sorted({t for m in counted for t, _ in m.runs.starts})
    if during is not None:
        starts = [t for t in starts if during.vcpu(t) > 0]
    return max(starts, key=lambda t: (sum(_total(counted, t)), -t)) if starts else None


def _same_days(counted: list[Member], minute: int) -> tuple[int, ...]:
    """The days of the week on which the same time of day finds every stack holding the same vCPU."""
    shares = _total(counted, minute)
    return tuple(d for d in range(7) if _total(counted, d * _DAY + minute % _DAY) == shares)


def _at(counted: list[Member], minute: int) -> tuple[tuple[Share, ...], tuple[str, ...]]:
    """Each stack's share at ``minute`` (largest first), and the stacks with no run then."""
    shares = [Share(m.runs.stack, m.runs.vcpu(minute), m.runs.runs(minute), m.batches, m.assumed)
              for m in counted if m.runs.vcpu(minute) > 0]
    shares.sort(key=lambda s: -s.vcpu)  # stable: equal shares stay in phase order
    idle = tuple(f"{m.runs.stack} ({m.assumed})" if m.assumed else m.runs.stack
                 for m in counted if m.runs.vcpu(minute) == 0)
    return tuple(shares), idle


def shared_peak(repo: Path, target: StackConfig, region: str) -> SharedPeak:
    """The most vCPU the stacks sharing ``target``'s account and ``region`` hold while ``target`` runs.

    The minutes at which ``target`` has no run in flight are not its deploy's concern: a peak
    the other stacks make without it is refused on their own deploys. With its schedules off,
    ``target`` runs nothing, and the peak is the others' (for the answer; the check passes).

    Raises:
        StackFileError: a stack file that cannot be read or used, one line naming it.
    """
    counted, left_out = members(repo, target, region)
    own = next((m.runs for m in counted if m.runs.stack == target.stack), None)
    minute = _peak_minute(counted, own)
    if minute is None:
        return SharedPeak(target.stack, 0.0, 0, (), (), (), tuple(left_out), own is not None)
    shares, idle = _at(counted, minute)
    return SharedPeak(target.stack, sum(s.vcpu for s in shares), minute, _same_days(counted, minute),
                      shares, idle, tuple(left_out), own is not None)
