"""The test account's ECR registry, as ``aws.ecr.getImage`` (``ecr:DescribeImages``) answers it.

It holds the images the build workflow pushed: every digest a committed stack file pins, plus
any a test pushes. A lookup of anything else fails as the AWS provider's data source does
(``ImageNotFoundException``, or ``RepositoryNotFoundException`` for another repository or
registry), so a program that looks an image up is refused here where AWS would refuse it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from jobs.contract.images import IMAGE_REPOSITORY

PUSHED_AT = 1_764_806_400  # 2025-12-04T00:00:00Z, the data source's imagePushedAt (epoch seconds)


def pinned_digests(root: Path) -> frozenset[str]:
    """The digests the committed stack files under ``root`` pin (``sha256:<64 hex>``)."""
    digests = set()
    for path in sorted(root.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        ref = config.get("ensemble-forecast:imageRef")
        if isinstance(ref, str) and "@" in ref:
            digests.add(ref.split("@", 1)[1])
    return frozenset(digests)


def image_lookup(account: str, region: str, pushed: Iterable[str]) -> Any:
    """The ``aws:ecr/getImage:getImage`` answer of a registry holding ``pushed`` in ``ensemble-forecast``."""
    held = frozenset(pushed)

    def answer(args: Mapping[str, Any]) -> dict[str, Any]:
        name, registry = args.get("repositoryName"), args.get("registryId") or account
        if name != IMAGE_REPOSITORY or registry != account:
            raise RuntimeError(f"reading ECR Image: RepositoryNotFoundException: The repository with name '{name}' "
                               f"does not exist in the registry with id '{registry}'")
        digest = args.get("imageDigest")
        if digest not in held:
            raise RuntimeError(f"reading ECR Image: ImageNotFoundException: The image with imageId "
                               f"{{imageDigest:'{digest}'}} does not exist within the repository with name "
                               f"'{name}' in the registry with id '{registry}'")
        return {"id": digest, "imageDigest": digest, "imagePushedAt": PUSHED_AT, "imageSizeInBytes": 412_345_678,
                "imageTags": [], "imageUri": f"{account}.dkr.ecr.{region}.amazonaws.com/{name}@{digest}",
                "registryId": account, "repositoryName": name, "region": region}

    return answer
