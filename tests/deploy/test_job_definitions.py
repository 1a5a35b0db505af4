"""What AWS would decide at the first deploy and the first schedule (issue 11, items 5-8):
the job definitions name every variable of the env contract, EventBridge may submit any
revision, settings AWS would refuse are refused first, and the networking needs are stated.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping

import pytest
import yaml

from infra.batch.args import FARGATE_SIZES, fargate_memory_values
from infra.values import SettingsError
from jobs.contract.config import DEPLOY_SUPPLIED, JobConfig
from tests.support.stacks import ACCOUNT, REGION, ROOT, STACKS, StackRun, run_stack

JOB_DEF = "aws:batch/jobDefinition:JobDefinition"


class _ReadRecorder(Mapping[str, str]):
    """An empty environment that notes every variable the job's parser asks for."""

    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return default

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def contract_variables() -> set[str]:
    """Every variable ``JobConfig.from_env`` reads: the env contract, from its owner."""
    recorder = _ReadRecorder()
    JobConfig.from_env(recorder)
    return recorder.read


def test_the_contract_is_read_from_its_module() -> None:
    variables = contract_variables()
    assert {"FORECAST_SEED", "TORCH_NUM_THREADS", "BASELINE_MODELS", "DIVERGENCE_THRESHOLD", "ENABLE_RF",
            "DATABASE_URL"} <= variables
    assert set(DEPLOY_SUPPLIED) <= variables, "DEPLOY_SUPPLIED names only variables the job reads"


@pytest.mark.parametrize("stack", STACKS)
def test_every_job_definition_names_every_contract_variable(stack_runs: dict[str, StackRun], stack: str) -> None:
    """`pulumi up` of an older stack file restores the whole job: nothing is left to a code default."""
    expected = contract_variables() - set(DEPLOY_SUPPLIED)
    for definition in stack_runs[stack].of_type(JOB_DEF):
        props = definition.inputs["containerProperties"]
        env = {e["name"]: e["value"] for e in props["environment"]}
        missing = sorted(expected - set(env))
        assert not missing, f"{definition.name} leaves {missing} to code defaults"
        assert all(value != "" for value in env.values()), f"{definition.name}: Batch drops empty values"
        assert [s["name"] for s in props["secrets"]] == ["DATABASE_URL"], definition.name
        assert JobConfig.from_env(env).to_env() == env, f"{definition.name}: the job reads back what was rendered"


def test_seed_threads_windows_and_baseline_come_from_the_stack_config() -> None:
    run = run_stack("canary", {"forecastSeed": 11, "torchNumThreads": 2, "baselineModels": [], "walkForwardWindows": 6})
    env = {e["name"]: e["value"] for e in run.named("forecast-core-1D").inputs["containerProperties"]["environment"]}
    assert (env["FORECAST_SEED"], env["TORCH_NUM_THREADS"], env["BASELINE_MODELS"]) == ("11", "2", "none")
    assert env["WALK_FORWARD_WINDOWS"] == "6"
    assert env["ROLLOUT_SYMBOLS"] == "none" and env["CANARY_SYMBOLS"] == "AAPL,MSFT,SPY"


@pytest.mark.parametrize("stack", STACKS)
def test_schedules_may_submit_any_revision_of_their_own_definitions(stack_runs: dict[str, StackRun], stack: str) -> None:
    """During an update the target moves to revision N+1; a revision-pinned policy refuses it."""
    run = stack_runs[stack]
    [policy] = [r for r in run if r.name == "forecast-events-submit"]
    [statement] = policy.inputs["policy"]["Statement"]
    resources = statement["Resource"]

    def allowed(arn: str) -> bool:  # IAM resource matching: '*' and '?' wildcards, case-sensitive
        return any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources)

    assert statement["Action"] == ["batch:SubmitJob"]
    assert allowed(f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/ensemble-forecast-{stack}")
    for definition in run.of_type(JOB_DEF):
        name = definition.inputs["name"]
        for revision in (1, 2, 17):
            arn = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{name}:{revision}"
            assert allowed(arn), f"{policy.name} refuses {arn}"
    others = [o for o in STACKS if o != stack]
    assert not any(allowed(f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/ensemble-forecast-{o}-1D:1") for o in others)


@pytest.mark.parametrize("vcpu", sorted(FARGATE_SIZES))
def test_fargate_sizes_follow_the_aws_table(vcpu: float) -> None:
    values = fargate_memory_values(vcpu)
    run_stack("canary", {"taskVcpu": vcpu, "taskMemoryMiB": values[-1]})  # the largest valid size deploys
    low, high, step = FARGATE_SIZES[vcpu]
    off_step = low + (step // 2 if step else 512)
    for memory in (low - 1024, high + 1024, off_step):
        if memory in values:
            continue
        with pytest.raises(SettingsError, match=f"taskMemoryMiB={memory} is invalid for {vcpu:g} vCPU on Fargate"):
            run_stack("canary", {"taskVcpu": vcpu, "taskMemoryMiB": memory})


@pytest.mark.parametrize(("vcpu", "memory", "expected"), [
    (8, 18432, "expected 16384 to 61440 in steps of 4096"),
    (16, 36864, "expected 32768 to 122880 in steps of 8192"),
    (0.25, 1536, "expected 512, 1024 or 2048"),
    (3, 8192, "taskVcpu=3 is invalid: expected one of 0.25, 0.5, 1, 2, 4, 8, 16"),
])
def test_invalid_fargate_sizes_are_refused_with_what_is_allowed(vcpu: float, memory: int, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        run_stack("prod", {"taskVcpu": vcpu, "taskMemoryMiB": memory})


def test_fargate_without_a_security_group_is_refused() -> None:
    recorded: list[object] = []
    with pytest.raises(SettingsError, match="^ensemble-forecast:securityGroupIds is empty: Fargate needs at least one "
                                            "security group$"):
        run_stack("limited", {"securityGroupIds": []}, recorded=recorded)  # type: ignore[arg-type]
    assert recorded == [], "refused before any resource is declared"


def test_networking_needs_and_the_image_platform_are_stated(stack_runs: dict[str, StackRun]) -> None:
    text = (ROOT / "Pulumi.yaml").read_text() + (ROOT / "docs" / "runbook.md").read_text()
    for need in ("ecr.api", "ecr.dkr", "S3", "Secrets Manager", "CloudWatch Logs", "monitoring", "linux/amd64"):
        assert need in text, f"Pulumi.yaml and docs/runbook.md must state {need!r}"
    assert "ecr.dkr" in yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]["subnetIds"]["description"]
    assert "FROM --platform=linux/amd64 " in (ROOT / "jobs" / "Dockerfile").read_text()
    for definition in stack_runs["prod"].of_type(JOB_DEF):
        props = definition.inputs["containerProperties"]
        assert props["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}
