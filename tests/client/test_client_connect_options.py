"""Connection options a Python developer expects (issue #12.7): the reconnect policy with a
typed error on giving up (§6.3), and ``ssl=`` for ``wss://`` with a custom CA and a client
certificate, against our runtime on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from arcp import Runtime
from arcp.client import Client, ReconnectPolicy
from arcp.conformance.scripted import ScriptedRuntime
from arcp.errors import ConnectionLostError, ReconnectFailedError, WebSocketConnectError
from arcp.runtime import JobContext
from arcp.transport import MemoryTransport, memory_pair
from arcp.transport.websocket import serve_websocket


def test_policy_delays_are_bounded_and_jittered() -> None:
    """Exponential backoff, capped, scaled by a random factor in [1 - jitter, 1]."""
    policy = ReconnectPolicy(attempts=6, first_delay=0.1, factor=2, max_delay=0.5, jitter=0.5)
    for _ in range(20):
        delays = list(policy.delays())
        assert len(delays) == 6 and delays[0] == 0.0
        for got, full in zip(delays[1:], [0.1, 0.2, 0.4, 0.5, 0.5], strict=True):
            assert full * 0.5 <= got <= full
    assert list(ReconnectPolicy(attempts=3, jitter=0.0, first_delay=1).delays()) == [0, 1, 2]
    with pytest.raises(ValueError):
        ReconnectPolicy(attempts=0)
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=2)


async def _give_up(policy: ReconnectPolicy) -> tuple[BaseException, int, float]:
    runtime = ScriptedRuntime()
    dials = 0

    async def factory() -> MemoryTransport:
        nonlocal dials
        dials += 1
        if dials > 1:
            raise OSError("connection refused")
        mine, theirs = memory_pair()
        asyncio.create_task(runtime.serve(theirs))  # noqa: RUF006
        return mine

    client = await Client.connect(factory, token="t", reconnect=policy)
    handle = await client.submit("sleep", {"sec": 30})
    started = time.monotonic()
    client._driver.transport.drop()  # type: ignore[attr-defined]  # pyright: ignore[reportPrivateUsage, reportAttributeAccessIssue]
    with pytest.raises(ReconnectFailedError) as info:
        async with asyncio.timeout(10):
            await handle.result()
    return info.value, dials, time.monotonic() - started


async def test_reconnect_gives_up_after_its_attempts() -> None:
    """§6.3: when every dial fails, the client gives up after `attempts` with
    ReconnectFailedError (a ConnectionLostError) on every handle."""
    error, dials, _ = await _give_up(ReconnectPolicy(attempts=3, first_delay=0.01))
    assert isinstance(error, ConnectionLostError) and "3 attempts" in str(error)
    assert dials == 1 + 3


async def test_reconnect_gives_up_after_its_time_budget() -> None:
    """`give_up_after` bounds the whole reconnect, whatever `attempts` says."""
    policy = ReconnectPolicy(attempts=1000, first_delay=0.05, max_delay=0.05, give_up_after=0.4)
    _, dials, elapsed = await _give_up(policy)
    assert elapsed < 3 and 2 <= dials < 50


async def test_reconnect_false_fails_at_once() -> None:
    """reconnect=False: a drop ends the client with ConnectionLostError, no dial."""
    runtime = ScriptedRuntime()
    mine, theirs = memory_pair()
    serving = asyncio.create_task(runtime.serve(theirs))
    client = await Client.connect(mine, token="t", reconnect=False)
    handle = await client.submit("sleep", {"sec": 30})
    theirs.drop()
    with pytest.raises(ConnectionLostError):
        async with asyncio.timeout(5):
            await handle.result()
    await serving


# -- wss:// ---------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made now."""
    assert shutil.which("openssl"), "the ssl tests need the openssl command"
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
             "/CN=arcp test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "1", "-extfile", "san.ext",
                 "-out", f"{name}.pem", cwd=d)  # fmt: skip
    return d


def _runtime() -> Runtime:
    runtime = Runtime(tokens={"t": "alice"})

    @runtime.agent("echo")
    async def echo(data: object, ctx: JobContext) -> object:  # pyright: ignore[reportUnusedFunction]
        return data

    return runtime


async def test_wss_with_a_custom_ca_and_a_client_certificate(pki: Path) -> None:
    """ssl= carries the CA that signed a self-signed runtime certificate and the client's
    own certificate; the runtime requires and verifies it."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.pem"))
    server_ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    runtime = _runtime()
    server = await serve_websocket(runtime.serve, port=0, ssl=server_ctx)
    url = f"wss://127.0.0.1:{server.port}/arcp"
    try:
        trusted = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        trusted.load_cert_chain(pki / "client.pem", pki / "client.key")
        async with asyncio.timeout(15), Client.connect(url, token="t", ssl=trusted) as client:
            assert await (await client.submit("echo", {"tls": True})).result() == {"tls": True}

        # Without our CA the self-signed chain is refused: a typed connect error.
        with pytest.raises(WebSocketConnectError):
            async with asyncio.timeout(15):
                await Client.connect(url, token="t", ssl=ssl.create_default_context())
    finally:
        await server.close(grace=1)


def test_ssl_needs_a_wss_url() -> None:
    """ssl= with ws:// is a usage error, not a silent plaintext connection."""
    with pytest.raises(ValueError, match="wss://"):
        Client.connect("ws://127.0.0.1:1/arcp", ssl=ssl.create_default_context())
