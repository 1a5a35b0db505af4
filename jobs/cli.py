"""Command-line plumbing shared by the rollout commands (review, daily checks, rollback)."""

from __future__ import annotations

import argparse


class UsageError(ValueError):
    """A bad command line, reported as one ``error: ...`` line instead of argparse's usage block."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises ``UsageError`` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise instead of exiting, so the caller prints one line and returns exit status 2."""
        raise UsageError(message)
