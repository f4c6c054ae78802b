"""Every submit argument is checked against the generated schema before it is sent (#12.1).

The real client against the real runtime over memory transports: a malformed argument raises
a typed ``InvalidRequestError`` naming the field, nothing reaches the wire (no job exists),
and the session goes on. A malformed lease never widens authority (§9.2).
"""

from __future__ import annotations

from typing import Any

import pytest

from arcp.client import Client
from arcp.client.lease import Lease
from arcp.protocol.client_session import ClientSession
from arcp.runtime import Runtime
from arcp_gen.errors import InvalidRequestError, PermissionDeniedError

from .conftest import TOKEN, Dialer


async def _refused(client: Client, runtime: Runtime, **submit: Any) -> InvalidRequestError:
    submit.setdefault("agent", "echo")
    with pytest.raises(InvalidRequestError) as info:
        await client.submit(**submit)
    assert len(runtime.core.jobs) == 0  # nothing was sent
    return info.value


@pytest.mark.parametrize(
    ("submit", "field"),
    [
        ({"lease": {"tool.call": "search.*"}}, "lease_request.tool.call"),
        ({"lease": {"cost.budget": "USD:5"}}, "lease_request.cost.budget"),
        ({"lease": {"fs.read": {"/": 1}}}, "lease_request.fs.read"),
        ({"lease": {"fs.read": ["/data/**", 3]}}, "lease_request.fs.read"),
        ({"lease": '{"tool.call": ["x"]}'}, "lease_request"),
        ({"lease": {"root.everything": ["*"]}}, "lease_request.root.everything"),
        ({"lease": {"cost.budget": ["5 dollars"]}}, "lease_request.cost.budget[0]"),
        ({"lease_constraints": "soon"}, "lease_constraints"),
        ({"lease_constraints": {"expires_at": 5}}, "lease_constraints.expires_at"),
        ({"lease_constraints": {"expires_at": "tomorrow"}}, "lease_constraints.expires_at"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": 42}, "idempotency_key"),
        ({"max_runtime_sec": "10"}, "max_runtime_sec"),
        ({"max_runtime_sec": True}, "max_runtime_sec"),
        ({"max_runtime_sec": float("nan")}, "max_runtime_sec"),
        ({"max_runtime_sec": float("inf")}, "max_runtime_sec"),
        ({"max_runtime_sec": -1}, "max_runtime_sec"),
        ({"agent": "Bad Name!"}, "agent"),
        ({"agent": 7}, "agent"),
        ({"input": {"x": float("nan")}}, "input.x"),
        ({"input": [1, float("-inf")]}, "input[1]"),
        ({"input": {"n": 2**64}}, "input.n"),
    ],
)
async def test_malformed_arguments_are_refused_before_sending(
    dialer: Dialer, runtime: Runtime, submit: dict[str, Any], field: str
) -> None:
    """§7.1: the client validates through the generated models; ``details.field`` names the
    wire field, and the message is a sentence, not a validator dump."""
    async with Client.connect(dialer, token=TOKEN) as client:
        error = await _refused(client, runtime, **submit)
        assert error.details["field"] == field
        assert "\n" not in str(error) and "pydantic" not in str(error)
        handle = await client.submit("echo", "still fine")
        assert await handle.result() == "still fine"


async def test_a_string_lease_never_widens_authority(dialer: Dialer, runtime: Runtime) -> None:
    """#12.1: ``{"tool.call": "search.*"}`` used to be split into one-character patterns, and
    the ``*`` let every tool call through; it is refused, and a list grants only search.*."""

    @runtime.agent("caller")
    async def caller(input: Any, ctx: Any) -> Any:
        return await ctx.tool_call(input, None, lambda args: "called")

    async with Client.connect(dialer, token=TOKEN) as client:
        error = await _refused(client, runtime, agent="caller", lease={"tool.call": "search.*"})
        assert str(error) == "lease_request.tool.call must be a list of patterns, not a string."
        allowed = await client.submit("caller", "search.web", lease={"tool.call": ["search.*"]})
        assert await allowed.result() == "called"
        denied = await client.submit("caller", "shell.exec", lease={"tool.call": ["search.*"]})
        with pytest.raises(PermissionDeniedError):
            await denied.result()


async def test_a_string_budget_says_what_a_budget_looks_like(
    dialer: Dialer, runtime: Runtime
) -> None:
    """A string ``cost.budget`` gets a clear message, not ``'U' is not currency:decimal``."""
    async with Client.connect(dialer, token=TOKEN) as client:
        error = await _refused(client, runtime, lease={"cost.budget": "USD:5"})
    assert "a list of amounts such as" in str(error)
    assert "'U'" not in str(error)


def test_the_lease_builder_refuses_a_string() -> None:
    """``arcp.client.lease.Lease`` validates like the submit (§9.2)."""
    with pytest.raises(InvalidRequestError) as info:
        Lease({"tool.call": "search.*"})  # type: ignore[dict-item]
    assert info.value.details["field"] == "lease_request.tool.call"
    assert Lease({"tool.call": ("search.*",)})["tool.call"] == ["search.*"]


async def test_features_given_as_a_string_are_refused(dialer: Dialer) -> None:
    """``features="heartbeat"`` is a TypeError on both ends, never nine one-letter flags."""
    with pytest.raises(TypeError, match="not a string"):
        await Client.connect(dialer, token=TOKEN, features="heartbeat")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a string"):
        Runtime(features="heartbeat")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a string"):
        ClientSession(features="heartbeat")
