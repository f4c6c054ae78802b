"""What a client session offers in ``session.hello`` and what the welcome grants (§6.2), and
the resume token it presents (§6.3).

:class:`Negotiation` builds the hello and resume payloads and reads a welcome; the session
(:class:`~arcp.protocol.client_session.ClientSession`) decides when each happens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arcp.protocol.client_liveness import Heartbeat
from arcp_gen.features import Feature, intersect
from arcp_gen.models import AgentInfo, PeerInfo, SessionWelcomePayload

__all__ = ["DEFAULT_HEARTBEAT_SEC", "Negotiation"]

DEFAULT_HEARTBEAT_SEC = 30
"""Heartbeat interval assumed when a welcome negotiates ``heartbeat`` but omits the interval
(a legacy dialect; §6.4)."""


class Negotiation:
    """The hello we send and what the newest welcome told us (the token kept apart, never in
    a repr)."""

    __slots__ = (
        "_client",
        "_token",
        "agents",
        "features",
        "legacy_resume",
        "requested",
        "resume_token",
        "resume_window",
        "runtime",
    )

    def __init__(
        self,
        *,
        token: str | None,
        features: Iterable[Feature | str],
        client_name: str,
        client_version: str,
    ) -> None:
        if isinstance(features, str):  # never iterate a string into one-letter features
            raise TypeError("features must be a collection of feature names, not a string")
        self._token = token
        self._client = {"name": client_name, "version": client_version}
        self.requested: tuple[str, ...] = tuple(sorted({str(f) for f in features}))
        """The feature flags sent in ``session.hello``."""
        self.resume_token: str | None = None
        """The current resume token (§6.3): a secret."""
        self.agents: tuple[AgentInfo, ...] = ()
        self.runtime: PeerInfo | None = None
        self.resume_window: float | None = None
        self.features: frozenset[Feature] = frozenset()
        """The effective set: what we asked for ∩ what the runtime offered (§6.2)."""
        self.legacy_resume = False
        """True once the runtime showed it does not know ``session.resume`` (wire-decisions:
        Session): resumes then use a ``session.hello`` carrying ``resume``."""

    def __repr__(self) -> str:
        return f"Negotiation(features={sorted(f.value for f in self.features)})"

    def hello(self, resume: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``session.hello`` payload (§6.2), carrying ``resume`` in the legacy form."""
        payload: dict[str, Any] = {"client": self._client}
        if self._token is not None:
            payload["auth"] = {"scheme": "bearer", "token": self._token}
        payload["capabilities"] = {"encodings": ["json"], "features": list(self.requested)}
        if resume is not None:
            payload["resume"] = resume
        return payload

    def resume_request(self, session_id: str | None, last_event_seq: int) -> dict[str, Any]:
        """The ``session.resume`` payload (§6.3)."""
        return {
            "session_id": session_id,
            "resume_token": self.resume_token,
            "last_event_seq": last_event_seq,
        }

    def welcomed(self, payload: SessionWelcomePayload, now: float) -> Heartbeat | None:
        """Take what a welcome grants; returns the heartbeat to keep, if negotiated (§6.4)."""
        self.resume_token = payload.resume_token
        caps = payload.capabilities
        self.agents = tuple(
            a if isinstance(a, AgentInfo) else AgentInfo(name=a) for a in caps.agents or ()
        )
        self.runtime = payload.runtime
        self.resume_window = payload.resume_window_sec
        self.features = intersect(self.requested, caps.features or ())
        if Feature.HEARTBEAT not in self.features:
            return None
        return Heartbeat(float(payload.heartbeat_interval_sec or DEFAULT_HEARTBEAT_SEC), now)
