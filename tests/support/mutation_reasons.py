"""Why each mutant that ``make mutate`` leaves alive survives: equivalent, or what would kill it.

Keys are mutmut mutant names or ``fnmatch`` patterns of them (``module.x_function__mutmut_N``);
a reason that starts with ``equivalent`` marks a mutant that no test can kill because it does
not change what the code does for any input it accepts. ``tests.support.mutate --survivors``
prints each survivor with its reason (``UNEXPLAINED`` when it has none) and the report counts
the equivalent ones apart. Mutant numbers are stable while a function's text is unchanged;
after an edit, re-run ``make mutate`` and check the survivors against this table.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

EQUIVALENT = "equivalent"

REASONS: dict[str, str] = {}


def reason_for(name: str) -> str | None:
    """The reason ``name`` survives, from the first key that matches it (exact names first)."""
    if name in REASONS:
        return REASONS[name]
    return next((why for key, why in REASONS.items() if fnmatchcase(name, key)), None)


def is_equivalent(name: str) -> bool:
    """Whether ``name`` is explained as an equivalent mutant."""
    return (reason_for(name) or "").startswith(EQUIVALENT)
