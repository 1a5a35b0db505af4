"""Long modules first, spread over the xdist workers, so that no worker ends on a long test.

``--dist worksteal`` hands each worker an equal, contiguous share of the collected tests and
later moves tests only from the end of a busy worker's queue to an idle one. In collection order
the slowest modules sat anywhere, and one that started late (the fleet soak, the Ctrl-C jobs)
kept one core busy for half a minute after the other had finished. Here each worker's share
starts with its long modules (greedy: the next longest to the share with the least seconds so
far), then the other tests in collection order fill the shares to the sizes worksteal cuts.
A module stays whole: its module-scoped fixtures (the soak's month, a seeded database) are
built once. Without xdist the order is the collection order, long modules first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# Seconds of test time per module (the sum of its tests' durations, `pytest --durations=0`, on the
# 2-core machine after this change): only the modules above about 10 s. Approximate by nature;
# a module that became fast only loses its head start.
SLOW_MODULES: dict[str, float] = {
    "tests/integration/test_faults.py": 60,
    "tests/integration/test_rollout_review.py": 40,
    "tests/integration/test_exactly_once.py": 35,
    "tests/integration/test_fleet_soak.py": 30,
    "tests/integration/test_resume_faults.py": 25,
    "tests/integration/test_metrics_contract.py": 25,
    "tests/deploy/test_database_rehearsal.py": 22,
    "tests/integration/test_resume.py": 18,
    "tests/integration/test_interrupt.py": 17,
    "tests/integration/test_pages_in_browser.py": 15,
    "tests/integration/test_sigterm.py": 12,
    "tests/integration/test_rollout_story.py": 11,
    "tests/integration/test_commands.py": 11,
    "tests/integration/test_command_errors.py": 10,
    "tests/integration/test_dashboard.py": 9,
    "tests/integration/test_data_incidents.py": 8,
    "tests/integration/test_symbol_retirement.py": 8,
}


def share_sizes(total: int, workers: int) -> list[int]:
    """How many tests worksteal hands each of ``workers`` idle workers at the start (as it computes them)."""
    if workers < 1:
        raise ValueError(f"workers={workers} is invalid: expected at least 1")
    sizes, left = [], total
    for i in range(workers):
        sizes.append(left // (workers - i))
        left -= sizes[-1]
    return sizes


def long_first(items: Sequence[T], module_of: dict[int, str], workers: int,
               seconds: dict[str, float] = SLOW_MODULES) -> list[T]:
    """``items`` reordered: ``workers`` shares of worksteal's sizes, each starting with its long modules.

    ``module_of`` maps an item's index to its module path (relative to the root, ``/``-separated).
    """
    modules: dict[str, list[int]] = {}
    for index in range(len(items)):
        modules.setdefault(module_of[index], []).append(index)
    slow = sorted((m for m in modules if m in seconds), key=lambda m: -seconds[m])
    shares: list[list[int]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for module in slow:
        k = min(range(workers), key=lambda i: (loads[i], i))
        shares[k].extend(modules[module])
        loads[k] += seconds[module]
    rest = iter(i for i in range(len(items)) if module_of[i] not in seconds)
    order: list[int] = []
    for share, size in zip(shares, share_sizes(len(items), workers), strict=True):
        order.extend(share)
        order.extend(next(rest) for _ in range(max(0, size - len(share))))
    order.extend(rest)
    return [items[i] for i in order]
