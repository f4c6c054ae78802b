"""Suite-wide setup: a throwaway PostgreSQL cluster (tests.pg_cluster) and the CLI's store.

Runtimes the tests start with `arcp serve` keep their state in memory unless a test asks
for a store: the default SQLite file is per user and would be shared between tests.
"""

import os

pytest_plugins = ["tests.pg_cluster"]

os.environ.setdefault("ARCP_STORE", "memory")
