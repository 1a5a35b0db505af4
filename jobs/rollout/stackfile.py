"""A stack's committed configuration, read from ``Pulumi.<stack>.yaml`` without the Pulumi program.

The commands that prepare a deploy (promotion of an image, the promotion gate, the quota preflight) read the
same files the Pulumi CLI reads, by the same key names: the stack file's
``ensemble-forecast:<key>`` values over ``Pulumi.yaml``'s declared defaults. The stack itself
validates them (``infra/settings.py``); this only reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jobs.contract.images import ImageRef, parse_image_ref

# The Pulumi project's name: the namespace of every key in a stack file.
PROJECT = "ensemble-forecast"
_STACK_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_IMAGE_LINE_RE = re.compile(rf"^(?P<key>[ \t]*{PROJECT}:imageRef:)[ \t]*(?P<value>.*)$", re.M)


class StackFileError(ValueError):
    """A stack file that is missing or cannot be read; one line naming the file."""


def stack_path(repo: Path, stack: str) -> Path:
    """``<repo>/Pulumi.<stack>.yaml``, for a well-formed stack name."""
    if not _STACK_RE.match(stack):
        raise StackFileError(f"stack {stack!r} is invalid: expected a stack name such as canary, limited or prod")
    return repo / f"Pulumi.{stack}.yaml"


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackFileError(f"{path.name} does not exist in {path.parent}") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise StackFileError(f"{path.name} is invalid: expected a mapping with a `config` mapping")
    return doc


@dataclass(frozen=True)
class StackConfig:
    """One stack's settings: its own values over the project's defaults, keys without the namespace."""

    stack: str
    path: Path
    values: dict[str, Any]
    region: str | None

    def get(self, key: str) -> Any:
        """The value of ``key``; a key with neither a value nor a default is an error naming the file."""
        if key not in self.values:
            raise StackFileError(f"{self.path.name} sets no {PROJECT}:{key} and Pulumi.yaml declares no default")
        return self.values[key]


def read_stack(repo: Path, stack: str) -> StackConfig:
    """Read ``Pulumi.<stack>.yaml`` with the defaults ``Pulumi.yaml`` declares."""
    path = stack_path(repo, stack)
    config: dict[str, Any] = _load(path).get("config") or {}
    declared = (_load(repo / "Pulumi.yaml").get("config") or {})
    values = {key: spec["default"] for key, spec in declared.items() if isinstance(spec, dict) and "default" in spec}
    prefix = f"{PROJECT}:"
    values.update({key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)})
    region = config.get("aws:region")
    return StackConfig(stack, path, values, region if isinstance(region, str) else None)


def pinned_image(repo: Path, stack: str) -> ImageRef | None:
    """The image ``Pulumi.<stack>.yaml`` pins, or None while it pins none (``imageRef`` unset or "").

    Raises:
        StackFileError: the file is missing or unreadable.
        jobs.contract.values.ConfigError: the pin is not a digest in the shared repository.
    """
    config = read_stack(repo, stack)
    raw = config.values.get("imageRef")
    return None if raw in (None, "") else parse_image_ref(f"{config.path.name} imageRef", raw)


def with_image_ref(text: str, ref: ImageRef, name: str) -> str:
    """``text`` (a stack file) with its ``imageRef`` line set to ``ref`` and every other line unchanged."""
    lines = _IMAGE_LINE_RE.findall(text)
    if len(lines) != 1:
        raise StackFileError(f"{name} has {len(lines)} `{PROJECT}:imageRef:` lines: expected exactly one to pin")
    return _IMAGE_LINE_RE.sub(lambda m: f'{m["key"]} "{ref}"', text, count=1)
