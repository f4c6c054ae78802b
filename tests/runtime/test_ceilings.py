"""Authority ceilings and subscribe audit on the wire (§7.6, §9, §14; issue #13 item 5)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from arcp.protocol.ceilings import Ceilings
from arcp.runtime import JobContext, Runtime
from arcp.runtime.policy import PolicyError, load_policy
from arcp_gen.errors import ARCPError
from tests.runtime.wire import connect

CEILINGS = {
    "alice": {"lease": {"fs.read": ["/workspace/**"], "model.use": ["tier-fast/*"]}},
    "*": {"lease": {"tool.call": ["search.*"]}, "max_lease_sec": 600},
}


def _runtime(**options: Any) -> Runtime:
    rt = Runtime(tokens={"t": "alice", "tb": "bob"}, model_policy="require", **options)

    @rt.agent("echo")
    async def echo(input: Any, ctx: JobContext) -> Any:
        return input

    return rt


async def test_serve_no_longer_grants_any_lease_a_client_asks_for() -> None:
    """Issue #13 item 5: `arcp serve` granted fs.read ["/**"] and model.use ["**"] to anyone.
    With ceilings, a lease over the principal's ceiling is PERMISSION_DENIED naming the
    grant; one inside it is accepted unchanged; no job id is minted for the refusal."""
    rt = _runtime(ceilings=CEILINGS)
    peer = connect(rt)
    await peer.hello("t")
    for lease, namespace in (
        ({"fs.read": ["/**"]}, "fs.read"),
        ({"model.use": ["**"]}, "model.use"),
    ):
        refused = await peer.submit("echo", 1, lease_request=lease)
        assert refused["type"] == "session.error"
        assert refused["payload"]["code"] == "PERMISSION_DENIED"
        assert refused["payload"]["details"]["namespace"] == namespace
    granted = {"fs.read": ["/workspace/app/**"], "model.use": ["tier-fast/small"]}
    accepted = await peer.submit("echo", 1, lease_request=granted)
    assert accepted["payload"]["lease"] == granted
    assert len(rt.core.jobs) == 1
    await rt.aclose()


async def test_the_star_ceiling_applies_to_other_principals_and_sets_an_expiry() -> None:
    """A request without expires_at under a ceiling with max_lease_sec inherits it (§9.4)
    and job.accepted echoes it (§7.1); a session without lease_expires_at is refused."""
    rt = _runtime(ceilings=Ceilings.from_mapping(CEILINGS))
    bob = connect(rt)
    await bob.hello("tb")
    accepted = await bob.submit("echo", 1, lease_request={"tool.call": ["search.web"]})
    assert "expires_at" in accepted["payload"]["lease_constraints"]
    refused = await bob.submit("echo", 1, lease_request={"fs.read": ["/workspace/x"]})
    assert refused["payload"]["code"] == "PERMISSION_DENIED"
    old = connect(rt)
    await old.hello("tb", features=["ack"])
    refused = await old.submit("echo", 1)
    assert refused["payload"]["code"] == "PERMISSION_DENIED"
    assert refused["payload"]["details"] == {"feature": "lease_expires_at"}
    await rt.aclose()


async def test_delegation_stays_under_the_ceiling() -> None:
    """A child's lease is a subset of its parent's (§9.4), so of the ceiling too:
    LEASE_SUBSET_VIOLATION for a child asking more (delegation keeps its own code)."""
    rt = _runtime(ceilings=CEILINGS)
    seen: list[str] = []

    @rt.agent("parent")
    async def parent(input: Any, ctx: JobContext) -> Any:
        try:
            await ctx.delegate("echo", 1, lease={"fs.read": ["/**"]})
        except ARCPError as exc:
            seen.append(exc.code.value)
        return None

    peer = connect(rt)
    await peer.hello("t")
    accepted = await peer.submit(
        "parent", None, lease_request={"fs.read": ["/workspace/**"], "agent.delegate": ["echo"]}
    )
    assert accepted["payload"]["code"] == "PERMISSION_DENIED"  # agent.delegate is over it
    ceilings = {"alice": {"lease": {"fs.read": ["/workspace/**"], "agent.delegate": ["*"]}}}
    rt2 = _runtime(ceilings=ceilings)
    rt2.register("parent", parent)
    peer2 = connect(rt2)
    await peer2.hello("t")
    job = await peer2.submit(
        "parent", None, lease_request={"fs.read": ["/workspace/**"], "agent.delegate": ["echo"]}
    )
    await peer2.until_terminal(job["job_id"])
    assert seen == ["LEASE_SUBSET_VIOLATION"]
    await rt.aclose()
    await rt2.aclose()


async def test_every_subscribe_decision_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """§14 "Cross-session subscription audit": subscriber principal and session, target job,
    target principal and decision, for allowed and denied subscriptions."""
    rt = _runtime()
    alice, bob = connect(rt), connect(rt)
    await alice.hello("t")
    await bob.hello("tb")
    job = await alice.submit("echo", 1)
    job_id = job["job_id"]
    caplog.set_level(logging.INFO, logger="arcp.runtime")
    await alice.request("job.subscribe", {"job_id": job_id, "history": True})
    await bob.request("job.subscribe", {"job_id": job_id})
    await bob.request("job.subscribe", {"job_id": "job_nope"})
    audits = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("audit: subscribe")
    ]
    assert audits == [
        f"audit: subscribe by principal 'alice' (session {alice.session_id}) to job {job_id} "
        "of principal 'alice': allowed",
        f"audit: subscribe by principal 'bob' (session {bob.session_id}) to job {job_id} "
        "of principal 'alice': denied",
        f"audit: subscribe by principal 'bob' (session {bob.session_id}) to job job_nope "
        "of principal None: denied",
    ]
    await rt.aclose()


def test_a_policy_file_in_toml_or_json(tmp_path: Path) -> None:
    toml = tmp_path / "policy.toml"
    toml.write_text(
        "[limits]\nhello_timeout_sec = 2.5\nidle_session_sec = 0\n\n"
        '[ceilings.alice]\nmax_lease_sec = 60\nlease = { "fs.read" = ["/w/**"] }\n'
    )
    policy = load_policy(toml)
    assert policy.limits.hello_timeout_sec == 2.5 and policy.limits.idle_session_sec is None
    assert policy.ceilings is not None
    alice = policy.ceilings.for_principal("alice")
    assert alice is not None and alice.max_lease_sec == 60
    json_file = tmp_path / "policy.json"
    json_file.write_text('{"ceilings": {"*": {"lease": {}}}}')
    assert load_policy(json_file).ceilings is not None


@pytest.mark.parametrize(
    "text",
    [
        '{"limits": {"hello_timeout": 1}}',
        '{"limits": {"max_input_bytes": -1}}',
        '{"ceilings": {"bob": {"lease": {"fs.read": "/**"}}}}',
        '{"other": 1}',
        "not json",
    ],
)
def test_a_bad_policy_file_is_a_policy_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(PolicyError, match=r"p\.json"):
        load_policy(path)
