"""The package list: every package under jobs/ and infra/, plus ``jobs.sql`` and its SQL folders.

``jobs.sql`` is the top-level ``sql/`` folder (pyproject.toml's ``package-dir`` maps it), which
``packages.find`` cannot name: it finds a folder only under the folder's own name. Its
``migrations`` and ``queries`` folders are listed too, as data-only packages, so that setuptools
ships their files instead of warning that it ignores them. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

SQL_PACKAGES = ["jobs.sql", "jobs.sql.migrations", "jobs.sql.queries"]

setup(packages=[*find_packages(include=["jobs", "jobs.*", "infra", "infra.*"]), *SQL_PACKAGES])
