"""A stack's peak Fargate vCPU, from its stack file: overlapping runs x array children x taskVcpu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobs.contract.schedules import WEEK_MINUTES, fire_minutes
from jobs.rollout.capacity import peak_vcpu, run_tasks
from jobs.rollout.stackfile import StackConfig, StackFileError, read_stack
from tests.support.stacks import ROOT

MONDAY = 1_440  # minutes of the week at Monday 00:00 UTC


def config(**values: Any) -> StackConfig:
    """A stack's settings as ``read_stack`` returns them, with the Pulumi.yaml defaults under ``values``."""
    defaults = read_stack(ROOT, "canary").values
    return StackConfig("test", Path("Pulumi.test.yaml"), {**defaults, **values}, "us-east-1")


@pytest.mark.parametrize("stack, vcpu, explained", [
    ("canary", 3, "one 1D run of 3 tasks x 1 vCPU"),
    ("limited", 10, "4h and 8h overlap: 2 runs x 5 tasks x 1 vCPU"),
    # The figure (24 with one batch), and what the promotion must already fit: all five batches.
    ("prod", 64, "4h and 8h overlap: 2 runs x 22 tasks x 2 vCPU = 88, capped by maxVcpus 64; "
                 "all 5 batches enabled (enabledBatches 1 needs 24)"),
])
def test_peak_of_each_real_stack(stack: str, vcpu: float, explained: str) -> None:
    peak = peak_vcpu(read_stack(ROOT, stack))
    assert (peak.vcpu, peak.explain()) == (vcpu, explained)


@pytest.mark.parametrize("expression, first, count", [
    ("cron(30 21 ? * MON-FRI *)", MONDAY + 21 * 60 + 30, 5),
    ("cron(5 14,18 ? * MON-FRI *)", MONDAY + 14 * 60 + 5, 10),
    ("cron(0/20 9-10 ? * 2 *)", MONDAY + 9 * 60, 6),  # day 2 is Monday; every 20 minutes from :00
    ("cron(0 0 * * ? *)", 0, 7),
    ("rate(4 hours)", 0, 42),
    ("rate(1 day)", 0, 7),
])
def test_fire_minutes_of_eventbridge_schedules(expression: str, first: int, count: int) -> None:
    fires = fire_minutes(expression)
    assert (fires[0], len(fires)) == (first, count) and fires == sorted(fires)
    assert all(0 <= f < WEEK_MINUTES for f in fires)


@pytest.mark.parametrize("expression, message", [
    ("cron(0 12 1 * ? *)", "day-of-month and month must be * or ?"),
    ("cron(0 25 ? * MON *)", "'25' is outside 0-23"),
    ("cron(0 12 ? * MON#2 *)", "schedule 'cron(0 12 ? * MON#2 *)' is not supported"),
    ("rate(0 hours)", "is not supported"),
    ("at(2026-01-01T00:00:00)", "expected rate(N unit) or cron(min hour * * dow *)"),
])
def test_unsupported_schedules_are_one_line(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as caught:
        fire_minutes(expression)
    assert message in str(caught.value)


def test_runs_overlap_only_within_the_job_timeout() -> None:
    hourly = {"1h": "rate(1 hour)"}
    assert peak_vcpu(config(symbols=["A"], schedules=hourly, jobTimeoutSeconds=3600)).vcpu == 1
    # A run may last up to 2.5 hours: three hourly runs can be in flight at once.
    assert peak_vcpu(config(symbols=["A"], schedules=hourly, jobTimeoutSeconds=9000)).vcpu == 3
    apart = {"1D": "cron(0 10 ? * MON-FRI *)", "4h": "cron(0 12 ? * MON-FRI *)"}
    assert peak_vcpu(config(symbols=["A"], schedules=apart, jobTimeoutSeconds=7200)).vcpu == 1
    assert peak_vcpu(config(symbols=["A"], schedules=apart, jobTimeoutSeconds=7260)).vcpu == 2


def test_a_run_late_on_saturday_overlaps_one_early_on_sunday() -> None:
    schedules = {"1D": "cron(30 23 ? * SAT *)", "4h": "cron(10 0 ? * SUN *)"}
    peak = peak_vcpu(config(symbols=["A", "B"], symbolsPerTask=1, schedules=schedules, jobTimeoutSeconds=3600))
    assert (peak.vcpu, peak.horizons) == (4, ("1D", "4h"))


def test_high_value_symbols_are_their_own_array_job() -> None:
    settings = config(symbols=["A", "B", "C", "D", "E", "F"], symbolsPerTask=5, highValueSymbols=["A"],
                      schedules={"1D": "cron(0 21 ? * MON-FRI *)"}, taskVcpu=4, maxVcpus=64)
    assert run_tasks(settings) == 2  # ceil(5 / 5) core + ceil(1 / 5) high-value
    assert peak_vcpu(settings).vcpu == 8


def test_a_stack_without_schedules_is_named() -> None:
    with pytest.raises(StackFileError, match="Pulumi.test.yaml has no schedules map"):
        peak_vcpu(config(symbols=["A"], schedules={}))


@pytest.mark.parametrize("key, value", [("taskVcpu", "two"), ("jobTimeoutSeconds", None), ("maxVcpus", True)])
def test_a_setting_that_is_not_a_number_is_named_with_its_file(key: str, value: Any) -> None:
    with pytest.raises(StackFileError, match=rf"^Pulumi.test.yaml sets ensemble-forecast:{key}={value!r}: "
                                             "expected a number$"):
        peak_vcpu(config(symbols=["A"], schedules={"1D": "cron(0 21 ? * MON-FRI *)"}, **{key: value}))


def test_an_unsupported_schedule_is_named_with_its_file() -> None:
    with pytest.raises(StackFileError, match=r"^Pulumi.test.yaml: schedule 'rate\(0 hours\)' is not supported"):
        peak_vcpu(config(symbols=["A"], schedules={"4h": "rate(0 hours)"}))
