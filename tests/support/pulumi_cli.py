"""The Pulumi CLI's config rules, reproduced from its source, for stacks the CLI never sees here.

Mocks skip what ``pulumi preview``/``up`` check before a program runs (docs/design.md §5). This module
does the same checks on ``Pulumi.yaml`` and a ``Pulumi.<stack>.yaml`` as on a fresh checkout,
where nobody has run ``pulumi config set``, and hands the program the merged config:

- ``validate_project``: ``Project.Validate`` and the project JSON schema's config rules
  (pulumi/pulumi ``sdk/go/common/workspace/project.go``, ``project.json``);
- ``apply_project_config``: ``ValidateStackConfigAndApplyProjectConfig`` (pulumi/pulumi
  ``pkg/workspace/config.go``, ``mergeConfig`` with ``validate=true``): a project key with no
  ``default``/``value`` that the stack does not set is missing (one error naming all of them);
  missing keys take the project default; then every explicitly typed key is type-checked
  (``ValidateConfigValue``) and a ``secret: true`` key must be encrypted in the stack file.

Messages are the CLI's own, so a test failure reads like the CLI would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SIMPLE_TYPES = ("string", "integer", "boolean", "array", "object")
_DECLARATION_FIELDS = {"type", "items", "description", "secret", "default", "value"}
_ATOI_RE = re.compile(r"^[+-]?[0-9]+$")  # Go's strconv.Atoi: optional sign, ASCII digits only


class PulumiConfigError(ValueError):
    """What the Pulumi CLI would print before running the program."""


@dataclass(frozen=True)
class ConfigValue:
    """A stack config value as the CLI holds it (``config.Value``): text, JSON when ``object``."""

    text: str
    secure: bool = False
    object: bool = False

    def content(self) -> Any:
        """The value the type check sees: the text, or the decoded JSON of an object value."""
        return json.loads(self.text) if self.object else self.text


def config_value(raw: Any) -> ConfigValue:
    """A YAML value of a stack file (or of ``pulumi config set``) as the CLI stores it."""
    if isinstance(raw, dict) and set(raw) == {"secure"}:
        return ConfigValue(str(raw["secure"]), secure=True)
    if isinstance(raw, (dict, list)):
        return ConfigValue(_json(raw), object=True)
    if isinstance(raw, bool):
        return ConfigValue("true" if raw else "false")
    return ConfigValue("" if raw is None else str(raw))


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _default_value(raw: Any) -> ConfigValue:
    # createConfigValue: string/int/bool print with %v; anything else (floats too) is JSON.
    if isinstance(raw, bool):
        return ConfigValue("true" if raw else "false")
    if isinstance(raw, (str, int)):
        return ConfigValue(str(raw))
    return ConfigValue(_json(raw), object=True)


def full_key(project_name: str, key: str) -> str:
    """``parseConfigKey``: a key without a namespace belongs to the project."""
    return key if ":" in key else f"{project_name}:{key}"


def validate_config_value(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """``ValidateConfigValue``: whether ``value`` has the declared type."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return True
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, str) and bool(_ATOI_RE.match(value))
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(validate_config_value(items.get("type", ""), items.get("items"), item) for item in value)


def type_name(type_: str, items: Mapping[str, Any] | None) -> str:
    """``InferFullTypeName``: ``array<string>`` and the like."""
    return f"array<{type_name(items.get('type', ''), items.get('items'))}>" if items is not None else type_


def _check_items(key: str, items: Any) -> None:
    if not isinstance(items, dict) or "type" not in items:
        raise PulumiConfigError(f"config.{key}.items: missing properties: 'type'")
    if items["type"] not in SIMPLE_TYPES:
        raise PulumiConfigError(f"config.{key}.items.type: value must be one of {SIMPLE_TYPES}")
    if items["type"] == "array":
        if "items" not in items:
            raise PulumiConfigError(f"config.{key}.items: missing properties: 'items'")
        _check_items(key, items["items"])


def validate_project(project: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``ValidateProject`` + ``Project.Validate`` for the config section; returns the declarations.

    Shorthand declarations (``key: value``) become ``{"default": value}`` as the CLI rewrites them.
    """
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise PulumiConfigError("project is missing a non-empty string 'name' attribute")
    declarations: dict[str, dict[str, Any]] = {}
    for key, spec in (project.get("config") or {}).items():
        namespaced = ":" not in key or key.startswith(f"{name}:")
        if not isinstance(spec, dict):
            spec = {"default": spec} if namespaced else {"value": spec}
        unknown = set(spec) - _DECLARATION_FIELDS
        if unknown:
            raise PulumiConfigError(f"config.{key}: additional properties {sorted(unknown)} not allowed")
        if "type" in spec and spec["type"] not in SIMPLE_TYPES:
            raise PulumiConfigError(f"config.{key}.type: value must be one of {SIMPLE_TYPES}")
        if spec.get("default") is not None and spec.get("value") is not None:
            raise PulumiConfigError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if not namespaced:
            if "type" in spec or spec.get("default") is not None or spec.get("value") is None:
                raise PulumiConfigError(f"Configuration key '{key}' is not namespaced by the project and "
                                        "must only provide an attribute 'value'")
        elif "type" in spec:
            if spec["type"] == "array":
                if spec.get("items") is None:
                    raise PulumiConfigError(f"The configuration key '{key}' declares an array but does not "
                                            "specify the underlying type via the 'items' attribute")
                _check_items(key, spec["items"])
            default = spec.get("default")
            if default is not None and not validate_config_value(spec["type"], spec.get("items"), default):
                raise PulumiConfigError(f"The default value specified for configuration key '{key}' is not of the "
                                        f"expected type '{type_name(spec['type'], spec.get('items'))}'")
        declarations[key] = spec
    return declarations


def _missing_error(stack: str, keys: list[str]) -> PulumiConfigError:
    # missingStackConfigurationKeysError + formatMissingKeys: "'a', 'b' 'c' and 'd'" (sic).
    if len(keys) == 1:
        return PulumiConfigError(f"Stack '{stack}' is missing configuration value '{keys[0]}'")
    keys = sorted(keys)
    parts = [f"'{k}', " for k in keys[:-2]] + [f"'{keys[-2]}' ", f"and '{keys[-1]}'"]
    return PulumiConfigError(f"Stack '{stack}' is missing configuration values {''.join(parts)}")


def apply_project_config(
    project: Mapping[str, Any], stack: str, stack_config: Mapping[str, ConfigValue]
) -> dict[str, ConfigValue]:
    """``ValidateStackConfigAndApplyProjectConfig`` on a stack with no environment.

    Returns the merged config (stack values, then project defaults for what the stack leaves
    out). Raises ``PulumiConfigError`` with the CLI's message for missing keys, a secret key in
    plain text, or a value of the wrong type.
    """
    name = project["name"]
    declarations = validate_project(project)
    merged = dict(stack_config)
    missing: list[str] = []
    for key in sorted(declarations):
        spec, full = declarations[key], full_key(name, key)
        if full in merged:
            continue
        has_default, has_value = spec.get("default") is not None, spec.get("value") is not None
        if not has_default and not has_value and full.split(":", 1)[0] == name:
            missing.append(key)
        elif has_default or has_value:
            merged[full] = _default_value(spec["default"] if has_default else spec["value"])
    if missing:
        raise _missing_error(stack, missing)
    for key in sorted(declarations):
        spec, full = declarations[key], full_key(name, key)
        if "type" not in spec or full not in merged:
            continue
        value = merged[full]
        if spec.get("secret") and not value.secure:
            raise PulumiConfigError(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
        if value.secure:
            raise PulumiConfigError(f"Stack '{stack}' with configuration key '{key}': cannot decrypt here "
                                    "(no stack may need a secret value)")
        if not validate_config_value(spec["type"], spec.get("items"), value.content()):
            raise PulumiConfigError(f"Stack '{stack}' with configuration key '{key}' must be of type "
                                    f"'{type_name(spec['type'], spec.get('items'))}'")
    return merged


def load_stack(root: Path, stack: str) -> tuple[dict[str, Any], dict[str, ConfigValue]]:
    """``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` under ``root`` as the CLI reads them."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    document = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()) or {}
    return project, {k: config_value(v) for k, v in (document.get("config") or {}).items()}
