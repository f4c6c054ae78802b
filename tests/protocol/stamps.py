"""The clock the protocol tests inject into the sans-IO core (it reads none itself)."""

from __future__ import annotations

import time

from arcp.protocol.frame_stamps import FrameStamps

__all__ = ["stamps", "wall_ms"]


def wall_ms() -> int:
    """The real wall clock in milliseconds, as the runtime injects it."""
    return time.time_ns() // 1_000_000


def stamps() -> FrameStamps:
    """Fresh id and timestamp state on the real wall clock."""
    return FrameStamps(wall_ms)
