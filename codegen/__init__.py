"""Code generator: turns ``spec/arcp-1.1.schema.json`` into the ``arcp_gen`` package.

Run ``python -m codegen`` to regenerate and ``python -m codegen --check`` to verify that
``src/arcp_gen`` matches the schema (the drift gate CI runs).
"""

from codegen.generate import REPO_ROOT, SCHEMA_PATH, check, generate

__all__ = ["REPO_ROOT", "SCHEMA_PATH", "check", "generate"]
