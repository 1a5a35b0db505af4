"""``make mutate``: mutmut over the decision code, then the SQL mutation pass; kill rate per module.

mutmut (configured in pyproject's ``[tool.mutmut]``) mutates the walk-forward scoring, the
ensemble weights, the calendar, the rollout checks, the gate, the triggers and the thresholds,
and runs the tests that reach each mutant. Tests that need PostgreSQL share one scratch server
started here (``TEST_PG_SERVER_URL``), so hundreds of short pytest sessions do not each start
and migrate their own. ``tests.support.sql_mutation`` then mutates the review, gate, resume and
retirement queries. Not part of ``make test``; the figures and survivors are in docs/testing.md.

``python -m tests.support.mutate [--jobs N] [--skip-python] [--skip-sql]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tests.support import sql_mutation
from tests.support.fixtures import SERVER_URL_ENV, make_template, start_scratch_server
from tests.support.mutation_reasons import is_equivalent, reason_for

ROOT = Path(__file__).resolve().parents[2]
# mutmut's verdicts that count as the tests catching the mutant.
CAUGHT = {"killed", "timeout", "caught by type check"}


def run_mutmut(server_url: str, jobs: int) -> int:
    """``mutmut run`` in the checkout with ``jobs`` children; its exit status."""
    env = {**os.environ, SERVER_URL_ENV: server_url}
    return subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)], cwd=ROOT,
                          env=env, check=False).returncode


def mutmut_verdicts(mutants: Path) -> dict[str, Counter[str]]:
    """Verdict counts per mutated module, read from mutmut's ``.meta`` files under ``mutants``."""
    from mutmut.stats import status_by_exit_code

    out: dict[str, Counter[str]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = str(meta.relative_to(mutants)).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out[module] = Counter(status_by_exit_code[code] for code in codes.values())
    return out


def mutmut_survivors_in(meta: Path) -> list[str]:
    """Names of one module's judged mutants that no test caught (survived, or reached by no test)."""
    from mutmut.stats import status_by_exit_code

    return [name for name, code in json.loads(meta.read_text())["exit_code_by_key"].items()
            if status_by_exit_code[code] not in CAUGHT | {"not checked", "skipped"}]


def mutmut_survivors(mutants: Path) -> list[str]:
    """Each judged mutant no test caught, with its verdict: ``NAME (survived)``."""
    from mutmut.stats import status_by_exit_code

    out = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out += [f"{name} ({status_by_exit_code[codes[name]]})" for name in mutmut_survivors_in(meta)]
    return out


def survivor_changes(mutants: Path) -> list[str]:
    """One line per surviving mutant: its name and the line it changed (``- old`` / ``+ new``)."""
    from mutmut.__main__ import find_mutant, get_diff_for_mutant

    lines = []
    for entry in mutmut_survivors(mutants):
        name = entry.split(" (")[0]
        diff = get_diff_for_mutant(name, path=find_mutant(name).path).splitlines()
        old = " ".join(d[1:].strip() for d in diff if d.startswith("-") and not d.startswith("---"))
        new = " ".join(d[1:].strip() for d in diff if d.startswith("+") and not d.startswith("+++"))
        lines.append(f"{entry}: `{old}` -> `{new}` -- {reason_for(name) or 'UNEXPLAINED'}")
    return lines


def survivors_markdown(mutants: Path) -> str:
    """docs/mutation-survivors.md's list: the survivors grouped by function, each with its change and reason."""
    groups: dict[str, list[str]] = {}
    for line in survivor_changes(mutants):
        name, rest = line.split(" ", 1)
        function, number = name.rsplit("__mutmut_", 1)
        groups.setdefault(function, []).append(f"- {number} {rest}")
    return "\n\n".join(f"#### `{function}` ({len(lines)})\n\n" + "\n".join(lines) for function, lines in groups.items())


def python_report(verdicts: dict[str, Counter[str]], equivalent: Counter[str] | None = None) -> str:
    """Kill rate per module: caught over judged mutants (no-test mutants count as survivors).

    Mutants a stopped run never reached ("not checked") are left out of both, and counted.
    ``equivalent`` (survivors per module that ``mutation_reasons`` explains as equivalent) gives
    the second rate: caught over the judged mutants that a test could kill.
    """
    equivalent = equivalent or Counter()
    lines = ["mutmut: kill rate per module (caught / judged; then without the equivalent survivors)"]
    for module, counts in verdicts.items():
        total = sum(counts.values()) - counts["skipped"] - counts["not checked"]
        caught = sum(counts[v] for v in CAUGHT)
        killable = total - equivalent[module]
        detail = ", ".join(f"{v} {n}" for v, n in sorted(counts.items()))
        lines.append(f"  {module:36} {caught:3}/{total:<3} {100 * caught / total if total else 0:5.1f}%  "
                     f"{caught:3}/{killable:<3} {100 * caught / killable if killable else 0:5.1f}%  ({detail})")
    return "\n".join(lines)


def equivalent_survivors(mutants: Path) -> Counter[str]:
    """Survivors per mutated module that ``mutation_reasons`` explains as equivalent."""
    out: Counter[str] = Counter()
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = str(meta.relative_to(mutants)).removesuffix(".meta")
        out[module] += sum(1 for entry in mutmut_survivors_in(meta) if is_equivalent(entry))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2: a shared 2-core box)")
    parser.add_argument("--skip-python", action="store_true", help="only the SQL pass")
    parser.add_argument("--skip-sql", action="store_true", help="only mutmut")
    parser.add_argument("--survivors", action="store_true",
                        help="print the last mutmut run's survivors with the line each changed and why, and exit")
    parser.add_argument("--report", action="store_true", help="print the last mutmut run's kill rates, and exit")
    parser.add_argument("--markdown", action="store_true",
                        help="print the last mutmut run's survivors grouped by function (docs/mutation-survivors.md)")
    args = parser.parse_args(argv)
    if args.survivors or args.report or args.markdown:
        mutants = ROOT / "mutants"
        if args.markdown:
            print(survivors_markdown(mutants))
        else:
            print("\n".join(survivor_changes(mutants)) if args.survivors
                  else python_report(mutmut_verdicts(mutants), equivalent_survivors(mutants)))
        return 0
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs} is invalid: expected 1 or more")
    with tempfile.TemporaryDirectory(prefix="mutate-pg-") as folder, start_scratch_server(Path(folder)) as url:
        make_template(url)
        if not args.skip_python:
            status = run_mutmut(url, args.jobs)
            if status != 0:
                print(f"mutmut run exited {status}", file=sys.stderr)
                return status
        outcomes = [] if args.skip_sql else sql_mutation.run_pass(url, jobs=args.jobs)
    if not args.skip_python:
        print(python_report(mutmut_verdicts(ROOT / "mutants"), equivalent_survivors(ROOT / "mutants")))
        print("\n".join(f"  SURVIVED {name}" for name in mutmut_survivors(ROOT / "mutants")))
    if outcomes:
        print(sql_mutation.report(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
