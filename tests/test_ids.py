"""Identifiers and timestamps as we send them (wire-decisions: Envelope, Timestamps)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from arcp.ids import new_id, new_ulid, parse_timestamp, utc_timestamp

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
