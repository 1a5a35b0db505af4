"""The job image's ECR repository: one for every stack, declared once by the stack that owns it.

One image is built per commit of ``jobs/`` and pushed once; each stack pins it by digest
(``imageRef``), so a promotion copies exactly the image canary validated. The owning stack
(``manageRepository``, canary) declares the repository as a top-level resource: it has no
parent and no dependency, so a plain ``pulumi up`` of a new stack creates it first, and it never
waits for the database. The other stacks find it by name, as they find the DATABASE_URL secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from jobs.contract.images import IMAGE_REPOSITORY

# The logical name of the owning stack's repository resource.
REPOSITORY_RESOURCE = "image-repository"


@dataclass(frozen=True)
class ImageRepository:
    """The shared repository as a stack sees it: what the execution role may pull from.

    Attributes:
        arn: The repository's ARN (the execution role's ``EcrPull`` resource).
        url: ``<account>.dkr.ecr.<region>.amazonaws.com/ensemble-forecast``; ``imageRef`` must
            name an image in it.
    """

    arn: pulumi.Output[str]
    url: pulumi.Output[str]


def declare_repository(tags: Mapping[str, str]) -> ImageRepository:
    """The owning stack's repository: immutable tags (the commit), scanned on push.

    ``retain_on_delete``: destroying the owning stack must not delete the images the other
    stacks run (the ECR API would refuse a non-empty repository anyway, failing the destroy).
    """
    repository = aws.ecr.Repository(
        REPOSITORY_RESOURCE, name=IMAGE_REPOSITORY, image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True}, tags=dict(tags),
        opts=pulumi.ResourceOptions(retain_on_delete=True),
    )
    return ImageRepository(arn=repository.arn, url=repository.repository_url)


def find_repository() -> ImageRepository:
    """The repository the owning stack declared, found by name (deploy the owner first)."""
    found = aws.ecr.get_repository_output(name=IMAGE_REPOSITORY)
    return ImageRepository(arn=found.arn, url=found.repository_url)


def check_image(image_ref: str, repository_url: str) -> str:
    """``image_ref`` when it names an image in ``repository_url`` (what the execution role may pull).

    Raises:
        ValueError: The pin names another registry or account than the stack's repository.
    """
    if not image_ref.startswith(f"{repository_url}@sha256:"):
        raise ValueError(f"ensemble-forecast:imageRef={image_ref!r} is not in the stack's image repository "
                         f"{repository_url}: expected {repository_url}@sha256:<64 hex>")
    return image_ref


def pushed_image(image_ref: str, repository_url: pulumi.Input[str], registry_id: pulumi.Input[str],
                 opts: pulumi.InvokeOutputOptions) -> pulumi.Output[str]:
    """``image_ref``, once it is in the stack's repository (``check_image``) and ECR holds its digest.

    The digest is looked up (``ecr:DescribeImages``, the ``aws.ecr.getImage`` data source) in the
    plan itself, so ``pulumi preview`` and ``pulumi up`` by hand stop at a pin that was never
    pushed, as the deploy workflow's "Find the image" step does, instead of a job that fails to
    pull at its first run. The lookup starts only after the form check passed: a pin in another
    registry fails with that reason, not ECR's.
    """
    checked = pulumi.Output.from_input(repository_url).apply(lambda url: check_image(image_ref, url))
    found = aws.ecr.get_image_output(repository_name=IMAGE_REPOSITORY, registry_id=registry_id,
                                     image_digest=checked.apply(lambda ref: ref.split("@", 1)[1]), opts=opts)
    return pulumi.Output.all(checked, found.image_digest).apply(lambda values: str(values[0]))
