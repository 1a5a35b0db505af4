"""The Pulumi CLI's config rules on the committed stack files, as on a fresh checkout (item 1).

``tests.support.pulumi_cli`` reproduces ``ValidateStackConfigAndApplyProjectConfig`` and the
project config checks; the first tests pin the reproduction to the CLI's own test cases
(pulumi/pulumi ``pkg/workspace/config_project_test.go``), the rest apply it to this project.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra.stack import CONFIG_KEYS, UNSET_DEFAULTS, load_settings, parse_settings
from tests.support.pulumi_cli import (
    ConfigValue,
    PulumiConfigError,
    apply_project_config,
    config_value,
    load_stack,
    validate_project,
)
from tests.support.stacks import PROJECT, REGION, ROOT, STACKS, stack_config

TYPED = {"name": "test", "runtime": "dotnet", "config": {
    "hello": {"type": "integer"}, "values": {"type": "array", "items": {"type": "string"}}, "world": {"type": "string"}}}


def test_missing_keys_are_reported_together_in_the_clis_words() -> None:
    with pytest.raises(PulumiConfigError) as error:
        apply_project_config(TYPED, "dev", {})
    assert str(error.value) == "Stack 'dev' is missing configuration values 'hello', 'values' and 'world'"
    with pytest.raises(PulumiConfigError, match="^Stack 'dev' is missing configuration value 'values'$"):
        apply_project_config(TYPED, "dev", {"test:hello": config_value(1), "test:world": config_value("x")})


def test_types_are_checked_as_the_cli_checks_them() -> None:
    ok = {"test:hello": config_value(21), "test:values": config_value(["a"]), "test:world": config_value("x")}
    assert apply_project_config(TYPED, "dev", ok)["test:hello"] == ConfigValue("21")
    for key, bad, expected in [("hello", "21.5", "integer"), ("values", ["a", 1], "array<string>"),
                               ("values", "a", "array<string>"), ("world", ["x"], "string")]:
        with pytest.raises(PulumiConfigError, match=f"^Stack 'dev' with configuration key '{key}' must be of type "
                                                    f"'{expected}'$"):
            apply_project_config(TYPED, "dev", {**ok, f"test:{key}": config_value(bad)})


def test_defaults_fill_in_and_plain_secrets_are_refused() -> None:
    project = {"name": "test", "config": {"n": {"type": "integer", "default": 3}, "f": 0.5, "l": {
        "type": "array", "items": {"type": "string"}, "default": []}, "s": {"type": "string", "secret": True}}}
    with pytest.raises(PulumiConfigError, match="'s' must be encrypted as it's secret"):
        apply_project_config(project, "dev", {"test:s": config_value("plain")})
    project["config"].pop("s")
    merged = apply_project_config(project, "dev", {})
    assert merged == {"test:n": ConfigValue("3"), "test:f": ConfigValue("0.5", object=True),
                      "test:l": ConfigValue("[]", object=True)}


def test_project_declarations_are_checked() -> None:
    with pytest.raises(PulumiConfigError, match="declares an array but does not specify the underlying type"):
        validate_project({"name": "t", "config": {"a": {"type": "array"}}})
    with pytest.raises(PulumiConfigError, match="default value specified for configuration key 'a' is not of the "
                                                "expected type 'integer'"):
        validate_project({"name": "t", "config": {"a": {"type": "integer", "default": "x"}}})
    with pytest.raises(PulumiConfigError, match="cannot have both a 'default' and 'value'"):
        validate_project({"name": "t", "config": {"a": {"default": 1, "value": 2}}})


@pytest.mark.parametrize("stack", STACKS)
def test_each_committed_stack_passes_the_cli_on_a_fresh_checkout(stack: str) -> None:
    """No `pulumi config set` has run: the stack file and Pulumi.yaml must be enough."""
    project, config = load_stack(ROOT, stack)
    merged = apply_project_config(project, stack, config)
    assert not [k for k, v in config.items() if v.secure], f"Pulumi.{stack}.yaml holds a secret value"
    assert {k.split(":", 1)[1] for k in merged if k.startswith(f"{PROJECT}:")} == set(CONFIG_KEYS)


def test_pulumi_yaml_declares_every_key_and_no_secret() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    declarations = validate_project(project)
    assert set(declarations) == set(CONFIG_KEYS), set(declarations) ^ set(CONFIG_KEYS)
    assert not [k for k, spec in declarations.items() if spec.get("secret")], "no stack may need a secret value"
    for key, unset in UNSET_DEFAULTS.items():
        assert declarations[key].get("default") == unset, f"{key}: its default must be the 'not set' value {unset!r}"


class _Config:
    """What ``pulumi.Config`` answers for the CLI-merged config of one stack."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def get(self, key: str) -> str | None:
        return self._values.get(f"{PROJECT}:{key}")


@pytest.mark.parametrize("stack", STACKS)
def test_pulumi_yaml_defaults_are_the_programs_defaults(stack: str) -> None:
    """Leaving out every defaulted key gives the same settings through the CLI as in code."""
    project, config = load_stack(ROOT, stack)
    defaulted = {k for k, spec in validate_project(project).items()
                 if isinstance(spec, dict) and spec.get("default") is not None and k not in UNSET_DEFAULTS}
    defaulted.add("dbAdminSecretArn")  # only valid with manageDatabase: true, which is defaulted (false)
    kept = {k: v for k, v in config.items() if k.split(":", 1)[-1] not in defaulted}
    through_cli = load_settings(_Config({k: v.text for k, v in apply_project_config(project, stack, kept).items()}),
                                stack, REGION)
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    values: dict[str, Any] = {k.split(":", 1)[1]: v for k, v in raw.items()
                              if k.startswith(f"{PROJECT}:") and k.split(":", 1)[1] not in defaulted}
    assert through_cli == parse_settings(values, stack, REGION)


def test_the_harness_hands_the_program_what_the_cli_would() -> None:
    config, secret_keys = stack_config("limited")
    assert secret_keys == []
    assert config[f"{PROJECT}:dbSchema"] == "forecast" and config[f"{PROJECT}:highValueSymbols"] == "[]"
    with pytest.raises(PulumiConfigError, match="Stack 'limited' is missing configuration value 'dbHost'"):
        stack_config("limited", {"dbHost": None})
