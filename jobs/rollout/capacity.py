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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jobs.rollout.stackfile import StackConfig, StackFileError

WEEK_MINUTES = 7 * 24 * 60
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge: 1 = SUN ... 7 = SAT
_UNIT_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1_440, "days": 1_440}


def _values(field: str, low: int, high: int, names: Sequence[str] = ()) -> list[int]:
    """The numbers an EventBridge cron field selects: ``*``, ``?``, lists, ranges, steps, day names."""
    def number(text: str) -> int:
        return names.index(text.upper()) + low if text.upper() in names else int(text)

    picked: set[int] = set()
    for item in field.split(","):
        span, _, step = item.partition("/")
        if span in ("*", "?"):
            first, last = low, high
        else:
            first_text, _, last_text = span.partition("-")
            first = number(first_text)
            last = number(last_text) if last_text else (high if step else first)
        if not low <= first <= last <= high:
            raise ValueError(f"{item!r} is outside {low}-{high}")
        picked.update(range(first, last + 1, int(step) if step else 1))
    return sorted(picked)


def fire_minutes(expression: str) -> list[int]:
    """Minutes of the week (Sunday 00:00 UTC = 0) at which an EventBridge schedule starts a run.

    ``rate(N unit)`` is counted from minute 0; ``cron(min hour * * dow *)`` as written (day of
    month and month must be ``*`` or ``?``: the schedules here repeat weekly).

    Raises:
        ValueError: one line naming the expression and the supported forms.
    """
    text = expression.strip()
    try:
        if text.startswith("rate(") and text.endswith(")"):
            count, unit = text[5:-1].split()
            return list(range(0, WEEK_MINUTES, int(count) * _UNIT_MINUTES[unit]))
        if text.startswith("cron(") and text.endswith(")"):
            minute, hour, dom, month, dow, _year = text[5:-1].split()
            if dom not in ("*", "?") or month not in ("*", "?"):
                raise ValueError("day-of-month and month must be * or ?")
            return sorted((day - 1) * 1_440 + h * 60 + m for day in _values(dow, 1, 7, _DAYS)
                          for h in _values(hour, 0, 23) for m in _values(minute, 0, 59))
    except (ValueError, KeyError, ZeroDivisionError) as exc:
        raise ValueError(f"schedule {expression!r} is not supported ({exc}): expected rate(N unit) or "
                         "cron(min hour * * dow *)") from None
    raise ValueError(f"schedule {expression!r} is not supported: expected rate(N unit) or cron(min hour * * dow *)")


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
