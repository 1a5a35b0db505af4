"""Fargate quota preflight: ``python -m jobs.quota_check --stack prod``: can the account run the stacks' peak?

Reads the "Fargate On-Demand vCPU resource count" quota (Service Quotas, ``fargate``
``L-3032A538``) in the stack's region, and the vCPU that the stacks sharing that account and
region (every deployed phase's committed ``Pulumi.<stack>.yaml`` with its schedules on) hold at
once: each stack's overlapping runs x array children x ``taskVcpu``, every batch enabled,
capped by its ``maxVcpus`` (``jobs.rollout.capacity``), added up where their runs overlap
(``jobs.rollout.shared``). ``--this-stack-only`` compares the quota with the stack's own peak.
A stack whose schedules are off passes (it starts no job). The deploy workflow runs it on
every deploy. Exit status: 0 the quota holds the peak, 3 refused (one line naming the quota,
its value, the need and the command requesting an increase), 2 bad input, 1 the quota could
not be read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.phases import DEPLOYED_PHASES
from jobs.rollout.capacity import peak_vcpu
from jobs.rollout.quota import Need, QuotaUnavailable, check_quota, fargate_vcpu_quota
from jobs.rollout.rollback import RollbackError, find_repo
from jobs.rollout.shared import shared_peak
from jobs.rollout.stackfile import read_stack

EXIT_REFUSED = 3


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.quota_check", description=__doc__.splitlines()[0])
    p.add_argument("--stack", required=True, choices=DEPLOYED_PHASES, help="the stack about to be promoted")
    p.add_argument("--region", default=None, help="AWS region (default: the stack file's aws:region)")
    p.add_argument("--repo", type=Path, default=Path("."), help="git checkout holding the stack files (default .)")
    p.add_argument("--this-stack-only", action="store_true",
                   help="compare the quota with this stack's own peak, not with every stack sharing the quota")
    return p


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    """Check the quota against the stacks' peak, print one line; return the exit status."""

    def body() -> int:
        ns = build_parser().parse_args(argv_or_sys(argv))
        repo = find_repo(ns.repo)
        config = read_stack(repo, ns.stack)
        region = ns.region or config.region
        if not region:
            raise ValueError(f"{config.path.name} sets no aws:region: pass --region")
        peak: Need = peak_vcpu(config) if ns.this_stack_only else shared_peak(repo, config, region)
        quotas = client if client is not None else boto3.client("service-quotas", region_name=region)
        result = check_quota(peak, fargate_vcpu_quota(quotas), region)
        print(result.line)
        return EXIT_OK if result.ok else EXIT_REFUSED

    return run_command(body, bad_input=(ValueError,), faults=(QuotaUnavailable, RollbackError))


if __name__ == "__main__":
    sys.exit(main())
