"""Show how to roll a stack back: ``python -m jobs.rollback --stack canary``.

A rollback is ``pulumi up`` with the previous committed ``Pulumi.<stack>.yaml``. This
prints that previous version (from ``git log``/``git show``), its diff to the current
one, and the commands to apply it and to regenerate forecasts with a one-off Batch job
from the stack outputs ``jobQueueArn`` and ``jobDefinitionArns``. It changes nothing.
Exit status: 0 shown, 1 no earlier version to return to (or no git on PATH), 2 bad input.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_STACK_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class RollbackError(RuntimeError):
    """Nothing to roll back to, or git could not answer; the message says which."""


class GitMissing(RollbackError):
    """No ``git`` executable on PATH."""


@dataclass(frozen=True)
class ConfigVersion:
    """One committed version of a stack file."""

    sha: str
    date: str
    subject: str

    @property
    def short(self) -> str:
        """The abbreviated commit id."""
        return self.sha[:10]


@dataclass(frozen=True)
class RollbackPlan:
    """The previous config of a stack and how it differs from the current one."""

    stack: str
    path: str
    current: ConfigVersion
    previous: ConfigVersion
    previous_text: str
    diff: str
    uncommitted: bool


def git(repo: Path, *args: str) -> str:
    """Run ``git -C repo args`` and return stdout; raise ``RollbackError`` with git's message."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:  # no git on PATH (the job image has none)
        raise GitMissing("git is not installed (not on PATH): the rollback plan reads the stack file's history "
                         "with git; run it from a checkout on a machine with git") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["unknown error"])[0]
        raise RollbackError(f"git {' '.join(args[:2])} failed: {first}")
    return proc.stdout


def config_history(repo: Path, path: str) -> list[ConfigVersion]:
    """Commits that changed ``path``, newest first."""
    out = git(repo, "log", "--format=%H%x1f%cI%x1f%s", "--", path)
    return [ConfigVersion(*line.split("\x1f", 2)) for line in out.splitlines() if line]


def plan_rollback(repo: Path, stack: str) -> RollbackPlan:
    """The version of ``Pulumi.<stack>.yaml`` before its last change, and the diff to the current one.

    Raises:
        ValueError: for a malformed stack name or a stack file git does not track.
        RollbackError: when the file has only one committed version.
    """
    if not _STACK_RE.match(stack):
        raise ValueError(f"--stack {stack!r} is invalid: expected a stack name such as canary, limited or prod")
    path = f"Pulumi.{stack}.yaml"
    history = config_history(repo, path)
    if not history:
        known = sorted(p.name for p in repo.glob("Pulumi.*.yaml"))
        raise ValueError(f"--stack {stack!r} is invalid: git has no committed {path}; stack files: "
                         f"{', '.join(known) or 'none'}")
    if len(history) < 2:
        raise RollbackError(f"{path} has a single committed version ({history[0].short}): nothing earlier to "
                            "roll back to")
    current, previous = history[0], history[1]
    return RollbackPlan(
        stack=stack, path=path, current=current, previous=previous,
        previous_text=git(repo, "show", f"{previous.sha}:{path}"),
        diff=git(repo, "diff", previous.sha, current.sha, "--", path),
        uncommitted=bool(git(repo, "status", "--porcelain", "--", path).strip()),
    )


def find_repo(path: Path) -> Path:
    """The top of the git checkout holding ``path``; a folder outside git is bad input."""
    try:
        return Path(git(path, "rev-parse", "--show-toplevel").strip())
    except GitMissing:
        raise
    except RollbackError:
        raise ValueError(f"--repo {str(path)!r} is invalid: expected a folder inside a git checkout") from None


def stack_ref(stack: str) -> str:
    """The stack as the workflows name it: ``<organisation>/<stack>`` (``PULUMI_ORG`` in the shell)."""
    return f'"$PULUMI_ORG/{stack}"'


def regenerate_commands(stack: str) -> list[str]:
    """Shell lines submitting one non-array Batch job per horizon from the stack outputs.

    Without an array index the job runs every symbol of its definition (``jobs.contract.config``);
    prod's high-value 3-model symbols have their own definitions.
    """
    outputs = {"jobDefinitionArns": ""} | ({"highValueJobDefinitionArns": "high-value-"} if stack == "prod" else {})
    lines = [f'QUEUE="$(pulumi stack output jobQueueArn --stack {stack_ref(stack)})"']
    for output, tag in outputs.items():
        lines += [
            f"pulumi stack output {output} --stack {stack_ref(stack)} --json \\",
            "  | jq -r 'to_entries[] | \"\\(.key) \\(.value)\"' \\",
            "  | while read -r horizon arn; do",
            f'      aws batch submit-job --job-name "rollback-{stack}-{tag}$horizon-$(date -u +%Y%m%d%H%M)" \\',
            '        --job-queue "$QUEUE" --job-definition "$arn"',
            "    done",
        ]
    return lines


def steps(plan: RollbackPlan) -> list[str]:
    """The numbered steps to apply the previous config and regenerate forecasts."""
    s, p = plan.stack, plan.previous
    return [
        f"1. Restore the previous config ({p.short}) and commit it, so the stack file and the stack agree:",
        f"     git show {p.sha}:{plan.path} > {plan.path}",
        f'     git commit -m "Roll back {s} to {p.short}: <REASON>" -- {plan.path}',
        "2. Apply it: push the commit to main, or run the deploy workflow by hand with stack "
        f"{s} (a rollback is never gated), or review the preview and apply it yourself:",
        f"     pulumi preview --stack {stack_ref(s)} --diff",
        f"     pulumi up --stack {stack_ref(s)}",
        "3. Regenerate forecasts with a one-off Batch job per horizon (stack outputs jobQueueArn, "
        "jobDefinitionArns):",
        *(f"     {line}" for line in regenerate_commands(s)),
        "4. Confirm the new rows (forecasts written, divergence back to normal):",
        "     python -m jobs.daily_checks --hours 2",
        f'5. Notify the team: "ROLLBACK: {s} reverted to {p.short} due to <REASON>"',
    ]


def render(plan: RollbackPlan) -> str:
    """The full printout: versions, the previous file, the diff, the steps."""
    out = [f"Stack {plan.stack}: {plan.path}",
           f"  current  {plan.current.short} {plan.current.date} {plan.current.subject}",
           f"  previous {plan.previous.short} {plan.previous.date} {plan.previous.subject}"]
    if plan.uncommitted:
        out.append(f"  warning: {plan.path} has uncommitted changes; they are not part of this rollback")
    out += ["", f"--- previous {plan.path} ({plan.previous.short}) ---", plan.previous_text.rstrip(), "",
            f"--- diff previous ({plan.previous.short}) -> current ({plan.current.short}) ---",
            plan.diff.rstrip() or "(no difference)", "", "Steps:", *steps(plan)]
    return "\n".join(out)
