"""The order of a session's job events (§8.3): ``event_seq`` checks, duplicates and gaps.

Every ``job.event``, ``job.result`` and ``job.error`` of a session carries the next
``event_seq``. :class:`EventSequence` keeps the highest one received in order (what a resume
presents, §6.3) and judges the rest: a duplicate is ignored, a gap breaks the connection so a
resume can fill it.
"""

from __future__ import annotations

import logging

from arcp_gen.errors import InternalError

__all__ = ["EventSequence"]

_log = logging.getLogger("arcp.client")


class EventSequence:
    """``last``: the highest ``event_seq`` received in order; ``resumes``: completed resumes."""

    __slots__ = ("_gap_at", "last", "resumes")

    def __init__(self, last: int = 0) -> None:
        self.last = last
        self.resumes = 0
        self._gap_at: tuple[int, int] | None = None  # (last, resumes) when a gap was seen

    def out_of_order(self, seq: int) -> InternalError | None:
        """Judge ``seq`` != ``last + 1``: ``None`` for a duplicate (ignored) or for a gap a
        resume already failed to fill, which is accepted (``last`` moves to ``seq - 1``);
        an error for a new gap, to repair by resuming (§8.3).

        The runtime may have lost events while we were detached (it does not buffer then,
        docs/interop.md): resuming again would loop, so the jump is accepted with a warning.
        The caller takes ``seq`` when ``seq == last + 1`` afterwards."""
        last = self.last
        if seq <= last:
            return None  # a duplicate, e.g. replayed after a resume (§6.3)
        if self._gap_at is not None and self._gap_at == (last, self.resumes - 1):
            _log.warning(
                "the runtime did not replay events %d..%d after a resume; they are lost",
                last + 1,
                seq - 1,
            )
            self._gap_at = None
            self.last = seq - 1
            return None
        self._gap_at = (last, self.resumes)
        return InternalError(
            f"event_seq jumped from {last} to {seq}",
            details={"expected": last + 1, "received": seq},
        )
