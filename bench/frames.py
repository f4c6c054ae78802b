"""The frame every benchmark sends: a typical ~250-byte ``job.event`` log envelope."""

from __future__ import annotations

import orjson

__all__ = ["EVENT", "event_frame"]

EVENT = {
    "arcp": "1.1",
    "id": "01JD4ZQ8Y5K3N6P7R8S9T0V1W2",
    "type": "job.event",
    "session_id": "sess_01JD4ZQ8Y5K3N6P7R8S9T0V1W2",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "job_id": "job_01JD4ZQ8Y5K3N6P7R8S9T0V1W3",
    "event_seq": 1,
    "payload": {
        "kind": "log",
        "ts": "2026-05-13T19:42:13.000Z",
        "body": {"level": "info", "message": "processing item 42 of 20000"},
    },
}


def event_frame(seq: int) -> bytes:
    """The benchmark envelope with ``event_seq`` = ``seq``, compact JSON."""
    return orjson.dumps({**EVENT, "event_seq": seq})
