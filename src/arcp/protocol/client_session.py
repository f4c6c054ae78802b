"""The sans-IO client session (§6-§8): a pure state machine, no asyncio, no sockets.

The driver feeds it decoded messages and the current (monotonic) time with
:meth:`ClientSession.receive`, sends what :meth:`ClientSession.data_to_send` returns, and
calls :meth:`ClientSession.on_timer` at :meth:`ClientSession.next_deadline`. This module adds
the requests a client makes (submit §7.1, cancel §7.4, subscribe §7.6, list_jobs §6.6, ack §6.5)
to the connection state in :mod:`arcp.protocol.client_core`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from arcp.protocol.client_core import ALL_FEATURES, ClientCore, ClientState
from arcp.protocol.client_submit import normalize_trace_id, submit_payload
from arcp_gen.features import Feature

__all__ = ["ALL_FEATURES", "ClientSession", "ClientState"]

_DEFAULT_REASON = "cancelled by the client"


class ClientSession(ClientCore):
    """One client session, across any number of resumed connections."""

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
    ) -> str:
        """Queue ``job.submit`` (§7.1); returns the request id."""
        payload = submit_payload(
            self._features,
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
        )

    def cancel(self, job_id: str, now: float, reason: str | None = None) -> str:
        """Queue ``job.cancel`` (§7.4); returns the request id."""
        # `reason` is optional (§7.4), but some runtimes refuse a cancel without one.
        payload: dict[str, Any] = {"job_id": job_id, "reason": reason or _DEFAULT_REASON}
        return self._request("job.cancel", payload, now, job_id=job_id, resendable=True)

    def subscribe(
        self, job_id: str, now: float, *, history: bool = False, from_event_seq: int | None = None
    ) -> str:
        """Queue ``job.subscribe`` (§7.6); returns the request id."""
        self.require(Feature.SUBSCRIBE, "job.subscribe")
        payload: dict[str, Any] = {"job_id": job_id, "history": history}
        if from_event_seq is not None:
            payload["from_event_seq"] = from_event_seq
        return self._request("job.subscribe", payload, now, job_id=job_id)

    def unsubscribe(self, job_id: str, now: float) -> None:
        """Queue ``job.unsubscribe`` (§7.6); it has no answer."""
        self.require(Feature.SUBSCRIBE, "job.unsubscribe")
        if self._state is ClientState.OPEN:
            self._queue("job.unsubscribe", {"job_id": job_id}, now, job_id=job_id)

    def list_jobs(
        self,
        now: float,
        *,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> str:
        """Queue ``session.list_jobs`` (§6.6); returns the request id."""
        self.require(Feature.LIST_JOBS, "session.list_jobs")
        payload: dict[str, Any] = {}
        if filter:
            payload["filter"] = dict(filter)
        if limit is not None:
            payload["limit"] = limit
        payload["cursor"] = cursor
        return self._request("session.list_jobs", payload, now, resendable=True)

    def ack(self, last_processed_seq: int, now: float) -> None:
        """Queue a manual ``session.ack`` (§6.5)."""
        self.require(Feature.ACK, "session.ack")
        if self._state is ClientState.OPEN:
            self._queue("session.ack", {"last_processed_seq": last_processed_seq}, now)
        self._acks.sent_manually(last_processed_seq, now)

    def processed(self, seq: int) -> bool:
        """The application consumed events up to ``seq``. True when an automatic ack became
        pending, so the driver should re-read :meth:`next_deadline`."""
        if not self._auto_ack:
            return False
        return self._acks.mark(seq)
