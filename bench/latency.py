"""Submit latency: ``job.submit`` → ``job.accepted`` beside a raw frame echo, in one run.

The runtime serves WebSocket from a child process (``bench._peer arcp``) and a bare
``websockets`` echo server runs in another (``bench._peer raw``). Each repeat times
``SUBMITS`` round trips on each, interleaved repeat by repeat so machine noise hits both
alike: the ARCP round trip is ``Client.submit`` returning its handle (the ``job.accepted``
answer, §7.1), the baseline one frame of the same size sent and echoed back. Reported: the
median over repeats of each repeat's p50 and p99, and their ratio to the echo's.
"""

from __future__ import annotations

import asyncio

from bench import Figure
from bench.events import _pct, _peer, arcp_rtts, raw_rtts  # pyright: ignore[reportPrivateUsage]

__all__ = ["run"]

SUBMITS = 500
"""Round trips per repeat on each side."""
TARGET_RATIO = 2.0
"""Target: the submit → accepted p50 at most this many times the echo's (issue #18)."""


async def _run(repeats: int, submits: int) -> list[Figure]:
    p50 = Figure("submit -> accepted round trip p50", "µs", higher_is_better=False)
    p99 = Figure("submit -> accepted round trip p99", "µs", higher_is_better=False)
    async with _peer("raw") as raw_url, _peer("arcp") as arcp_url:
        await raw_rtts(raw_url, min(submits, 100))  # warm both paths once
        await arcp_rtts(arcp_url, min(submits, 100))
        for _ in range(repeats):
            raw = await raw_rtts(raw_url, submits)
            arcp = await arcp_rtts(arcp_url, submits)
            for fig, q in ((p50, 0.5), (p99, 0.99)):
                fig.baseline.append(_pct(raw, q) * 1e6)
                fig.samples.append(_pct(arcp, q) * 1e6)
    ratio = p50.ratio
    met = "met" if ratio is not None and ratio <= TARGET_RATIO else "NOT met"
    p50.note = (
        f"{repeats} repeats x {submits} submits, median of per-repeat p50; baseline: raw "
        f"frame echo; target ≤ {TARGET_RATIO:g}x: {met}"
    )
    p99.note = f"{repeats} repeats x {submits} submits, median of per-repeat p99; reported only"
    return [p50, p99]


def run(repeats: int = 5, submits: int = SUBMITS) -> list[Figure]:
    """Interleaved submit and echo round trips; the p50 and p99 figures."""
    return asyncio.run(_run(repeats, submits))
