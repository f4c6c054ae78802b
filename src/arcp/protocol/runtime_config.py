"""What a runtime is configured with: its features and settings (§6.2-§6.5, §9.7, §9.8, §14).

Read by the session core (:mod:`~arcp.protocol.runtime_core`) and by job requests
(:mod:`~arcp.protocol.job_requests`); a leaf of both, so neither imports the other for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from arcp.protocol.agent_catalog import AgentCatalog
from arcp.protocol.authority import ModelPolicy
from arcp.protocol.ceilings import Ceilings
from arcp.protocol.limits import Limits
from arcp_gen.features import Feature

__all__ = [
    "CONFIGURED_FEATURES",
    "SUPPORTED_FEATURES",
    "UNIMPLEMENTED_FEATURES",
    "RuntimeConfig",
    "WelcomeBase",
]

SUPPORTED_FEATURES: frozenset[Feature] = frozenset(
    {
        Feature.HEARTBEAT,
        Feature.ACK,
        Feature.LIST_JOBS,
        Feature.SUBSCRIBE,
        Feature.PROGRESS,
        Feature.RESULT_CHUNK,
        Feature.AGENT_VERSIONS,
        Feature.LEASE_EXPIRES_AT,
        Feature.COST_BUDGET,
    }
)
"""The features this runtime implements end to end (advertised in the welcome, §6.2).

Written by hand on purpose: a flag a spec bump adds to the generated ``Feature`` is not
advertised until it is implemented and listed here ("negotiate honestly").
"""

CONFIGURED_FEATURES: frozenset[Feature] = frozenset(
    {Feature.MODEL_USE, Feature.PROVISIONED_CREDENTIALS}
)
"""Implemented, but advertised only when configured: a model policy (§9.7), a credential
provisioner (§9.8)."""

UNIMPLEMENTED_FEATURES: frozenset[Feature] = frozenset()
"""Generated flags this runtime knowingly does not implement (never advertised)."""


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Runtime-wide settings (§6.2-§6.5)."""

    name: str = "arcp-python"
    version: str = "0.1.0"
    features: frozenset[Feature] = SUPPORTED_FEATURES
    resume_window_sec: float = 600
    heartbeat_interval_sec: float = 30
    back_pressure_threshold: int = 1000
    buffer_limit: int = 100_000
    high_water: int = 50_000
    expiry_grace_sec: float = 1.0
    model_policy: ModelPolicy = "require"
    credentials: bool = False
    limits: Limits = field(default_factory=Limits)
    ceilings: Ceilings | None = None


class WelcomeBase(Mapping[str, Any]):
    """The runtime's part of every ``session.welcome`` (§6.2): one object shared by every
    session, read when a welcome is sent (so it names the agents offered at that moment)."""

    __slots__ = ("_agents", "_config")

    def __init__(self, config: RuntimeConfig, agents: AgentCatalog[Any]) -> None:
        self._config = config
        self._agents = agents

    def _build(self) -> dict[str, Any]:
        config = self._config
        return {
            "runtime": {"name": config.name, "version": config.version},
            "capabilities": {"encodings": ["json"], "agents": self._agents.describe()},
        }

    def __getitem__(self, key: str) -> Any:
        return self._build()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("runtime", "capabilities"))

    def __len__(self) -> int:
        return 2
