"""Committed files that a command generates (stack snapshots, ``sql/schema.sql``): is one stale?"""

from __future__ import annotations

import difflib
from pathlib import Path

from tests.support.stacks import ROOT


def stale_diff(path: Path, current: str, hint: str, max_lines: int = 60) -> str | None:
    """A short unified diff from the committed ``path`` to ``current`` with ``hint``, or None when they agree."""
    committed = path.read_text() if path.is_file() else ""
    if committed == current:
        return None
    lines = list(difflib.unified_diff(committed.splitlines(), current.splitlines(),
                                      f"committed {path.name}", f"current {path.name}", lineterm=""))
    shown = "\n".join(lines[:max_lines]) + ("\n..." if len(lines) > max_lines else "")
    return f"{path.relative_to(ROOT)} is stale: {hint}\n{shown}"
