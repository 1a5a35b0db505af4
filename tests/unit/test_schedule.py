"""The long-first order of ``tests.support.schedule``: every test once, modules whole, long ones first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.schedule import SLOW_MODULES, long_first, share_sizes

ROOT = Path(__file__).resolve().parents[2]


def test_the_shares_are_the_sizes_worksteal_cuts() -> None:
    # xdist's worksteal: each idle worker in turn gets len(pending) // workers_remaining.
    assert share_sizes(1907, 3) == [635, 636, 636]
    assert share_sizes(10, 4) == [2, 2, 3, 3]
    assert share_sizes(5, 1) == [5]
    with pytest.raises(ValueError, match="workers=0 is invalid: expected at least 1"):
        share_sizes(5, 0)


def test_each_share_starts_with_its_long_modules_balanced_and_whole() -> None:
    seconds = {"a": 50.0, "b": 30.0, "c": 25.0}
    modules = ["f"] * 3 + ["a"] * 2 + ["g"] * 4 + ["b"] * 3 + ["c"] + ["h"] * 3
    items = [f"{m}{i}" for i, m in enumerate(modules)]
    order = long_first(items, dict(enumerate(modules)), 2, seconds)
    assert sorted(order) == sorted(items)
    # Worker 1 (first 8): a (50 s), then fast tests in collection order; worker 2: b then c (55 s), then the rest.
    assert order[:8] == ["a3", "a4", "f0", "f1", "f2", "g5", "g6", "g7"]
    assert order[8:] == ["b9", "b10", "b11", "c12", "g8", "h13", "h14", "h15"]


def test_one_worker_runs_the_long_modules_first_longest_first() -> None:
    modules = ["f", "c", "a", "f", "b"]
    order = long_first(modules, dict(enumerate(modules)), 1, {"a": 3.0, "b": 2.0, "c": 1.0})
    assert order == ["a", "b", "c", "f", "f"]


def test_every_listed_module_exists() -> None:
    missing = [m for m in SLOW_MODULES if not (ROOT / m).is_file()]
    assert missing == [], f"SLOW_MODULES names modules that are gone: {missing}"
