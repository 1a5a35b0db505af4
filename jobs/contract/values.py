"""Parsers for single environment values of the job's contract (docs/design.md §3.1).

Each parser takes the variable's name and its raw text, returns the typed value, and raises
``ConfigError`` with one line naming the variable, the value and what is allowed.
``jobs.contract.config`` composes them into ``JobConfig``; the commands and the stacks' settings
import them from here for the same checks.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit


class ConfigError(ValueError):
    """Bad configuration: one line naming the variable, the value and what is allowed."""


_SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
# Run ids are stored as keys and printed in reports: short, and only characters that need no quoting.
RUN_ID_MAX = 128
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
# RETURN_OUTLIER_THRESHOLD: a bar whose return lies further than this many robust scales
# (1.4826 x the median absolute deviation) from the series' median return is refused as damaged.
# Real daily index returns stay under ~13 (the S&P 500's 2008 crash days); a x1e4 spike is thousands.
RETURN_OUTLIER_DEFAULT = 25.0
# EXCHANGE_CALENDAR's default: exchange_calendars always has it, so it needs no lookup (importing
# the package costs every command that reads a configuration about half a second of CPU).
DEFAULT_EXCHANGE_CALENDAR = "XNYS"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(name: str, raw: str) -> bool:
    """Parse a boolean variable, accepting true/false, 1/0, yes/no, on/off."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is invalid: expected true or false")


def parse_symbols(name: str, raw: str) -> tuple[str, ...]:
    """Parse a comma-separated symbol list: non-empty, upper-case tickers, no duplicates."""
    items = [s.strip() for s in raw.split(",")]
    if not raw.strip() or any(not s for s in items):
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected a comma-separated list of symbols such as AAPL,MSFT,SPY"
        )
    for sym in items:
        if not _SYMBOL_RE.match(sym):
            raise ConfigError(
                f"{name}={raw!r} is invalid: {sym!r} is not a ticker (1-10 of A-Z, 0-9, '.', '-', upper case)"
            )
    dupes = sorted({s for s in items if items.count(s) > 1})
    if dupes:
        raise ConfigError(f"{name}={raw!r} is invalid: duplicate symbols {','.join(dupes)}")
    return tuple(items)


def parse_run_id(name: str, raw: str) -> str:
    """Parse a run id: 1 to ``RUN_ID_MAX`` of letters, digits, '.', '_', ':', '-', starting alphanumeric."""
    if len(raw) > RUN_ID_MAX:
        raise ConfigError(f"{name} is invalid: {len(raw)} characters long; expected at most {RUN_ID_MAX}")
    if not _RUN_ID_RE.match(raw):
        raise ConfigError(f"{name}={raw!r} is invalid: expected letters, digits, '.', '_', ':' or '-', "
                          "starting with a letter or digit")
    return raw


def parse_outlier_threshold(name: str, raw: str) -> float:
    """Parse ``RETURN_OUTLIER_THRESHOLD``: a number of robust scales from 5 to 10000."""
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 5.0 <= value <= 10_000.0:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a number of robust scales from 5 to 10000, e.g. 25")
    return value


def parse_threshold(name: str, raw: str) -> float:
    """Parse a divergence threshold: a number in (0, 1]."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a number in (0, 1], e.g. 0.20") from None
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a number in (0, 1], e.g. 0.20")
    return value


def parse_int(name: str, raw: str, low: int, high: int) -> int:
    """Parse an integer in [low, high]."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is invalid: expected an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is invalid: expected an integer from {low} to {high}")
    return value


def parse_choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    """Parse a value that must be one of ``allowed``."""
    value = raw.strip()
    if value not in allowed:
        raise ConfigError(f"{name}={raw!r} is invalid: expected one of {', '.join(allowed)}")
    return value


def check_exchange(name: str) -> str:
    """Return ``name`` when ``exchange_calendars`` knows it (``EXCHANGE_CALENDAR``), else raise."""
    if name == DEFAULT_EXCHANGE_CALENDAR:
        return name
    import exchange_calendars  # imported here: only a config that names another calendar needs it

    if name not in exchange_calendars.get_calendar_names(include_aliases=True):
        raise ConfigError(f"EXCHANGE_CALENDAR={name!r} is invalid: expected an exchange_calendars name "
                          "such as XNYS (New York), XNAS (Nasdaq) or XLON (London)")
    return name


# libpq's sslmode values (PostgreSQL docs, "libpq connection parameters").
SSL_MODES: tuple[str, ...] = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def check_database_url(raw: str) -> str:
    """Return ``raw`` when it is a usable PostgreSQL URL (``DATABASE_URL``), else raise without echoing it."""
    # Never echo the URL: it may carry a password. Parsed here without the driver, so the
    # contract stays free of database imports; options that can never connect are bad input.
    if not raw.startswith(("postgresql://", "postgres://")):
        raise ConfigError("DATABASE_URL is invalid: expected a URL starting with postgresql:// or postgres://")
    try:
        parts = urlsplit(raw)
        port = parts.port
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ConfigError("DATABASE_URL is invalid: not a parseable PostgreSQL URL (the port must be a number "
                          "from 1 to 65535; percent-encode special characters in the user and password)") from None
    if re.search(r"%(?![0-9A-Fa-f]{2})", parts.netloc):
        raise ConfigError("DATABASE_URL is invalid: a malformed %-escape in the user or password "
                          "(percent-encode special characters, e.g. % as %25)")
    if port == 0:
        raise ConfigError("DATABASE_URL is invalid: the port must be a number from 1 to 65535")
    for mode in query.get("sslmode", []):
        if mode not in SSL_MODES:
            raise ConfigError(f"DATABASE_URL is invalid: sslmode={mode!r} is not one of {', '.join(SSL_MODES)}")
    return raw
