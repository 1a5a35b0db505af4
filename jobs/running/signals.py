"""SIGTERM as an exception: AWS Batch's stop signal ends a command the way Ctrl-C does.

Batch stops a job (a timeout, a terminate, a cancelled array) with SIGTERM and sends SIGKILL
30 s later. Python's default for SIGTERM is to die on the spot: no line, no cleanup, worker
processes left to notice their parent is gone, semaphores leaked. While ``sigterm_raises()``
is active, SIGTERM raises ``Terminated`` in the main thread instead, so it unwinds through
the same ``finally`` blocks as a ``KeyboardInterrupt``: the worker pool is stopped, an open
transaction rolls back, and the command prints one line and exits 143 (128 + SIGTERM).

``termination_held()`` marks a stretch that must not be cut in the middle (starting a pool,
whose workers are not yet tracked): a SIGTERM that arrives there is raised when it ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

DEFAULT_RERUN = "re-run the same command"


class Terminated(BaseException):
    """The process received SIGTERM; a ``BaseException`` so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int, rerun: str) -> None:
        self.signum = signum
        self.rerun = rerun
        super().__init__(self.line)

    @property
    def line(self) -> str:
        """The one line a command prints: the signal, then what to re-run."""
        return f"terminated by {signal.Signals(self.signum).name}: {self.rerun}"


@dataclass
class _State:
    active: bool = False
    held: int = 0
    pending: int | None = None
    rerun: str = DEFAULT_RERUN


_state = _State()


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    if _state.held:
        _state.pending = signum
        return
    raise Terminated(signum, _state.rerun)


def set_rerun_hint(text: str) -> None:
    """Say what re-running means for this command once it is known (e.g. the run id to resume)."""
    _state.rerun = text


def resume_hint(run_id: str) -> str:
    """The forecast job's hint: its workers are stopped, and the same run id resumes the run."""
    return (f"workers stopped, no partial rows written; re-run the same command with --run-id {run_id} "
            "to resume (symbol-horizons already written are skipped)")


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within: SIGTERM raises ``Terminated`` in the main thread. Elsewhere (another thread) a no-op."""
    if threading.current_thread() is not threading.main_thread() or _state.active:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    _state.active, _state.held, _state.pending, _state.rerun = True, 0, None, DEFAULT_RERUN
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _state.active = False


@contextmanager
def termination_held() -> Iterator[None]:
    """Within: a SIGTERM waits, and is raised as ``Terminated`` on the way out.

    Unlike blocking the signal (``pthread_sigmask``), this holds it in this process only:
    worker processes started meanwhile do not inherit a blocked SIGTERM, so stopping them
    stays immediate.
    """
    _state.held += 1
    try:
        yield
    finally:
        _state.held -= 1
        if not _state.held and _state.pending is not None:
            signum, _state.pending = _state.pending, None
            raise Terminated(signum, _state.rerun)


@contextmanager
def termination_ignored() -> Iterator[None]:
    """Within: a further SIGTERM is dropped (the command is already stopping). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
