"""stdio specifics (§4): NDJSON framing against a real child process."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile

import pytest

from arcp.transport import ChildProcessTransport, TransportClosed, spawn_stdio

from .conftest import ECHO_CHILD


async def _child(mode: str, **kwargs: object) -> ChildProcessTransport:
    return await spawn_stdio([sys.executable, ECHO_CHILD, mode], **kwargs)  # type: ignore[arg-type]


async def test_lines_are_delivered_as_is_without_blank_lines() -> None:
    child = await _child("raw")
    received = [await child.recv() for _ in range(3)]
    assert received == [b"not json at all", b'{"ok":true}', b"no newline at the end"]
    with pytest.raises(TransportClosed):
        await child.recv()
    await child.close()
    assert child.returncode == 0


async def _ready_then_recv(child: ChildProcessTransport, count: int) -> list[bytes]:
    """``count`` lines, taken with ``recv_ready`` whenever it has any."""
    got: list[bytes] = []
    while len(got) < count:
        ready = child.recv_ready()
        if ready:
            got.extend(ready)
        else:
            got.append(await child.recv())
    return got


async def test_recv_ready_skips_blank_lines_and_drops_carriage_returns() -> None:
    child = await _child("raw")
    await asyncio.sleep(0.2)  # let the child's whole output arrive
    received = await _ready_then_recv(child, 2)
    # the last line has no newline yet: recv_ready leaves it to recv, which sees the EOF
    assert received == [b"not json at all", b'{"ok":true}']
    assert child.recv_ready() == []
    assert await child.recv() == b"no newline at the end"
    await child.close()


async def test_recv_ready_leaves_an_overlong_line_to_recv() -> None:
    child = await _child("long", limit=1024)
    await asyncio.sleep(0.2)
    assert child.recv_ready() == []  # the first line is over the limit
    with pytest.raises(TransportClosed):
        await child.recv()
    assert child.recv_ready() == []
    await child.close()


async def test_send_many_writes_lines_the_child_echoes_in_order() -> None:
    child = await _child("echo")
    frames = [b'{"n":%d}' % i for i in range(500)]
    await child.send_many(frames[:1])
    await child.send_many([])
    await child.send_many(frames[1:])
    assert await _ready_then_recv(child, len(frames)) == frames
    with pytest.raises(ValueError):
        await child.send_many([b"{}", b'{\n"pretty": true}'])
    await child.close()


async def test_garbage_is_echoed_unchanged() -> None:
    child = await _child("echo")
    for frame in (b"not json {", b"  leading space", b"\x00\xff binary-ish"):
        await child.send(frame)
        assert await child.recv() == frame
    await child.close()
    assert child.returncode == 0


async def test_child_exit_closes_the_transport() -> None:
    child = await _child("exit")
    with pytest.raises(TransportClosed):
        await child.recv()
    assert child.closed
    with pytest.raises(TransportClosed):
        await child.send(b"{}")
    await child.close()
    assert child.returncode == 0


async def test_send_to_an_exited_child_raises() -> None:
    child = await _child("exit")
    await child.process.wait()
    with pytest.raises(TransportClosed):
        for _ in range(3):  # the first write may only fill the pipe buffer
            await child.send(b"{}")
    await child.close()


async def test_overlong_line_closes_without_crashing() -> None:
    child = await _child("long", limit=1024)
    with pytest.raises(TransportClosed):
        await child.recv()
    assert child.closed
    with pytest.raises(TransportClosed):
        await child.recv()
    await child.close()
    assert child.returncode == 0


async def test_newline_in_a_frame_is_refused() -> None:
    child = await _child("echo")
    with pytest.raises(ValueError):
        await child.send(b'{\n"pretty": true}')
    await child.send(b"{}")
    assert await child.recv() == b"{}"
    await child.close()


async def test_stray_prints_in_the_child_go_to_stderr() -> None:
    with tempfile.TemporaryFile() as log:
        child = await _child("print", stderr=log)
        await child.send(b'{"a":1}')
        assert await child.recv() == b'{"a":1}'
        await child.close()
        assert child.returncode == 0
        log.seek(0)
        stderr = log.read()
    assert b"stray print from the child" in stderr
    assert b"stray write to fd 1" in stderr


async def test_close_terminates_a_child_that_ignores_eof() -> None:
    child = await spawn_stdio([sys.executable, ECHO_CHILD, "stubborn"], exit_timeout=0.2)
    await child.close()
    assert child.returncode == -signal.SIGTERM
    await child.close()


async def test_concurrent_senders_never_interleave() -> None:
    child = await _child("echo")
    frames = {
        f'{{"sender":{s},"n":{n},"pad":"{"p" * 5000}"}}'.encode()
        for s in range(4)
        for n in range(50)
    }

    async def sender(s: int) -> None:
        for frame in sorted(f for f in frames if f.startswith(f'{{"sender":{s},'.encode())):
            await child.send(frame)

    async def collect() -> list[bytes]:
        return [await child.recv() for _ in range(len(frames))]

    receiver = asyncio.create_task(collect())
    await asyncio.gather(*(sender(s) for s in range(4)))
    assert set(await receiver) == frames
    await child.close()


async def test_spawn_needs_a_program() -> None:
    with pytest.raises(ValueError):
        await spawn_stdio([])


async def test_output_after_close_is_discarded_quietly() -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        child = await _child("goodbye")
        await child.send(b"{}")
        assert await child.recv() == b"{}"
        pending = asyncio.create_task(child.recv())
        await asyncio.sleep(0)
        await child.close()  # the child answers our EOF with more frames
        with pytest.raises(TransportClosed):
            await pending
        assert child.returncode == 0
        for _ in range(3):
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert errors == []


async def test_missing_program() -> None:
    with pytest.raises(FileNotFoundError):
        await spawn_stdio(["/nonexistent/arcp-agent"])


async def test_close_does_not_hang_on_a_child_that_stopped_reading() -> None:
    child = await spawn_stdio([sys.executable, ECHO_CHILD, "stubborn"], exit_timeout=0.2)
    blocked = asyncio.create_task(child.send(b"x" * (4 * 1024 * 1024)))  # fills the pipe
    await asyncio.sleep(0)
    await child.close()
    with pytest.raises(TransportClosed):
        await blocked
    assert child.returncode == -signal.SIGTERM


async def test_a_string_argv_is_refused_not_split() -> None:
    """``spawn_stdio("python child.py")`` is a TypeError, never one argument per letter."""
    with pytest.raises(TypeError, match="not a string"):
        await spawn_stdio(f"{sys.executable} {ECHO_CHILD}")  # type: ignore[arg-type]
