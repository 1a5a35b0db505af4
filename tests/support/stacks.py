"""Run the real Pulumi program against a real ``Pulumi.<stack>.yaml`` under Pulumi mocks.

``run_stack("canary")`` executes ``infra/__main__.py`` in-process with the config the Pulumi
CLI would hand it (``tests.support.pulumi_cli``: the stack file merged with the project
defaults, refused as the CLI refuses it), records every resource's type, name, inputs
(secrets redacted, JSON documents decoded, the repository path as ``<repo>``) and
dependencies, and the exported outputs. Each call gets a fresh event loop and freshly reset
Pulumi settings, so all three stacks can run in one process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import runpy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import (
    MockCallArgs,
    MockMonitor,
    MockResourceArgs,
    Mocks,
    set_mocks,
)
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import run_pulumi_func

from tests.support.pulumi_cli import apply_project_config, config_value, load_stack
from tests.support.registry import image_lookup, pinned_digests

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ -> the repository
MAIN = ROOT / "infra" / "__main__.py"
PROJECT = "ensemble-forecast"
STACKS: tuple[str, ...] = ("canary", "limited", "prod")
REDACTED = "[secret]"
ACCOUNT = "123456789012"

REGION = "us-east-1"
# The admin credential the owning stack reads from Secrets Manager (dbAdminSecretArn) and the
# passwords random.RandomPassword generates: the leak tests search every recorded input,
# output and snapshot for these markers.
ADMIN_CREDENTIAL: dict[str, str] = {"username": "forecast_admin", "password": "TEST-admin-pw-8d21e7"}
# The GitHub token a stack's rollback dispatch reads from Secrets Manager (GITHUB_TOKEN_SECRET_ARN).
GITHUB_TOKEN = "github_pat_TEST-dispatch-token-5f1c"
GITHUB_TOKEN_SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ensemble-forecast/github-dispatch-AbCdEf"
SECRET_MARKERS: tuple[str, ...] = ("TEST-admin-pw-8d21e7", "mock-generated-pw-0b9e", GITHUB_TOKEN)
SECRET_SUFFIX = "AbCdEf"  # Secrets Manager appends 6 random characters to a secret's ARN


def invoke_results(admin: Mapping[str, str] | None = None, pushed: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Provider functions the program calls, answered as a real account would (fixed values).

    The registry holds the digests the committed stack files pin and ``pushed``.
    """
    return {
        "aws:ecr/getImage:getImage": image_lookup(ACCOUNT, REGION, pinned_digests(ROOT) | pushed),
        "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
            "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "id": ACCOUNT,
            "userId": "AIDATESTDEPLOYER"},
        "aws:index/getRegion:getRegion": lambda _: {
            "region": REGION, "name": REGION, "id": REGION, "description": "US East (N. Virginia)",
            "endpoint": f"ec2.{REGION}.amazonaws.com"},
        # The admin secret (RDS-managed format) or the dispatch token, and the owning stack's
        # DATABASE_URL secret by name.
        "aws:secretsmanager/getSecretVersion:getSecretVersion": lambda args: {
            "arn": args["secretId"], "id": args["secretId"], "secretId": args["secretId"],
            "secretString": GITHUB_TOKEN if args["secretId"] == GITHUB_TOKEN_SECRET_ARN
            else json.dumps(dict(admin or ADMIN_CREDENTIAL)), "versionId": "v1",
            "versionStage": "AWSCURRENT", "versionStages": ["AWSCURRENT"]},
        "aws:secretsmanager/getSecret:getSecret": lambda args: {
            "arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{args['name']}-{SECRET_SUFFIX}",
            "name": args["name"], "id": args["name"]},
        # The image repository the owning stack (canary) declared, found by name by the others.
        "aws:ecr/getRepository:getRepository": lambda args: {
            "arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{args['name']}", "name": args["name"],
            "id": args["name"], "registryId": ACCOUNT,
            "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{args['name']}"},
    }


_LOCK = threading.Lock()
_DEFAULT_PROVIDER = re.compile(r"^default(_\d+_\d+_\d+.*)?$")


@dataclass(frozen=True)
class RecordedResource:
    """One declared resource: Pulumi type token, logical name and inputs (secrets redacted).

    ``urn``, ``parent`` (the parent's URN; the stack's for a top-level resource) and
    ``dependencies`` (URNs of the resources it waits for, explicit ``depends_on`` and inputs
    alike) order a rehearsal and a targeted plan; ``raw_inputs`` keeps the secret values for it
    and is never written to a snapshot; ``retain_on_delete`` is the resource option. ``options``
    holds every resource option the engine was sent that is not its default (``_options``), for
    the snapshots: retainOnDelete, protect, ignoreChanges, deleteBeforeReplace, dependsOn,
    parent, aliases and the rest, resources named by their logical names.
    """

    type: str
    name: str
    inputs: dict[str, Any]
    urn: str = ""
    dependencies: tuple[str, ...] = ()
    raw_inputs: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    parent: str = ""
    retain_on_delete: bool = False
    options: dict[str, Any] = field(default_factory=dict)


class StackRun(list[RecordedResource]):
    """The recorded resources of one run (a list) plus the stack's exported outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs: dict[str, Any] = {}

    def of_type(self, type_: str) -> list[RecordedResource]:
        """Resources of one type token, in declaration order."""
        return [r for r in self if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        """The resource with logical name ``name``."""
        matches = [r for r in self if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}; names: {sorted(r.name for r in self)}")
        return matches[0]


def stack_file_values(stack_name: str) -> dict[str, Any]:
    """The project keys of the committed ``Pulumi.<stack_name>.yaml`` (short names, YAML values)."""
    _, config = load_stack(ROOT, stack_name)
    prefix = f"{PROJECT}:"
    return {k[len(prefix):]: v.content() for k, v in config.items() if k.startswith(prefix)}


def stack_config(stack_name: str, overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, str], list[str]]:
    """The config the Pulumi CLI hands the program for ``Pulumi.<stack_name>.yaml``.

    Project keys in ``overrides`` (short names; ``None`` deletes) replace the file's, as
    ``pulumi config set``/``rm`` would; then the CLI's rules apply (``PulumiConfigError`` when
    it would refuse the stack) and the project defaults fill in the rest. Values are strings
    (structured ones JSON); the second item lists the secret keys (none, by design).
    """
    project, config = load_stack(ROOT, stack_name)
    for key, value in (overrides or {}).items():
        full = f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = config_value(value)
    merged = apply_project_config(project, stack_name, config)
    return {k: v.text for k, v in merged.items()}, sorted(k for k, v in merged.items() if v.secure)


class RecordingMocks(Mocks):
    """Mocks that record each registration and answer with deterministic ids and ARNs."""

    def __init__(self, admin: Mapping[str, str] | None = None, pushed: frozenset[str] = frozenset()) -> None:
        self.recorded: list[RecordedResource] = []
        self.invokes = invoke_results(admin, pushed)

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Record the resource; return an id and outputs derived only from its name and inputs."""
        name = args.name
        if args.typ.startswith("pulumi:providers:") and _DEFAULT_PROVIDER.match(name):
            name = "default"  # the default provider's name carries the plugin version
        self.recorded.append(RecordedResource(args.typ, name, _redact(args.inputs, args.typ),
                                              raw_inputs=_unwrap(args.inputs)))
        return f"<id:{args.name}>", {**args.inputs, **_mock_outputs(args)}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer the provider functions the program calls; an unknown one fails the run."""
        if args.token not in self.invokes:
            raise KeyError(f"no mock answer for invoke {args.token}: add it to tests.support.stacks.invoke_results")
        return dict(self.invokes[args.token](_unwrap(args.args))), []


class RecordingMonitor(MockMonitor):
    """The mock monitor, also noting each registration's URN and dependencies."""

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Register as the mock monitor does; attach URN and dependencies to the recording.

        Registrations arrive on several threads, so the recording is found by type and name.
        """
        mocks: RecordingMocks = self.mocks  # type: ignore[assignment]
        response = super().RegisterResource(request)
        with _LOCK:
            for index, entry in enumerate(mocks.recorded):
                if entry.type == request.type and not entry.urn and (
                        entry.name == request.name or entry.type.startswith("pulumi:providers:")
                        and entry.name == "default" and _DEFAULT_PROVIDER.match(request.name)):
                    mocks.recorded[index] = RecordedResource(entry.type, entry.name, entry.inputs, response.urn,
                                                             tuple(sorted(request.dependencies)), entry.raw_inputs,
                                                             parent=request.parent,
                                                             retain_on_delete=bool(request.retainOnDelete),
                                                             options=_options(request))
                    break
        return response


def _urn_name(urn: str) -> str:
    """A resource's logical name from its URN (a default provider's without its plugin version)."""
    name = urn.split("::")[-1]
    return "default" if _DEFAULT_PROVIDER.match(name) else name


def _options(request: Any) -> dict[str, Any]:
    """The resource options of a registration, as the engine receives them, defaults left out.

    Read from the request rather than from the program's ``ResourceOptions``: what a parent
    passes on (``protect``, a provider) and what the SDK derives (the dependencies of inputs,
    alias specs) is included, so the snapshot shows what ``pulumi up`` would act on. Resources
    are named by their logical names; option values are property names and flags, never secrets.
    """
    from google.protobuf.json_format import MessageToDict

    found: dict[str, Any] = {
        "protect": request.protect if request.HasField("protect") else False,
        "retainOnDelete": request.retainOnDelete if request.HasField("retainOnDelete") else False,
        "deleteBeforeReplace": request.deleteBeforeReplace and request.deleteBeforeReplaceDefined,
        "ignoreChanges": sorted(request.ignoreChanges),
        "replaceOnChanges": sorted(request.replaceOnChanges),
        "hideDiffs": sorted(request.hideDiffs),
        "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
        # Every resource it waits for: its explicit depends_on and the resources its inputs come from.
        "dependsOn": sorted({_urn_name(u) for u in request.dependencies}),
        "parent": "" if request.parent.split("::")[2:3] == ["pulumi:pulumi:Stack"] else _urn_name(request.parent),
        "provider": "" if not request.provider or _DEFAULT_PROVIDER.match(request.provider.split("::")[-2])
        else request.provider.split("::")[-2],
        "deletedWith": _urn_name(request.deletedWith) if request.deletedWith else "",
        "aliases": sorted((MessageToDict(a) for a in request.aliases), key=lambda a: json.dumps(a, sort_keys=True)),
        "customTimeouts": MessageToDict(request.customTimeouts) if request.HasField("customTimeouts") else {},
    }
    return {key: value for key, value in sorted(found.items()) if value}


def _mock_outputs(args: MockResourceArgs) -> dict[str, Any]:
    physical = str(args.inputs.get("name") or args.name)
    service = args.typ.split(":")[1].split("/")[0]
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:us-east-1:{ACCOUNT}:{physical}", "name": physical}
    if args.typ == "aws:ecr/repository:Repository":
        out["arn"] = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{physical}"
        out["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{physical}"
    if args.typ in ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"):
        alarm = args.inputs.get("name") or args.inputs["alarmName"]
        out["arn"] = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{alarm}"
    if args.typ in ("aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventApiDestination:EventApiDestination",
                    "aws:cloudwatch/eventConnection:EventConnection"):
        kind = {"eventRule": "rule", "eventApiDestination": "api-destination", "eventConnection": "connection"}
        out["arn"] = f"arn:aws:events:us-east-1:{ACCOUNT}:{kind[args.typ.split('/')[1].split(':')[0]]}/{physical}"
    if args.typ == "aws:cloudwatch/logGroup:LogGroup":
        out["arn"] = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{physical}"
    if args.typ == "aws:batch/jobDefinition:JobDefinition":
        out["arnPrefix"] = f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/{physical}"
        out["arn"] = f"{out['arnPrefix']}:1"
    if args.typ == "aws:batch/jobQueue:JobQueue":
        out["arn"] = f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/{physical}"
    if args.typ == "aws:iam/role:Role":
        out["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{args.name}"  # IAM is global: no region in the ARN
    if args.typ.startswith("random:"):
        # A distinct password per resource, as RandomPassword would generate.
        out["result"] = rpc.wrap_rpc_secret(f"{SECRET_MARKERS[1]}-{hashlib.sha256(args.name.encode()).hexdigest()[:12]}")
    if args.typ == "aws:secretsmanager/secret:Secret":
        out["arn"] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{physical}-{SECRET_SUFFIX}"
    return out


def _unwrap(value: Any) -> Any:
    """``value`` with every secret replaced by its plain value (for rehearsals only)."""
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _redact(value: Any, typ: str = "") -> Any:
    if rpc.is_rpc_secret(value):
        return REDACTED
    if isinstance(value, dict):
        skip = {"version"} if typ.startswith("pulumi:providers:") else set()
        return {k: _redact(v) for k, v in sorted(value.items()) if k not in skip}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format carries every number as a float
    if isinstance(value, str) and value.startswith(str(ROOT)):
        return "<repo>" + value[len(str(ROOT)):]  # the checkout's path differs per machine
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _redact(json.loads(value))  # policy and container documents, readable in diffs
        except ValueError:
            return value
    return value


def run_stack(
    stack_name: str, overrides: Mapping[str, Any] | None = None, recorded: list[RecordedResource] | None = None,
    admin: Mapping[str, str] | None = None, transformation: pulumi.ResourceTransformation | None = None,
    pushed: frozenset[str] = frozenset(),
) -> StackRun:
    """Run ``infra/__main__.py`` for ``stack_name`` under mocks; return resources and outputs.

    Args:
        stack_name: ``canary``, ``limited`` or ``prod`` (reads ``Pulumi.<stack_name>.yaml``).
        overrides: Project config keys (short names) to replace; ``None`` values delete.
        recorded: If given, receives the recorded resources even when the program raises.
        admin: The admin credential the admin secret holds (default ``ADMIN_CREDENTIAL``).
        transformation: A Pulumi stack transformation applied to every resource the program
            declares, as a change to the program would (e.g. a dropped resource option).
        pushed: Digests the registry holds besides those the committed stack files pin.

    Raises:
        ``PulumiConfigError`` where the CLI refuses the config; whatever the program raises,
        e.g. ``infra.values.SettingsError`` for bad config.
    """
    config, secret_keys = stack_config(stack_name, overrides)
    previous = _current_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = RecordingMocks(admin, pushed)
    run = StackRun()
    try:
        reset_options(project=PROJECT, stack=stack_name, preview=False)
        pulumi.runtime.set_all_config(config, secret_keys)
        set_mocks(mocks, project=PROJECT, stack=stack_name, preview=False, monitor=RecordingMonitor(mocks))
        def program() -> None:
            if transformation is not None:
                pulumi.runtime.register_stack_transformation(transformation)
            runpy.run_path(str(MAIN), run_name="__main__")

        loop.run_until_complete(run_pulumi_func(program))
        root = get_root_resource()
        outputs = getattr(root, "outputs", {})
        run.outputs = {k: loop.run_until_complete(_resolve(v)) for k, v in sorted(outputs.items())}
    finally:
        run.extend(mocks.recorded)
        if recorded is not None:
            recorded.extend(mocks.recorded)
        loop.close()
        asyncio.set_event_loop(previous)
        reset_options()
        pulumi.runtime.set_all_config({}, [])
    return run


def _current_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        return None


async def _resolve(value: Any) -> Any:
    output = pulumi.Output.from_input(value)
    if await output.is_secret():
        return REDACTED
    return _redact(await output.future())
