"""Command-line plumbing every command shares: one-line errors and one exit-status convention.

Exit status: 0 done; 1 a fault (database unreachable, a symbol failed, nothing to roll back to);
2 bad input (command line, environment, files), reported before anything is written;
130 interrupted (Ctrl-C); 143 terminated (SIGTERM, AWS Batch's stop signal: one line naming the
signal and what to re-run). Each error is one ``error: ...`` line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

import psycopg

from jobs.contract.values import ConfigError
from jobs.running.signals import Terminated, sigterm_raises
from jobs.startup import EXIT_INTERRUPTED, restore_ctrl_c
from jobs.storage.db import DatabaseUnavailable

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_BAD_INPUT = 2
EXIT_TERMINATED = 128 + 15  # SIGTERM, as a shell reports a process it ended


class UsageError(ValueError):
    """A bad command line, reported as one ``error: ...`` line instead of argparse's usage block."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises ``UsageError`` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise instead of exiting, so the caller prints one line and returns exit status 2."""
        raise UsageError(message)


def argv_or_sys(argv: Sequence[str] | None) -> list[str]:
    """The arguments to parse: ``argv`` when a caller passes them, else the process's own."""
    return sys.argv[1:] if argv is None else list(argv)


def fail(message: object, status: int) -> int:
    """Print one error line on stderr and return ``status``."""
    print(f"error: {message}", file=sys.stderr)
    return status


def run_command(body: Callable[[], int], bad_input: tuple[type[BaseException], ...] = (),
                faults: tuple[type[BaseException], ...] = ()) -> int:
    """Run a command's body and map what it raises to one line and the shared exit status.

    ``bad_input`` and ``faults`` add a command's own exception types to the shared ones
    (usage and configuration errors are bad input; an unreachable database is a fault).
    A command that sets up no logging prints no log records: without this, Python's
    last-resort handler would print each connection retry before the one error line.
    SIGTERM unwinds the body like Ctrl-C does (``jobs.running.signals``); the body may say
    what re-running means with ``set_rerun_hint``.
    """
    restore_ctrl_c()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    try:
        with sigterm_raises():
            return body()
    except (UsageError, ConfigError, *bad_input) as exc:
        return fail(exc, EXIT_BAD_INPUT)
    except (DatabaseUnavailable, *faults) as exc:
        return fail(exc, EXIT_FAULT)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
        # A fresh or older database: the read commands never migrate (the job does, locally).
        return fail(f"the database schema is behind this code ({exc.diag.message_primary}): apply the migrations "
                    "with `python -m jobs.migrate` (the stack applies them on deploy)", EXIT_FAULT)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as exc:
        print(exc.line, file=sys.stderr)
        return EXIT_TERMINATED
