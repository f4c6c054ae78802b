"""Helpers for the interop suite against the official Python SDK.

The official SDK (PyPI ``agentruntimecontrolprotocol``) imports as ``arcp`` too, so it lives in
its own virtual environment, ``.interop-venv`` at the repository root, and only ever runs in
subprocesses started from there (the scripts in ``peers/``). :func:`ensure_official_sdk` creates
or refreshes that venv; the suite is skipped only when the package cannot be downloaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

OFFICIAL_PACKAGE = "agentruntimecontrolprotocol"
OFFICIAL_VERSION = "1.1.3"

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".interop-venv"
PEERS = Path(__file__).resolve().parent / "peers"

TOKEN = "interop-token"
PRINCIPAL = "alice"
OTHER_TOKEN = "interop-other"
OTHER_PRINCIPAL = "bob"

_NETWORK_HINTS = (
    "No matching distribution",
    "Could not find a version",
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "timed out",
    "ProxyError",
)


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run(
        [
            str(python),
            "-c",
            f"import importlib.metadata as m; print(m.version({OFFICIAL_PACKAGE!r}))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def _create_venv() -> None:
    if VENV.exists():
        shutil.rmtree(VENV)
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0 and shutil.which("uv"):
        made = subprocess.run(
            ["uv", "venv", "--seed", "--python", sys.executable, str(VENV)],
            capture_output=True,
            text=True,
            check=False,
        )
    if made.returncode != 0:
        pytest.fail(f"cannot create {VENV}: {made.stderr.strip()[-500:]}")


def _install_official_sdk() -> Path:
    python = _venv_python()
    if _installed_version(python) == OFFICIAL_VERSION:
        return python
    if (
        not python.exists()
        or subprocess.run(
            [str(python), "-m", "pip", "--version"], capture_output=True, check=False
        ).returncode
    ):
        _create_venv()
    spec = f"{OFFICIAL_PACKAGE}=={OFFICIAL_VERSION}"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if install.returncode != 0:
        output = (install.stdout + install.stderr).strip()
        if any(hint in output for hint in _NETWORK_HINTS):
            pytest.skip(f"cannot download {spec} from PyPI (unreachable?): {output[-300:]}")
        pytest.fail(f"pip install {spec} into {VENV} failed: {output[-800:]}")
    if _installed_version(python) != OFFICIAL_VERSION:
        pytest.fail(f"{spec} did not end up installed in {VENV}")
    return python


@dataclass
class Peer:
    """A peer process that printed ``READY <port>``."""

    proc: subprocess.Popen[str]
    port: int
    path: str = "/arcp"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"


def start_peer(argv: list[str], *, timeout: float = 30.0) -> Peer:
    """Start ``argv`` and wait for its ``READY <port>`` line."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("READY "):
            return Peer(proc=proc, port=int(line.split()[1]))
    stop_peer(proc)
    pytest.fail(f"peer {argv[1:3]} did not report READY (exit code {proc.poll()})")


def stop_peer(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def running(argv: list[str]) -> Iterator[Peer]:
    peer = start_peer(argv)
    try:
        yield peer
    finally:
        stop_peer(peer.proc)


def run_official_client(
    python: Path,
    url: str,
    *scenarios: str,
    token: str = TOKEN,
    timeout: float = 60.0,
    parallel: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run ``peers/official_client.py`` scenarios, concurrently unless ``parallel`` is false
    (each scenario opens its own sessions); returns ``{step: observations}``."""
    flags = ["--parallel"] if parallel else []
    done = subprocess.run(
        [
            str(python),
            str(PEERS / "official_client.py"),
            "--url",
            url,
            "--token",
            token,
            "--other-token",
            OTHER_TOKEN,
            *flags,
            *scenarios,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    steps: dict[str, dict[str, Any]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            obs = json.loads(line)
            steps[obs["step"]] = obs
    missing = [s for s in scenarios if s not in steps]
    assert not missing, f"official client printed nothing for {missing}: {done.stderr[-1500:]}"
    return steps


def ensure_official_sdk() -> Path:
    """The interpreter of ``.interop-venv``, with the pinned official SDK installed."""
    lock_path = Path(tempfile.gettempdir()) / "arcp-interop-venv.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent pytest runs share one venv
        try:
            return _install_official_sdk()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
