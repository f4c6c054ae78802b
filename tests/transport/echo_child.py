"""A real ARCP-agnostic stdio peer for the transport tests: ``python echo_child.py MODE``.

Modes:
  echo      echo every frame; ``!close`` closes the transport and exits 3;
            on TransportClosed (parent closed) exit 0.
  print     like echo, but first print() stray text, which must land on stderr.
  raw       write fixed bytes straight to stdout (blank lines, CRLF, garbage), then exit.
  long      write one 5000-byte line then a short one, then wait for stdin EOF.
  goodbye   echo; on stdin EOF write a few more frames, then exit 0.
  exit      exit at once.
  stubborn  ignore stdin EOF and wait forever (the parent must terminate us).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import sys
import types


def _import_stdio() -> types.ModuleType:
    # Import arcp.transport.stdio without running the arcp and arcp.transport package
    # __init__ modules (they import the generated models and websockets): child startup
    # drops from ~1 s to ~0.1 s and the test depends only on the modules it exercises.
    for name in ("arcp", "arcp.transport"):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations is not None
        package = types.ModuleType(name)
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules[name] = package
    import arcp.transport.stdio as stdio

    return stdio


async def goodbye() -> int:
    stdio = _import_stdio()
    from arcp.transport.base import TransportClosed

    transport = await stdio.stdio_transport()
    with contextlib.suppress(TransportClosed):
        while True:
            await transport.send(await transport.recv())
    with contextlib.suppress(TransportClosed):
        for _ in range(100):
            await transport.send(b'{"bye":true}')
    return 0


async def echo(stray: bool) -> int:
    stdio = _import_stdio()
    from arcp.transport.base import TransportClosed

    transport = await stdio.stdio_transport()
    if stray:
        print("stray print from the child", flush=True)
        os.write(1, b"stray write to fd 1\n")
    while True:
        try:
            frame = await transport.recv()
            if frame == b"!close":
                await transport.close()
                return 3
            await transport.send(frame)
        except TransportClosed:
            return 0


async def long_line() -> int:
    stdio = _import_stdio()
    from arcp.transport.base import TransportClosed

    transport = await stdio.stdio_transport()
    with contextlib.suppress(TransportClosed):  # the parent may hang up after the long line
        await transport.send(b"x" * 5000)
        await transport.send(b"after")
        await transport.recv()
    return 0


async def stubborn() -> int:
    await asyncio.Event().wait()
    return 0


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "echo"
    if mode in ("echo", "print"):
        return asyncio.run(echo(mode == "print"))
    if mode == "raw":
        os.write(1, b'\n\nnot json at all\r\n  \n{"ok":true}\nno newline at the end')
        return 0
    if mode == "goodbye":
        return asyncio.run(goodbye())
    if mode == "long":
        return asyncio.run(long_line())
    if mode == "stubborn":
        return asyncio.run(stubborn())
    if mode == "exit":
        return 0
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main())
