"""A runtime session's resume token, sans-IO: rotated on every welcome, kept hashed (§6.3, §14).

The token itself is never kept, only its SHA-256 digest, and presented tokens are compared
in constant time. A resume presents the token the client holds; the client may lose the
welcome that rotates it (a drop right after the resume), so that token stays valid until a
frame on the new connection shows that the rotated one arrived.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["ResumeTokens", "hash_resume_token"]


def hash_resume_token(token: str) -> bytes:
    """The stored form of a resume token: its SHA-256 digest (§14)."""
    return hashlib.sha256(token.encode()).digest()


class ResumeTokens:
    """The digest of the current resume token and of the one a resume presented."""

    __slots__ = ("_prior", "digest")

    def __init__(self) -> None:
        self.digest = b""
        """The SHA-256 digest of the current token (empty before the first welcome)."""
        self._prior = b""  # the token before the newest welcome, until it is known

    def __repr__(self) -> str:
        return "ResumeTokens(...)"

    def rotate(self) -> str:
        """A fresh token for a welcome; only its digest is kept (§6.3)."""
        token = "rt_" + secrets.token_urlsafe(32)
        self.digest = hash_resume_token(token)
        return token

    def matches(self, token: str) -> bool:
        """Constant-time check of a presented token against the current and prior digests."""
        digest = hash_resume_token(token)
        current = hmac.compare_digest(digest, self.digest)
        prior = hmac.compare_digest(digest, self._prior or b"-")
        return current or prior

    def accept(self, token: str) -> None:
        """A resume presented ``token``: keep it valid until the rotated one is known."""
        digest = hash_resume_token(token)
        if hmac.compare_digest(digest, self.digest):
            self._prior = digest

    def settle(self) -> None:
        """A frame arrived after the newest welcome: the prior token is no longer accepted."""
        self._prior = b""
