"""Provisioned credentials end to end (§9.8, §13.7, §14): issued with job.accepted, rotated
to the submitter only, revoked at every terminal state, never logged or forwarded."""

from __future__ import annotations

import logging

import pytest

from arcp.client.lease import Lease
from arcp.protocol.job_table import JobRecord
from arcp_gen.errors import (
    JobCancelledError,
    JobTimeoutError,
    PermissionDeniedError,
)
from arcp_gen.features import Feature
from arcp_gen.models import StatusEvent
from tests.e2e.authority_stack import Auth, auth_fixture  # noqa: F401  # pyright: ignore[reportUnusedImport]
from tests.e2e.conftest import _STACKS, ALICE, BOB  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("ending", ["success", "error", "cancel", "timeout"])
async def test_credentials_are_revoked_at_every_terminal_state(auth: Auth, ending: str) -> None:
    """§9.8.2: one credential per job, issued by job.accepted, revoked however the job ends;
    a failing revocation is retried from the outbox until it succeeds."""
    auth.provisioner.fail_revocations = 2
    async with await auth.connect() as client:
        assert Feature.PROVISIONED_CREDENTIALS in client.features
        if ending == "success":
            job = await client.submit("echo", 1)
        elif ending == "error":
            job = await client.submit("reader", {"path": "/etc/passwd"})
        elif ending == "cancel":
            job = await client.submit("slow", {"sec": 30})
        else:
            job = await client.submit("slow", {"sec": 30}, max_runtime_sec=0.2)
        (credential,) = job.credentials
        assert credential.value.startswith("sk-arcp-")
        assert credential.value not in repr(credential) and credential.value not in repr(job)
        assert auth.provisioner.accepts(credential.value)
        if ending == "cancel":
            await job.cancel()
        expected = {
            "success": None,
            "error": PermissionDeniedError,
            "cancel": JobCancelledError,
            "timeout": JobTimeoutError,
        }[ending]
        if expected is None:
            await job.result()
        else:
            with pytest.raises(expected):
                await job.result()
    await auth.runtime.revocations_settled()
    assert not auth.provisioner.is_live(credential.id)
    assert auth.provisioner.revoked == [credential.id]
    assert not auth.provisioner.accepts(credential.value)


async def test_credential_values_reach_the_submitter_only(
    auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    """§9.8, §14: values never appear in logs, job.subscribed, session.jobs or the
    credential_rotated events forwarded to another principal's subscription."""
    caplog.set_level(logging.DEBUG)
    async with await auth.connect(record=True) as alice:
        job = await alice.submit("rotator", None, lease=Lease().model_use("tier-fast/*"))
        (issued,) = job.credentials
        assert issued.constraints == {"model.use": ["tier-fast/*"]}
        async with await auth.connect(BOB, record=True) as bob:
            sub = await bob.subscribe(job.job_id)
            assert sub.subscribed.credentials is None
            async with await auth.connect(ALICE, record=True) as alice_too:
                [j async for j in alice_too.list_jobs()]
                sub_too = await alice_too.subscribe(job.job_id)
                auth.release.set()
                alice_events = [e.payload async for e in job]
                assert await job.result() == "rotated"
                bob_events = [e.payload async for e in sub]
                await sub_too.result()
        assert job.credentials == () and job.accepted.credentials is None  # dropped at the end
    (new_value,) = [
        p.body.credential_value
        for p in alice_events
        if isinstance(p, StatusEvent) and p.body.phase == "credential_rotated"
    ]
    assert new_value is not None and new_value != issued.value
    bob_rotations = [
        p.body
        for p in bob_events
        if isinstance(p, StatusEvent) and p.body.phase == "credential_rotated"
    ]
    assert [(b.credential_id, b.credential_value) for b in bob_rotations] == [(issued.id, None)]
    secrets = (issued.value, new_value)
    submitter, *others = auth.recordings
    assert any(issued.value.encode() in frame for frame in submitter.received)
    assert any(new_value.encode() in frame for frame in submitter.received)
    for recording in others:
        for frame in recording.received:
            assert not any(s.encode() in frame for s in secrets)
    for record in caplog.records:  # every logger, websockets' own included
        text = record.getMessage() + str(record.args) + str(record.exc_text)
        assert not any(s in text for s in secrets), (record.name, record.getMessage()[:300])


async def test_jobs_table_repr_hides_secrets(auth: Auth) -> None:
    async with await auth.connect() as client:
        job = await client.submit("echo", 1)
        (credential,) = job.credentials
        await job.result()
        record: JobRecord = auth.runtime.core.jobs.jobs[job.job_id]
        assert credential.value not in repr(record)
        assert credential.value not in repr(auth.runtime.credentials)


async def test_serve_demo_enables_models_and_credentials() -> None:
    """`arcp serve --demo` advertises model.use (policy "require") and issues credentials
    from the reference provisioner."""
    async with _STACKS["stdio"]() as stdio, await stdio.connect() as client:
        assert {Feature.MODEL_USE, Feature.PROVISIONED_CREDENTIALS} <= client.features
        job = await client.submit(
            "modeler", {"model": "tier-fast/mini"}, lease=Lease().model_use("tier-fast/*")
        )
        assert len(job.credentials) == 1
        assert await job.result() == {"model": "tier-fast/mini", "credentials": 1}
