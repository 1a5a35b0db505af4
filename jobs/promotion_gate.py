"""Promotion gate: ``python -m jobs.promotion_gate --stack limited``: may the deploy workflow update the stack?

Prints ``DEPLOY`` or ``REFUSE`` with the reason (``jobs.rollout.gate``). A phase's first deploy
(its promotion), and a promoted stack's deploy of an image it has never run (an image
promotion), are gated: the previous phase must have run the image the stack's file pins
(``Pulumi.<stack>.yaml`` in ``--repo``, the checkout being deployed) for its minimum days, its
review saying PROCEED. An image the stack has run before always deploys (a fix, a rollback).
``--hotfix "<reason>"`` deploys an image promotion unproved (a security fix), the reason in the
answer. Exit status: 0 DEPLOY, 3 REFUSE, 2 bad input (a stack file missing, or pinning something
other than a digest; a blank hotfix reason), 1 database unreachable.
With ``--github-output FILE`` it also appends ``decision=...`` and ``reason=...`` to FILE (GitHub
Actions step outputs). A promotion it lets through names the next step, the Fargate quota
preflight (``jobs.quota_check``).
"""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from jobs.cli import OneLineParser, UsageError, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.phases import DEPLOYED_PHASES
from jobs.monitoring.report_files import OutputPathError, check_output_file
from jobs.rollout.gate import HOTFIX_REASON, Gate, GateDecision, decide
from jobs.rollout.report import write_reports
from jobs.rollout.stackfile import StackFileError, pinned_image
from jobs.storage.db import resolve_url


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.promotion_gate", description=__doc__.splitlines()[0])
    p.add_argument("--stack", required=True, choices=DEPLOYED_PHASES, help="the stack the workflow is about to update")
    p.add_argument("--out-dir", type=Path, default=Path("reports"),
                   help="where the previous phase's review is written when the gate runs one (default reports/)")
    p.add_argument("--github-output", type=Path, default=None,
                   help="append decision=DEPLOY|REFUSE and reason=... to this file (the step's $GITHUB_OUTPUT)")
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="the checkout being deployed, whose Pulumi.<stack>.yaml pins the image (default .)")
    p.add_argument("--hotfix", metavar="REASON", default=None,
                   help="deploy an image the previous phase has not proved to a stack that already runs, for this "
                        "reason (a security fix; kept in the answer and the deploy's summary)")
    p.add_argument("--no-baseline-required", dest="require_baseline", action="store_false",
                   help="let the review's RMSE check pass when no paired baseline windows were logged")
    return p


def write_github_output(path: Path, gate: Gate) -> None:
    """Append the step outputs; the reason is one line (GitHub's key=value format)."""
    reason = " ".join(gate.reason.split())
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(f"decision={gate.decision.value}\nkind={gate.kind}\nreason={reason}\n")
    except OSError as exc:
        raise OutputPathError(f"--github-output={path} cannot be written: {exc.strerror}") from None


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Decide, print the decision and reason, write the review and outputs; return the exit status."""
    environ = os.environ if env is None else env

    def body() -> int:
        ns = build_parser().parse_args(argv_or_sys(argv))
        if ns.hotfix is not None and not ns.hotfix.strip():
            raise UsageError(f"--hotfix {ns.hotfix!r} is invalid: {HOTFIX_REASON}")
        cfg = JobConfig.from_env(environ)
        if ns.github_output is not None:  # before deciding: a bad path is bad input, not a traceback after it
            check_output_file(ns.github_output, "--github-output")
        image = pinned_image(ns.repo, ns.stack)
        gate = decide(resolve_url(cfg.database_url, cfg.data_dir), ns.stack, cfg.thresholds, image,
                      require_baseline=ns.require_baseline, hotfix=ns.hotfix)
        print(f"{gate.decision.value} {gate.stack} ({gate.kind}): {gate.reason}")
        if gate.kind == "promotion" and gate.decision is GateDecision.DEPLOY:
            # Needs AWS credentials, which this step has not: the deploy workflow runs it next.
            print(f"preflight: python -m jobs.quota_check --stack {gate.stack} (the Fargate vCPU quota must hold "
                  "what the stacks sharing it run at once)")
        if gate.review is not None and gate.review_data is not None:
            for reason in gate.review.reasons:
                print(f"  - {reason}")
            md, html = write_reports(gate.review, gate.review_data, cfg.thresholds, ns.out_dir)
            print(f"review: {md} and {html}")
        if ns.github_output is not None:
            write_github_output(ns.github_output, gate)
        return gate.exit_code

    return run_command(body, bad_input=(StackFileError,))


if __name__ == "__main__":
    sys.exit(main())
