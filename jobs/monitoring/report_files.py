"""Report files (the dashboard, the rollout review): checked before any work, written atomically, never through a link.

A report is written to a temporary file in its own folder and then renamed over the final name
(``os.replace``), so a reader never sees half a report and a crash leaves the old one intact.
The rename replaces a symbolic link at that name with the report: it never follows the link and
overwrites whatever the link points to.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from jobs.contract.values import ConfigError


class OutputPathError(ConfigError):
    """An output path that cannot be written (a folder where a file belongs, a file where a folder does)."""


def ensure_dir(path: Path, what: str) -> Path:
    """Create ``path`` (and its parents) if needed; raise ``OutputPathError`` naming ``what`` if it cannot be."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{what}={path} is invalid: it is a file, expected a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{what}={path} is invalid: the folder cannot be created ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputPathError(f"{what}={path} is invalid: the folder is not writable")
    return path


def check_output_file(path: Path, what: str) -> Path:
    """Check, before any work, that ``path`` can be written as a file; create its folder if needed."""
    if path.is_dir():
        raise OutputPathError(f"{what}={path} is invalid: it is a folder, expected a file name")
    ensure_dir(path.parent, f"{what} folder")
    return path


def write_text_atomic(path: Path, text: str, what: str = "output") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename it into place.

    Readable by others like a file written with ``open`` (the process umask applies), UTF-8.
    """
    check_output_file(path, what)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputPathError(f"{what}={path} cannot be written: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is as readable as any other file
        os.replace(tmp, path)  # replaces a link at ``path`` itself, never the file it points to
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
