"""Every spec event kind of the metamodel travels agent -> runtime -> client typed (§8.2),
through the one generic ``JobContext.emit``, gated as the metamodel says (§6.2).

Driven by the generated tables and the valid fixtures, so a kind a spec bump adds is covered
without a hand-written change (the bump rehearsal relies on it). A kind whose feature both
sides implement arrives as its body model; one whose feature either side does not advertise
yet never reaches the client.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from arcp.client import Client
from arcp.protocol.client_core import ALL_FEATURES
from arcp.protocol.runtime_core import SUPPORTED_FEATURES
from arcp.runtime import JobContext, Runtime
from arcp.transport import Transport, memory_pair
from arcp_gen.metamodel import EVENTS
from tests.spec._fixtures import valid_fixtures

_EMITTED_BY_THE_RUNTIME = {"tool_call", "tool_result", "delegate", "result_chunk"}


def _sample_bodies() -> dict[str, dict[str, Any]]:
    """A body per spec kind, taken from the valid fixtures (the first one of each kind)."""
    out: dict[str, dict[str, Any]] = {}
    for raw in valid_fixtures().values():
        doc = orjson.loads(raw)
        if doc["type"] == "job.event":
            kind = doc["payload"]["kind"]
            if kind in EVENTS and kind not in out:
                out.setdefault(kind, doc["payload"]["body"])
    return out


BODIES = _sample_bodies()
KINDS = sorted(k for k in EVENTS if k not in _EMITTED_BY_THE_RUNTIME)


def _body(kind: str) -> BaseModel:
    body = dict(BODIES[kind])
    body.pop("credential_value", None)  # a secret: emitted by the runtime only (§9.8.2)
    return EVENTS[kind].body.model_validate(body)


async def _run(kind: str) -> list[Any]:
    runtime = Runtime(tokens={"t": "alice"})

    @runtime.agent("emitter")
    async def emitter(_input: Any, ctx: JobContext) -> str:  # pyright: ignore[reportUnusedFunction]
        await ctx.emit(_body(kind))
        return "done"

    tasks: list[asyncio.Task[None]] = []

    async def dial() -> Transport:
        ours, theirs = memory_pair()
        tasks.append(asyncio.ensure_future(runtime.serve(theirs)))
        return ours

    client = await Client.connect(dial, token="t")
    try:
        handle = await client.submit("emitter")
        events = [e.payload async for e in handle]
        assert await handle.result() == "done"
        return events
    finally:
        await client.close()
        await runtime.aclose()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_every_spec_kind_has_a_sample_body() -> None:
    """§8.2: a valid fixture exists for each kind, so each can be emitted here."""
    assert set(EVENTS) <= set(BODIES)


@pytest.mark.parametrize("kind", KINDS)
async def test_kind_travels_typed_through_the_generic_emit(kind: str) -> None:
    """§8.2, §6.2: the event arrives as its generated body model where its feature is
    negotiated; a feature neither side lists (yet) keeps it from the client."""
    facts = EVENTS[kind]
    events = await _run(kind)
    matching = [e for e in events if e.kind == kind]
    feature = facts.feature
    if feature is None or (feature in ALL_FEATURES and feature in SUPPORTED_FEATURES):
        assert len(matching) == 1, events
        assert type(matching[0].body) is facts.body
        sent = _body(kind).model_dump(mode="json", exclude_none=True)
        assert matching[0].body.model_dump(mode="json", exclude_none=True) == sent
    else:
        assert matching == []


@pytest.mark.parametrize("kind", sorted(_EMITTED_BY_THE_RUNTIME & set(EVENTS)))
async def test_kinds_the_runtime_owns_are_refused(kind: str) -> None:
    """§9.3, §10, §8.4: tool calls, delegation and result chunks go through their checked
    helpers; the generic emit refuses them and the job fails instead."""
    runtime = Runtime(tokens={"t": "alice"})
    body = EVENTS[kind].body.model_validate(BODIES[kind])
    refused: list[BaseException] = []

    @runtime.agent("emitter")
    async def emitter(_input: Any, ctx: JobContext) -> str:  # pyright: ignore[reportUnusedFunction]
        try:
            await ctx.emit(body)
        except ValueError as exc:
            refused.append(exc)
        return "done"

    ours, theirs = memory_pair()
    serving = asyncio.ensure_future(runtime.serve(theirs))
    client = await Client.connect(ours, token="t")
    try:
        handle = await client.submit("emitter")
        assert await handle.result() == "done"
        assert len(refused) == 1
    finally:
        await client.close()
        await runtime.aclose()
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
