"""What the client advertises (§6.2) and the states its session is live in.

The session itself is :class:`arcp.protocol.client_session.ClientSession`; its states and
their table live in :mod:`arcp.protocol.states`.
"""

from __future__ import annotations

from typing import Final

from arcp.protocol.states import ClientState
from arcp_gen.features import Feature

__all__ = ["ALL_FEATURES", "LIVE_STATES", "NOT_IMPLEMENTED_FEATURES", "ClientState"]

ALL_FEATURES: Final[frozenset[Feature]] = frozenset(
    {
        Feature.HEARTBEAT,
        Feature.ACK,
        Feature.LIST_JOBS,
        Feature.SUBSCRIBE,
        Feature.LEASE_EXPIRES_AT,
        Feature.COST_BUDGET,
        Feature.MODEL_USE,
        Feature.PROVISIONED_CREDENTIALS,
        Feature.PROGRESS,
        Feature.RESULT_CHUNK,
        Feature.AGENT_VERSIONS,
    }
)
"""The feature flags this client implements and advertises by default (§6.2).

Written by hand on purpose: a flag a spec bump adds to the generated ``Feature`` is not
advertised until its handling exists and it is listed here ("negotiate honestly").
"""

NOT_IMPLEMENTED_FEATURES: Final[frozenset[Feature]] = frozenset()
"""Generated flags this client knowingly does not implement (never advertised)."""


LIVE_STATES: Final[frozenset[ClientState]] = frozenset(
    {ClientState.OPEN, ClientState.RESUMING, ClientState.CLOSING}
)
