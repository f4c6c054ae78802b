"""What the sans-IO runtime core asks its driver to do (§6.1, §7.1, §7.4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from arcp.protocol.job_table import JobRecord
from arcp.protocol.runtime_connection import RuntimeConnection
from arcp.protocol.runtime_session import RuntimeSession
from arcp_gen.messages import SessionHelloMessage

__all__ = ["Action", "AskCluster", "Authenticate", "StartJob", "StopJob"]

H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Resolve the hello's bearer token, then call :meth:`RuntimeCore.on_authenticated`."""

    connection: RuntimeConnection
    hello: SessionHelloMessage = field(repr=False)
    token: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class StartJob(Generic[H]):
    """Run ``handler`` for ``job`` (§7.1)."""

    job: JobRecord
    handler: H


@dataclass(frozen=True, slots=True)
class StopJob:
    """The job reached a terminal state early (cancel, timeout): stop its agent (§7.4)."""

    job: JobRecord


@dataclass(frozen=True, slots=True)
class AskCluster:
    """The request needs the database several runtime nodes share: a resume of a session
    this node does not hold, a job running elsewhere, a listing, or a new idempotency key
    (then ``fingerprint`` is the submit's parameters, §7.2)."""

    connection: RuntimeConnection | None
    session: RuntimeSession | None
    message: Any = field(repr=False)
    fingerprint: bytes = field(default=b"", repr=False)


Action = Authenticate | StartJob[Any] | StopJob | AskCluster
