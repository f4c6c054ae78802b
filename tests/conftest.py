"""Fixtures shared across the suite: a throwaway PostgreSQL cluster (tests.pg_cluster)."""

pytest_plugins = ["tests.pg_cluster"]
