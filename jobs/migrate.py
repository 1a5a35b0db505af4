"""Apply the SQL migrations: ``python -m jobs.migrate`` (DATABASE_URL, or the embedded default)."""

from __future__ import annotations

import os
import sys

from jobs.contract.config import ConfigError, JobConfig
from jobs.storage.db import DatabaseUnavailable, migrate, resolve_url


def main() -> int:
    """Apply pending migrations and print what was applied."""
    try:
        cfg = JobConfig.from_env(os.environ)
        applied = migrate(resolve_url(cfg.database_url, cfg.data_dir))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else " (up to date)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
