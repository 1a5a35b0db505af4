"""Promotion by digest: the image the previous stack ran becomes the next stack's ``imageRef``.

Every stack pins ``<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<digest>``
(``jobs.contract.images``), the reference AWS Batch pulls. Promoting
copies the previous phase's committed pin into the next phase's stack file, changing that one
line and nothing else, so the pull request's stack diff is exactly the image. It is refused
while the previous phase has pinned that digest for fewer than its minimum days (from the
commit that pinned it, ``jobs.contract.phases.MINIMUM_DAYS``), or when its pin is a tag or is
not committed. The pin's age is the pull request's fast, offline pre-check (git only, no
database): a pin merged but never deployed ages too. At deploy time the gate
(``jobs.rollout.gate``) is the authority, on a phase's promotion and on every image the stack has
never run: it counts the previous phase's recorded runs of the digest (``forecast_runs.image_ref``).
``pin`` sets a stack's image from a digest directly: the build workflow's first pin of canary, a
first deploy, or a hotfix (deployed with the gate's ``--hotfix``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from jobs.contract.images import IMAGE_REF_FORM, ImageRef, parse_image_ref
from jobs.contract.values import ConfigError
from jobs.contract.phases import DEPLOYED_PHASES, previous_phase
from jobs.rollout.rollback import ConfigVersion, config_history, git
from jobs.rollout.stackfile import PROJECT, read_stack, stack_path, with_image_ref


class PromotionRefused(RuntimeError):
    """The promotion may not happen now; the message says why and what would allow it."""


@dataclass(frozen=True)
class Promotion:
    """A stack file with its ``imageRef`` set: what it was, what it becomes, and why."""

    target: str
    path: Path
    ref: ImageRef
    previous: object
    text: str
    reason: str

    @property
    def changed(self) -> bool:
        """False when the stack already pins ``ref``."""
        return str(self.ref) != self.previous

    def write(self) -> None:
        """Write the stack file (only its ``imageRef`` line differs)."""
        if self.changed:
            self.path.write_text(self.text, encoding="utf-8")


def _committed_image(repo: Path, version: ConfigVersion, path: str) -> object:
    doc = yaml.safe_load(git(repo, "show", f"{version.sha}:{path}")) or {}
    return (doc.get("config") or {}).get(f"{PROJECT}:imageRef")


def pinned_since(repo: Path, stack: str, ref: ImageRef) -> ConfigVersion | None:
    """The commit from which ``Pulumi.<stack>.yaml`` has pinned ``ref`` without a break (None: not committed)."""
    path = stack_path(repo, stack).name
    since = None
    for version in config_history(repo, path):  # newest first
        if _committed_image(repo, version, path) != str(ref):
            break
        since = version
    return since


def _pinned(target: str, repo: Path, ref: ImageRef, reason: str) -> Promotion:
    config = read_stack(repo, target)
    if config.region is not None and ref.region != config.region:
        # ECR repositories are regional: the stack's job definitions could not pull it.
        raise ValueError(f"{ref} is in region {ref.region}: {config.path.name} deploys to {config.region}")
    text = with_image_ref(config.path.read_text(encoding="utf-8"), ref, config.path.name)
    return Promotion(target, config.path, ref, config.values.get("imageRef"), text, reason)


def pin(repo: Path, target: str, raw: str) -> Promotion:
    """Set ``target``'s ``imageRef`` to the digest ``raw`` (``<registry>/ensemble-forecast@sha256:...``)."""
    ref = parse_image_ref("--image", raw)
    return _pinned(target, repo, ref, f"{target} pinned to {ref} as given")


def promote(repo: Path, source: str, target: str, now: datetime, min_days: float) -> Promotion:
    """Copy ``source``'s committed, long enough proven pin into ``target``'s stack file.

    Raises:
        ValueError: ``source`` is not the phase ``target`` is promoted from.
        PromotionRefused: the pin is a tag, uncommitted, or younger than ``min_days``.
    """
    if min_days < 0:
        raise ValueError(f"--min-days {min_days:g} is invalid: expected 0 or more days")
    if target not in DEPLOYED_PHASES or previous_phase(target) != source:
        allowed = ", ".join(f"--from {previous_phase(p)} --to {p}" for p in DEPLOYED_PHASES if previous_phase(p))
        raise ValueError(f"--from {source} --to {target} is invalid: expected one of {allowed}")
    config = read_stack(repo, source)
    try:
        ref = parse_image_ref(f"{config.path.name} imageRef", config.values.get("imageRef"))
    except ConfigError as exc:
        raise PromotionRefused(f"{exc}; pin the digest the build recorded first: python -m jobs.promote "
                               f"--image {IMAGE_REF_FORM} --to {source}") from None
    since = pinned_since(repo, source, ref)
    if since is None:
        raise PromotionRefused(f"{source}'s imageRef {ref} is not committed: {source} has never run it")
    days = (now - datetime.fromisoformat(since.date)).total_seconds() / 86_400
    if days < min_days:
        raise PromotionRefused(f"{source} has pinned {ref} for {days:.1f} of its minimum {min_days:g} days "
                               f"(since {since.short} {since.date}); promote it later, or pass --min-days 0 for a "
                               "hotfix")
    return _pinned(target, repo, ref, f"{source} has pinned it for {days:.1f} days (since {since.short} {since.date})")
