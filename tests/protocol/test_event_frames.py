"""Encode-once job events (§5, §8.1): payloads, envelope ids and per-session frames."""

from __future__ import annotations

import re
import sys
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from arcp.codec import decode
from arcp.protocol.event_frames import (
    JobEventLog,
    event_frame,
    event_payload,
    frame_id,
    session_part,
)
from arcp_gen.messages import EVENT_KINDS, JobEventMessage

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


def test_a_log_event_framed_for_a_session_decodes_to_its_typed_message() -> None:
    log = JobEventLog("job_1", "4bf92f3577b34da6a3ce929d0e0e4736", 10)
    item = log.event_item(1, event_payload("log", {"level": "info", "message": "hi"}))
    message = decode(event_frame(session_part("sess_1"), 7, item))
    assert isinstance(message, JobEventMessage)
    assert (message.session_id, message.job_id, message.event_seq) == ("sess_1", "job_1", 7)
    assert message.payload.kind == "log"


def test_frame_ids_are_unique_ulid_shaped_and_ordered() -> None:
    ids = [frame_id() for _ in range(3000)]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
