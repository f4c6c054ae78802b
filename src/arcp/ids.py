"""Identifiers and timestamps as ARCP sends them.

Envelope ids are ULIDs without a prefix (wire-decisions: Envelope). Session, job, result and
credential ids carry a readable prefix (``sess_``, ``job_``, ``res_``, ``cred_``) in front of
a ULID. Timestamps are RFC 3339 UTC with ``Z`` and millisecond precision.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "DIGIT_PAIRS",
    "new_id",
    "new_ulid",
    "parse_timestamp",
    "utc_timestamp",
    "wall_timestamp",
]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DIGIT_PAIRS: Final = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
"""Every 10-bit value as two Crockford base-32 digits (index = value)."""
_PAIR_SHIFTS = tuple(range(120, -1, -10))
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def new_ulid() -> str:
    """A monotonic ULID: 48-bit millisecond time + 80 random bits, sortable by creation.

    The time part is the creation millisecond. Ids made within one millisecond (or after
    the clock stepped back) keep the previous id's time part and add one to its random
    part, carrying into the time part if it ever overflows, so ids never decrease.
    """
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
            if rand >> 80:  # the random part overflowed: carry into the time part
                ms, rand = ms + 1, 0
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_rand = ms, rand
    value = (ms << 80) | rand  # 128 bits as 26 base-32 digits, two at a time
    return "".join([DIGIT_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def new_id(prefix: str = "") -> str:
    """``prefix`` + ``_`` + ULID (or a bare ULID when ``prefix`` is empty)."""
    return f"{prefix}_{new_ulid()}" if prefix else new_ulid()


_second_cache: tuple[int, str] = (-1, "")


def utc_timestamp(at: datetime | None = None) -> str:
    """RFC 3339 UTC with ``Z`` and milliseconds, e.g. ``2026-05-13T19:42:13.020Z``."""
    global _second_cache
    if at is not None:
        # isoformat always writes a four-digit year (strftime does not, on every platform)
        return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return _format_ms(time.time_ns() // 1_000_000)


def wall_timestamp(wall: float) -> str:
    """:func:`utc_timestamp` of ``wall`` (seconds since the epoch, as the caller read its
    clock): how the sans-IO core stamps a time it was given rather than read."""
    return _format_ms(int(wall * 1000))


def _format_ms(ms: int) -> str:
    global _second_cache
    second, prefix = _second_cache
    if ms // 1000 != second:  # the date part changes once a second: format it once
        second = ms // 1000
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        _second_cache = (second, prefix)
    return f"{prefix}{ms % 1000:03d}Z"


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp with ``Z`` or an explicit offset into an aware datetime."""
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return parsed.astimezone(UTC)
