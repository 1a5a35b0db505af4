"""What a command printed on stderr when it refused its input."""

from __future__ import annotations

import pytest


def one_error(capsys: pytest.CaptureFixture[str], log_records: bool = False) -> str:
    """The single ``error:`` line on stderr: no traceback, no usage block, no pandas hint.

    ``log_records=True`` lets JSON log records (lines starting ``{``) precede it, as the job's
    logging writes them on a non-terminal stderr; nothing else may.
    """
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    other = [line for line in err if not (log_records and line.startswith("{"))]
    assert len(other) == 1 and other[0].startswith("error: "), err
    return other[0]
