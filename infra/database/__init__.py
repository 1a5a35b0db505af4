"""The shared PostgreSQL: roles, schema, grants, migrations and the DATABASE_URL secret."""
