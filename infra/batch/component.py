"""The forecast job on AWS Batch (Fargate), scheduled by EventBridge: ``ensemble:batch:ForecastJob``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import names
from infra.batch import iam
from infra.batch.args import BatchArgs
from infra.batch.jobs import JobGroup
from infra.batch.repository import ImageRepository, pushed_image
from jobs.contract.metrics import NAMESPACE

# Bad configuration (exit 2) never fixes itself on a retry; anything else may be transient.
EXIT_CODE_CONFIG_ERROR = "2"


@dataclass(frozen=True)
class ScheduledJob:
    """One job definition and its schedule: a (job group, horizon) pair."""

    group: JobGroup
    horizon: str
    definition: aws.batch.JobDefinition
    rule: aws.cloudwatch.EventRule


def container_properties(
    group: JobGroup, horizon: str, args: BatchArgs, image: pulumi.Input[str],
    roles: dict[str, pulumi.Input[str]], secret_arn: pulumi.Input[str], log_group: pulumi.Input[str],
) -> dict[str, Any]:
    """The Fargate container properties of one job definition (a plain document).

    The image's ENTRYPOINT is ``python -m jobs.unified_forecast_job``, so the command holds
    only its arguments: the effective command is ``python -m jobs.unified_forecast_job --horizon H``.
    """
    env = group.environment()
    return {
        "image": image,
        "command": ["--horizon", horizon],
        "jobRoleArn": roles["job"],
        "executionRoleArn": roles["execution"],
        "resourceRequirements": [
            {"type": "VCPU", "value": f"{args.task_vcpu:g}"},
            {"type": "MEMORY", "value": str(args.task_memory_mib)},
        ],
        "environment": [{"name": k, "value": env[k]} for k in sorted(env)],
        # The URL is never a plain environment value: ECS injects it from Secrets Manager.
        "secrets": [{"name": "DATABASE_URL", "valueFrom": secret_arn}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": args.region,
                "awslogs-stream-prefix": names.job_name(args.stack, group.name, horizon),
            },
        },
        # Private subnets only: they reach ECR, Secrets Manager and CloudWatch through a NAT
        # gateway or VPC endpoints (Pulumi.yaml subnetIds, docs/runbook.md "Networking").
        "networkConfiguration": {"assignPublicIp": "DISABLED"},
        "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
        # The image is built for linux/amd64 (jobs/Dockerfile); Fargate must run that architecture.
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        # On a timeout or a terminate, Batch sends SIGTERM, then SIGKILL 30 s later. The job would
        # run as PID 1, which the kernel spares from signals it installs no handler for; an init
        # process (docker run --init, valid on Fargate) forwards the signal and reaps the workers.
        "linuxParameters": {"initProcessEnabled": True},
    }


class ForecastJob(pulumi.ComponentResource):
    """Fargate compute, queue, job definitions, schedules, roles and logs of one stack.

    The job image lives in the repository every stack shares (``infra.batch.repository``).
    While the stack bootstraps (no ``imageRef`` yet) it declares no job definition and no
    schedule: nothing can run before the image exists.

    Attributes:
        queue: The Batch job queue.
        jobs: One ``ScheduledJob`` per (job group, horizon); none while bootstrapping.
        log_group: The job's CloudWatch log group.
        secret_arn: The ARN of the Secrets Manager secret holding DATABASE_URL (the owning
            stack's, which every stack's job definitions reference).
    """

    def __init__(self, name: str, args: BatchArgs, database_secret_arn: pulumi.Input[str],
                 repository: ImageRepository, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ensemble:batch:ForecastJob", name, None, opts)
        self._args = args
        self._tags = dict(args.tags)
        self._repository = repository
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=names.log_group_name(args.stack),
            retention_in_days=args.log_retention_days, tags=self._tags, opts=child,
        )
        self.secret_arn = pulumi.Output.from_input(database_secret_arn)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        roles = self._task_roles(name, account, child)
        self.queue = self._queue(name, child)
        self.jobs: list[ScheduledJob] = []
        if args.image_ref is not None:
            image = pushed_image(args.image_ref, repository.url, account, invoke)
            self._schedule_all(name, image, roles, (account, region), child)
        self.register_outputs({"queueArn": self.queue.arn})

    def _schedule_all(self, name: str, image: pulumi.Output[str], roles: dict[str, pulumi.Output[str]],
                      where: tuple[pulumi.Output[str], pulumi.Output[str]], child: pulumi.ResourceOptions) -> None:
        account, region = where
        # Only this stack's rules (names start with the stack's job-name prefix) may use the role.
        rules = iam.rule_arn_pattern(region, account, names.job_name_prefix(self._args.stack))
        events_role = aws.iam.Role(
            f"{name}-events-role",
            assume_role_policy=pulumi.Output.json_dumps(iam.assume_role_policy("events.amazonaws.com", account, rules)),
            description="EventBridge: submit the scheduled forecast jobs", tags=self._tags, opts=child,
        )
        args = self._args
        self.jobs = [
            self._scheduled(name, group, horizon, image, roles, events_role, child)
            for group in args.groups for horizon in args.horizons
        ]
        # Any revision of the stack's job definitions: during an update the target moves to the
        # new revision while the old one is still what a firing schedule submits.
        revisions = [pulumi.Output.concat(j.definition.arn_prefix, ":*") for j in self.jobs]
        aws.iam.RolePolicy(
            f"{name}-events-submit", role=events_role.id,
            policy=pulumi.Output.json_dumps(iam.submit_policy(self.queue.arn, revisions)), opts=child,
        )

    def _task_roles(
        self, name: str, account: pulumi.Output[str], child: pulumi.ResourceOptions
    ) -> dict[str, pulumi.Output[str]]:
        trust = pulumi.Output.json_dumps(iam.assume_role_policy("ecs-tasks.amazonaws.com", account))
        execution = aws.iam.Role(f"{name}-execution-role", assume_role_policy=trust,
                                 description="ECS: pull the job image, write its logs, read DATABASE_URL",
                                 tags=self._tags, opts=child)
        aws.iam.RolePolicy(
            f"{name}-execution-policy", role=execution.id,
            policy=pulumi.Output.json_dumps(
                iam.execution_policy(self._repository.arn, self.log_group.arn, self.secret_arn)),
            opts=child,
        )
        job = aws.iam.Role(f"{name}-job-role", assume_role_policy=trust,
                           description="The forecast job: publish its own CloudWatch metrics",
                           tags=self._tags, opts=child)
        aws.iam.RolePolicy(f"{name}-job-policy", role=job.id,
                           policy=pulumi.Output.json_dumps(iam.job_policy(NAMESPACE)), opts=child)
        return {"execution": execution.arn, "job": job.arn}

    def _queue(self, name: str, child: pulumi.ResourceOptions) -> aws.batch.JobQueue:
        batch = self._args
        compute = aws.batch.ComputeEnvironment(
            f"{name}-compute", name=names.stack_prefix(batch.stack), type="MANAGED",
            compute_resources={
                "type": "FARGATE", "max_vcpus": batch.max_vcpus, "subnets": list(batch.subnet_ids),
                "security_group_ids": list(batch.security_group_ids),
            },
            tags=self._tags, opts=child,
        )
        return aws.batch.JobQueue(
            f"{name}-queue", name=names.stack_prefix(batch.stack), state="ENABLED", priority=1,
            compute_environment_orders=[{"order": 1, "compute_environment": compute.arn}],
            tags=self._tags, opts=child,
        )

    def _scheduled(
        self, name: str, group: JobGroup, horizon: str, image: pulumi.Output[str],
        roles: dict[str, pulumi.Output[str]], events_role: aws.iam.Role, child: pulumi.ResourceOptions,
    ) -> ScheduledJob:
        batch = self._args
        label = names.job_name(batch.stack, group.name, horizon)
        props = container_properties(group, horizon, batch, image, roles, self.secret_arn, self.log_group.name)
        definition = aws.batch.JobDefinition(
            f"{name}-{group.name}-{horizon}", name=label, type="container", platform_capabilities=["FARGATE"],
            container_properties=pulumi.Output.json_dumps(props),
            retry_strategy={
                "attempts": batch.retry_attempts,
                "evaluate_on_exits": [
                    {"action": "EXIT", "on_exit_code": EXIT_CODE_CONFIG_ERROR},
                    {"action": "RETRY", "on_reason": "*"},
                ],
            },
            timeout={"attempt_duration_seconds": batch.job_timeout_seconds},
            propagate_tags=True, tags={**self._tags, "horizon": horizon, "jobGroup": group.name}, opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-{group.name}-{horizon}-schedule", name=label,
            description=f"Forecast {len(group.symbols)} symbols at horizon {horizon} ({group.name})",
            schedule_expression=batch.schedule(horizon),
            state="ENABLED" if batch.schedules_enabled else "DISABLED", tags=self._tags, opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{group.name}-{horizon}-target", rule=rule.name, arn=self.queue.arn, role_arn=events_role.arn,
            batch_target={
                "job_definition": definition.arn, "job_name": label,
                # EventBridge accepts array sizes of 2-10,000; one task is a plain (non-array) job.
                "array_size": batch.array_size(group) if batch.array_size(group) >= 2 else None,
            },
            opts=child,
        )
        return ScheduledJob(group=group, horizon=horizon, definition=definition, rule=rule)
