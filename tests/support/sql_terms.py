"""The WHERE terms of a named query, and mutants of its text: for the filter tests and ``make mutate``.

A *term* is one top-level ``AND`` operand of a ``WHERE`` clause, at any depth of the statement
(a CTE, a subquery, an ``EXISTS``, an aggregate's ``FILTER (WHERE ...)``). A named query is one
statement; a function body (``tests.support.sql_routines``) may hold several (``many=True``),
and a clause there ends at its statement's ``;``. Terms are numbered
in the order they appear in the text. ``drop_term`` replaces one term with ``TRUE``, which is the
same as deleting it and its ``AND`` but always leaves valid SQL (even for a clause's only term).
``flip_comparisons`` makes one mutant per comparison operator inside a ``WHERE`` clause.

Only the text is changed: callers pass a file's contents and run the returned text themselves;
nothing here reads or writes a file. sqlparse keeps every character, so each mutant is the
original text with exactly one span replaced.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import sqlparse
from sqlparse import sql as grouped
from sqlparse import tokens as ttypes

# Keywords that end a WHERE clause where sqlparse's grouping runs on (``... ON CONFLICT``, ``... FOR UPDATE``).
_CLAUSE_ENDS = frozenset({"ON", "FOR", "WINDOW", "LIMIT", "OFFSET", "FETCH"})
# Each comparison and the one it is mutated into: a strict comparison loses or gains its
# boundary, equality becomes inequality (and back).
FLIPS: dict[str, str] = {">": ">=", ">=": ">", "<": "<=", "<=": "<", "=": "<>", "<>": "=", "!=": "="}


@dataclass(frozen=True)
class Span:
    """A piece of the statement's text, ``text[start:end]``; ``clean`` is it on one line without comments."""

    start: int
    end: int
    text: str
    clean: str = ""


def _statements(sql: str, many: bool = False) -> list[grouped.Statement]:
    """The text's statements, every character kept (blank ones too, so offsets add up)."""
    statements = sqlparse.parse(sql)
    found = sum(1 for s in statements if s.value.strip())
    if found == 0 or (found != 1 and not many):
        raise ValueError(f"expected one SQL statement, got {found}")
    return list(statements)


def _offsets(statements: list[grouped.Statement]) -> dict[int, int]:
    """Each leaf token's (by identity) start offset in the text of ``statements``."""
    out, pos = {}, 0
    for leaf in (leaf for statement in statements for leaf in statement.flatten()):
        out[id(leaf)] = pos
        pos += len(leaf.value)
    return out


def _span(tokens: list[grouped.Token], offsets: dict[int, int]) -> Span:
    leaves = [leaf for tok in tokens for leaf in tok.flatten()]
    start = offsets[id(leaves[0])]
    end = offsets[id(leaves[-1])] + len(leaves[-1].value)
    clean = " ".join("".join(leaf.value for leaf in leaves if leaf.ttype not in ttypes.Comment).split())
    return Span(start, end, "".join(leaf.value for leaf in leaves), clean)


def _wheres(token: grouped.TokenList) -> Iterator[grouped.Where]:
    """Every WHERE clause under ``token``, outer before inner, in text order."""
    for child in token.tokens:
        if isinstance(child, grouped.Where):
            yield child
        if child.is_group:
            yield from _wheres(child)


def _is_filler(tok: grouped.Token) -> bool:
    """Whitespace, a comment or the statement's closing semicolon: never part of a term."""
    return (tok.is_whitespace or tok.ttype in ttypes.Comment or isinstance(tok, grouped.Comment)
            or (tok.ttype is ttypes.Punctuation and tok.value == ";"))


def _conjuncts(where: grouped.Where) -> Iterator[list[grouped.Token]]:
    """The clause's top-level ``AND`` operands (a ``BETWEEN x AND y`` stays whole), edges trimmed."""
    current: list[grouped.Token] = []
    between = False
    for tok in where.tokens[1:]:  # tokens[0] is the WHERE keyword
        if (tok.ttype is ttypes.Keyword and tok.normalized in _CLAUSE_ENDS) or (
                tok.ttype is ttypes.Punctuation and tok.value == ";"):  # in a function body, the next statement
            break
        if tok.ttype is ttypes.Keyword and tok.normalized == "BETWEEN":
            between = True
        elif tok.ttype is ttypes.Keyword and tok.normalized == "AND":
            if between:
                between = False
            else:
                yield current
                current = []
                continue
        current.append(tok)
    yield current


def _terms(statements: list[grouped.Statement]) -> Iterator[list[grouped.Token]]:
    """Each WHERE term's tokens, edges trimmed, in text order."""
    for where in (w for statement in statements for w in _wheres(statement)):
        for tokens in _conjuncts(where):
            while tokens and _is_filler(tokens[0]):
                tokens = tokens[1:]
            while tokens and _is_filler(tokens[-1]):
                tokens = tokens[:-1]
            if not tokens:
                raise ValueError(f"empty WHERE term in: {where.value.strip()[:80]}")
            yield tokens


@functools.lru_cache(maxsize=256)  # parsing is slow and each mutant of a query starts from the same text
def term_spans(sql: str, many: bool = False) -> tuple[Span, ...]:
    """Every WHERE term of ``sql``'s one statement (each statement's, with ``many``), with where it sits."""
    statements = _statements(sql, many)
    offsets = _offsets(statements)
    # Text order: an outer term comes before the terms of a clause nested in it.
    return tuple(sorted((_span(tokens, offsets) for tokens in _terms(statements)), key=lambda span: span.start))


def where_terms(sql: str, many: bool = False) -> list[str]:
    """The WHERE terms of ``sql`` in text order, each on one line without comments (how tests name them)."""
    return [s.clean for s in term_spans(sql, many)]


def drop_term(sql: str, i: int, many: bool = False) -> str:
    """``sql`` with its ``i``-th WHERE term (``where_terms`` order) replaced by ``TRUE``."""
    spans = term_spans(sql, many)
    if not 0 <= i < len(spans):
        raise ValueError(f"term {i} is invalid: the statement has {len(spans)} WHERE terms (0 to {len(spans) - 1})")
    span = spans[i]
    return sql[:span.start] + "TRUE" + sql[span.end:]


def _where_leaves(sql: str, many: bool) -> Iterator[tuple[grouped.Token, int, grouped.Token | None]]:
    """Each leaf inside a WHERE term once, in text order: (leaf, its offset, the word before it)."""
    statements = _statements(sql, many)
    offsets = _offsets(statements)
    seen: dict[int, grouped.Token] = {}  # by offset: a nested clause's terms are also inside its outer term
    for leaf in (leaf for tokens in _terms(statements) for tok in tokens for leaf in tok.flatten()):
        seen[offsets[id(leaf)]] = leaf
    before = None
    for start in sorted(seen):
        leaf = seen[start]
        yield leaf, start, before
        if not (leaf.is_whitespace or leaf.ttype in ttypes.Comment):
            before = leaf


def comparison_spans(sql: str, many: bool = False) -> list[Span]:
    """Every comparison operator inside a WHERE clause of ``sql``, in text order (each once)."""
    return [Span(start, start + len(leaf.value), leaf.value) for leaf, start, _ in _where_leaves(sql, many)
            if leaf.ttype is ttypes.Operator.Comparison and leaf.value in FLIPS]


def null_test_spans(sql: str, many: bool = False) -> list[Span]:
    """The ``NULL`` or ``NOT NULL`` of every ``IS [NOT] NULL`` inside a WHERE clause of ``sql``, in text order."""
    return [Span(start, start + len(leaf.value), leaf.value, leaf.normalized)
            for leaf, start, before in _where_leaves(sql, many)
            if leaf.ttype is ttypes.Keyword and leaf.normalized in ("NULL", "NOT NULL")
            and before is not None and before.normalized == "IS"]


def flip_comparisons(sql: str, many: bool = False) -> list[str]:
    """One mutant of ``sql`` per comparison inside a WHERE clause, that comparison flipped (``FLIPS``)."""
    return [sql[:s.start] + FLIPS[s.text] + sql[s.end:] for s in comparison_spans(sql, many)]
