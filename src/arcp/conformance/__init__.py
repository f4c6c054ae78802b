"""Black-box conformance kit: judge any ARCP v1.1 runtime over WebSocket.

``await run_conformance(url, token=...)`` returns a :class:`Report` of checks grouped by spec
section, each a MUST, a SHOULD, or one of this SDK's wire decisions. Only failed MUST checks
make a run fail (:attr:`Report.ok`, :attr:`Report.exit_code`). The kit speaks raw frames and
assumes the demo agent contract (``echo``, ``chatty``, ``progress``, ``chunked``, ``slow``,
``versioned``, ``costly``); checks needing an agent or feature the runtime lacks are skipped.
"""

from arcp.conformance.model import CheckResult, CheckSpec, Level, Outcome, Report
from arcp.conformance.runner import all_checks, run_conformance

__all__ = [
    "CheckResult",
    "CheckSpec",
    "Level",
    "Outcome",
    "Report",
    "all_checks",
    "run_conformance",
]
