"""What a test run may leave in the checkout: nothing (see ``pytest_sessionfinish`` in tests/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Ignored folders the commands write to by default: a test that forgets tmp_path fills these,
# and git status would not show it. Their top-level entries are compared, not their contents
# (a developer's own .data/ server changes its files all the time).
WATCHED_IGNORED = ("reports", ".data")


def checkout_leftovers(root: Path) -> set[str] | None:
    """``git status --porcelain`` lines (untracked files listed one by one) plus the entries of
    ``WATCHED_IGNORED``; None outside a git checkout or without git: nothing to compare then."""
    if shutil.which("git") is None:
        return None
    done = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    lines = set(done.stdout.splitlines())
    for folder in WATCHED_IGNORED:
        if (root / folder).is_dir():
            lines.update(f"!! {folder}/{p.name}" for p in (root / folder).iterdir())
    return lines
