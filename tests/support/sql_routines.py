"""The SQL functions the migrations create, with their bodies: for the filter tests and ``make mutate``.

The task claims of issue 22 run as ``SECURITY DEFINER`` functions (migration
``20261204_22_forecast_tasks``): their ``WHERE`` terms are in a dollar-quoted body, not in a
query file. A ``Routine`` knows where its body sits in its migration's text, so a filter test
can install a variant of it (``create``: ``CREATE OR REPLACE FUNCTION``, inside a transaction
that is rolled back) and the SQL mutation pass can write a mutant migration into a copy of the
checkout (``migration_with``). Nothing here writes a file.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from jobs.sql import migrations_dir

# ``CREATE FUNCTION name(...) ... AS $$ body $$;``: the migrations quote every body with a bare ``$$``.
_FUNCTION = re.compile(r"CREATE FUNCTION (?P<name>\w+)\((?:.|\n)*?\bAS \$\$(?P<body>(?:.|\n)*?)\$\$;")


@dataclass(frozen=True)
class Routine:
    """One function of a migration: its name, its file, and the span of its statement and of its body."""

    name: str
    migration: Path
    start: int  # of "CREATE FUNCTION" in the migration's text
    end: int  # just after the statement's closing "$$;"
    body_start: int
    body_end: int

    @property
    def text(self) -> str:
        """The migration's whole text, as the files hold it."""
        return self.migration.read_text()

    @property
    def body(self) -> str:
        """The function's body: the text between its ``$$`` quotes."""
        return self.text[self.body_start:self.body_end]

    def create(self, body: str) -> str:
        """``CREATE OR REPLACE FUNCTION`` of this function with ``body`` in place of its own."""
        text = self.text
        statement = text[self.start:self.body_start] + body + text[self.body_end:self.end]
        return statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)

    def migration_with(self, body: str) -> str:
        """The migration's text with ``body`` in place of this function's."""
        text = self.text
        return text[:self.body_start] + body + text[self.body_end:]


@functools.cache
def routines() -> dict[str, Routine]:
    """Every function the migrations create, by name."""
    out: dict[str, Routine] = {}
    for path in sorted(migrations_dir().glob("*.sql")):
        for m in _FUNCTION.finditer(path.read_text()):
            out[m["name"]] = Routine(m["name"], path, m.start(), m.end(), m.start("body"), m.end("body"))
    return out


def routine(name: str) -> Routine:
    """The migrations' function ``name``; a clear error naming the known ones otherwise."""
    found = routines()
    if name not in found:
        raise ValueError(f"unknown SQL function {name!r}; the migrations create: {', '.join(sorted(found))}")
    return found[name]
