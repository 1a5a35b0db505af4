"""Run the real Pulumi program against a real ``Pulumi.<stack>.yaml`` under Pulumi mocks.

``run_stack("canary")`` executes ``infra/__main__.py`` in-process with the stack file's
config (secret keys as Pulumi secrets), records every resource's type, name and inputs
(secrets redacted, JSON documents decoded) and the exported outputs. Each call gets a fresh
event loop and freshly reset Pulumi settings, so all three stacks can run in one process.
"""

from __future__ import annotations

import asyncio
import json
import re
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks, set_mocks
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import run_pulumi_func

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ -> the repository
MAIN = ROOT / "infra" / "__main__.py"
PROJECT = "ensemble-forecast"
STACKS: tuple[str, ...] = ("canary", "limited", "prod")
REDACTED = "[secret]"
ACCOUNT = "123456789012"

# Stand-ins for the secrets `pulumi config set --secret` holds on a real stack. The leak tests
# search every recorded input, output and snapshot for these exact strings.
TEST_SECRETS: dict[str, str] = {
    "databaseUrl": "postgresql://forecast_job:TEST-job-pw-5f3c9a@forecast-db.internal.example.com:5432/forecast",
    "dbAdminPassword": "TEST-admin-pw-8d21e7",
}
SECRET_MARKERS: tuple[str, ...] = ("TEST-job-pw-5f3c9a", "TEST-admin-pw-8d21e7", "mock-generated-pw-0b9e")
REGION = "us-east-1"
# Provider functions the program calls, answered as a real account would (fixed, so snapshots are stable).
INVOKE_RESULTS: dict[str, dict[str, str]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": {
        "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "id": ACCOUNT, "userId": "AIDATESTDEPLOYER"},
    "aws:index/getRegion:getRegion": {
        "region": REGION, "name": REGION, "id": REGION, "description": "US East (N. Virginia)",
        "endpoint": f"ec2.{REGION}.amazonaws.com"},
}
_DEFAULT_PROVIDER = re.compile(r"^default(_\d+_\d+_\d+.*)?$")


@dataclass(frozen=True)
class RecordedResource:
    """One declared resource: Pulumi type token, logical name and inputs (secrets redacted)."""

    type: str
    name: str
    inputs: dict[str, Any]


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


def stack_config(stack_name: str, overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, str], list[str]]:
    """Config of ``Pulumi.<stack_name>.yaml`` as Pulumi passes it to a program.

    Values become strings (structured ones JSON); project keys in ``overrides`` (short names,
    ``None`` deletes) replace the file's; declared secret keys missing from the file get
    ``TEST_SECRETS`` and every secret key is listed as secret.
    """
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    declared_secret = [k for k, spec in project["config"].items() if spec.get("secret")]
    raw: dict[str, Any] = dict(yaml.safe_load((ROOT / f"Pulumi.{stack_name}.yaml").read_text())["config"])
    secret_keys: list[str] = []
    for key, value in list(raw.items()):
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Ciphertext cannot be decrypted here: stand in a test secret of the same key.
            raw[key] = TEST_SECRETS[key.split(":", 1)[1]]
            secret_keys.append(key)
    for key in declared_secret:
        full = f"{PROJECT}:{key}"
        if full not in raw:
            raw[full] = TEST_SECRETS[key]
        secret_keys.append(full)
    for key, value in (overrides or {}).items():
        full = f"{PROJECT}:{key}"
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value
    return {k: _config_string(v) for k, v in raw.items()}, sorted(set(secret_keys))


def _config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


class RecordingMocks(Mocks):
    """Mocks that record each registration and answer with deterministic ids and ARNs."""

    def __init__(self) -> None:
        self.recorded: list[RecordedResource] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Record the resource; return an id and outputs derived only from its name and inputs."""
        name = args.name
        if args.typ.startswith("pulumi:providers:") and _DEFAULT_PROVIDER.match(name):
            name = "default"  # the default provider's name carries the plugin version
        self.recorded.append(RecordedResource(args.typ, name, _redact(args.inputs, args.typ)))
        return f"<id:{args.name}>", {**args.inputs, **_mock_outputs(args)}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer the account and region look-ups with fixed values; anything else empty."""
        return dict(INVOKE_RESULTS.get(args.token, {})), []


def _mock_outputs(args: MockResourceArgs) -> dict[str, Any]:
    physical = str(args.inputs.get("name") or args.name)
    service = args.typ.split(":")[1].split("/")[0]
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:us-east-1:{ACCOUNT}:{physical}", "name": physical}
    if args.typ == "aws:ecr/repository:Repository":
        out["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{physical}"
    if args.typ == "aws:cloudwatch/logGroup:LogGroup":
        out["arn"] = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{physical}"
    if args.typ == "aws:batch/jobDefinition:JobDefinition":
        out["arnPrefix"] = f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/{physical}"
        out["arn"] = f"{out['arnPrefix']}:1"
    if args.typ == "aws:batch/jobQueue:JobQueue":
        out["arn"] = f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/{physical}"
    if args.typ.startswith("random:"):
        out["result"] = rpc.wrap_rpc_secret(SECRET_MARKERS[2])
    return out


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
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _redact(json.loads(value))  # policy and container documents, readable in diffs
        except ValueError:
            return value
    return value


def run_stack(
    stack_name: str, overrides: Mapping[str, Any] | None = None, recorded: list[RecordedResource] | None = None
) -> StackRun:
    """Run ``infra/__main__.py`` for ``stack_name`` under mocks; return resources and outputs.

    Args:
        stack_name: ``canary``, ``limited`` or ``prod`` (reads ``Pulumi.<stack_name>.yaml``).
        overrides: Project config keys (short names) to replace; ``None`` values delete.
        recorded: If given, receives the recorded resources even when the program raises.

    Raises:
        Whatever the program raises, e.g. ``infra.settings.SettingsError`` for bad config.
    """
    config, secret_keys = stack_config(stack_name, overrides)
    previous = _current_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = RecordingMocks()
    run = StackRun()
    try:
        reset_options(project=PROJECT, stack=stack_name, preview=False)
        pulumi.runtime.set_all_config(config, secret_keys)
        set_mocks(mocks, project=PROJECT, stack=stack_name, preview=False)
        loop.run_until_complete(run_pulumi_func(lambda: runpy.run_path(str(MAIN), run_name="__main__")))
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
