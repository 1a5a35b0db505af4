"""A stack's peak Fargate vCPU: how much its overlapping scheduled runs ask for at once.

Each horizon's schedule starts one Batch array job per job group (``core``, and prod's
``high-value``); a run of ``tasks`` array children holds ``tasks x taskVcpu`` vCPU until it
ends, at the latest after ``jobTimeoutSeconds``. Runs whose windows overlap add up (prod's 4h
run at 14:05 and 8h run at 14:10), and the compute environment's ``maxVcpus`` caps the sum:
Batch queues the rest. The figure is computed from the stack file (``jobs.rollout.stackfile``)
by the keys the stack reads, with every ``symbolBatches`` batch enabled: later
``enabledBatches`` steps must fit too, and the preflight counts them before they are taken.
``Load`` is a stack's runs over the week, so the stacks sharing one account's quota
(``jobs.rollout.shared``) can be added up minute by minute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from jobs.contract.schedules import WEEK_MINUTES, fire_minutes
from jobs.rollout.stackfile import PROJECT, StackConfig, StackFileError


@dataclass(frozen=True)
class Load:
    """One stack's scheduled runs over the week: when each starts and what it holds while in flight."""

    stack: str
    starts: tuple[tuple[int, str], ...]  # (minute of the week, horizon) of every run
    duration: int  # minutes a run may hold its vCPU: jobTimeoutSeconds, rounded up
    tasks: int
    task_vcpu: float
    max_vcpus: int

    def active(self, minute: int) -> tuple[str, ...]:
        """The horizons of the runs in flight at ``minute`` of the week (started within ``duration``)."""
        # A run started late last week may still be going: compare on the circle of the week.
        return tuple(sorted(h for s, h in self.starts if (minute - s) % WEEK_MINUTES < self.duration))

    def uncapped(self, minute: int) -> float:
        """What the runs in flight at ``minute`` ask for: runs x tasks x ``taskVcpu``."""
        return len(self.active(minute)) * self.tasks * self.task_vcpu

    def vcpu(self, minute: int) -> float:
        """What the stack holds at ``minute``: its ask, capped by its compute environment's ``maxVcpus``."""
        return min(self.uncapped(minute), float(self.max_vcpus))

    def runs(self, minute: int) -> str:
        """How the vCPU at ``minute`` comes about, in a few words (``runs_text``)."""
        return runs_text(self.active(minute), self.tasks, self.task_vcpu, self.uncapped(minute), self.max_vcpus)


def runs_text(horizons: tuple[str, ...], tasks: int, task_vcpu: float, uncapped: float, cap: int) -> str:
    """``4h and 8h overlap: 2 runs x 22 tasks x 2 vCPU = 88, capped by maxVcpus 64`` and the like."""
    runs = " and ".join(horizons)
    how = (f"{runs} overlap: {len(horizons)} runs x {tasks} tasks x {task_vcpu:g} vCPU"
           if len(horizons) > 1 else f"one {runs} run of {tasks} tasks x {task_vcpu:g} vCPU")
    return f"{how} = {uncapped:g}, capped by maxVcpus {cap}" if cap < uncapped else how


@dataclass(frozen=True)
class Peak:
    """The most vCPU a stack's runs hold at once, and which runs make it."""

    stack: str
    vcpu: float
    uncapped: float
    max_vcpus: int
    horizons: tuple[str, ...]
    tasks: int
    task_vcpu: float
    batches: str

    @property
    def starts_jobs(self) -> bool:
        """A single stack's peak is counted as planned, whatever its ``schedulesEnabled``."""
        return True

    def explain(self) -> str:
        """How the figure comes about, in a few words."""
        return runs_text(self.horizons, self.tasks, self.task_vcpu, self.uncapped, self.max_vcpus) + self.batches

    def needs(self) -> str:
        """The preflight's clause: what the stack needs and why."""
        return f"{self.stack} needs {self.vcpu:g} at its peak ({self.explain()})"


def number(config: StackConfig, key: str, kind: type[int] | type[float]) -> float:
    """``key``'s value as a number; anything else is an error naming the file and the key."""
    raw = config.get(key)
    try:
        if isinstance(raw, bool):
            raise ValueError(raw)
        return kind(raw)
    except (TypeError, ValueError):
        raise StackFileError(f"{config.path.name} sets {PROJECT}:{key}={raw!r}: expected a number") from None


def run_tasks(config: StackConfig, batches: int | None = None) -> int:
    """Array children one horizon's run starts: each job group's ``ceil(symbols / symbolsPerTask)``.

    ``batches`` enables that many ``symbolBatches`` (default: all of them); a stack with
    ``symbols`` runs those.
    """
    per_task = int(number(config, "symbolsPerTask", int))
    raw_batches = config.values.get("symbolBatches") or []
    if raw_batches:
        symbols = [s for batch in raw_batches[:batches or len(raw_batches)] for s in batch]
    else:
        symbols = list(config.get("symbols"))
    high_value = set(config.values.get("highValueSymbols") or [])
    groups = ([s for s in symbols if s not in high_value], [s for s in symbols if s in high_value])
    return sum(math.ceil(len(group) / per_task) for group in groups)


def load(config: StackConfig, batches: int | None = None) -> Load:
    """The stack's runs over the week from its file, with ``batches`` enabled (default: every batch).

    Raises:
        StackFileError: one line naming the file and the key or schedule it cannot use.
    """
    schedules = config.get("schedules")
    if not isinstance(schedules, Mapping) or not schedules:
        raise StackFileError(f"{config.path.name} has no schedules map (horizon -> cron or rate)")
    try:
        starts = tuple((t, str(h)) for h, expr in schedules.items() for t in fire_minutes(str(expr)))
    except ValueError as exc:
        raise StackFileError(f"{config.path.name}: {exc}") from None
    duration = math.ceil(number(config, "jobTimeoutSeconds", int) / 60)
    return Load(config.stack, starts, duration, run_tasks(config, batches), number(config, "taskVcpu", float),
                int(number(config, "maxVcpus", int)))


def _busiest(runs: Load) -> int:
    """The first minute of the week at which the most runs are in flight."""
    return max((t for t, _ in runs.starts), key=lambda t: (len(runs.active(t)), -t))


def peak_vcpu(config: StackConfig) -> Peak:
    """The stack's peak vCPU with every batch enabled (capped by its ``maxVcpus``)."""
    runs = load(config)
    minute = _busiest(runs)
    horizons, uncapped = runs.active(minute), runs.uncapped(minute)
    batches = ""
    if total := len(config.values.get("symbolBatches") or []):
        enabled = int(number(config, "enabledBatches", int))
        now = load(config, enabled).vcpu(minute)
        batches = f"; all {total} batches enabled (enabledBatches {enabled} needs {now:g})"
    return Peak(config.stack, runs.vcpu(minute), uncapped, runs.max_vcpus, horizons, runs.tasks, runs.task_vcpu,
                batches)
