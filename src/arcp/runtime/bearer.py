"""Bearer tokens to principals (§6.1): a fixed map, a pluggable verifier, or no check."""

from __future__ import annotations

import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import cast

__all__ = ["BearerAuth", "TokenVerifier"]

log = logging.getLogger("arcp.runtime")

TokenVerifier = Callable[[str], "str | Awaitable[str | None] | None"]
"""Maps a bearer token to a principal, or None to refuse it (§6.1)."""


class BearerAuth:
    """Who a ``session.hello`` bearer token speaks for (§6.1).

    ``tokens`` is a map of token to principal, a :data:`TokenVerifier`, or None to accept
    every session as ``"anonymous"``. A map is compared in constant time per entry; a
    verifier that raises refuses the session (the error is logged, never the token).
    """

    __slots__ = ("_map", "_verifier")

    def __init__(self, tokens: Mapping[str, str] | TokenVerifier | None) -> None:
        self._map: dict[str, str] | None = None
        self._verifier: TokenVerifier | None = None
        if isinstance(tokens, Mapping):
            self._map = {str(k): str(v) for k, v in cast(Mapping[str, str], tokens).items()}
        else:
            self._verifier = tokens

    async def principal(self, token: str | None) -> str | None:
        """The principal ``token`` authenticates, or None to refuse the session."""
        if self._map is None and self._verifier is None:
            return "anonymous"
        if token is None:
            return None
        if self._map is not None:
            found: str | None = None
            for known, principal in self._map.items():  # no early exit: constant time
                if hmac.compare_digest(known.encode(), token.encode()):
                    found = principal
            return found
        assert self._verifier is not None
        try:
            verdict = self._verifier(token)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception:
            log.exception("token verifier failed; refusing the session")
            return None
        return verdict if isinstance(verdict, str) else None
