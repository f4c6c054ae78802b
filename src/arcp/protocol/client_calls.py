"""The requests a client session makes (§6.5, §6.6, §7): submit, cancel, subscribe,
unsubscribe, list_jobs and ack. Each is encoded into the session's
:class:`~arcp.protocol.client_outbox.Outbox` (sent with the session's next
:class:`~arcp.protocol.client_step.Step`, or after the next welcome when the session is not
open, §6.3) and tracked until its answer or its deadline (wire-decisions: no unbounded wait).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from arcp.protocol.client_events import RequestKind
from arcp.protocol.client_handshake import Negotiation
from arcp.protocol.client_liveness import AckScheduler, check_timeout
from arcp.protocol.client_outbox import Outbox
from arcp.protocol.client_submit import normalize_trace_id, submit_payload
from arcp.protocol.states import ClientEvent, ClientState, StateCell
from arcp_gen.errors import InvalidRequestError
from arcp_gen.features import Feature

__all__ = ["ClientRequests"]

_DEFAULT_REASON = "cancelled by the client"

_CAN_REQUEST: Final = frozenset(
    {ClientState.OPEN, ClientState.DETACHED, ClientState.RESUMING, ClientState.BROKEN}
)
"""States a request may be made in: sent at once when open, else after the next welcome."""


class ClientRequests:
    """The requests of one client session; it shares the session's state, outbox,
    negotiation and ack schedule (reads the state, never changes it)."""

    def __init__(
        self,
        sm: StateCell[ClientState, ClientEvent],
        out: Outbox,
        hs: Negotiation,
        acks: AckScheduler,
        *,
        timeout: float,
        auto_ack: bool,
    ) -> None:
        self._sm = sm
        self._out = out
        self._hs = hs
        self._acks = acks
        self.timeout = timeout
        """The default deadline of a request, in seconds."""
        self.auto_ack = auto_ack
        """Acks are sent on a schedule as events are :meth:`processed` (§6.5)."""

    def pending(self) -> int:
        """How many requests wait for an answer."""
        return len(self._out.requests)

    def forget(self, request_id: str) -> None:
        """Stop waiting for ``request_id`` (its caller gave up); a late answer is ignored."""
        self._out.requests.remove(request_id)

    def require(self, feature: Feature, what: str) -> None:
        """Raise ``INVALID_REQUEST`` locally when ``feature`` was not negotiated (§6.2)."""
        if feature not in self._hs.features:
            raise InvalidRequestError(
                f"{what} needs the {feature.value!r} feature, which this session did not negotiate",
                details={"feature": feature.value},
            )

    def submit(
        self,
        agent: str,
        input: Any = None,
        *,
        now: float,
        lease: Mapping[str, Iterable[str]] | None = None,
        lease_constraints: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        max_runtime_sec: float | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Queue ``job.submit`` (§7.1); returns the request id. ``timeout`` (default
        :attr:`timeout`) bounds the wait for ``job.accepted``."""
        payload = submit_payload(
            self._hs.features,
            agent,
            input,
            lease=lease,
            lease_constraints=lease_constraints,
            idempotency_key=idempotency_key,
            max_runtime_sec=max_runtime_sec,
        )
        return self._request(
            "job.submit",
            payload,
            now,
            trace_id=normalize_trace_id(trace_id) if trace_id is not None else None,
            resendable=idempotency_key is not None,
            timeout=timeout,
        )

    def cancel(
        self, job_id: str, now: float, reason: str | None = None, timeout: float | None = None
    ) -> str:
        """Queue ``job.cancel`` (§7.4); returns the request id."""
        # `reason` is optional (§7.4), but some runtimes refuse a cancel without one.
        payload: dict[str, Any] = {"job_id": job_id, "reason": reason or _DEFAULT_REASON}
        return self._request(
            "job.cancel", payload, now, job_id=job_id, resendable=True, timeout=timeout
        )

    def subscribe(
        self,
        job_id: str,
        now: float,
        *,
        history: bool = False,
        from_event_seq: int | None = None,
        timeout: float | None = None,
    ) -> str:
        """Queue ``job.subscribe`` (§7.6); returns the request id."""
        self.require(Feature.SUBSCRIBE, "job.subscribe")
        payload: dict[str, Any] = {"job_id": job_id, "history": history}
        if from_event_seq is not None:
            payload["from_event_seq"] = from_event_seq
        return self._request("job.subscribe", payload, now, job_id=job_id, timeout=timeout)

    def unsubscribe(self, job_id: str, now: float) -> None:
        """Queue ``job.unsubscribe`` (§7.6); it has no answer."""
        self.require(Feature.SUBSCRIBE, "job.unsubscribe")
        if self._sm.state is ClientState.OPEN:
            self._out.queue("job.unsubscribe", {"job_id": job_id}, now, job_id=job_id)

    def list_jobs(
        self,
        now: float,
        *,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Queue ``session.list_jobs`` (§6.6); returns the request id."""
        self.require(Feature.LIST_JOBS, "session.list_jobs")
        payload: dict[str, Any] = {}
        if filter:
            payload["filter"] = dict(filter)
        if limit is not None:
            payload["limit"] = limit
        payload["cursor"] = cursor
        return self._request("session.list_jobs", payload, now, resendable=True, timeout=timeout)

    def ack(self, last_processed_seq: int, now: float) -> None:
        """Queue a manual ``session.ack`` (§6.5)."""
        self.require(Feature.ACK, "session.ack")
        if self._sm.state is ClientState.OPEN:
            self._out.queue("session.ack", {"last_processed_seq": last_processed_seq}, now)
        self._acks.sent_manually(last_processed_seq, now)

    def processed(self, seq: int) -> bool:
        """The application consumed events up to ``seq``. True when an automatic ack became
        pending, so the driver should re-read :meth:`next_deadline`."""
        if not self.auto_ack:
            return False
        return self._acks.mark(seq)

    def _request(
        self,
        kind: RequestKind,
        payload: dict[str, Any],
        now: float,
        *,
        job_id: str | None = None,
        trace_id: str | None = None,
        resendable: bool = False,
        timeout: float | None = None,
    ) -> str:
        state = self._sm.state
        if state not in _CAN_REQUEST:
            raise RuntimeError(f"cannot send {kind}: the session is {state.value}")
        limit = self.timeout if timeout is None else timeout
        check_timeout("timeout", limit)
        return self._out.request(
            kind,
            payload,
            now,
            send=state is ClientState.OPEN,
            limit=limit,
            job_id=job_id,
            trace_id=trace_id,
            resendable=resendable,
        )
