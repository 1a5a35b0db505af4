"""The WHERE-term helper behind the filter tests and the SQL mutation pass (``tests.support.sql_terms``)."""

from __future__ import annotations

import pytest

from jobs.sql import queries_dir
from tests.support.sql_terms import comparison_spans, drop_term, flip_comparisons, where_terms

SQL = """-- a comment AND not a term
WITH recent AS (
    SELECT id FROM t WHERE a > %(x)s AND b BETWEEN 1 AND 2
)
SELECT id FROM u
WHERE id IN (SELECT id FROM recent)
  AND NOT EXISTS (SELECT 1 FROM v WHERE v.id = u.id AND v.kind <> 'x')  -- why
  AND (c IS NULL OR c <= 3)
ORDER BY id;
"""


def test_terms_are_every_top_level_and_operand_of_every_where_in_text_order() -> None:
    assert where_terms(SQL) == [
        "a > %(x)s", "b BETWEEN 1 AND 2", "id IN (SELECT id FROM recent)",
        "NOT EXISTS (SELECT 1 FROM v WHERE v.id = u.id AND v.kind <> 'x')", "v.id = u.id", "v.kind <> 'x'",
        "(c IS NULL OR c <= 3)"]


@pytest.mark.parametrize(("i", "gone", "kept"), [
    (0, "a > %(x)s", "b BETWEEN 1 AND 2"),
    (4, "v.id = u.id", "v.kind <> 'x'"),
    (6, "(c IS NULL OR c <= 3)", "ORDER BY id;"),
])
def test_drop_term_replaces_exactly_that_term_with_true(i: int, gone: str, kept: str) -> None:
    out = drop_term(SQL, i)
    assert gone not in out and kept in out and out.count("TRUE") == 1
    assert len(where_terms(out)) == len(where_terms(SQL))  # the clause keeps its shape
    assert SQL.replace(gone, "TRUE", 1) == out


def test_a_clause_ends_before_on_conflict_and_for_update() -> None:
    upsert = "INSERT INTO t (a) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM t) ON CONFLICT (a) DO UPDATE SET b = 1;"
    assert where_terms(upsert) == ["NOT EXISTS (SELECT 1 FROM t)"]
    assert drop_term(upsert, 0) == "INSERT INTO t (a) SELECT 1 WHERE TRUE ON CONFLICT (a) DO UPDATE SET b = 1;"
    assert where_terms("SELECT * FROM t WHERE a = 1 AND b = 2 FOR UPDATE;") == ["a = 1", "b = 2"]
    # An assignment after the clause is no comparison to flip.
    assert [s.text for s in comparison_spans(upsert)] == []


def test_flip_comparisons_makes_one_mutant_per_comparison_in_a_where() -> None:
    mutants = flip_comparisons(SQL)
    assert len(mutants) == 4  # >, =, <>, <= (BETWEEN has none)
    assert "a >= %(x)s" in mutants[0] and "v.id <> u.id" in mutants[1]
    assert "v.kind = 'x'" in mutants[2] and "c < 3" in mutants[3]
    assert all(m.count("\n") == SQL.count("\n") for m in mutants)


def test_bad_input_is_refused_with_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"term 7 is invalid: the statement has 7 WHERE terms \(0 to 6\)"):
        drop_term(SQL, 7)
    with pytest.raises(ValueError, match="expected one SQL statement, got 2"):
        where_terms("SELECT 1; SELECT 2;")


@pytest.mark.parametrize("path", sorted(queries_dir().glob("*.sql")), ids=lambda p: p.stem)
def test_every_query_of_the_job_splits_and_a_dropped_term_becomes_true(path: object) -> None:
    sql = path.read_text()  # type: ignore[attr-defined]
    terms = where_terms(sql)
    for i in sorted({0, len(terms) // 2, len(terms) - 1} & set(range(len(terms)))):  # parsing is slow: three
        term, out = terms[i], drop_term(sql, i)
        after = where_terms(out)
        assert after[i] == "TRUE"
        # Earlier terms are untouched, but for an outer term that holds the dropped one.
        assert all(after[j] == terms[j] or term in terms[j] for j in range(i))
