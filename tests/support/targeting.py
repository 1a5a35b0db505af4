"""The Pulumi engine's ``--target`` rule, reproduced from its source, for programs recorded under mocks.

pulumi/pulumi ``pkg/resource/deploy``:

- ``deployment.go`` ``UrnTargets``: an entry with a ``*`` is a glob (``**`` matches anything,
  ``*`` anything but ``:``); anything else must equal the URN;
- ``step_generator.go``: a resource not yet in the state and not targeted is a *skipped create*,
  except providers and the root stack, which are always targeted; ``validateSteps``: in a
  targeted update, a step for any other resource whose parent, dependencies (explicit and
  property), deleted-with or provider is a skipped create fails with "untargeted create"
  (regression test ``TestTargetUntargetedParent``, pulumi/pulumi#14531). A skipped create whose
  own dependencies are skipped is not an error. ``pulumi up`` stops at the first; ``pulumi
  preview`` reports each once, which is what ``UntargetedCreate.violations`` lists.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class UntargetedCreate(Exception):
    """What ``pulumi up --target`` stops with (the engine's "untargeted create").

    Attributes:
        violations: (URN of the step, URN of the skipped create it needs), in the engine's order.
    """

    def __init__(self, violations: list[tuple[str, str]]) -> None:
        self.violations = violations
        super().__init__("untargeted create: " + "; ".join(
            f"{urn} needs {dep}, which will be created but was not specified in the --target list"
            for urn, dep in violations))


@dataclass(frozen=True)
class Node:
    """One registration of a program: its URN, parent and every resource it depends on."""

    urn: str
    parent: str = ""
    dependencies: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        """The resource type, the last link of the URN's type chain."""
        return self.urn.split("::")[2].split("$")[-1]


def glob_matcher(glob: str) -> re.Pattern[str]:
    """``UrnTargets.getMatcher``: ``**`` -> ``.*``, ``*`` -> ``[^:]*``, the rest literal."""
    return re.compile("^" + ".*".join("[^:]*".join(re.escape(p) for p in seg.split("*"))
                                      for seg in glob.split("**")) + "$")


def targeted(urn: str, targets: Sequence[str]) -> bool:
    """``UrnTargets.Contains``: unconstrained (no targets) contains every URN."""
    if not targets:
        return True
    return any(glob_matcher(t).match(urn) if "*" in t else t == urn for t in targets)


def implicitly_targeted(urn: str) -> bool:
    """Providers and the root stack are always part of the operation."""
    kind = urn.split("::")[2].split("$")[-1]
    return kind.startswith("pulumi:providers:") or kind == ROOT_STACK_TYPE


def plan_update(nodes: Sequence[Node], targets: Sequence[str] = (), existing: Collection[str] = ()) -> dict[str, str]:
    """The step the engine takes for each node of ``pulumi up [--target ...]`` over state ``existing``.

    Returns:
        URN -> ``create``, ``update`` (in the state and targeted), ``same`` (in the state, not
        targeted) or ``skip`` (a skipped create).

    Raises:
        UntargetedCreate: A step depends on a skipped create, naming both.
    """
    steps: dict[str, str] = {}
    skipped: set[str] = set()
    violations: list[tuple[str, str]] = []
    for node in nodes:  # registration order: a resource registers after what it depends on
        included = implicitly_targeted(node.urn) or targeted(node.urn, targets)
        if node.urn in existing:
            steps[node.urn] = "update" if included else "same"
        elif included:
            steps[node.urn] = "create"
        else:
            steps[node.urn] = "skip"
            skipped.add(node.urn)
            continue
        if targets:
            for dep in (node.parent, *node.dependencies):
                if dep in skipped:
                    violations.append((node.urn, dep))
                    skipped.discard(dep)  # the preview reports each skipped create once
    if violations:
        raise UntargetedCreate(violations)
    return steps
