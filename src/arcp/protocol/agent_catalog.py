"""Agents a runtime offers, with versions and defaults, and §7.5 reference resolution."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from arcp_gen.errors import AgentNotAvailableError, AgentVersionNotAvailableError

__all__ = ["AgentCatalog", "AgentEntry"]

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_VERSION = re.compile(r"[a-zA-Z0-9.+_-]+")

H = TypeVar("H")


@dataclass(slots=True)
class AgentEntry(Generic[H]):
    """One agent name: its versions (in registration order) and the default version."""

    versions: dict[str, H] = field(default_factory=lambda: {})
    default: str | None = None


class AgentCatalog(Generic[H]):
    """Name -> versions -> handler; resolves ``name`` / ``name@version`` (§7.5)."""

    def __init__(self) -> None:
        self._agents: dict[str, AgentEntry[H]] = {}

    def add(self, name: str, version: str, handler: H, *, default: bool = False) -> None:
        """Register ``handler`` as ``name@version``; the first version is default until one
        is registered with ``default=True``."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"agent name {name!r} does not match [a-z0-9][a-z0-9._-]* (§7.5)")
        if not _VERSION.fullmatch(version):
            raise ValueError(f"agent version {version!r} does not match [a-zA-Z0-9.+_-]+ (§7.5)")
        entry = self._agents.setdefault(name, AgentEntry())
        entry.versions[version] = handler
        if default or entry.default is None:
            entry.default = version

    def resolve(self, ref: str) -> tuple[str, H]:
        """``name@version`` and the handler for a submitted agent reference (§7.5)."""
        name, _, version = ref.partition("@")
        entry = self._agents.get(name)
        if entry is None or entry.default is None:
            raise AgentNotAvailableError(f"no agent named {name!r}", details={"agent": name})
        chosen = version or entry.default
        handler = entry.versions.get(chosen)
        if handler is None:
            raise AgentVersionNotAvailableError(
                f"agent {name!r} has no version {chosen!r}",
                details={"agent": name, "version": chosen, "available": list(entry.versions)},
            )
        return f"{name}@{chosen}", handler

    def entries(self) -> list[tuple[str, str, H, bool]]:
        """Every ``(name, version, handler, is_default)``, in registration order."""
        return [
            (name, version, handler, version == entry.default)
            for name, entry in self._agents.items()
            for version, handler in entry.versions.items()
        ]

    def describe(self) -> list[dict[str, Any]]:
        """The welcome's ``capabilities.agents`` list (§6.2, §7.5)."""
        return [
            {"name": name, "versions": list(entry.versions), "default": entry.default}
            for name, entry in self._agents.items()
        ]
