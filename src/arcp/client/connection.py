"""Where a client connects to, and how it reconnects (§4, §6.3).

A target is a ``ws://`` / ``wss://`` URL, an already connected :class:`Transport`, or a
:data:`ConnectionFactory`. URLs and factories can be dialled again after a drop, so only they
allow transparent resume; a bare transport cannot be reopened.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeAlias

from arcp.transport.base import Transport

__all__ = ["ConnectionFactory", "Target", "backoff_delays", "resolve_target"]

ConnectionFactory: TypeAlias = Callable[[], Awaitable[Transport]]
"""A zero-argument coroutine function that opens a new connection to the runtime."""

Target: TypeAlias = str | Transport | ConnectionFactory
"""What :meth:`arcp.client.Client.connect` accepts."""


def resolve_target(target: Target) -> tuple[Transport | None, ConnectionFactory | None]:
    """Split a target into (an open transport, a factory to dial again); one may be None."""
    if isinstance(target, str):
        url = target
        if not url.startswith(("ws://", "wss://")):
            raise ValueError("an ARCP URL must start with ws:// or wss://")

        async def dial() -> Transport:
            from arcp.transport.websocket import connect_websocket

            return await connect_websocket(url)

        return None, dial
    if isinstance(target, Transport):
        return target, None
    if callable(target):
        return None, target
    raise TypeError("target must be a ws:// URL, a Transport, or a connection factory")


def backoff_delays(
    *, first: float = 0.05, factor: float = 2.0, cap: float = 5.0, attempts: int = 10
) -> Iterator[float]:
    """Bounded exponential backoff with jitter: the delay before each reconnect attempt."""
    delay = first
    for attempt in range(attempts):
        yield 0.0 if attempt == 0 else delay * (0.5 + random.random() / 2)
        if attempt:
            delay = min(cap, delay * factor)
