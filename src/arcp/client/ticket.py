"""What another process needs to continue a session (§6.3): :class:`SessionTicket`.

Resume, not subscribe, carries cancel authority (§7.7): a process that holds the ticket of the
session that submitted a job may cancel it (§7.4) or follow it to its end. The resume token
is a secret: it is left out of ``repr`` and must be stored with owner-only permissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from arcp_gen.models import JobAcceptedPayload

__all__ = ["SessionTicket"]


@dataclass(frozen=True, slots=True)
class SessionTicket:
    """A session's id, its current resume token, the last ``event_seq`` its client saw, and
    the jobs it submitted that had not ended (their ``job.accepted``, credentials removed).

    The token rotates on every welcome (§6.3): a ticket is good for one resume; take a new
    one from the resumed client before handing the session on again.

    "Saw" means received: events already queued in a handle but not yet read count as seen
    and are not replayed to the resumed client (read them first, or take the ticket before
    the job streams, as ``arcp submit --detach`` does).
    """

    session_id: str
    resume_token: str = field(repr=False)
    last_event_seq: int
    jobs: tuple[JobAcceptedPayload, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (contains the resume token: store it privately)."""
        return {
            "session_id": self.session_id,
            "resume_token": self.resume_token,
            "last_event_seq": self.last_event_seq,
            "jobs": [job.model_dump(mode="json", exclude_none=True) for job in self.jobs],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionTicket:
        """Read :meth:`to_json`'s output back; ``ValueError`` if it is not one."""
        session_id = data.get("session_id")
        token = data.get("resume_token")
        seq = data.get("last_event_seq")
        jobs = data.get("jobs", [])
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("a session ticket needs a session_id")
        if not isinstance(token, str) or not token:
            raise ValueError("a session ticket needs a resume_token")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("a session ticket needs a last_event_seq >= 0")
        if not isinstance(jobs, list):
            raise ValueError("a session ticket's jobs must be a list")
        try:
            accepted = tuple(JobAcceptedPayload.model_validate(job) for job in jobs)  # pyright: ignore[reportUnknownVariableType]
        except ValidationError:
            raise ValueError("a session ticket's jobs must be job.accepted payloads") from None
        return cls(session_id, token, seq, accepted)

    @property
    def job_ids(self) -> tuple[str, ...]:
        """The ids of :attr:`jobs`."""
        return tuple(job.job_id for job in self.jobs)
