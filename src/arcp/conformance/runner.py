"""Run every scenario against one runtime URL and collect a :class:`Report`."""

from __future__ import annotations

import asyncio
import contextlib

from arcp.conformance import (
    checks_events,
    checks_jobs,
    checks_resume,
    checks_session,
    checks_subscribe,
    checks_wire,
)
from arcp.conformance.model import CheckResult, CheckSpec, Outcome, Report
from arcp.conformance.probe import SCENARIOS, Probe, Scenario, Skip, agents_of, describe
from arcp.conformance.wire import Peer, Recorder, obj
from arcp.transport import TransportClosed

__all__ = ["all_checks", "run_conformance"]

# Importing a checks module registers its scenarios in SCENARIOS.
_LOADED = (
    checks_session,
    checks_resume,
    checks_jobs,
    checks_subscribe,
    checks_events,
    checks_wire,
)


def all_checks() -> list[CheckSpec]:
    """Every check the kit knows, in report order."""
    return [spec for s in SCENARIOS for spec in s.specs]


async def run_conformance(
    url: str,
    *,
    token: str,
    other_token: str | None = None,
    frame_timeout: float = 5.0,
) -> Report:
    """Run the whole kit against the runtime at ``url``; never raises for runtime faults.

    ``frame_timeout`` bounds each wait for an expected frame. Checks needing a second principal
    are skipped without ``other_token``.
    """
    recorder = Recorder()
    report = Report(url)
    inventory, runtime, no_welcome = await _inventory(url, token, recorder, frame_timeout)
    report.runtime = runtime
    ordered = [s for s in SCENARIOS if not s.passive] + [s for s in SCENARIOS if s.passive]
    results: dict[str, CheckResult] = {}
    for scen in ordered:
        probe = Probe(url, token, other_token, frame_timeout, recorder, scen.specs)
        probe.inventory, probe.no_welcome = inventory, no_welcome
        results.update(await _run(scen, probe))
    report.results = [results[spec.id] for spec in all_checks()]
    return report


async def _inventory(
    url: str, token: str, recorder: Recorder, wait: float
) -> tuple[dict[str, object], dict[str, object], str | None]:
    """The agent inventory and runtime info of a first welcome, or why there was none."""
    try:
        peer = await Peer.open(url, "inventory", recorder, wait)
    except Exception as exc:
        return {}, {}, f"cannot connect: {exc}"
    try:
        welcome = await peer.hello(token)
        if welcome is None or welcome.get("type") != "session.welcome":
            return {}, {}, f"session.hello refused: {describe(welcome)}"
        payload = obj(welcome.get("payload"))
        runtime = dict(obj(payload.get("runtime")))
        runtime["features"] = sorted(peer.features)
        return dict(agents_of(welcome)), runtime, None
    finally:
        await peer.close()


async def _run(scen: Scenario, probe: Probe) -> dict[str, CheckResult]:
    reason: str | None = None
    outcome = Outcome.FAIL
    try:
        async with asyncio.timeout(probe.timeout * 6 + 5):
            await scen.run(probe)
    except Skip as exc:
        reason, outcome = str(exc), Outcome.SKIP
    except TimeoutError:
        reason = "scenario did not finish in time"
    except TransportClosed as exc:
        reason = f"the runtime closed the connection ({exc})"
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
    finally:
        for peer in probe.peers:
            with contextlib.suppress(Exception):
                await peer.close()
    out = dict(probe.results)
    for spec in scen.specs:
        if spec.id not in out:
            why = reason if reason is not None else "scenario ended without a verdict"
            out[spec.id] = CheckResult(spec, outcome, why)
    return out
