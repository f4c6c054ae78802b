"""One scenario of ``bench/instructions.py``, run in its own process so ``perf`` counts it alone:
``python -m bench._instr KIND URL N``.

``KIND`` is ``raw-stream`` or ``arcp-stream`` (read ``N`` events from the peer at ``URL``) or
``raw-rtt`` or ``arcp-rtt`` (``N`` request/answer round trips), the same client code as
``bench/events.py``.
"""

from __future__ import annotations

import asyncio
import sys

from bench.events import arcp_rtts, arcp_stream, raw_rtts, raw_stream

_SCENARIOS = {
    "raw-stream": raw_stream,
    "arcp-stream": arcp_stream,
    "raw-rtt": raw_rtts,
    "arcp-rtt": arcp_rtts,
}


def main() -> None:
    kind, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    asyncio.run(_SCENARIOS[kind](url, count))


if __name__ == "__main__":
    main()
