"""The three stacks, built from their real stack files: what each declares matches the rollout document."""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
import math

import pytest
import yaml

from infra.batch import iam
from jobs.contract.config import JobConfig
from jobs.contract.domain import HORIZONS
from tests.support.stacks import (
    ACCOUNT,
    PROJECT,
    REDACTED,
    REGION,
    ROOT,
    SECRET_MARKERS,
    STACKS,
    RecordedResource,
    StackRun,
    run_stack,
)

JOB_DEF = "aws:batch/jobDefinition:JobDefinition"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
LIMITED_SYMBOLS = ["AAPL", "MSFT", "SPY", "NVDA", "GOOGL", "AMZN", "TSLA", "META", "NFLX", "CRM"]
CORE_ENV = {
    "ENSEMBLE_MODEL_COUNT": "2", "ENABLE_LSTM": "true", "ENABLE_ARIMA_GARCH": "true", "ENABLE_GB": "false",
    "ENABLE_TRANSFORMER": "false", "ENABLE_RF": "false", "ENABLE_PROPHET": "false",
    "ENSEMBLE_OPTIMIZATION_METHOD": "simple_avg", "ENABLE_WALK_FORWARD": "true",
    "ENABLE_DIVERGENCE_MONITORING": "true", "DIVERGENCE_THRESHOLD": "0.2", "DIVERGENCE_CRITICAL_THRESHOLD": "0.3",
}


def stack_file(stack: str) -> dict[str, object]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{PROJECT}:")}


def env(resource: RecordedResource) -> dict[str, str]:
    """The container environment of a job definition."""
    return {e["name"]: e["value"] for e in resource.inputs["containerProperties"]["environment"]}


def forecast(run: StackRun, type_: str) -> list[RecordedResource]:
    """Resources of one type declared by the forecast job component (not monitoring's)."""
    return [r for r in run.of_type(type_) if r.name.startswith("forecast-")]


def job_defs(run: StackRun, group: str = "core") -> dict[str, RecordedResource]:
    """Horizon -> job definition of one job group."""
    out = {}
    for r in run.of_type(JOB_DEF):
        if r.inputs["tags"]["jobGroup"] == group:
            out[r.inputs["tags"]["horizon"]] = r
    return out


def test_canary_runs_three_symbols_at_1d_with_the_2_model_ensemble(stack_runs: dict[str, StackRun]) -> None:
    defs = job_defs(stack_runs["canary"])
    assert list(defs) == ["1D"], f"canary job definitions: {list(defs)}"
    e = env(defs["1D"])
    assert e["CANARY_SYMBOLS"] == "AAPL,MSFT,SPY", defs["1D"].name
    assert e["CANARY_HORIZONS"] == "1D" and e["ROLLOUT_PHASE"] == "canary"
    assert (e["ROLLOUT_SYMBOLS"], e["ROLLOUT_HORIZONS"]) == ("none", "none"), "canary uses the CANARY_* variables only"
    assert {k: e[k] for k in CORE_ENV} == CORE_ENV, defs["1D"].name
    assert stack_runs["canary"].outputs["symbols"] == ["AAPL", "MSFT", "SPY"]


def test_limited_runs_ten_symbols_at_three_horizons(stack_runs: dict[str, StackRun]) -> None:
    defs = job_defs(stack_runs["limited"])
    assert sorted(defs) == ["1D", "4h", "8h"]
    for horizon, resource in defs.items():
        e = env(resource)
        assert e["ROLLOUT_SYMBOLS"].split(",") == LIMITED_SYMBOLS, resource.name
        assert e["ROLLOUT_HORIZONS"] == "1D,4h,8h" and e["ROLLOUT_PHASE"] == "limited", resource.name
        assert e["CANARY_SYMBOLS"] == "AAPL,MSFT,SPY", resource.name
        assert {k: e[k] for k in CORE_ENV} == CORE_ENV, resource.name
        assert resource.inputs["containerProperties"]["command"] == ["--horizon", horizon], resource.name


def test_prod_enables_batches_and_runs_high_value_symbols_with_three_models(stack_runs: dict[str, StackRun]) -> None:
    config = stack_file("prod")
    batches, enabled = config["symbolBatches"], config["enabledBatches"]
    assert sum(len(b) for b in batches) >= 100 and all(len(b) <= 25 for b in batches)
    assert all(len(b) == 25 for b in batches[:-1]), "prod symbols come in batches of 25"
    expected = [s for b in batches[:enabled] for s in b]
    core, high = job_defs(stack_runs["prod"], "core"), job_defs(stack_runs["prod"], "high-value")
    assert sorted(core) == sorted(high) == ["1D", "4h", "8h"]
    for horizon in core:
        core_syms = env(core[horizon])["ROLLOUT_SYMBOLS"].split(",")
        high_syms = env(high[horizon])["ROLLOUT_SYMBOLS"].split(",")
        assert sorted(core_syms + high_syms) == sorted(expected), f"prod {horizon}: enabled symbols differ"
        assert set(high_syms) == set(config["highValueSymbols"]) & set(expected)
        assert {k: env(core[horizon])[k] for k in CORE_ENV} == CORE_ENV, core[horizon].name
        high_env = env(high[horizon])
        assert (high_env["ENSEMBLE_MODEL_COUNT"], high_env["ENABLE_GB"], high_env["ENABLE_RF"]) == ("3", "true", "false")
        assert high_env["ENABLE_LSTM"] == high_env["ENABLE_ARIMA_GARCH"] == "true", high[horizon].name


def test_staging_the_next_prod_batch_changes_only_symbols_and_array_sizes() -> None:
    from tests.support.stacks import run_stack

    day1, day2 = run_stack("prod"), run_stack("prod", {"enabledBatches": 2})
    before = {r.name: r for r in day1}
    changed = {r.name for r in day2 if before[r.name].inputs != r.inputs}
    # The job definitions, their targets, the submit policy, and what the missed-run alarms expect per run.
    assert changed and all(name.startswith("forecast-core-") or name.startswith("forecast-high-value-")
                           or name == "forecast-events-submit" or name.startswith("monitoring-forecasts-owed-")
                           for name in changed), changed
    assert {n for n in changed if n.startswith("monitoring-")} == {f"monitoring-forecasts-owed-{h}" for h in HORIZONS}
    assert len(day2.outputs["symbols"]) == 50


@pytest.mark.parametrize("stack", STACKS)
def test_every_environment_is_one_the_job_accepts(stack_runs: dict[str, StackRun], stack: str) -> None:
    for resource in stack_runs[stack].of_type(JOB_DEF):
        e = env(resource)
        config = JobConfig.from_env(e)  # the job's own parser: raises on anything it would refuse
        assert config.to_env() == e, resource.name
        assert not [k for k in e if k.startswith("AWS_BATCH_")], f"{resource.name}: AWS_BATCH_ is Batch's reserved prefix"
        assert "DATABASE_URL" not in e, f"{resource.name}: DATABASE_URL must come from Secrets Manager"


@pytest.mark.parametrize("stack", STACKS)
def test_every_job_definition_names_the_image_it_runs_for_its_runs_to_record(stack_runs: dict[str, StackRun],
                                                                          stack: str) -> None:
    pinned = stack_file(stack)["imageRef"]
    defs = stack_runs[stack].of_type(JOB_DEF)
    assert pinned and defs and stack_runs[stack].outputs["imageRef"] == pinned, stack
    for resource in defs:
        assert env(resource).get("IMAGE_REF") == pinned, f"{resource.name}: IMAGE_REF is not {stack}'s imageRef"
        assert resource.inputs["containerProperties"]["image"] == pinned, f"{resource.name} runs another image"


def test_a_bootstrapping_stack_declares_no_job_definition_so_nothing_names_an_image() -> None:
    # The first deploy (schedulesEnabled false, imageRef ""): no image yet, so no job definitions;
    # no resource's input mentions IMAGE_REF.
    run = run_stack("canary", {"schedulesEnabled": False, "imageRef": ""})
    assert run.of_type(JOB_DEF) == [] and run.outputs["imageRef"] == ""
    assert [r.name for r in run if "IMAGE_REF" in json.dumps(r.inputs)] == []


@pytest.mark.parametrize("stack", STACKS)
def test_array_size_is_ceil_symbols_over_symbols_per_task(stack_runs: dict[str, StackRun], stack: str) -> None:
    per_task = stack_file(stack)["symbolsPerTask"]
    targets = {r.inputs["batchTarget"]["jobName"]: r for r in forecast(stack_runs[stack], TARGET)}
    for resource in stack_runs[stack].of_type(JOB_DEF):
        e = env(resource)
        symbols = (e["ROLLOUT_SYMBOLS"] if e["ROLLOUT_SYMBOLS"] != "none" else e["CANARY_SYMBOLS"]).split(",")
        size = math.ceil(len(symbols) / per_task)
        target = targets[resource.inputs["name"]].inputs["batchTarget"]
        assert target.get("arraySize") == (size if size >= 2 else None), f"{resource.name}: target array size"
    sizes = {name: t.inputs["batchTarget"].get("arraySize") for name, t in targets.items()}
    assert set(sizes.values()) == EXPECTED_ARRAY_SIZES[stack], sizes


# canary: 3 symbols, 1 per task; limited: 10 symbols, 2 per task; prod day 1: 19 core and 6 high-value, 5 per task.
EXPECTED_ARRAY_SIZES = {"canary": {3}, "limited": {5}, "prod": {4, 2}}


@pytest.mark.parametrize("stack", STACKS)
def test_schedules_submit_each_job_definition_to_the_queue(stack_runs: dict[str, StackRun], stack: str) -> None:
    run, schedules = stack_runs[stack], stack_file(stack)["schedules"]
    rules = {r.inputs["name"]: r for r in forecast(run, RULE)}
    queue_arn = run.outputs["jobQueueArn"]
    defs = run.of_type(JOB_DEF)
    assert len(rules) == len(defs) == len(forecast(run, TARGET))
    for target in forecast(run, TARGET):
        rule = rules[target.inputs["rule"]]
        horizon = target.inputs["rule"].rsplit("-", 1)[1]
        assert rule.inputs["scheduleExpression"] == schedules[horizon], rule.name
        assert target.inputs["arn"] == queue_arn, target.name
        assert target.inputs["batchTarget"]["jobDefinition"].split("/")[-1] == f"{target.inputs['rule']}:1", target.name
        assert target.inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/forecast-events-role", target.name


def test_schedules_enabled_sets_the_rule_state(stack_runs: dict[str, StackRun]) -> None:
    assert {r.inputs["state"] for s in STACKS for r in forecast(stack_runs[s], RULE)} == {"ENABLED"}
    # An earlier phase's stack stops firing once a later phase takes its symbols over.
    disabled = run_stack("canary", {"schedulesEnabled": False})
    assert [r.inputs["state"] for r in forecast(disabled, RULE)] == ["DISABLED"]
    assert disabled.outputs["schedulesEnabled"] is False


def policy(run: StackRun, name: str) -> list[dict[str, object]]:
    return run.named(name).inputs["policy"]["Statement"]


@pytest.mark.parametrize("stack", STACKS)
def test_iam_is_least_privilege(stack_runs: dict[str, StackRun], stack: str) -> None:
    run = stack_runs[stack]
    secret_arn = run.outputs["databaseSecretArn"]
    assert policy(run, "forecast-job-policy") == [{
        "Sid": "PutOwnMetrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "EnsembleForecast"}},
    }]
    execution = {s["Sid"]: s for s in policy(run, "forecast-execution-policy")}
    assert execution["EcrAuth"]["Action"] == ["ecr:GetAuthorizationToken"]
    assert execution["EcrPull"]["Action"] == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                              "ecr:GetDownloadUrlForLayer"]
    # The one repository every stack shares, nothing else.
    assert execution["EcrPull"]["Resource"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ensemble-forecast"
    assert execution["Logs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert execution["Logs"]["Resource"].endswith(f"log-group:{run.outputs['logGroupName']}:log-stream:*")
    assert execution["DatabaseUrl"] == {"Sid": "DatabaseUrl", "Effect": "Allow",
                                        "Action": ["secretsmanager:GetSecretValue"], "Resource": secret_arn}
    [submit] = policy(run, "forecast-events-submit")
    arns = [f"{r.inputs['name']}:*" for r in run.of_type(JOB_DEF)]  # any revision of each definition
    assert submit["Action"] == ["batch:SubmitJob"]
    assert submit["Resource"][0] == run.outputs["jobQueueArn"]
    assert sorted(a.split("/")[-1] for a in submit["Resource"][1:]) == sorted(arns)
    for resource in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in resource.inputs["policy"]["Statement"]:
            assert not any("*" in a for a in statement["Action"]), f"{resource.name}: wildcard action"
            if statement["Resource"] == "*":
                assert statement["Sid"] in ("EcrAuth", "PutOwnMetrics"), f"{resource.name}: Resource * in {statement}"


@pytest.mark.parametrize("stack", STACKS)
def test_roles_trust_only_their_service(stack_runs: dict[str, StackRun], stack: str) -> None:
    expected = {"forecast-execution-role": "ecs-tasks.amazonaws.com", "forecast-job-role": "ecs-tasks.amazonaws.com",
                "forecast-events-role": "events.amazonaws.com", "abort-events-role": "events.amazonaws.com",
                "abort-automation-role": "ssm.amazonaws.com"}
    roles = {r.name: r for r in stack_runs[stack].of_type("aws:iam/role:Role")}
    assert set(roles) == set(expected)
    for name, service in expected.items():
        [statement] = roles[name].inputs["assumeRolePolicy"]["Statement"]
        assert statement["Principal"] == {"Service": service} and statement["Action"] == "sts:AssumeRole", name


@pytest.mark.parametrize("stack", STACKS)
def test_trust_policies_stop_the_confused_deputy(stack_runs: dict[str, StackRun], stack: str) -> None:
    # Only this account's services may assume the roles; only this stack's rules the events role.
    roles = {r.name: r.inputs["assumeRolePolicy"]["Statement"][0] for r in stack_runs[stack].of_type("aws:iam/role:Role")}
    assert all(r["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT} for r in roles.values())
    for name in ("forecast-execution-role", "forecast-job-role"):
        assert roles[name]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, name
    pattern = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ensemble-forecast-{stack}-*"
    assert roles["forecast-events-role"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": pattern}}
    rule_arns = [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{r.inputs['name']}" for r in forecast(stack_runs[stack], RULE)]
    assert rule_arns and all(fnmatch.fnmatchcase(a, pattern) for a in rule_arns)
    others = [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ensemble-forecast-{o}-1D" for o in STACKS if o != stack]
    assert not any(fnmatch.fnmatchcase(a, pattern) for a in others), "another stack's rules must not match"


def test_rule_arn_pattern_refuses_a_wildcard_prefix() -> None:
    with pytest.raises(ValueError, match="rule name prefix"):
        iam.rule_arn_pattern("us-east-1", ACCOUNT, "ensemble-*")


@pytest.mark.parametrize("stack", STACKS)
def test_no_plain_text_secret_anywhere(stack_runs: dict[str, StackRun], stack: str) -> None:
    run = stack_runs[stack]
    for resource in run:
        text = json.dumps(resource.inputs)
        for marker in (*SECRET_MARKERS, "postgresql://"):
            assert marker not in text, f"{resource.type} {resource.name} carries a secret in plain text"
    outputs = json.dumps(run.outputs)
    assert not any(m in outputs for m in SECRET_MARKERS), "a stack output carries a secret"
    database_roles = ("database-job-role", "database-migration-role") if run.outputs["manageDatabase"] else ()
    if database_roles:
        assert run.named("database-url-secret-value").inputs["secretString"] == REDACTED
        provider = run.named("database-provider").inputs
        assert (provider["username"], provider["password"]) == (REDACTED, REDACTED), "read from the admin secret"
        assert run.named("database-migrations").inputs["environment"] == REDACTED
    for name in database_roles:
        assert run.named(name).inputs["password"] == REDACTED, name
    for resource in run.of_type(JOB_DEF):
        assert resource.inputs["containerProperties"]["secrets"] == [
            {"name": "DATABASE_URL", "valueFrom": run.outputs["databaseSecretArn"]}], resource.name


def taggable(type_token: str) -> bool:
    """Whether the AWS resource type accepts tags (from the installed pulumi-aws)."""
    _, module, cls = type_token.split(":")
    resource_cls = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), cls)
    return "tags" in inspect.signature(resource_cls._internal_init).parameters


@pytest.mark.parametrize("stack", STACKS)
def test_everything_taggable_is_tagged(stack_runs: dict[str, StackRun], stack: str) -> None:
    phase = stack_file(stack)["rolloutPhase"]
    aws_resources = [r for r in stack_runs[stack] if r.type.startswith("aws:")]
    tagged = [r for r in aws_resources if taggable(r.type)]
    assert len(tagged) >= 9  # repository, logs, secret, roles, compute, queue, definitions, rules
    for resource in tagged:
        tags = resource.inputs.get("tags", {})
        assert {k: tags.get(k) for k in ("service", "stack", "phase")} == {
            "service": "ensemble-forecast", "stack": stack, "phase": phase}, f"{resource.type} {resource.name}: tags {tags}"


@pytest.mark.parametrize("stack", STACKS)
def test_job_infrastructure_settings(stack_runs: dict[str, StackRun], stack: str) -> None:
    run, config = stack_runs[stack], stack_file(stack)
    repos = run.of_type("aws:ecr/repository:Repository")  # only the owner (canary) declares it
    assert [(r.name, r.inputs["name"]) for r in repos] == ([("image-repository", "ensemble-forecast")]
                                                           if config.get("manageRepository") else [])
    for repo in repos:
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert run.outputs["repositoryUrl"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ensemble-forecast"
    [logs] = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["retentionInDays"] == config["logRetentionDays"]
    [compute] = run.of_type("aws:batch/computeEnvironment:ComputeEnvironment")
    assert compute.inputs["computeResources"]["type"] == "FARGATE"
    assert compute.inputs["computeResources"]["subnets"] == config["subnetIds"]
    [queue] = run.of_type("aws:batch/jobQueue:JobQueue")
    assert queue.inputs["computeEnvironmentOrders"] == [{"computeEnvironment": f"arn:aws:batch:us-east-1:123456789012:{compute.inputs['name']}", "order": 1}]
    for resource in run.of_type(JOB_DEF):
        props = resource.inputs["containerProperties"]
        # Exactly the pinned digest, in the shared repository: the image the stack's config names.
        assert props["image"] == config["imageRef"] == run.outputs["imageRef"], resource.name
        assert props["image"].startswith(f"{run.outputs['repositoryUrl']}@sha256:"), resource.name
        # An init process forwards Batch's SIGTERM to the job (PID 1 ignores signals it has no handler for).
        assert props["linuxParameters"] == {"initProcessEnabled": True}, resource.name
        assert resource.inputs["retryStrategy"]["attempts"] == config["retryAttempts"], resource.name
        assert resource.inputs["retryStrategy"]["evaluateOnExits"][0] == {"action": "EXIT", "onExitCode": "2"}
        assert resource.inputs["timeout"] == {"attemptDurationSeconds": config["jobTimeoutSeconds"]}, resource.name
        assert props["logConfiguration"]["options"]["awslogs-group"] == run.outputs["logGroupName"]


@pytest.mark.parametrize("stack", STACKS)
def test_container_properties_match_the_batch_api(stack_runs: dict[str, StackRun], stack: str) -> None:
    """containerProperties goes to RegisterJobDefinition verbatim: check it against the API's own model."""
    import botocore.session
    from botocore.validate import validate_parameters

    shape = botocore.session.get_session().get_service_model("batch").operation_model("RegisterJobDefinition").input_shape
    for resource in stack_runs[stack].of_type(JOB_DEF):
        params = {"jobDefinitionName": resource.inputs["name"], "type": "container",
                  "platformCapabilities": resource.inputs["platformCapabilities"],
                  "containerProperties": resource.inputs["containerProperties"]}
        validate_parameters(params, shape)  # raises ParamValidationError naming any unknown or mistyped key


@pytest.mark.parametrize("stack", STACKS)
def test_policy_documents_are_accepted_by_iam(stack_runs: dict[str, StackRun], stack: str) -> None:
    """Every role's trust policy and inline policy passes IAM's document validation (moto)."""
    import boto3
    from moto import mock_aws

    run = stack_runs[stack]
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        for role in run.of_type("aws:iam/role:Role"):
            iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.inputs["assumeRolePolicy"]))
        for policy_resource in run.of_type("aws:iam/rolePolicy:RolePolicy"):
            document = json.dumps(policy_resource.inputs["policy"])
            iam.create_policy(PolicyName=policy_resource.name, PolicyDocument=document)
