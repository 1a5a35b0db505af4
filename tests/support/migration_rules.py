"""Additive migrations: what a new migration may not do to the schema a deployed image reads.

The schema runs ahead of the images: canary's ``pulumi up`` applies the checkout's migrations
while limited and prod still run older images (pinned by digest). So a migration may only add:
no DROP (table, column, constraint, default, index, ...), no RENAME, no column type change, no
NOT NULL on an existing column and no new NOT NULL column without a DEFAULT (an older image's
INSERT does not name it). A ``DO`` block cannot be read, so it counts as a violation too.
Statements are parsed with ``sqlparse``; comments and string or dollar-quoted literals are
never read as SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlparse
from sqlparse import tokens as T

_DROP_WHAT = ("COLUMN", "CONSTRAINT", "DEFAULT", "NOT NULL", "EXPRESSION", "IDENTITY")
_RETYPE_RE = re.compile(r"^ALTER (?:COLUMN )?(?!COLUMN )\S+ (?:SET DATA )?TYPE\b")
_NEW_COLUMN_RE = re.compile(r"^ADD (?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|CHECK\b|FOREIGN\b|EXCLUDE\b)")


@dataclass(frozen=True)
class Violation:
    """One non-additive statement: the migration, what it does, and the statement (shortened)."""

    migration: str
    kind: str
    statement: str

    def __str__(self) -> str:
        return f"{self.migration}: {self.kind}: {self.statement}"


def _words(statement: sqlparse.sql.Statement) -> list[str]:
    """The statement's tokens: keywords upper-cased, names as written, every literal as ``'…'``."""
    words = []
    for token in statement.flatten():
        if token.is_whitespace or token.ttype in T.Comment:
            continue
        if token.ttype in T.Literal and token.ttype not in T.Number:
            words.append("'…'")
        elif token.ttype in T.Name:
            words.append(token.value)
        else:
            words.append(token.value.upper())
    return words


def _actions(words: list[str]) -> list[str]:
    """An ``ALTER TABLE``'s actions, split at the commas outside parentheses (nested ones dropped).

    ``words`` follow ``ALTER TABLE``: ``[IF EXISTS] [ONLY] [schema .] name [*]``, then the actions.
    """
    rest = list(words)
    while rest[:1] and rest[0] in ("IF", "EXISTS", "ONLY"):
        rest.pop(0)
    rest = rest[1:]  # the table's name
    while rest[:1] and rest[0] in (".", "*"):
        rest = rest[2:] if rest[0] == "." else rest[1:]
    actions: list[str] = []
    current: list[str] = []
    depth = 0
    for word in rest:
        depth += (word == "(") - (word == ")")
        if word == "," and depth == 0:
            actions.append(" ".join(current))
            current = []
        elif depth == 0 and word not in ("(", ")"):
            current.append(word)
    actions.append(" ".join(current))
    return actions


def _action_kind(action: str) -> str | None:
    """What one ``ALTER TABLE`` action does that is not additive, or None."""
    if " RENAME " in f" {action} ":
        return "RENAME"
    if match := re.search(r"\bDROP (\w+(?: NULL)?)", action):
        return f"DROP {match[1]}" if match[1] in _DROP_WHAT else "DROP COLUMN"
    if _RETYPE_RE.match(action):
        return "ALTER COLUMN TYPE"
    if action.endswith(" SET NOT NULL"):
        return "SET NOT NULL"
    if _NEW_COLUMN_RE.match(action) and " NOT NULL" in action and " DEFAULT " not in f"{action} ":
        return "ADD COLUMN NOT NULL without DEFAULT"
    return None


def violations(migration: str, sql: str) -> list[Violation]:
    """Every statement of ``sql`` that is not additive."""
    found = []
    for statement in sqlparse.parse(sql):
        words = [w for w in _words(statement) if w != ";"]
        if not words:
            continue
        text = " ".join(words)
        shown = text if len(text) <= 120 else text[:119] + "…"
        if words[0] == "DROP":
            kinds = [f"DROP {words[1]}"]
        elif words[0] == "DO":
            kinds = ["DO block (not checkable)"]
        elif words[:2] == ["ALTER", "TABLE"]:
            kinds = [k for a in _actions(words[2:]) if (k := _action_kind(a))]
        elif words[0] == "ALTER" and "RENAME" in words:
            kinds = ["RENAME"]
        else:
            kinds = []
        found += [Violation(migration, kind, shown) for kind in dict.fromkeys(kinds)]
    return found
