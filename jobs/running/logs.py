"""Logging: readable on a terminal, one JSON object per line everywhere else (Batch, CloudWatch)."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line; ``extra`` fields given as ``fields=`` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (it may be swapped, e.g. by test capture)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def log_metrics_to(metrics_file: Path) -> None:
    """Send the metric lines of the no-AWS fallback to ``metrics_file`` (JSON lines) instead of stderr.

    The file is opened at the first metric line (``delay``): a run that writes none creates no
    empty file. Its folder must exist (the embedded database's data folder does by then).
    """
    metrics_log = logging.getLogger("jobs.monitoring.publisher")
    target = str(metrics_file.absolute())
    for old in [h for h in metrics_log.handlers if isinstance(h, logging.FileHandler)]:
        if old.baseFilename == target:
            return
        metrics_log.removeHandler(old)  # a second run in this process (tests) writes beside its own database
        old.close()
    to_file = logging.FileHandler(metrics_file, delay=True)
    to_file.setFormatter(JsonFormatter())
    metrics_log.addHandler(to_file)
    metrics_log.propagate = False


def setup_logging(level: int = logging.INFO, metrics_file: Path | None = None) -> None:
    """Install one handler on the root logger (idempotent).

    With ``metrics_file`` (runs on the embedded database), the metric lines of the no-AWS fallback
    (``jobs.monitoring.publisher``) go to that file as JSON lines, so the screen shows the run and not
    hundreds of datapoints; deployed runs leave them on stderr for CloudWatch Logs.
    """
    root = logging.getLogger()
    if any(getattr(h, "_ensemble", False) for h in root.handlers):
        return
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, rich_tracebacks=False)
    else:
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
    handler._ensemble = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if metrics_file is not None:
        log_metrics_to(metrics_file)
    root.setLevel(level)
    # Third-party chatter that says nothing about the run.
    for noisy in ("cmdstanpy", "prophet", "botocore", "urllib3", "pgserver", "yoyo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
