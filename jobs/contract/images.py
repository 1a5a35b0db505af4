"""The job image's reference: one repository for every stack, each stack pinned to a digest.

The image is built once per commit (tagged with the commit) and pushed to the one ECR
repository ``ensemble-forecast``; a stack's ``imageRef`` names the image by digest,
``ensemble-forecast@sha256:<64 hex>``, so what limited and prod run is byte for byte what
canary ran. Promotion copies that one line from a stack's file to the next
(``python -m jobs.promote``); the stacks resolve the repository name to its URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jobs.contract.values import ConfigError

# The one repository every stack reads; created once per account and region, outside the stacks
# (.github/workflows/build-image.yml), so no stack owns (or destroys) another stack's image.
IMAGE_REPOSITORY = "ensemble-forecast"
_DIGEST_REF_RE = re.compile(r"^(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)@(?P<digest>sha256:[0-9a-f]{64})$")


@dataclass(frozen=True)
class ImageRef:
    """An image pinned by digest in a repository: ``<repository>@sha256:<digest>``."""

    repository: str
    digest: str

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}"


def parse_image_ref(name: str, raw: object) -> ImageRef:
    """Parse ``ensemble-forecast@sha256:<64 hex>``; raise ``ConfigError`` naming ``name`` otherwise."""
    expected = f"expected {IMAGE_REPOSITORY}@sha256:<64 hex digits> (the one repository, pinned by digest)"
    match = _DIGEST_REF_RE.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise ConfigError(f"{name}={raw!r} is invalid: {expected}")
    if match["repository"] != IMAGE_REPOSITORY:
        raise ConfigError(f"{name}={raw!r} names repository {match['repository']!r}: {expected}")
    return ImageRef(match["repository"], match["digest"])
