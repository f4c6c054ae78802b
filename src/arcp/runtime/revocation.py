"""Job credentials over their lifetime: issue, rotate, and revoke through an outbox (§9.8.2, §14).

:class:`CredentialKeeper` holds each job's live credentials. When a job reaches any terminal
state its credentials move to a :class:`RevocationOutbox` and a background flusher revokes
them, retrying with backoff until the provisioner succeeds. The outbox is an interface so a
durable store can replace :class:`MemoryRevocationOutbox` (revocation must survive restarts).
Only credential ids are kept there and logged; values never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from arcp.runtime.credentials import CredentialProvisioner, CredentialRequest, IssuedCredential

__all__ = ["CredentialKeeper", "MemoryRevocationOutbox", "PendingRevocation", "RevocationOutbox"]

log = logging.getLogger("arcp.runtime.credentials")


@dataclass(slots=True)
class PendingRevocation:
    """One credential that must still be revoked upstream (no secret is kept)."""

    credential_id: str
    job_id: str
    attempts: int = 0


class RevocationOutbox(Protocol):
    """Outstanding revocations; a durable implementation persists them (§14).

    ``issued`` tells of a credential that is live now: a durable outbox records it, so that
    a process that dies before the job ends still leaves it to revoke; it is not
    :meth:`pending` until ``add``.
    """

    def issued(self, entry: PendingRevocation) -> None: ...

    def add(self, entry: PendingRevocation) -> None: ...

    def load(self, entries: Iterable[PendingRevocation]) -> None:
        """Take revocations a store already holds (left by a previous process or by a node
        gone silent) as pending, without recording them again."""
        ...

    def done(self, credential_id: str) -> None: ...

    def pending(self) -> list[PendingRevocation]: ...


class MemoryRevocationOutbox:
    """The in-memory outbox (lost on restart; a runtime with a store keeps it durably)."""

    def __init__(self) -> None:
        self._entries: dict[str, PendingRevocation] = {}

    def issued(self, entry: PendingRevocation) -> None:
        """Nothing to do: a live credential dies with this process's memory anyway."""

    def add(self, entry: PendingRevocation) -> None:
        """Record a credential to revoke."""
        self._entries.setdefault(entry.credential_id, entry)

    def done(self, credential_id: str) -> None:
        """Forget a revoked credential."""
        self._entries.pop(credential_id, None)

    def load(self, entries: Iterable[PendingRevocation]) -> None:
        """Take ``entries`` as pending."""
        for entry in entries:
            self.add(entry)

    def pending(self) -> list[PendingRevocation]:
        """Every outstanding revocation, oldest first."""
        return list(self._entries.values())


class CredentialKeeper:
    """Issues each job's credential, rotates it, and revokes it at the job's end (§9.8.2)."""

    def __init__(
        self,
        provisioner: CredentialProvisioner,
        outbox: RevocationOutbox | None = None,
        *,
        retry_initial_sec: float = 0.05,
        retry_max_sec: float = 5.0,
    ) -> None:
        self.provisioner = provisioner
        self.outbox: RevocationOutbox = outbox if outbox is not None else MemoryRevocationOutbox()
        self._live: dict[str, list[IssuedCredential]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._initial = retry_initial_sec
        self._max = retry_max_sec

    def __repr__(self) -> str:
        return f"CredentialKeeper(jobs={len(self._live)}, pending={len(self.outbox.pending())})"

    def of(self, job_id: str) -> tuple[IssuedCredential, ...]:
        """The job's live credentials."""
        return tuple(self._live.get(job_id, ()))

    async def issue(self, request: CredentialRequest) -> IssuedCredential:
        """Mint the job's credential (before ``job.accepted``, §9.8.2)."""
        credential = await self.provisioner.issue(request)
        self._live.setdefault(request.job_id, []).append(credential)
        self.outbox.issued(PendingRevocation(credential.id, request.job_id))
        log.info("credential %s issued for job %s", credential.id, request.job_id)
        return credential

    async def rotate(self, job_id: str) -> list[IssuedCredential]:
        """Re-issue every live credential of the job; the new values, same ids."""
        rotated: list[IssuedCredential] = []
        live = self._live.get(job_id, [])
        for i, credential in enumerate(live):
            fresh = await self.provisioner.rotate(credential)
            live[i] = fresh
            rotated.append(fresh)
            log.info("credential %s rotated for job %s", credential.id, job_id)
        return rotated

    def release(self, job_id: str) -> None:
        """The job ended: queue its credentials for revocation and start flushing."""
        for credential in self._live.pop(job_id, ()):
            self.outbox.add(PendingRevocation(credential.id, job_id))
        self.retry_pending()

    def take(self, entries: Iterable[PendingRevocation]) -> None:
        """Revoke credentials a store held for revocation (§9.8.2), e.g. after a restart."""
        self.outbox.load(entries)
        self.retry_pending()

    def retry_pending(self) -> None:
        """Start revoking whatever the outbox holds (e.g. left by a previous process)."""
        if self.outbox.pending() and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush_until_empty())

    async def flush(self) -> bool:
        """Try every pending revocation once; True when none remain."""
        for entry in self.outbox.pending():
            entry.attempts += 1
            try:
                await self.provisioner.revoke(entry.credential_id)
            except Exception as exc:  # any failure is retried; never log secrets
                log.warning(
                    "revoking credential %s of job %s failed (attempt %d): %s",
                    entry.credential_id,
                    entry.job_id,
                    entry.attempts,
                    type(exc).__name__,
                )
                continue
            self.outbox.done(entry.credential_id)
            log.info("credential %s of job %s revoked", entry.credential_id, entry.job_id)
        return not self.outbox.pending()

    async def _flush_until_empty(self) -> None:
        delay = self._initial
        while not await self.flush():
            await asyncio.sleep(delay)
            delay = min(self._max, delay * 2)

    async def settled(self) -> None:
        """Wait until every queued revocation went through."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def aclose(self) -> None:
        """Revoke what is still live, try the outbox once more, report what is left (§14)."""
        for job_id in list(self._live):
            self.release(job_id)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if not await self.flush():
            for entry in self.outbox.pending():
                log.error(
                    "credential %s of job %s could not be revoked; revoke it upstream",
                    entry.credential_id,
                    entry.job_id,
                )
