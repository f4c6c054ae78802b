"""Request/response correlation for the client (wire-decisions: Request failures and correlation).

A response names its request in ``payload.request_id`` (the request envelope's ``id``, as in
§6.6). When a peer leaves it out we fall back to first-in-first-out per request type. A
``session.error`` without ``request_id`` fails at most the oldest pending request of the kind
its code can come from, so an unrelated request (let alone a running job) is never failed.

Every request has a deadline (wire-decisions: no unbounded wait); :meth:`RequestTracker.expire`
takes the ones that passed. An answer that arrives after its request expired (named by
``request_id`` or by the submit's ``trace_id``) is ignored, never given to another request.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from arcp.protocol.client_events import RequestKind
from arcp_gen.errors import ErrorCode

__all__ = ["REQUEST_KINDS", "PendingRequest", "RequestTracker", "error_kinds"]

REQUEST_KINDS: tuple[RequestKind, ...] = (
    "job.submit",
    "job.cancel",
    "job.subscribe",
    "session.list_jobs",
)
"""Every request type that expects a correlated answer."""

_ALL = frozenset(REQUEST_KINDS)
_JOB_TARGETED = frozenset({"job.cancel", "job.subscribe"})

# Which request types can fail with which code (§12 and wire-decisions: "Which code for which
# failure"). Codes missing here never answer a request.
_KINDS_BY_CODE: Mapping[ErrorCode, frozenset[str]] = {
    ErrorCode.AGENT_NOT_AVAILABLE: frozenset({"job.submit"}),
    ErrorCode.AGENT_VERSION_NOT_AVAILABLE: frozenset({"job.submit"}),
    ErrorCode.DUPLICATE_KEY: frozenset({"job.submit"}),
    ErrorCode.LEASE_SUBSET_VIOLATION: frozenset({"job.submit"}),
    ErrorCode.LEASE_EXPIRED: frozenset({"job.submit"}),
    ErrorCode.BUDGET_EXHAUSTED: frozenset({"job.submit"}),
    ErrorCode.JOB_NOT_FOUND: _JOB_TARGETED,
    ErrorCode.PERMISSION_DENIED: _JOB_TARGETED | {"job.submit"},
    ErrorCode.INVALID_REQUEST: _ALL,
    ErrorCode.INTERNAL_ERROR: _ALL,
}


def error_kinds(code: ErrorCode, details: Mapping[str, Any] | None) -> frozenset[str]:
    """The request types an uncorrelated ``session.error`` with ``code`` may answer."""
    kinds = _KINDS_BY_CODE.get(code, frozenset[str]())
    named = (details or {}).get("type")
    if isinstance(named, str) and named in kinds:
        return frozenset({named})
    return kinds


@dataclass(slots=True)
class PendingRequest:
    """One request waiting for its answer. ``frame`` is kept so it can be sent after a resume
    (§6.3): always when it was never ``sent``, else only when ``resendable``."""

    request_id: str
    kind: RequestKind
    frame: bytes
    job_id: str | None = None
    resendable: bool = False
    sent: bool = True
    deadline: float = math.inf
    """When the request fails with a timeout (monotonic seconds; ``inf`` for never)."""
    timeout: float = math.inf
    """The timeout the deadline came from, for the error message."""
    trace_id: str | None = None
    """The submit's trace id: some runtimes echo it on ``job.accepted`` instead of
    ``request_id``."""
    resent: bool = False
    """Sent again after a resume (§6.3): the job it created may already be replaying."""


_GONE_KEPT = 256


class RequestTracker:
    """Pending requests in the order they were sent."""

    def __init__(self) -> None:
        self._pending: dict[str, PendingRequest] = {}
        # Request ids and trace ids of requests that expired or were given up: a late answer
        # naming one is dropped rather than matched to another request.
        self._gone: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._pending

    def add(self, request: PendingRequest) -> None:
        """Start waiting for ``request``'s answer."""
        self._pending[request.request_id] = request

    def pending(self) -> Iterable[PendingRequest]:
        """The pending requests, oldest first."""
        return tuple(self._pending.values())

    def next_deadline(self) -> float:
        """The earliest deadline of a pending request (``inf`` when none)."""
        if not self._pending:
            return math.inf
        return min((r.deadline for r in self._pending.values()), default=math.inf)

    def expire(self, now: float) -> list[PendingRequest]:
        """Remove and return the requests whose deadline passed, oldest first."""
        expired = [r for r in self._pending.values() if r.deadline <= now]
        for request in expired:
            self._forget(request)
        return expired

    def match_response(
        self,
        kind: RequestKind,
        request_id: str | None,
        job_id: str | None,
        trace_id: str | None = None,
    ) -> PendingRequest | None:
        """Pop the request a response answers: by ``request_id``, else by the submit's
        ``trace_id``, else the oldest of ``kind`` (preferring one for the same ``job_id``).
        A response naming a request that already expired answers nothing."""
        if request_id is not None:
            found = self._pending.get(request_id)
            if found is not None and found.kind == kind:
                return self._pending.pop(request_id)
            if found is not None or request_id in self._gone:
                return None
        if trace_id is not None and kind == "job.submit":
            for request in self._pending.values():
                if request.kind == kind and request.trace_id == trace_id:
                    return self._pending.pop(request.request_id)
            if trace_id in self._gone:
                return None
        return self._pop_oldest(frozenset({kind}), job_id)

    def match_error(
        self,
        request_id: str | None,
        code: ErrorCode,
        details: Mapping[str, Any] | None,
        job_id: str | None,
        kinds: frozenset[str] | None = None,
        *,
        resent: bool = True,
    ) -> PendingRequest | None:
        """Pop the request an error answers, or ``None`` if it answers none. ``kinds``
        narrows which request types it may answer; ``resent=False`` leaves out requests
        sent again after a resume."""
        if request_id is not None:
            return self._pending.pop(request_id, None)
        allowed = error_kinds(code, details)
        return self._pop_oldest(allowed if kinds is None else allowed & kinds, job_id, resent)

    def remove(self, request_id: str) -> PendingRequest | None:
        """Stop waiting for ``request_id`` (its caller gave up, or it cannot be repeated)."""
        request = self._pending.get(request_id)
        if request is not None:
            self._forget(request)
        return request

    def _forget(self, request: PendingRequest) -> None:
        del self._pending[request.request_id]
        gone = self._gone
        gone[request.request_id] = None
        if request.trace_id is not None:
            gone[request.trace_id] = None
        while len(gone) > _GONE_KEPT:
            gone.popitem(last=False)

    def take_all(self) -> list[PendingRequest]:
        """Remove and return every pending request, oldest first."""
        requests = list(self._pending.values())
        self._pending.clear()
        return requests

    def _pop_oldest(
        self, kinds: frozenset[str], job_id: str | None, resent: bool = True
    ) -> PendingRequest | None:
        chosen: PendingRequest | None = None
        for request in self._pending.values():
            if request.kind not in kinds or (request.resent and not resent):
                continue
            if job_id is not None and request.job_id is not None:
                if request.job_id != job_id:
                    continue  # about another job: never fail it
                chosen = request
                break
            if chosen is None:
                chosen = request
                if job_id is None:
                    break
        if chosen is not None:
            del self._pending[chosen.request_id]
        return chosen
