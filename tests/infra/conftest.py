"""Fixtures for the infra tests: each stack's recorded run, built once per test module."""

from __future__ import annotations

import pytest

from tests.infra.harness import STACKS, StackRun, run_stack


@pytest.fixture(scope="module")
def runs() -> dict[str, StackRun]:
    """The recorded run of every stack, from the real ``Pulumi.<stack>.yaml`` files."""
    return {name: run_stack(name) for name in STACKS}
