"""The lenient reads: wire forms this SDK accepts on receive but never sends.

The schema's root (``spec/arcp-1.1.schema.json``) states what a conformant sender produces;
its ``$defs/ReceiveOnly`` lists, branch by branch, the legacy and lenient forms other
implementations send (wire-decisions: be liberal in what you accept). The generated models
admit those forms, so :func:`arcp.codec.decode` reads them; this table is the one place that
names each, says what it means to us and where that meaning is given. The fixtures manifest
marks each fixture of such a form ``receive-only`` with the same name (``lenient_read``).

Nothing here runs per frame: a lenient read costs the decoder nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["LENIENT_READS"]

LENIENT_READS: Mapping[str, str] = MappingProxyType(
    {
        "legacy-bye": (
            "`session.bye` is read as `session.close` (§6.7) by the runtime, and as "
            "`session.closed` by the client (protocol.runtime_core, protocol.client_session)."
        ),
        "legacy-hello-resume": (
            "`session.hello` with `payload.resume` is read as `session.resume` (§6.3) "
            "(protocol.runtime_core)."
        ),
        "welcome-session-id-in-payload-only": (
            "A welcome's session id is taken from the envelope, else from the payload "
            "(generated SessionWelcomeMessage check; protocol.client_session)."
        ),
        "no-session-id-after-handshake": (
            "An envelope without `session_id` after the handshake belongs to the session of "
            "its connection (§5, §8.1)."
        ),
        "legacy-error-payload": (
            "An error payload without `retryable` takes the code's default; `retryable: true` "
            "on LEASE_EXPIRED / BUDGET_EXHAUSTED is read as false (§12); the free-text `detail` "
            "is kept beside `details` (arcp_gen.errors)."
        ),
        "terminal-status-contradicts-code": (
            "A `job.error` whose `final_status` contradicts its code (CANCELLED not "
            "`cancelled`, LEASE_EXPIRED / BUDGET_EXHAUSTED not `error`, §7.3, §7.4) still ends "
            "the job, with the status as sent, rather than losing the job's end."
        ),
        "legacy-result-not-success": (
            "`job.result` with `final_status` `cancelled` / `timed_out` / `error` ends the job "
            "with the matching typed error (protocol.client_results)."
        ),
        "legacy-replayed-count": (
            "`job.subscribed.replayed` may be a count instead of a boolean; it is kept as sent "
            "on the typed descriptor (§7.6)."
        ),
    }
)
"""Lenient read name (a ``$defs/ReceiveOnly`` branch title) -> what it means and where."""
