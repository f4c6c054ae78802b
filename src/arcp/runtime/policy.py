"""A runtime policy file: limits and per-principal authority ceilings (§9, §14).

``arcp serve --policy FILE`` reads one; so can an entry point (``load_policy``). TOML when
the name ends in ``.toml``, JSON otherwise::

    [limits]
    hello_timeout_sec = 10
    max_jobs_per_principal = 100
    idle_session_sec = 0          # 0 or false switches an optional limit off

    [ceilings.alice]              # principal "alice"
    max_lease_sec = 3600
    lease = { "fs.read" = ["/workspace/**"], "cost.budget" = ["USD:10"] }

    [ceilings."*"]                # every other principal
    lease = { "tool.call" = ["search.*"] }
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from arcp.protocol.ceilings import Ceilings
from arcp.protocol.limits import Limits

__all__ = ["Policy", "PolicyError", "load_policy", "policy_from_mapping"]

_OPTIONAL = frozenset({"idle_session_sec"})


class PolicyError(ValueError):
    """A policy file that cannot be read or does not describe a valid policy."""


@dataclass(frozen=True, slots=True)
class Policy:
    """What a policy file configures: ``Runtime(limits=..., ceilings=...)``."""

    limits: Limits = field(default_factory=Limits)
    ceilings: Ceilings | None = None


def load_policy(path: str | Path) -> Policy:
    """Read a TOML (``*.toml``) or JSON policy file; PolicyError says what is wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data: Any = tomllib.loads(raw.decode()) if path.suffix == ".toml" else orjson.loads(raw)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, orjson.JSONDecodeError) as exc:
        raise PolicyError(f"{path}: {exc}") from None
    if not isinstance(data, Mapping):
        raise PolicyError(f"{path}: the policy must be a table/object")
    try:
        return policy_from_mapping(data)  # pyright: ignore[reportUnknownArgumentType]
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """A policy from its decoded form ``{"limits": {...}, "ceilings": {...}}``."""
    unknown = set(data) - {"limits", "ceilings"}
    if unknown:
        raise PolicyError(f"unknown policy keys: {', '.join(sorted(unknown))}")
    limits = _limits(data.get("limits") or {})
    ceilings_data = data.get("ceilings")
    if ceilings_data is not None and not isinstance(ceilings_data, Mapping):
        raise PolicyError("ceilings must be a table/object of principals")
    try:
        ceilings = Ceilings.from_mapping(ceilings_data) if ceilings_data else None  # pyright: ignore[reportUnknownArgumentType]
    except ValueError as exc:
        raise PolicyError(str(exc)) from None
    return Policy(limits, ceilings)


def _limits(data: Any) -> Limits:
    if not isinstance(data, Mapping):
        raise PolicyError("limits must be a table/object")
    names = {f.name for f in fields(Limits)}
    values: dict[str, Any] = {}
    for name, value in data.items():  # pyright: ignore[reportUnknownVariableType]
        if name not in names:
            raise PolicyError(f"unknown limit {name!r}")
        if name in _OPTIONAL and value in (0, False):
            values[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(f"limit {name!r} must be a number")
        values[name] = value
    try:
        return Limits(**values)
    except (TypeError, ValueError) as exc:
        raise PolicyError(str(exc)) from None
