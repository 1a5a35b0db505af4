"""Reviewable stack snapshots: ``python -m tests.support.snapshots --write`` (or ``--check``).

Each ``tests/snapshots/<stack>.json`` holds the stack's resources sorted by (type, name),
their inputs with secrets redacted (mock ids appear as ``<id:name>`` placeholders), their
resource options that are not the default (``options``: retainOnDelete, protect, ignoreChanges,
deleteBeforeReplace, dependsOn, parent, aliases, ...; ``tests.support.stacks._options``) and the
stack outputs. A pull request that changes the infrastructure, or only a resource's options,
changes these files, so the reviewer sees the change as a diff; ``tests/infra/test_snapshots.py``
fails when one is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tests.support import generated
from tests.support.stacks import ROOT, STACKS, StackRun, run_stack

SNAPSHOT_DIR = ROOT / "tests" / "snapshots"
STALE_HINT = "run `make snapshots` (python -m tests.support.snapshots --write) and commit the result"


def snapshot_path(stack_name: str) -> Path:
    """Where the snapshot of ``stack_name`` lives."""
    return SNAPSHOT_DIR / f"{stack_name}.json"


def snapshot(run: StackRun, stack_name: str) -> dict[str, Any]:
    """The snapshot document of one recorded run."""
    resources = sorted(run, key=lambda r: (r.type, r.name))
    return {
        "stack": stack_name,
        "resources": [{"type": r.type, "name": r.name, "inputs": r.inputs, "options": r.options} for r in resources],
        "outputs": run.outputs,
    }


def render(run: StackRun, stack_name: str) -> str:
    """The snapshot as committed: stable key order, two-space indent, trailing newline."""
    return json.dumps(snapshot(run, stack_name), indent=2, sort_keys=True) + "\n"


def stale_diff(stack_name: str, current: str) -> str | None:
    """A short unified diff when the committed snapshot differs from ``current``, else None."""
    return generated.stale_diff(snapshot_path(stack_name), current, STALE_HINT)


def main(argv: list[str] | None = None) -> int:
    """Write or check the snapshots of every stack; exit 1 when a check finds one stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite tests/snapshots/<stack>.json")
    mode.add_argument("--check", action="store_true", help="fail when a snapshot is stale")
    parser.add_argument("stacks", nargs="*", default=list(STACKS), help="stacks (default: all)")
    args = parser.parse_args(argv)
    stale = 0
    for stack_name in args.stacks:
        current = render(run_stack(stack_name), stack_name)
        if args.write:
            SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
            snapshot_path(stack_name).write_text(current)
            print(f"wrote {snapshot_path(stack_name).relative_to(ROOT)}")
        elif (problem := stale_diff(stack_name, current)) is not None:
            print(problem, file=sys.stderr)
            stale += 1
        else:
            print(f"{snapshot_path(stack_name).relative_to(ROOT)} is current")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
