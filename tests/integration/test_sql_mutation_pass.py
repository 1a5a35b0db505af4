"""The SQL mutation pass of ``make mutate`` (``tests.support.sql_mutation``): what it mutates and where.

Its first stage, every mutant against its query's filter scenario, is cheap enough to run here:
each comparison flipped and each WHERE term dropped, in the queries and in the claim functions
of migration 20261204_22, must break the scenario (the pass runs the family's tests only for a
mutant that does not).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.sql_mutation import FAMILIES, by_scenario, checkout_copy, family_mutants
from tests.support.sql_routines import routine


def test_a_copy_of_the_checkout_reads_its_own_sql_folder(tmp_path: Path) -> None:
    # The editable install maps jobs.sql onto the checkout's sql/: without the copy's own link,
    # every mutant written into a copy went unread, and survived.
    sql = checkout_copy(tmp_path / "copy")
    done = subprocess.run([sys.executable, "-c", "from jobs.sql import migrations_dir, queries_dir; "
                           "print(queries_dir().resolve()); print(migrations_dir().resolve())"],
                          cwd=tmp_path / "copy", capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == [str(sql.resolve() / "queries"), str(sql.resolve() / "migrations")]


def test_the_claim_functions_are_mutated_in_their_migration() -> None:
    mutants = family_mutants(["finish_forecast_task"])
    found = routine("finish_forecast_task")
    assert len(mutants) == 8  # four terms, each dropped and its = flipped
    for mutant, tests in mutants:
        assert mutant.path == f"migrations/{found.migration.name}" and mutant.routine
        assert tests == FAMILIES["resume"].tests
        # The migration is the same but for the function's body, which is the mutant's.
        assert mutant.text == found.migration_with(mutant.edited) and mutant.edited != found.body
    assert {m.change.split(", ", 1)[1] for m, _ in mutants} >= {
        "term dropped: t.claimed_by = p_claimer", "AND t.claimed_by _ p_claimer; IF: = -> <>"}


def test_every_mutant_of_the_pass_breaks_its_filter_scenario(pg_server_url: str, migrated_template: str) -> None:
    mutants = [m for m, _ in family_mutants([])]
    caught = by_scenario(pg_server_url, mutants)
    survivors = [f"{m.query}: {m.change}" for m in mutants if not caught[m]]
    assert not survivors, f"{len(survivors)} of {len(mutants)} SQL mutants pass their filter scenario: {survivors}"
