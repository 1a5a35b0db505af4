"""Readers of single stack-config values, shared by every component's settings.

Each reader takes the decoded config (key -> YAML-like value) and one key, returns the typed
value and raises ``SettingsError`` with one line naming the key, the value and what is
allowed. Values the job also reads are checked by the job's own parsers (``jobs.contract``),
through ``contract``, so a stack cannot hold a value the job would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from infra.names import PROJECT
from jobs.contract.values import ConfigError, parse_symbols

T = TypeVar("T")
# A Secrets Manager secret ARN (RDS-managed master secrets are named rds!db-<id>).
SECRET_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:secretsmanager:[a-z0-9\-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!\-]+$")
SECRET_ARN_FORM = "a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"


class SettingsError(ValueError):
    """Bad stack configuration: one line naming the key, the value and what is allowed."""


def key_name(key: str) -> str:
    """The fully qualified config key as ``pulumi config`` shows it."""
    return f"{PROJECT}:{key}"


def contract(fn: Callable[[], T]) -> T:
    """``fn()``, a ``jobs.contract`` parser: the stack reports its ``ConfigError`` as a ``SettingsError``."""
    try:
        return fn()
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def require(values: Mapping[str, Any], key: str) -> Any:
    """The value of a required key, or a ``SettingsError`` naming it."""
    if key not in values:
        raise SettingsError(f"{key_name(key)} is required but not set (pulumi config set {key} ...)")
    return values[key]


def parse_symbol_list(key: str, raw: Any, allow_empty: bool = False) -> tuple[str, ...]:
    """Validate a YAML list of symbols with ``jobs.contract.values.parse_symbols``."""
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: expected a list of ticker strings")
    if not raw:
        if allow_empty:
            return ()
        raise SettingsError(f"{key_name(key)} is empty: list at least one symbol")
    for sym in raw:
        if "," in sym or sym != sym.strip():
            # parse_symbols reads a comma-separated string: a list item must hold one ticker.
            raise SettingsError(f"{key_name(key)}: {sym!r} is not a ticker (one symbol per list item)")
    return contract(lambda: parse_symbols(key_name(key), ",".join(raw)))


def integer(values: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An integer setting in [low, high], ``default`` when unset."""
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected an integer from {low} to {high}")
    return value


def flag(values: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean setting, ``default`` when unset."""
    value = values.get(key, default)
    if not isinstance(value, bool):
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected true or false")
    return value


def strings(values: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    """A list of distinct strings each matching ``pattern`` (empty when unset)."""
    raw = values.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(s, str) and pattern.match(s) for s in raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: expected a list of {what}")
    if len(set(raw)) != len(raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: duplicate entries")
    return tuple(raw)


def string(values: Mapping[str, Any], key: str, default: str | None, pattern: re.Pattern[str], what: str) -> str:
    """A string matching ``pattern``; required when ``default`` is None."""
    value = values.get(key, default) if default is not None else require(values, key)
    if not isinstance(value, str) or not pattern.match(value):
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected {what}")
    return value
