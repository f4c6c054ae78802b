"""Encode-once job events (§5, §8.1): payloads, envelope ids and per-session frames."""

from __future__ import annotations

import re
import sys
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from arcp.codec import decode
from arcp.protocol.event_frames import JobEventLog, session_part
from arcp_gen.messages import EVENT_KINDS, JobEventMessage
from tests.protocol.stamps import stamps

_STAMPS = stamps()
event_payload = _STAMPS.event_payload
frame_id = _STAMPS.frame_id
outbox_frames = _STAMPS.outbox_frames

_JSON_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(
    kind=st.sampled_from(sorted(EVENT_KINDS)) | st.text(min_size=1, max_size=20),
    body=st.dictionaries(_JSON_TEXT, _JSON_TEXT | st.integers(-(2**53), 2**53), max_size=4),
)
def test_an_event_payload_is_the_object_kind_ts_body(kind: str, body: dict[str, Any]) -> None:
    payload = event_payload(kind, body)
    parsed = orjson.loads(payload)
    assert list(parsed) == ["kind", "ts", "body"]
    assert parsed["kind"] == kind
    assert parsed["body"] == body
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", parsed["ts"])
    # byte for byte what encoding the whole object at once gives
    assert payload == orjson.dumps({"kind": kind, "ts": parsed["ts"], "body": body})


def test_an_event_payload_holds_no_spare_allocation() -> None:
    # buffered events are kept until acknowledged (§6.5): each must cost about its length
    payload = event_payload("log", {"level": "info", "message": "x" * 50})
    assert sys.getsizeof(payload) - len(payload) < 64


def test_an_outbox_is_framed_in_order_with_the_session_s_own_seqs_and_ids() -> None:
    log = JobEventLog("job_1", "4bf92f3577b34da6a3ce929d0e0e4736", 10)
    held = {
        7: log.event_item(1, event_payload("log", {"level": "info", "message": "hi"})),
        9: log.terminal_item(
            2, orjson.dumps({"final_status": "success", "result": 1}), error=False
        ),
    }
    control = b'{"arcp":"1.1","id":"X","type":"session.pong","payload":{}}'
    # seq 8 was evicted by the buffer's cap: no frame (the client sees the gap, §8.3)
    frames = outbox_frames([7, control, 8, 9], session_part("sess_1"), held.get)
    assert len(frames) == 3 and frames[1] == control
    first, last = decode(frames[0]), decode(frames[2])
    assert isinstance(first, JobEventMessage)
    assert (first.session_id, first.job_id, first.event_seq) == ("sess_1", "job_1", 7)
    assert first.payload.kind == "log"
    assert (last.type, last.event_seq) == ("job.result", 9)
    assert last.trace_id == first.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert first.id != last.id and first.id < last.id


def test_frame_ids_are_unique_ulid_shaped_and_ordered() -> None:
    ids = [frame_id() for _ in range(3000)]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
