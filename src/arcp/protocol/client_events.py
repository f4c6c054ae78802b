"""What the sans-IO client session reports back to its driver (§6-§8).

Each inbound message yields at most one of these outputs (or the ``JobEventMessage`` itself
for a job event, so the hot path allocates nothing extra), collected in order in the
:class:`~arcp.protocol.client_step.Step` the session's door returns. The asyncio client turns
them into resolved futures, handle queue entries and reconnects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from arcp_gen.errors import ARCPError, ARCPException
from arcp_gen.messages import (
    JobAcceptedMessage,
    JobCancelledMessage,
    JobErrorMessage,
    JobEventMessage,
    JobResultMessage,
    JobSubscribedMessage,
    SessionJobsMessage,
)

__all__ = [
    "ConnectionBroken",
    "JobEnded",
    "RequestFailed",
    "RequestKind",
    "Response",
    "ResponseMessage",
    "SessionClosed",
    "SessionFailed",
    "SessionOutput",
    "SubscriptionDropped",
    "Welcomed",
]

RequestKind = Literal["job.submit", "job.cancel", "job.subscribe", "session.list_jobs"]
"""The request types that expect a correlated response (wire-decisions: correlation)."""

ResponseMessage = (
    JobAcceptedMessage | JobSubscribedMessage | JobCancelledMessage | SessionJobsMessage
)
"""A message that answers a request."""


@dataclass(frozen=True, slots=True)
class Welcomed:
    """The handshake (§6.2) or a resume (§6.3) completed.

    ``interrupted`` lists requests that were in flight when the connection dropped and that
    are not safe to send again; the driver fails them. Safe ones were queued again. The
    welcome itself is not kept here: it carries the resume token, a secret.
    """

    session_id: str | None
    resumed: bool
    interrupted: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Response:
    """A request got its answer (``job.accepted``, ``job.subscribed``, ``job.cancelled``,
    ``session.jobs``)."""

    request_id: str
    kind: RequestKind
    message: ResponseMessage


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """A request was answered with an error (§12), or got no answer by its deadline
    (:class:`~arcp.errors.RequestTimeoutError`)."""

    request_id: str
    kind: RequestKind
    error: ARCPException


@dataclass(frozen=True, slots=True)
class JobEnded:
    """A job reached a terminal state (§7.3): ``error`` is set unless it succeeded.

    ``result`` is the inline result or the reassembled streamed result (§8.4).
    """

    job_id: str
    message: JobResultMessage | JobErrorMessage
    result: Any = None
    error: ARCPError | None = None


@dataclass(frozen=True, slots=True)
class ConnectionBroken:
    """The connection can no longer be trusted (seq gap §8.3, ``HEARTBEAT_LOST`` §6.4):
    drop the transport and resume. Also a resume that went unanswered, to retry it in the
    legacy form on a new connection (§6.3)."""

    error: ARCPException


@dataclass(frozen=True, slots=True)
class SessionFailed:
    """The session is over and cannot be resumed (e.g. ``UNAUTHENTICATED``,
    ``RESUME_WINDOW_EXPIRED``, a handshake or resume that got no answer in time)."""

    error: ARCPException


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The runtime acknowledged ``session.close`` (§6.7), or closed the session itself;
    ``timed_out`` when it did not confirm the close by the deadline."""

    reason: str | None = None
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionDropped:
    """The runtime unsubscribed this session from a job it observes, with ``error`` (a
    ``session.error`` naming the job: the subscriber fell too far behind, §13.2). The
    subscription ends with that error; the session and its other jobs carry on."""

    job_id: str
    error: ARCPException


SessionOutput = (
    JobEventMessage
    | JobEnded
    | SubscriptionDropped
    | Response
    | RequestFailed
    | Welcomed
    | ConnectionBroken
    | SessionFailed
    | SessionClosed
)
"""Anything a :class:`~arcp.protocol.client_step.Step` of the session may hold."""
