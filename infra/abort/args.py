"""The automatic abort's settings: on or off per stack, and the optional rollback dispatch.

``autoAbort`` (default true on every stack) makes the stack disable its own schedules when its
``rollback-required`` composite alarm enters ALARM. ``rollbackDispatchRepository`` and
``rollbackDispatchTokenSecretArn`` (both or neither) also start the repository's rollback
workflow through GitHub's ``repository_dispatch``; the token stays in Secrets Manager, named
by ARN.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra import names
from infra.batch.args import BatchArgs
from infra.values import SECRET_ARN_FORM, SECRET_ARN_RE, SettingsError, flag, key_name

_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")

# The keys read here, with how Pulumi's config string is decoded.
ABORT_KEYS: dict[str, str] = {
    "autoAbort": "bool",
    "rollbackDispatchRepository": "str",
    "rollbackDispatchTokenSecretArn": "str",
}
# Defaults equal to Pulumi.yaml's (tests/deploy/test_pulumi_cli_config.py holds the two together).
ABORT_DEFAULTS: dict[str, Any] = {"autoAbort": True}
# The repository_dispatch event type the rollback workflow listens for.
DISPATCH_EVENT_TYPE = "rollback-required"


@dataclass(frozen=True)
class DispatchArgs:
    """Where the abort starts the rollback workflow: ``POST /repos/<repository>/dispatches``.

    Attributes:
        repository: ``owner/name`` on GitHub.
        token_secret_arn: The Secrets Manager secret holding the token (a fine-grained token
            with "Contents: write" on that repository only), read at deploy time as a Pulumi secret.
    """

    repository: str
    token_secret_arn: str
    event_type: str = DISPATCH_EVENT_TYPE

    @property
    def endpoint(self) -> str:
        """GitHub's repository_dispatch endpoint."""
        return f"https://api.github.com/repos/{self.repository}/dispatches"


@dataclass(frozen=True)
class AbortArgs:
    """What ``AutoAbort`` declares.

    Attributes:
        stack: The Pulumi stack name.
        enabled: ``autoAbort``: whether the stack declares the abort at all.
        active: Whether the abort's rules are ENABLED: only while the schedules are on, so a
            stack whose schedules are off neither disables anything nor notifies.
        dispatch: The rollback workflow to start, or None.
        tags: Tags put on every taggable resource.
    """

    stack: str
    enabled: bool
    active: bool
    dispatch: DispatchArgs | None
    tags: Mapping[str, str]

    @property
    def alarm_name(self) -> str:
        """The rollback composite alarm the abort listens for."""
        return names.resource_name(self.stack, names.ROLLBACK_ALARM)

    @property
    def notify_rule_name(self) -> str:
        """The rule that tells the team (and starts the rollback workflow)."""
        return names.resource_name(self.stack, names.AUTO_ABORT)

    def horizon_rule_name(self, horizon: str) -> str:
        """The rule that disables the schedules of one horizon (EventBridge allows 5 targets a rule)."""
        return names.resource_name(self.stack, names.AUTO_ABORT, horizon)


def parse_abort(values: Mapping[str, Any], batch: BatchArgs) -> AbortArgs:
    """Validate ``autoAbort`` and the optional rollback dispatch."""
    repository = values.get("rollbackDispatchRepository")
    token = values.get("rollbackDispatchTokenSecretArn")
    if (repository is None) != (token is None):
        raise SettingsError(f"set both {key_name('rollbackDispatchRepository')} and "
                            f"{key_name('rollbackDispatchTokenSecretArn')}, or neither")
    dispatch = None
    if repository is not None:
        if not isinstance(repository, str) or not _REPOSITORY_RE.match(repository):
            raise SettingsError(f"{key_name('rollbackDispatchRepository')}={repository!r} is invalid: "
                                "expected a GitHub repository owner/name")
        if not isinstance(token, str) or not SECRET_ARN_RE.match(token):
            # Not echoed: a token pasted here by mistake must not reach a log.
            raise SettingsError(f"{key_name('rollbackDispatchTokenSecretArn')} is invalid (value not shown): "
                                f"expected {SECRET_ARN_FORM}, never the token itself")
        dispatch = DispatchArgs(repository=repository, token_secret_arn=token)
    return AbortArgs(stack=batch.stack, enabled=flag(values, "autoAbort", ABORT_DEFAULTS["autoAbort"]),
                     active=batch.schedules_enabled, dispatch=dispatch, tags=dict(batch.tags))
