"""Where a client session's job traffic goes (§7.1, §7.6, §8): the stream of each job.

:class:`JobRouter` keeps the streams (:class:`~arcp.client.handle.JobHandle` for a submitted
job, :class:`~arcp.client.handle.Subscription` for an observed one) and the events that
arrive before their stream exists: a resume replays a job's events before the
``job.accepted`` of a resent submit (the first was lost in the drop, §6.3, §7.2), and some
runtimes replay before ``job.subscribed``. The driver routes each event here.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from arcp.client.handle import JobHandle, JobStream, StreamOwner, Subscription
from arcp.protocol.client_events import JobEnded, SubscriptionDropped
from arcp_gen.messages import JobAcceptedMessage, JobEventMessage, JobSubscribedMessage
from arcp_gen.models import JobAcceptedPayload

__all__ = ["JobRouter"]

_log = logging.getLogger("arcp.client")

_FINISHED_KEPT = 256
_STRAYS_KEPT = 100_000
"""Events of jobs without a stream kept at most (see :meth:`JobRouter.stray`)."""

Early = JobEventMessage | JobEnded


class JobRouter:
    """The streams of one client's jobs, fed by its driver."""

    def __init__(self, owner: StreamOwner) -> None:
        self._owner = owner
        self.streams: dict[str, JobStream] = {}
        """The stream of each job being received, by job id."""
        self.early: dict[str, list[Early]] = {}
        """Events of jobs with a subscribe in flight, by job id."""
        # Recently ended handles, so an idempotent resubmit (§7.2) gets the finished handle.
        self._finished: OrderedDict[str, JobHandle] = OrderedDict()
        self._strays: OrderedDict[str, list[Early]] = OrderedDict()
        self._stray_count = 0

    def handle(self, job_id: str) -> JobHandle | None:
        """The handle of a job this session submitted, running or recently ended."""
        stream = self.streams.get(job_id) or self._finished.get(job_id)
        return stream if isinstance(stream, JobHandle) else None

    def running_handles(self) -> list[JobHandle]:
        """The handles of submitted jobs that have not ended, oldest first."""
        return [s for s in self.streams.values() if isinstance(s, JobHandle) and not s.done]

    def adopt(self, accepted: JobAcceptedPayload) -> JobHandle:
        """A handle for a job submitted by the session this client took over (§6.3)."""
        handle = JobHandle(self._owner, accepted, accepted.trace_id)
        self.streams[accepted.job_id] = handle
        return handle

    def route(self, event: JobEventMessage) -> None:
        """An event to its job's stream, to the job's early events while its handle is being
        made, or to the strays (the hot path of every event)."""
        stream = self.streams.get(event.job_id)
        if stream is not None:
            stream.feed_event(event)
        elif self.early and event.job_id in self.early:
            self.early[event.job_id].append(event)
        else:
            self.stray(event)

    def stray(self, out: Early) -> None:
        """Keep an event of a job without a stream, a bounded number of them."""
        kept = self._strays.get(out.job_id)
        if kept is None:
            kept = self._strays[out.job_id] = []
        kept.append(out)
        self._stray_count += 1
        while self._stray_count > _STRAYS_KEPT:
            _, dropped = self._strays.popitem(last=False)
            self._stray_count -= len(dropped)

    def ended(self, out: JobEnded) -> None:
        """A job's outcome (§7.3): its stream ends."""
        stream = self.streams.pop(out.job_id, None)
        if stream is not None:
            stream.feed_outcome(out)
            if isinstance(stream, JobHandle):
                self._finish(stream)
        elif out.job_id in self.early:
            self.early[out.job_id].append(out)
        else:
            self.stray(out)

    def _finish(self, handle: JobHandle) -> None:
        self._finished[handle.job_id] = handle
        if len(self._finished) > _FINISHED_KEPT:
            self._finished.popitem(last=False)

    def dropped(self, out: SubscriptionDropped) -> None:
        """The runtime unsubscribed us from a job (§13.2): end that subscription with the
        error; a view tee'd off this session's own handle is not affected (the runtime
        never drops the submitting session, it throttles the agent)."""
        stream = self.streams.get(out.job_id)
        if isinstance(stream, Subscription):
            del self.streams[out.job_id]
            stream.feed_outcome(out.error)
        else:
            _log.warning("session.error about job %s: %s", out.job_id, out.error)

    def accepted(
        self, msg: JobAcceptedMessage, trace_id: str | None, *, wanted: bool
    ) -> JobHandle | JobAcceptedMessage:
        """The handle a ``job.accepted`` answers with: the existing one (an idempotent
        resubmit, §7.2), a new one when its caller still waits (``wanted``), else ``msg``."""
        job_id = msg.payload.job_id
        existing = self.streams.get(job_id) or self._finished.get(job_id)
        if isinstance(existing, JobHandle):
            return existing
        if not wanted:
            return msg
        handle = JobHandle(self._owner, msg.payload, trace_id)
        self.streams[job_id] = handle
        self._adopt_strays(handle)
        return handle

    def _adopt_strays(self, handle: JobHandle) -> None:
        """Give a new handle the events of its job that arrived before its job.accepted."""
        kept = self._strays.pop(handle.job_id, None)
        if kept is None:
            return
        self._stray_count -= len(kept)
        for out in kept:
            if isinstance(out, JobEnded):
                self.streams.pop(handle.job_id, None)
                handle.feed_outcome(out)
                self._finished[handle.job_id] = handle
            else:
                handle.feed_event(out)

    def subscribed(self, msg: JobSubscribedMessage) -> Subscription:
        """A new subscription (§7.6), fed what arrived before ``job.subscribed``; a view of
        this session's own stream of the job when it has one."""
        sub = Subscription(self._owner, msg.payload)
        ended = False
        for early in self.early.pop(sub.job_id, ()):
            if isinstance(early, JobEnded):
                sub.feed_outcome(early)
                ended = True
            else:
                sub.feed_event(early)
        existing = self.streams.get(sub.job_id)
        if ended:
            pass
        elif existing is not None and not existing.done:
            existing.add_view(sub)
        else:
            self.streams[sub.job_id] = sub
        return sub

    def unsubscribed(self, sub: Subscription) -> bool:
        """Detach ``sub``; True when it was a view of a job this session receives anyway
        (then nothing is sent)."""
        stream = self.streams.get(sub.job_id)
        if stream is not None and stream.remove_view(sub):
            return True
        if stream is sub:
            del self.streams[sub.job_id]
        return False

    def fail_all(self, error: BaseException) -> None:
        """The client stopped: every stream ends with ``error``."""
        for stream in list(self.streams.values()):
            stream.feed_outcome(error)
        self.streams.clear()
