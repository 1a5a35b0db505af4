"""The first thing a command does: Ctrl-C while its modules still load is one line and exit 130.

Loading a command's modules (pandas, torch, psycopg ...) takes seconds, and a KeyboardInterrupt
raised inside an import prints dozens of lines of traceback. Until ``jobs.cli.run_command`` takes
over, SIGINT ends the process at once, with the line and status of an interrupted run: nothing
has been read or written yet. Standard library only, so that it is in place before anything heavy.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130


def _exit_interrupted(_signum: int, _frame: FrameType | None) -> None:
    try:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)  # not SystemExit: it too would unwind through the import machinery


def exit_quietly_on_ctrl_c() -> None:
    """Make SIGINT end the process with one line, until ``restore_ctrl_c``."""
    signal.signal(signal.SIGINT, _exit_interrupted)


def restore_ctrl_c() -> None:
    """Give Ctrl-C back to Python (``KeyboardInterrupt``), so a running command stops cleanly."""
    if signal.getsignal(signal.SIGINT) is _exit_interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)
