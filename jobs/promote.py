"""Promote an image by digest: ``python -m jobs.promote --from canary --to limited``.

Copies the previous stack's committed ``imageRef``
(``<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<digest>``) into
``Pulumi.<to>.yaml``, changing only that line; ``--image REF --to canary`` pins a digest the
build workflow recorded (a stack's first deploy too). Commit the file and open a pull request:
its stack diff is the one line. Exit status: 0 pinned (or already pinned), 3 refused with the
reason (a tag, an uncommitted pin, too few days on the previous stack), 2 bad input (an image in
another region than the stack's too), 1 git failed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, fail, run_command
from jobs.contract.images import IMAGE_REF_FORM
from jobs.contract.phases import DEPLOYED_PHASES, minimum_days
from jobs.rollout.promote import Promotion, PromotionRefused, pin, promote
from jobs.rollout.rollback import RollbackError, find_repo

EXIT_REFUSED = 3


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.promote", description=__doc__.splitlines()[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", choices=DEPLOYED_PHASES, help="the stack whose pinned image to copy")
    source.add_argument("--image", help=f"pin this digest instead: {IMAGE_REF_FORM}")
    p.add_argument("--to", dest="target", required=True, choices=DEPLOYED_PHASES, help="the stack file to change")
    p.add_argument("--min-days", type=float, default=None,
                   help="days the previous stack must have pinned the image (default: its phase's minimum days)")
    p.add_argument("--repo", type=Path, default=Path("."), help="git checkout holding the stack files (default .)")
    return p


def report(promotion: Promotion) -> str:
    """What changed and what to do next."""
    name = promotion.path.name
    if not promotion.changed:
        return f"{promotion.target} already pins {promotion.ref}: {name} unchanged"
    return "\n".join([
        f"{name}: imageRef {promotion.previous} -> {promotion.ref} ({promotion.reason})",
        "Commit it and open a pull request; its stack diff is this one line:",
        f'  git commit -m "{promotion.target}: run image {promotion.ref.digest[:19]}" -- {name}',
    ])


def main(argv: Sequence[str] | None = None, now: datetime | None = None) -> int:
    """Pin or promote, print what changed; return the exit status."""

    def body() -> int:
        ns = build_parser().parse_args(argv_or_sys(argv))
        repo = find_repo(ns.repo)
        try:
            if ns.image is not None:
                promotion = pin(repo, ns.target, ns.image)
            else:
                days = ns.min_days if ns.min_days is not None else minimum_days(ns.source)
                promotion = promote(repo, ns.source, ns.target, now or datetime.now(timezone.utc), days)
        except PromotionRefused as exc:
            return fail(f"promotion of {ns.target} refused: {exc}", EXIT_REFUSED)
        promotion.write()
        print(report(promotion))
        return EXIT_OK

    return run_command(body, bad_input=(ValueError,), faults=(RollbackError,))


if __name__ == "__main__":
    sys.exit(main())
