"""Job outcomes (§7.3) and reassembly of streamed results from ``result_chunk`` events (§8.4).

Chunks are collected per job and ``result_id``. When the job's ``job.result`` names a
``result_id``, the chunks' decoded data are joined in ``chunk_seq`` order: all-``utf8``
results become ``str``, anything with a ``base64`` chunk becomes ``bytes``.
"""

from __future__ import annotations

import base64
import binascii

from arcp.protocol.client_events import JobEnded
from arcp_gen.errors import (
    ARCPError,
    InternalError,
    JobCancelledError,
    JobTimeoutError,
    error_from_payload,
)
from arcp_gen.messages import JobErrorMessage, JobResultMessage
from arcp_gen.models import ResultChunkBody

__all__ = ["ResultAssembler", "job_outcome"]


class _Parts:
    __slots__ = ("binary", "chunks", "complete", "in_order")

    def __init__(self) -> None:
        self.chunks: list[tuple[int, str, bool]] = []  # (chunk_seq, data, is_base64)
        self.binary = False
        self.complete = False
        self.in_order = True


class ResultAssembler:
    """Collects chunks as they arrive and joins them when the job ends."""

    def __init__(self) -> None:
        self._jobs: dict[str, dict[str, _Parts]] = {}

    def add(self, job_id: str, body: ResultChunkBody) -> None:
        """Keep one chunk of ``job_id``'s streamed result."""
        results = self._jobs.get(job_id)
        if results is None:
            results = self._jobs[job_id] = {}
        parts = results.get(body.result_id)
        if parts is None:
            parts = results[body.result_id] = _Parts()
        is_b64 = body.encoding == "base64"
        if parts.chunks and parts.chunks[-1][0] >= body.chunk_seq:
            parts.in_order = False
        parts.chunks.append((body.chunk_seq, body.data, is_b64))
        parts.binary = parts.binary or is_b64
        if not body.more:
            parts.complete = True

    def finish(self, job_id: str, result_id: str | None) -> str | bytes:
        """Join ``result_id``'s chunks and forget everything kept for ``job_id``.

        Raises :class:`InternalError` when the chunks are missing or incomplete.
        """
        results = self._jobs.pop(job_id, {})
        parts = results.get(result_id) if result_id is not None else None
        if parts is None:
            raise InternalError(
                "the job streamed its result but no chunks of it were received",
                retryable=False,
                details={"result_id": result_id},
            )
        chunks = parts.chunks if parts.in_order else sorted(parts.chunks, key=lambda c: c[0])
        seqs = [seq for seq, _, _ in chunks]
        if not parts.complete or seqs != list(range(len(seqs))):
            raise InternalError(
                "the streamed result is incomplete",
                retryable=False,
                details={"result_id": result_id, "chunks": len(seqs)},
            )
        if not parts.binary:
            return "".join(data for _, data, _ in chunks)
        try:
            return b"".join(
                base64.b64decode(data, validate=True) if b64 else data.encode()
                for _, data, b64 in chunks
            )
        except (binascii.Error, ValueError):
            raise InternalError(
                "a base64 result chunk is not valid base64",
                retryable=False,
                details={"result_id": result_id},
            ) from None

    def discard(self, job_id: str) -> None:
        """Forget any chunks kept for ``job_id``."""
        self._jobs.pop(job_id, None)


def job_outcome(msg: JobResultMessage | JobErrorMessage, results: ResultAssembler) -> JobEnded:
    """What a terminal message means (§7.3): the result, reassembled if streamed (§8.4), or
    the typed error. A legacy ``job.result`` with ``final_status`` ``cancelled`` /
    ``timed_out`` becomes the matching error."""
    job_id = msg.job_id
    if isinstance(msg, JobErrorMessage):
        results.discard(job_id)
        return JobEnded(job_id, msg, error=error_from_payload(msg.payload))
    payload = msg.payload
    if payload.final_status != "success":
        results.discard(job_id)
        return JobEnded(job_id, msg, error=_legacy_error(payload.final_status, payload.summary))
    if payload.result_id is None:
        results.discard(job_id)
        return JobEnded(job_id, msg, result=payload.result)
    try:
        return JobEnded(job_id, msg, result=results.finish(job_id, payload.result_id))
    except InternalError as error:
        return JobEnded(job_id, msg, error=error)


def _legacy_error(final_status: str, summary: str | None) -> ARCPError:
    if final_status == "cancelled":
        return JobCancelledError(summary or "the job was cancelled")
    if final_status == "timed_out":
        return JobTimeoutError(summary or "the job ran past its max_runtime_sec")
    return InternalError(summary or "the job failed", retryable=False)
