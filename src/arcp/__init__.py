"""arcp: schema-first Python SDK for the Agent Runtime Control Protocol (ARCP v1.1).

The client (:class:`Client`) submits and observes jobs; the runtime (:class:`Runtime`)
hosts agents. Both speak the wire contract generated from ``spec/arcp-1.1.schema.json``.

``import arcp`` stays cheap: the client and runtime (and pydantic, websockets) load on first
access of ``arcp.Client``, ``arcp.Runtime`` and the other names below (PEP 562).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from arcp._version import __version__
from arcp_gen import PROTOCOL_VERSION
from arcp_gen.errors import ARCPError, ErrorCode
from arcp_gen.features import Feature

if TYPE_CHECKING:
    from arcp.client import Client, JobHandle, Subscription
    from arcp.runtime import JobContext, Runtime

__all__ = [
    "PROTOCOL_VERSION",
    "ARCPError",
    "Client",
    "ErrorCode",
    "Feature",
    "JobContext",
    "JobHandle",
    "Runtime",
    "Subscription",
    "__version__",
]

_LAZY = {
    "Client": "arcp.client",
    "JobHandle": "arcp.client",
    "Subscription": "arcp.client",
    "JobContext": "arcp.runtime",
    "Runtime": "arcp.runtime",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'arcp' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
