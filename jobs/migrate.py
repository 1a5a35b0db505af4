"""Apply the SQL migrations: ``python -m jobs.migrate`` (DATABASE_URL, or the embedded default)."""

from __future__ import annotations

from jobs.startup import exit_quietly_on_ctrl_c

if __name__ == "__main__":  # first, before the slow imports below: Ctrl-C while they load is one line
    exit_quietly_on_ctrl_c()

import os
import sys
from collections.abc import Sequence

from jobs.cli import EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import JobConfig
from jobs.storage.db import migrate, resolve_url


def main(argv: Sequence[str] | None = None) -> int:
    """Apply pending migrations and print what was applied."""

    def body() -> int:
        OneLineParser(prog="python -m jobs.migrate", description=__doc__.splitlines()[0]).parse_args(argv_or_sys(argv))
        cfg = JobConfig.from_env(os.environ)
        applied = migrate(resolve_url(cfg.database_url, cfg.data_dir))
        print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else " (up to date)"))
        return EXIT_OK

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
