"""Least-privilege IAM policy documents for the forecast job, as pure functions.

Each function returns a plain policy document (``dict``); ARNs may be ``pulumi.Output``
values, rendered with ``pulumi.Output.json_dumps``. Keeping them pure lets the tests and
reviewers read exactly which actions on which resources each role gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pulumi import Input, Output

# Actions ECS needs to pull the image from one repository.
ECR_PULL_ACTIONS: tuple[str, ...] = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
LOG_ACTIONS: tuple[str, ...] = ("logs:CreateLogStream", "logs:PutLogEvents")


def assume_role_policy(
    service: str, account_id: Input[str], source_arn_pattern: Input[str] | Sequence[Input[str]] | None = None
) -> dict[str, Any]:
    """A trust policy letting only ``service`` assume the role, and only on this account's behalf.

    Args:
        service: The service principal, e.g. ``ecs-tasks.amazonaws.com``.
        account_id: The stack's AWS account: ``aws:SourceAccount`` must equal it.
        source_arn_pattern: If given, ``aws:SourceArn`` must match it (``ArnLike``; one of them,
            for a list), e.g. the stack's EventBridge rules.

    The conditions stop the confused deputy: another account's resource cannot make the
    service assume this role for it.
    """
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn_pattern is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn_pattern if isinstance(source_arn_pattern, (str, Output))
                                else list(source_arn_pattern)}
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
                       "Condition": condition}],
    }


def rule_arn_pattern(region: Input[str], account_id: Input[str], name_prefix: str) -> Output[str]:
    """``arn:aws:events:<region>:<account>:rule/<name_prefix>*``: the stack's EventBridge rules."""
    if not name_prefix or "*" in name_prefix:
        raise ValueError(f"rule name prefix {name_prefix!r} is invalid: expected a non-empty name without '*'")
    return Output.concat("arn:aws:events:", region, ":", account_id, ":rule/", name_prefix, "*")


def execution_policy(repository_arn: Input[str], log_group_arn: Input[str], secret_arn: Input[str]) -> dict[str, Any]:
    """What ECS needs to start the task: pull one image, write one log group, read one secret."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            # GetAuthorizationToken has no resource-level permissions: AWS requires "*".
            {"Sid": "EcrAuth", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {"Sid": "EcrPull", "Effect": "Allow", "Action": list(ECR_PULL_ACTIONS), "Resource": repository_arn},
            {"Sid": "Logs", "Effect": "Allow", "Action": list(LOG_ACTIONS), "Resource": log_stream_arn(log_group_arn)},
            {"Sid": "DatabaseUrl", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secret_arn},
        ],
    }


def log_stream_arn(log_group_arn: Input[str]) -> Input[str]:
    """The ARN pattern of the log group's streams (the group's ARN may end in ``:*``)."""
    return Output.from_input(log_group_arn).apply(lambda arn: f"{arn.removesuffix(':*')}:log-stream:*")


def job_policy(namespace: str) -> dict[str, Any]:
    """What the job itself may do: publish metrics to its own namespace, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PutOwnMetrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                # PutMetricData has no resource-level permissions; the namespace condition scopes it.
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
            }
        ],
    }


def submit_policy(queue_arn: Input[str], job_definition_arns: list[Input[str]]) -> dict[str, Any]:
    """What EventBridge may do: submit the scheduled job definitions to the one queue.

    ``job_definition_arns`` are ``arn:...:job-definition/<name>:*`` patterns (any revision of
    the stack's own definitions), so a schedule that fires mid-update is still allowed.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SubmitScheduledForecasts",
                "Effect": "Allow",
                "Action": ["batch:SubmitJob"],
                "Resource": [queue_arn, *job_definition_arns],
            }
        ],
    }
