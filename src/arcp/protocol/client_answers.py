"""Which request or job an answer from the runtime is for (§7, wire-decisions: Request
failures and correlation, read every dialect).

:class:`Answers` keeps the jobs the session watches (accepted or subscribed) and whether the
runtime names the requests its answers are for; with the pending requests it tells a
response from a stray, a refusal from a job's end, and a request's ``session.error`` from a
dropped subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from arcp.protocol.client_events import (
    RequestFailed,
    RequestKind,
    Response,
    ResponseMessage,
    SubscriptionDropped,
)
from arcp.protocol.client_requests import RequestTracker
from arcp_gen.errors import ARCPError, ErrorCode, error_from_payload
from arcp_gen.messages import (
    JobAcceptedMessage,
    JobCancelledMessage,
    JobErrorMessage,
    JobSubscribedMessage,
    SessionJobsMessage,
)

__all__ = ["RESPONSE_TYPES", "Answers"]

_log = logging.getLogger("arcp.client")

_RESPONSE_KINDS: Final[Mapping[str, RequestKind]] = {
    "job.accepted": "job.submit",
    "job.subscribed": "job.subscribe",
    "job.cancelled": "job.cancel",
    "session.jobs": "session.list_jobs",
}

RESPONSE_TYPES: Final = (
    JobAcceptedMessage,
    JobSubscribedMessage,
    JobCancelledMessage,
    SessionJobsMessage,
)
"""The messages that answer a request (:data:`~arcp.protocol.client_events.RequestKind`)."""

_REFUSED_ON_JOB: Final = frozenset({ErrorCode.PERMISSION_DENIED, ErrorCode.JOB_NOT_FOUND})
"""Codes a runtime may put in a ``job.error`` for a job that keeps running, to refuse a
cancel or subscribe aimed at it (the TypeScript runtime's dialect, docs/interop.md)."""
_JOB_TARGETED: Final = frozenset({"job.cancel", "job.subscribe"})
_JOB_ENDINGS: Final = frozenset(
    {ErrorCode.INTERNAL_ERROR, ErrorCode.LEASE_EXPIRED, ErrorCode.BUDGET_EXHAUSTED}
)
"""Codes a running job can end with that could also refuse a submit."""


class Answers:
    """The jobs a session watches, and the matching of answers to its requests."""

    __slots__ = ("correlating", "jobs", "requests")

    def __init__(self, requests: RequestTracker) -> None:
        self.requests = requests
        self.jobs: set[str] = set()
        """Jobs this session watches (accepted or subscribed)."""
        self.correlating = False
        """The runtime names the request its answers are for (``request_id``): then it does
        so for refusals too, and a ``job.error`` without one is always a job's end."""

    def response(self, msg: ResponseMessage) -> Response | None:
        """The pending request ``msg`` answers, or ``None`` for an uncorrelated answer."""
        kind = _RESPONSE_KINDS[msg.type]
        payload = msg.payload
        job_id = msg.job_id
        if job_id is None and not isinstance(msg, SessionJobsMessage):
            job_id = msg.payload.job_id
        if payload.request_id is not None:
            self.correlating = True
        request = self.requests.match_response(kind, payload.request_id, job_id, msg.trace_id)
        if request is None:
            _log.debug("ignoring an uncorrelated %s", msg.type)
            return None
        if job_id is not None and kind != "job.cancel":
            self.jobs.add(job_id)
        return Response(request.request_id, kind, msg)

    def refusal(self, msg: JobErrorMessage) -> RequestFailed | None:
        """A ``job.error`` that answers a request instead of ending a job (wire-decisions:
        read every dialect): an unknown agent reported under a job id that was never
        accepted, or a refused cancel reported under the id of a job that keeps running."""
        payload = msg.payload
        request_id = getattr(payload, "request_id", None)
        error = error_from_payload(payload)
        code = error.code
        if msg.job_id in self.jobs:
            if code not in _REFUSED_ON_JOB:
                return None  # the job we watch really ended
            kinds = _JOB_TARGETED
        else:
            kinds = None
            if request_id is None and self.correlating and code in _JOB_ENDINGS:
                # A runtime that names its requests: an uncorrelated end a running job can
                # have is that job's (replayed before the job.accepted a crash lost, §6.3).
                return None
        # The job of a submit sent again after a resume may replay its end before the
        # job.accepted that answers the resend (§6.3, §7.2): that end is no refusal.
        request = self.requests.match_error(
            request_id, code, payload.details, msg.job_id, kinds, resent=kinds is not None
        )
        if request is None:
            return None
        return RequestFailed(request.request_id, request.kind, error)

    def session_error(
        self,
        error: ARCPError,
        request_id: str | None,
        details: Mapping[str, Any],
        job_id: object,
    ) -> RequestFailed | SubscriptionDropped | None:
        """A ``session.error`` that fails a pending request, or drops a job we observe (a
        subscriber too far behind, §13.2: that subscription ends, the session carries on);
        ``None`` when it is tied to neither."""
        named = job_id if isinstance(job_id, str) else None
        request = self.requests.match_error(request_id, error.code, details, named)
        if request is not None:
            return RequestFailed(request.request_id, request.kind, error)
        if named is not None and named in self.jobs:
            self.jobs.discard(named)
            return SubscriptionDropped(named, error)
        return None
