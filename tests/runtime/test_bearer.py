"""Bearer tokens to principals (§6.1), without a connection."""

from __future__ import annotations

import logging

import pytest

from arcp.runtime.bearer import BearerAuth


async def test_a_token_map_names_the_principal_and_refuses_the_rest() -> None:
    auth = BearerAuth({"t-alice": "alice", "t-bob": "bob"})
    assert await auth.principal("t-alice") == "alice"
    assert await auth.principal("t-bob") == "bob"
    assert await auth.principal("t-alic") is None
    assert await auth.principal("") is None
    assert await auth.principal(None) is None


async def test_without_tokens_every_session_is_anonymous() -> None:
    assert await BearerAuth(None).principal(None) == "anonymous"
    assert await BearerAuth(None).principal("anything") == "anonymous"


async def test_a_verifier_may_answer_now_or_later() -> None:
    async def later(token: str) -> str | None:
        return "carol" if token == "t-carol" else None

    now = BearerAuth(lambda token: "dave" if token == "t-dave" else None)
    assert await now.principal("t-dave") == "dave"
    assert await now.principal("t-carol") is None
    assert await BearerAuth(later).principal("t-carol") == "carol"
    assert await BearerAuth(later).principal(None) is None


async def test_a_failing_verifier_refuses_without_logging_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(token: str) -> str:
        raise RuntimeError("directory unreachable")

    with caplog.at_level(logging.DEBUG):
        assert await BearerAuth(broken).principal("s3cr3t-token-value") is None
    assert "token verifier failed" in caplog.text
    assert "s3cr3t-token-value" not in caplog.text
