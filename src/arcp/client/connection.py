"""Where a client connects to, and how it reconnects (§4, §6.3).

A target is a ``ws://`` / ``wss://`` URL, an already connected :class:`Transport`, or a
:data:`ConnectionFactory`. URLs and factories can be dialled again after a drop, so only they
allow transparent resume; a bare transport cannot be reopened.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl as _ssl
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

from arcp.transport.base import Transport

__all__ = [
    "ConnectionFactory",
    "ReconnectPolicy",
    "Target",
    "backoff_delays",
    "redial",
    "resolve_target",
]

_log = logging.getLogger("arcp.client")

ConnectionFactory: TypeAlias = Callable[[], Awaitable[Transport]]
"""A zero-argument coroutine function that opens a new connection to the runtime."""

Target: TypeAlias = str | Transport | ConnectionFactory
"""What :meth:`arcp.client.Client.connect` accepts."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How the client dials again after a dropped connection before resuming (§6.3).

    The first attempt is immediate; each later one waits ``first_delay * factor**n`` seconds,
    capped at ``max_delay`` and scaled by a random factor in ``[1 - jitter, 1]``. The client
    gives up after ``attempts`` dials, or once ``give_up_after`` seconds passed since the drop,
    and every job and request then fails with :class:`~arcp.errors.ReconnectFailedError`.
    ``dial_timeout`` bounds one dial.
    """

    attempts: int = 10
    first_delay: float = 0.05
    factor: float = 2.0
    max_delay: float = 5.0
    jitter: float = 0.5
    give_up_after: float | None = None
    dial_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.first_delay < 0 or self.max_delay < 0 or self.factor < 1:
            raise ValueError("delays must be non-negative and factor at least 1")
        if not self.dial_timeout > 0:
            raise ValueError("dial_timeout must be positive")

    def delays(self) -> Iterator[float]:
        """The delay before each attempt, in order."""
        delay = self.first_delay
        for attempt in range(self.attempts):
            if attempt == 0:
                yield 0.0
                continue
            yield delay * (1.0 - self.jitter * random.random())
            delay = min(self.max_delay, delay * self.factor)


def resolve_target(
    target: Target, *, ssl: _ssl.SSLContext | None = None
) -> tuple[Transport | None, ConnectionFactory | None]:
    """Split a target into (an open transport, a factory to dial again); one may be None.
    ``ssl`` (a URL target only) is the TLS context for ``wss://``: a custom CA, a client
    certificate."""
    if isinstance(target, str):
        url = target
        if not url.startswith(("ws://", "wss://")):
            raise ValueError("an ARCP URL must start with ws:// or wss://")
        if ssl is not None and not url.startswith("wss://"):
            raise ValueError("ssl= needs a wss:// URL")

        async def dial() -> Transport:
            from arcp.transport.websocket import connect_websocket

            return await connect_websocket(url, ssl=ssl)

        return None, dial
    if ssl is not None:
        raise ValueError("ssl= applies to a wss:// URL only")
    if isinstance(target, Transport):
        return target, None
    if callable(target):
        return None, target
    raise TypeError("target must be a ws:// URL, a Transport, or a connection factory")


def backoff_delays(
    *, first: float = 0.05, factor: float = 2.0, cap: float = 5.0, attempts: int = 10
) -> Iterator[float]:
    """Bounded exponential backoff with jitter: the delay before each reconnect attempt."""
    policy = ReconnectPolicy(attempts=attempts, first_delay=first, factor=factor, max_delay=cap)
    return policy.delays()


async def redial(
    factory: ConnectionFactory, policy: ReconnectPolicy, clock: Callable[[], float]
) -> tuple[Transport | None, int]:
    """Dial again under ``policy`` (§6.3): the new transport, or ``None`` once the policy
    gives up; and the number of attempts. ``clock`` is the loop's monotonic time."""
    started = clock()
    attempts = 0
    for delay in policy.delays():
        if policy.give_up_after is not None:
            left = started + policy.give_up_after - clock()
            if left <= delay:
                break
        if delay:
            await asyncio.sleep(delay)
        attempts += 1
        try:
            async with asyncio.timeout(policy.dial_timeout):
                return await factory(), attempts
        except Exception as exc:  # any failure to dial: try again after the next delay
            _log.warning("reconnect failed (%s)", type(exc).__name__)
    _log.warning("giving up reconnecting after %d attempts", attempts)
    return None, attempts
