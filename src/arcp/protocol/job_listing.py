"""One page of a principal's jobs, sans-IO (§6.6): the request's filter and the answer.

Shared by a runtime listing its own jobs and a cluster node listing every node's.
"""

from __future__ import annotations

from dataclasses import dataclass

from arcp.ids import parse_timestamp, utc_timestamp
from arcp.protocol.job_table import JobRecord, encode_cursor
from arcp.protocol.runtime_session import RuntimeSession
from arcp_gen.errors import InvalidRequestError
from arcp_gen.messages import SessionListJobsMessage

__all__ = ["ListQuery", "send_jobs"]


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A ``session.list_jobs`` request's filter, checked (§6.6)."""

    statuses: frozenset[str] | None
    agent: str | None
    created_after: str | None
    limit: int
    cursor: str | None

    @classmethod
    def of(cls, message: SessionListJobsMessage) -> ListQuery:
        """Parse the filter; ``INVALID_REQUEST`` for a bad ``created_after``."""
        p = message.payload
        flt = p.filter
        created_after = None
        if flt is not None and flt.created_after is not None:
            try:
                created_after = utc_timestamp(parse_timestamp(flt.created_after))
            except ValueError:
                raise InvalidRequestError("filter.created_after is not a valid time") from None
        return cls(
            statuses=frozenset(flt.status) if flt is not None and flt.status else None,
            agent=flt.agent if flt is not None else None,
            created_after=created_after,
            limit=p.limit or 100,
            cursor=p.cursor,
        )


def send_jobs(
    session: RuntimeSession, request_id: str, jobs: list[JobRecord], last: JobRecord | None
) -> None:
    """Queue one ``session.jobs`` page; ``last`` is the job the next page starts after."""
    session.control(
        "session.jobs",
        {
            "request_id": request_id,
            "jobs": [job.summary() for job in jobs],
            "next_cursor": encode_cursor(last) if last is not None else None,
        },
    )
