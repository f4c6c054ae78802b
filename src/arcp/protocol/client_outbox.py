"""What a client session sends: envelopes (§5), the queue of frames for the transport, and
the requests that wait for an answer (wire-decisions: Request failures and correlation).

:class:`Outbox` knows nothing of the session's state: the session tells it whether a request
can go out now (else it waits, encoded, for the next welcome, §6.3).
"""

from __future__ import annotations

from typing import Any

from arcp.codec import encode
from arcp.ids import new_ulid
from arcp.protocol.client_events import RequestKind
from arcp.protocol.client_liveness import Heartbeat
from arcp.protocol.client_requests import PendingRequest, RequestTracker
from arcp_gen.registry import PROTOCOL_VERSION

__all__ = ["Outbox"]


class Outbox:
    """The frames queued for the transport and the requests awaiting their answer."""

    __slots__ = ("frames", "heartbeat", "requests", "session_id")

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.requests = RequestTracker()
        self.session_id: str | None = None
        """Stamped on every envelope but ``session.hello`` once the welcome named it."""
        self.heartbeat: Heartbeat | None = None
        """Told when we last sent, so a ping goes out only after an idle interval (§6.4)."""

    def take(self) -> list[bytes]:
        """Take the queued frames, in order."""
        out, self.frames = self.frames, []
        return out

    def push(self, frame: bytes, now: float) -> None:
        """Queue an encoded frame."""
        self.frames.append(frame)
        if self.heartbeat is not None:
            self.heartbeat.last_sent = now

    def queue(self, type_: str, payload: dict[str, Any], now: float, **env: str) -> None:
        """Encode and queue a message that expects no answer."""
        self.push(self.frame(type_, payload, new_ulid(), **env), now)

    def request(
        self,
        kind: RequestKind,
        payload: dict[str, Any],
        now: float,
        *,
        send: bool,
        limit: float,
        job_id: str | None,
        trace_id: str | None,
        resendable: bool,
    ) -> str:
        """Track a request with deadline ``now + limit``; queue it when ``send`` (else it
        goes out after the next welcome). Returns its request id (the envelope id)."""
        request_id = new_ulid()
        frame = self.frame(kind, payload, request_id, job_id=job_id, trace_id=trace_id)
        self.requests.add(
            PendingRequest(
                request_id, kind, frame, job_id, resendable, send, now + limit, limit, trace_id
            )
        )
        if send:
            self.push(frame, now)
        return request_id

    def resend(self) -> tuple[str, ...]:
        """After a resume (§6.3): queue every request that never went out and every
        resendable one; give up the rest (returned: they may or may not have been seen)."""
        interrupted: list[str] = []
        for request in self.requests.pending():
            if request.sent and not request.resendable:
                self.requests.remove(request.request_id)
                interrupted.append(request.request_id)
            else:
                request.resent = request.sent
                request.sent = True
                self.frames.append(request.frame)
        return tuple(interrupted)

    def frame(
        self,
        type_: str,
        payload: dict[str, Any],
        envelope_id: str,
        *,
        job_id: str | None = None,
        trace_id: str | None = None,
    ) -> bytes:
        """One encoded envelope (§5)."""
        env: dict[str, Any] = {"arcp": PROTOCOL_VERSION, "id": envelope_id, "type": type_}
        if self.session_id is not None and type_ != "session.hello":
            env["session_id"] = self.session_id
        if trace_id is not None:
            env["trace_id"] = trace_id
        if job_id is not None:
            env["job_id"] = job_id
        env["payload"] = payload
        return encode(env)
