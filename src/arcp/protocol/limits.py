"""Resource limits of a runtime, sans-IO: what one peer or principal may hold (§13.2, §14).

Every limit is on by default with a generous value and can be changed (or, for the optional
ones, switched off with ``None``) by passing a :class:`Limits` to ``Runtime(limits=...)``.
``docs/deployment.md`` lists them with their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

from arcp_gen.errors import InternalError, InvalidRequestError, PermissionDeniedError

__all__ = [
    "CONNECTION_OVERHEAD",
    "AttachedSessions",
    "Limits",
    "input_too_large",
    "not_reading",
    "principal_cap",
]

CONNECTION_OVERHEAD: Final = 64
"""Bytes counted per queued control frame on top of its length (object and queue slot)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection and per-principal bounds (§13.2, §14 "Heartbeat amplification").

    Connections (before ``session.hello``):

    * ``hello_timeout_sec``: a connection must open or resume a session within this time,
      else it gets ``session.error UNAUTHENTICATED`` and is closed.
    * ``max_unauthenticated``: connections without a session at once; one more is closed.
    * ``max_preamble_bytes``: replies queued for a connection without a session.

    Sessions:

    * ``max_queued_control_bytes``: control replies (pongs, errors, ``job.accepted``...)
      queued for a peer that does not read; past it the runtime queues
      ``session.error INTERNAL_ERROR`` and drops the connection (§13.2). The session stays
      resumable. Job events are governed by flow control, not by this limit.
    * ``idle_session_sec``: a session whose connection carried nothing but heartbeats and
      acks for this long, with no unfinished job, is disconnected (§14: zero-throughput
      sessions are disconnect-eligible). ``None`` disables it.

    Principals:

    * ``max_sessions_per_principal``: attached sessions of one principal.
    * ``max_jobs_per_principal``: unfinished jobs one principal submitted.
    * ``max_input_bytes``: the encoded ``input`` of one ``job.submit``.
    * ``max_retained_bytes_per_principal``: what one principal's jobs hold in the runtime
      (running, or finished within the resume window): their encoded inputs and the
      events and results their logs keep for replay.
    """

    hello_timeout_sec: float = 10.0
    max_unauthenticated: int = 256
    max_preamble_bytes: int = 64 * 1024
    max_queued_control_bytes: int = 4 * 1024 * 1024
    idle_session_sec: float | None = 3600.0
    max_sessions_per_principal: int = 1000
    max_jobs_per_principal: int = 1000
    max_input_bytes: int = 2 * 1024 * 1024
    max_retained_bytes_per_principal: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value <= 0:
                raise ValueError(f"Limits.{f.name} must be positive")


def not_reading(queued: int, limit: int, name: str = "max_queued_control_bytes") -> InternalError:
    """The error a peer gets when its queue of replies overflows, before the runtime closes
    the transport (§13.2: "close the transport with ``INTERNAL_ERROR``")."""
    return InternalError(
        f"the peer is not reading: {queued} bytes of replies queued",
        details={"limit": name, "max": limit},
    )


def principal_cap(what: str, name: str, limit: int) -> PermissionDeniedError:
    """The refusal of a request past a per-principal cap (§14); retryable once under it."""
    return PermissionDeniedError(
        f"the principal already has {limit} {what}",
        retryable=True,
        details={"limit": name, "max": limit},
    )


def input_too_large(size: int, limit: int) -> InvalidRequestError:
    """The refusal of a ``job.submit`` whose encoded ``input`` exceeds ``max_input_bytes``."""
    return InvalidRequestError(
        f"input is {size} bytes, more than the runtime accepts",
        details={"limit": "max_input_bytes", "max": limit},
    )


class AttachedSessions:
    """How many attached sessions each principal holds, for ``max_sessions_per_principal``
    (§14). Sessions report their own moves (created attached, detached, resumed), so a
    hello reads one count instead of scanning every session."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __getitem__(self, principal: str) -> int:
        return self._counts.get(principal, 0)

    def add(self, principal: str, delta: int) -> None:
        """One of ``principal``'s sessions attached (``+1``) or let its connection go (``-1``)."""
        counts = self._counts
        left = counts.get(principal, 0) + delta
        if left:
            counts[principal] = left
        else:
            del counts[principal]
