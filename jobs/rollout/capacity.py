"""A stack's peak Fargate vCPU: how much its overlapping scheduled runs ask for at once.

Each horizon's schedule starts one Batch array job per job group (``core``, and prod's
``high-value``); a run of ``tasks`` array children holds ``tasks x taskVcpu`` vCPU until it
ends, at the latest after ``jobTimeoutSeconds``. Runs whose windows overlap add up (prod's 4h
run at 14:05 and 8h run at 14:10), and the compute environment's ``maxVcpus`` caps the sum:
Batch queues the rest. The figure is computed from the stack file (``jobs.rollout.stackfile``)
by the keys the stack reads, with every ``symbolBatches`` batch enabled: later
``enabledBatches`` steps are not gated, so the promotion must already fit the whole plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from jobs.contract.schedules import WEEK_MINUTES, fire_minutes
from jobs.rollout.stackfile import StackConfig, StackFileError


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

    def explain(self) -> str:
        """How the figure comes about, in a few words."""
        runs = " and ".join(self.horizons)
        how = (f"{runs} overlap: {len(self.horizons)} runs x {self.tasks} tasks x {self.task_vcpu:g} vCPU"
               if len(self.horizons) > 1 else f"one {runs} run of {self.tasks} tasks x {self.task_vcpu:g} vCPU")
        cap = f" = {self.uncapped:g}, capped by maxVcpus {self.max_vcpus}" if self.vcpu < self.uncapped else ""
        return f"{how}{cap}{self.batches}"


def run_tasks(config: StackConfig, batches: int | None = None) -> int:
    """Array children one horizon's run starts: each job group's ``ceil(symbols / symbolsPerTask)``.

    ``batches`` enables that many ``symbolBatches`` (default: all of them); a stack with
    ``symbols`` runs those.
    """
    per_task = int(config.get("symbolsPerTask"))
    raw_batches = config.values.get("symbolBatches") or []
    if raw_batches:
        symbols = [s for batch in raw_batches[:batches or len(raw_batches)] for s in batch]
    else:
        symbols = list(config.get("symbols"))
    high_value = set(config.values.get("highValueSymbols") or [])
    groups = ([s for s in symbols if s not in high_value], [s for s in symbols if s in high_value])
    return sum(math.ceil(len(group) / per_task) for group in groups)


def _overlaps(schedules: Mapping[str, str], duration: int) -> tuple[int, tuple[str, ...]]:
    """The most runs in flight at once and their horizons, each run lasting ``duration`` minutes."""
    starts = [(t, h) for h, expr in schedules.items() for t in fire_minutes(str(expr))]
    best: tuple[int, tuple[str, ...]] = (0, ())
    for t, _ in starts:
        # A run started late last week may still be going: compare on the circle of the week.
        active = tuple(sorted(h for s, h in starts if (t - s) % WEEK_MINUTES < duration))
        if len(active) > best[0]:
            best = (len(active), active)
    return best


def peak_vcpu(config: StackConfig) -> Peak:
    """The stack's peak vCPU with every batch enabled (capped by its ``maxVcpus``)."""
    schedules = config.get("schedules")
    if not isinstance(schedules, Mapping) or not schedules:
        raise StackFileError(f"{config.path.name} has no schedules map (horizon -> cron or rate)")
    duration = math.ceil(int(config.get("jobTimeoutSeconds")) / 60)
    runs, horizons = _overlaps(schedules, duration)
    tasks, task_vcpu, cap = run_tasks(config), float(config.get("taskVcpu")), int(config.get("maxVcpus"))
    uncapped = runs * tasks * task_vcpu
    batches = ""
    if total := len(config.values.get("symbolBatches") or []):
        enabled = int(config.get("enabledBatches"))
        now = min(runs * run_tasks(config, enabled) * task_vcpu, cap)
        batches = f"; all {total} batches enabled (enabledBatches {enabled} needs {now:g})"
    return Peak(config.stack, min(uncapped, float(cap)), uncapped, cap, horizons, tasks, task_vcpu, batches)
