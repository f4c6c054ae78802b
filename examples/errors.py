"""Errors (§12): typed exceptions, retryable defaults, and where each failure surfaces."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arcp import ARCPError, Client, ErrorCode, JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.errors import (
    NEVER_RETRYABLE,
    RETRYABLE_DEFAULTS,
    AgentNotAvailableError,
    BudgetExhaustedError,
    InternalError,
    InvalidRequestError,
    error_from_payload,
)


async def main() -> None:
    # The taxonomy: 15 codes, each with a default for `retryable`.
    for code in ErrorCode:
        print(f"{code.value:28} retryable by default: {RETRYABLE_DEFAULTS[code]}")
    print("never retryable:", sorted(c.value for c in NEVER_RETRYABLE))

    # LEASE_EXPIRED and BUDGET_EXHAUSTED stay non-retryable whatever anyone says.
    print(BudgetExhaustedError("spent", retryable=True).retryable)
    decoded = error_from_payload({"code": "LEASE_EXPIRED", "message": "late", "retryable": True})
    print(type(decoded).__name__, decoded.retryable)
    legacy = error_from_payload({"code": "INVALID_REQUEST", "message": "bad", "detail": "x"})
    print(legacy.details)  # a legacy `detail` string is kept under details["detail"]

    # The runtime logs an agent's unexpected exception with its traceback for the operator
    # (logger "arcp.runtime"); the client only ever sees a short INTERNAL_ERROR.
    logging.getLogger("arcp.runtime").setLevel(logging.CRITICAL)
    runtime = Runtime()

    @runtime.agent("picky")
    async def picky(input: Any, ctx: JobContext) -> Any:
        if not isinstance(input, int):
            raise InvalidRequestError("input must be an integer", details={"got": repr(input)})
        if input < 0:
            raise RuntimeError("a bug")  # any other exception: INTERNAL_ERROR, no details leak
        return input * 2

    sessions: list[asyncio.Task[None]] = []  # one serve() task per connection

    async def dial() -> Transport:
        ours, theirs = memory_pair()
        sessions.append(asyncio.ensure_future(runtime.serve(theirs)))
        return ours

    async with Client.connect(dial) as client:
        # A refused request: session.error, raised by the call that sent it.
        try:
            await client.submit("nobody")
        except AgentNotAvailableError as err:
            print("session.error:", err.code, "retryable:", err.retryable)

        # A job that fails: job.error, raised by result() (and ending iteration).
        for value in ("ten", -1):
            job = await client.submit("picky", value)
            try:
                await job.result()
            except ARCPError as err:
                print("job.error:", err.code, err.message, err.details, job.status)
                assert isinstance(err, InvalidRequestError | InternalError)

    await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main())
