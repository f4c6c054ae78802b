"""Fixtures for the interop suite against the official Python SDK (docs/interop.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._harness import (
    OTHER_PRINCIPAL,
    OTHER_TOKEN,
    PEERS,
    PRINCIPAL,
    TOKEN,
    Peer,
    ensure_official_sdk,
    running,
)


@pytest.fixture(scope="session")
def official_python() -> Path:
    """The interpreter of ``.interop-venv`` with the pinned official SDK installed."""
    return ensure_official_sdk()


HEARTBEAT_SEC = 1
"""Both runtimes ping every second, so every scenario also exercises §6.4 heartbeats."""


@pytest.fixture(scope="session")
def official_runtime(official_python: Path) -> Iterator[Peer]:
    """The official runtime with the demo agents, on a free 127.0.0.1 port."""
    argv = [
        str(official_python),
        str(PEERS / "official_runtime.py"),
        "--port",
        "0",
        "--token",
        f"{TOKEN}={PRINCIPAL}",
        "--token",
        f"{OTHER_TOKEN}={OTHER_PRINCIPAL}",
        "--heartbeat",
        str(HEARTBEAT_SEC),
    ]
    with running(argv) as peer:
        yield peer


@pytest.fixture(scope="module")
def our_runtime() -> Iterator[Peer]:
    """Our runtime with the demo agents (``peers/our_runtime.py``) on a free port."""
    pytest.importorskip("arcp.runtime", reason="our runtime (src/arcp/runtime) is not there yet")
    argv = [
        sys.executable,
        str(PEERS / "our_runtime.py"),
        "--port",
        "0",
        "--token",
        f"{TOKEN}={PRINCIPAL}",
        "--token",
        f"{OTHER_TOKEN}={OTHER_PRINCIPAL}",
        "--heartbeat",
        str(HEARTBEAT_SEC),
    ]
    with running(argv) as peer:
        yield peer
