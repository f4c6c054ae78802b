"""Placeholder: a throwaway PostgreSQL cluster for tests (being written)."""

from __future__ import annotations

import pytest


@pytest.fixture
def postgres_dsn() -> str:
    """A DSN of a fresh, empty database on a throwaway cluster."""
    pytest.skip("PostgreSQL fixture not written yet")
