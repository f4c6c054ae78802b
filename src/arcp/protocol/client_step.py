"""What one turn of the sans-IO client session returns to its adapter (§6-§8).

The session has one door: :meth:`~arcp.protocol.client_session.ClientSession.receive_data`
(what arrived) and :meth:`~arcp.protocol.client_session.ClientSession.advance` (time passed),
each given ``now``. Both answer with a :class:`Step`: what the adapter must act on, the
frames to send now, and when to call ``advance`` next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from arcp.protocol.client_events import SessionOutput

__all__ = ["Step"]


class Step(NamedTuple):
    """One turn's result, to be carried out in order: send ``frames``, act on ``outputs``,
    then call :meth:`~arcp.protocol.client_session.ClientSession.advance` at ``deadline``."""

    outputs: tuple[SessionOutput, ...]
    """What the adapter acts on, in the order it happened (a ``JobEventMessage`` for an
    event, so the hot path allocates nothing extra)."""
    frames: Sequence[bytes]
    """Encoded frames to send, in order (requests queued since the last step included)."""
    deadline: float | None
    """The monotonic instant ``advance`` is next due, or ``None`` for never."""
