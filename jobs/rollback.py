"""`python -m jobs.rollback`: the command line of `jobs.rollout.rollback`."""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import sys
from collections.abc import Sequence
from pathlib import Path

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.rollout.rollback import RollbackError, find_repo, plan_rollback, render


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rollback plan for ``--stack``; return the exit status."""
    p = OneLineParser(prog="python -m jobs.rollback", description=__doc__.splitlines()[0])
    p.add_argument("--stack", required=True, help="stack name: canary, limited or prod")
    p.add_argument("--repo", type=Path, default=Path("."), help="git checkout holding the stack files (default .)")

    def body() -> int:
        ns = p.parse_args(argv_or_sys(argv))
        print(render(plan_rollback(find_repo(ns.repo), ns.stack)))
        return EXIT_OK

    return run_command(body, bad_input=(ValueError,), faults=(RollbackError,))


if __name__ == "__main__":
    sys.exit(main())
