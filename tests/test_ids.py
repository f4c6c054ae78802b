"""Identifiers and timestamps as we send them (wire-decisions: Envelope, Timestamps)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcp import ids
from arcp.ids import new_id, new_ulid, parse_timestamp, utc_timestamp
from arcp.protocol.event_frames import session_part
from arcp.protocol.frame_stamps import FrameStamps

_CLOCK_NS: dict[str, int] = {}
"""``{"now": ns}`` to hand the stamps instead of the real clock (empty: the real one)."""


def _wall_ms() -> int:
    return _CLOCK_NS.get("now", time.time_ns()) // 1_000_000


_STAMPS = FrameStamps(_wall_ms)
frame_id = _STAMPS.frame_id
outbox_frames = _STAMPS.outbox_frames

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_ulids_are_26_crockford_chars_unique_and_sortable() -> None:
    ids = [new_ulid() for _ in range(5000)]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert new_id("job").startswith("job_")


def test_a_ulid_carries_its_creation_millisecond_in_its_first_ten_digits() -> None:
    # ULID layout: 48 bits of Unix milliseconds, then 80 random bits, in Crockford base 32
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    before = time.time_ns() // 1_000_000
    ulid = new_ulid()
    after = time.time_ns() // 1_000_000
    value = 0
    for char in ulid:
        value = value * 32 + digits.index(char)
    assert value < 1 << 128
    assert before <= value >> 80 <= after


def test_now_is_utc_z_with_milliseconds_and_close_to_the_clock() -> None:
    before = datetime.now(UTC)
    stamp = utc_timestamp()
    after = datetime.now(UTC)
    assert _STAMP.match(stamp)
    parsed = parse_timestamp(stamp)
    assert before - timedelta(milliseconds=1) <= parsed <= after


@given(st.datetimes(timezones=st.just(UTC)))
def test_given_instants_round_trip_to_the_millisecond(at: datetime) -> None:
    stamp = utc_timestamp(at)
    assert _STAMP.match(stamp)
    assert parse_timestamp(stamp) == at.replace(microsecond=at.microsecond // 1000 * 1000)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def _ulid_ms(ulid: str) -> int:
    value = 0
    for char in ulid:
        value = value * 32 + _CROCKFORD.index(char)
    return value >> 80


def _outbox_ids(count: int) -> list[str]:
    """Envelope ids of ``count`` event frames built the way a session sends them."""
    item = (1, b',"type":"job.event","job_id":"j","event_seq":', b"{}", 0)
    frames = outbox_frames(range(1, count + 1), session_part("sess_x"), lambda seq: item)
    return [orjson.loads(frame)["id"] for frame in frames]


def test_envelope_ids_of_a_burst_are_ulids_with_their_creation_time() -> None:
    """§5, #12.8: control and event envelope ids are valid ULIDs whose time part is the
    millisecond they were made; ids of one burst share it and still increase."""
    before = time.time_ns() // 1_000_000
    ids = [frame_id() for _ in range(3000)] + _outbox_ids(3000)
    after = time.time_ns() // 1_000_000
    assert all(_ULID.fullmatch(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(before <= _ulid_ms(i) <= after for i in ids)


def test_a_later_envelope_id_carries_a_later_time() -> None:
    """Ids made 30 ms apart carry times 30 ms apart: a block of ids used to keep its first
    millisecond for 2**30 ids, however much later they were sent."""
    first, first_event = frame_id(), _outbox_ids(1)[0]
    time.sleep(0.03)
    before = time.time_ns() // 1_000_000
    second, second_event = frame_id(), _outbox_ids(1)[0]
    assert _ulid_ms(second) >= before and _ulid_ms(second_event) >= before
    assert _ulid_ms(second) - _ulid_ms(first) >= 30
    assert first < first_event < second < second_event


def test_envelope_ids_never_decrease_when_the_clock_steps_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The monotonic rule (docs/wire-decisions.md): after the clock steps back, ids keep
    increasing; their time part stays at the latest millisecond seen."""
    now = time.time_ns()
    monkeypatch.setitem(_CLOCK_NS, "now", now)
    ahead = [frame_id() for _ in range(3)]
    monkeypatch.setitem(_CLOCK_NS, "now", now - 5_000_000_000)  # five seconds back
    behind = [frame_id() for _ in range(3)] + _outbox_ids(3)
    assert ahead + behind == sorted(ahead + behind)
    assert {_ulid_ms(i) for i in behind} == {_ulid_ms(ahead[0])}


def test_a_ulid_random_part_overflow_carries_into_the_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within one millisecond a ULID adds one to the random part; at its maximum the carry
    moves the time part on instead of wrapping to a smaller id."""
    future = time.time_ns() // 1_000_000 + 60_000
    monkeypatch.setattr(ids, "_last_ms", future)
    monkeypatch.setattr(ids, "_last_rand", (1 << 80) - 1)
    ulid = new_ulid()
    assert _ulid_ms(ulid) == future + 1
    assert ulid.endswith("0" * 16)
