"""The job image's reference: one repository for every stack, each stack pinned to a digest.

The image is built once per commit (tagged with the commit) and pushed to the one ECR
repository ``ensemble-forecast``, which canary's stack declares. A stack's ``imageRef`` names
the image by digest in the form AWS Batch pulls,
``<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<64 hex>``, so what limited
and prod run is byte for byte what canary ran. Promotion copies that one line from a stack's
file to the next (``python -m jobs.promote``); the stacks, the build and the deploy workflows
accept this form and no other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jobs.contract.values import ConfigError

# The one repository every stack reads (canary's stack declares it: manageRepository).
IMAGE_REPOSITORY = "ensemble-forecast"
IMAGE_REF_FORM = f"<account>.dkr.ecr.<region>.amazonaws.com/{IMAGE_REPOSITORY}@sha256:<64 hex>"
_IMAGE_REF_RE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com"
                           r"/(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)@(?P<digest>sha256:[0-9a-f]{64})$")


@dataclass(frozen=True)
class ImageRef:
    """An image pinned by digest in an ECR repository: ``<registry>/<repository>@sha256:<digest>``."""

    account: str
    region: str
    repository: str
    digest: str

    @property
    def registry(self) -> str:
        """``<account>.dkr.ecr.<region>.amazonaws.com``."""
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    @property
    def repository_url(self) -> str:
        """The repository's URL, as ECR and the stack output ``repositoryUrl`` print it."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        return f"{self.repository_url}@{self.digest}"


def parse_image_ref(name: str, raw: object) -> ImageRef:
    """Parse ``<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast@sha256:<64 hex>``.

    Only a digest in the shared repository is accepted: a tag names whatever was pushed under it
    last, so a stack file's diff would not show which image runs, and a promotion could not copy
    exactly what canary validated.

    Raises:
        ConfigError: one line naming ``name``, the value and the one accepted form.
    """
    match = _IMAGE_REF_RE.match(raw) if isinstance(raw, str) else None
    if match is None:
        if isinstance(raw, str) and "sha256:" not in raw:
            raise ConfigError(f"{name}={raw!r} is not pinned by digest: expected {IMAGE_REF_FORM} (the digest the "
                              "build recorded for a commit; a promotion copies canary's)")
        raise ConfigError(f"{name}={raw!r} is invalid: expected {IMAGE_REF_FORM}")
    if match["repository"] != IMAGE_REPOSITORY:
        raise ConfigError(f"{name}={raw!r} names repository {match['repository']!r}: every stack runs images "
                          f"from {IMAGE_REPOSITORY!r}")
    return ImageRef(match["account"], match["region"], match["repository"], match["digest"])
