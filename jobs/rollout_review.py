"""End-of-phase review: ``python -m jobs.rollout_review --phase canary --days 7``.

Reads the database (DATABASE_URL, else the embedded default), writes
``reports/rollout_review_<phase>.md`` and ``.html`` and prints the decision with every
reason. Exit status: 0 PROCEED, 3 MONITOR (extend the phase by 3 days), 4 ROLLBACK,
2 bad input, 1 database unreachable.
"""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from jobs.cli import OneLineParser, UsageError, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.contract.phases import ROLLOUT_PHASES
from jobs.contract.thresholds import ENV_VARS, Thresholds
from jobs.monitoring.report_files import ensure_dir
from jobs.rollout.report import write_reports
from jobs.rollout.review import review
from jobs.storage.db import resolve_url


def _fraction(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number (use a fraction, e.g. 0.15 for 15%)") from None


def _days(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 365:
        raise argparse.ArgumentTypeError(f"{raw!r} is invalid: expected a whole number of days from 1 to 365")
    return value


# The thresholds a reviewer may override for one review; by default each is the stack's value
# (the job environment's, see jobs.contract.thresholds.ENV_VARS), else the document's.
FLAGS: dict[str, str] = {
    "divergence_proceed": "average divergence must be below this to proceed",
    "divergence_rollback": "average divergence above this for any symbol-horizon rolls back",
    "overfitting_share": "share of overfitting windows must be below this to proceed",
    "rmse_escalation": "test RMSE may be at most this much worse than the baseline to proceed",
    "rmse_rollback": "test RMSE more than this much worse than the baseline rolls back",
    "divergence_critical": "a window above this divergence is a critical alert",
}


def build_parser() -> OneLineParser:
    """The command line; threshold flags default to the environment's thresholds."""
    p = OneLineParser(prog="python -m jobs.rollout_review", description=__doc__.splitlines()[0])
    p.add_argument("--phase", required=True, choices=ROLLOUT_PHASES, help="rollout phase to review")
    p.add_argument("--days", type=_days, default=7, help="review window in days (default 7)")
    p.add_argument("--out-dir", type=Path, default=Path("reports"), help="report folder (default reports/)")
    for name, text in FLAGS.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=_fraction, default=None,
                       help=f"{text} (default: {ENV_VARS[name]}, else {getattr(Thresholds(), name)})")
    p.add_argument("--alert-storm-count", type=int, default=None,
                   help="more critical alerts than this in one storm period rolls back "
                        f"(default: ALERT_STORM_COUNT, else {Thresholds().alert_storm_count})")
    p.add_argument("--no-baseline-required", dest="require_baseline", action="store_false",
                   help="let the RMSE check pass when no paired baseline windows were logged")
    return p


@dataclass(frozen=True)
class Args:
    """The validated command line."""

    phase: str
    days: int
    out_dir: Path
    thresholds: Thresholds
    require_baseline: bool


def parse_args(argv: Sequence[str], base: Thresholds) -> Args:
    """Parse and validate ``argv`` over the ``base`` thresholds; raise ``UsageError`` on bad input."""
    ns = build_parser().parse_args(list(argv))
    overrides = {name: getattr(ns, name) for name in (*FLAGS, "alert_storm_count") if getattr(ns, name) is not None}
    try:
        thresholds = replace(base, **overrides)
    except ValueError as exc:
        # Thresholds names its variables; a value typed on the command line is named by its flag.
        message = str(exc)
        for name in overrides:
            message = re.sub(rf"\b{ENV_VARS[name]}=", f"--{name.replace('_', '-')}=", message)
        raise UsageError(message) from None
    return Args(ns.phase, ns.days, ns.out_dir, thresholds, ns.require_baseline)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the review, write both reports, print the decision; return the exit status."""
    environ = os.environ if env is None else env

    def body() -> int:
        cfg = JobConfig.from_env(environ)
        args = parse_args(argv_or_sys(argv), cfg.thresholds)
        ensure_dir(args.out_dir, "--out-dir")  # before the review's work: a bad folder is bad input
        result, data = review(resolve_url(cfg.database_url, cfg.data_dir), args.phase, args.days, args.thresholds,
                              args.require_baseline)
        md, html = write_reports(result, data, args.thresholds, args.out_dir)
        print(f"{result.decision.value}: {args.phase} over the last {args.days} day(s)")
        for reason in result.reasons:
            print(f"  - {reason}")
        print(f"report: {md} and {html}")
        return result.decision.exit_code

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
