"""Follow one job to its end (``arcp submit``, ``arcp watch``): render, Ctrl-C, outcome.

The first Ctrl-C cancels a submitted job (§7.4) and waits for the outcome; a second one exits
at once. An observed job (§7.6) cannot be cancelled, so Ctrl-C simply stops watching.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import click
import orjson

from arcp.cli.live import JobView
from arcp.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_JOB_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    Output,
    dump_json,
    report_error,
)
from arcp.client import Client, ConnectionLostError, JobHandle, JobStream
from arcp_gen.errors import ARCPError

__all__ = ["follow_job", "on_sigint", "write_result"]


@contextlib.contextmanager
def on_sigint(callback: Callable[[], None]) -> Generator[None]:
    """Call ``callback`` on each SIGINT while inside (asyncio loop signal handler)."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
        installed = True
    except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
        installed = False
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)


async def _consume(stream: JobStream, view: JobView) -> None:
    async for event in stream:
        view.event(event)


async def follow_job(
    out: Output,
    stream: JobStream,
    *,
    url: str,
    as_json: bool,
    output: Path | None = None,
    cancellable: bool | None = None,
    history: bool = False,
    client: Client | None = None,
) -> int:
    """Render ``stream`` until its job ends, then print the result or the error.

    ``cancellable`` (default: a submitted job) makes the first Ctrl-C cancel the job;
    ``history`` says the first events are replayed history (no rate or ETA from them);
    ``client`` lets the display show when the connection is being resumed.
    """
    started = time.monotonic()
    aborted = asyncio.Event()
    presses = 0
    cancelling: list[asyncio.Task[None]] = []
    view = JobView(out, stream, history=history, client=client)
    if cancellable is None:
        cancellable = isinstance(stream, JobHandle)

    def interrupted() -> None:
        nonlocal presses
        presses += 1
        if presses == 1 and cancellable and isinstance(stream, JobHandle) and not stream.done:
            view.note(
                "[yellow]cancelling the job…[/] [dim](Ctrl-C again to exit now)[/]",
                "cancelling the job (Ctrl-C again to exit now)",
            )
            cancelling.append(asyncio.ensure_future(_cancel_quietly(stream)))
        else:
            aborted.set()

    with on_sigint(interrupted), view:
        consume = asyncio.ensure_future(_consume(stream, view))
        abort = asyncio.ensure_future(aborted.wait())
        await asyncio.wait({consume, abort}, return_when=asyncio.FIRST_COMPLETED)
        abort.cancel()
        if not consume.done():
            consume.cancel()
            view.close()
            text = (
                "job.cancel was sent; not waiting for the outcome"
                if cancelling
                else "stopped watching; the job keeps running on the runtime"
            )
            out.line(f"[yellow]interrupted[/]: {text}", f"interrupted: {text}")
            return EXIT_INTERRUPTED
        error = consume.exception()
    if error is not None:
        return report_error(
            out,
            error,
            url=url,
            as_json=as_json,
            status=(
                EXIT_REFUSED
                if isinstance(error, ConnectionLostError | OSError)
                else EXIT_JOB_FAILED
            ),
            extra={"job_id": stream.job_id},
        )
    return await _conclude(out, stream, view, url=url, as_json=as_json, output=output, t0=started)


async def _cancel_quietly(handle: JobHandle) -> None:
    with contextlib.suppress(ARCPError, ConnectionError):
        await handle.cancel("cancelled from the command line")


async def _conclude(
    out: Output,
    stream: JobStream,
    view: JobView,
    *,
    url: str,
    as_json: bool,
    output: Path | None,
    t0: float,
) -> int:
    elapsed = time.monotonic() - t0
    try:
        result = await stream.result()
    except ARCPError as exc:
        out.line(
            f"[red]✗ {escape_status(stream.status)}[/] {stream.job_id} "
            f"[dim]after {elapsed:.1f}s, {view.events} events[/]",
            f"final status: {stream.status} ({view.events} events)",
        )
        return report_error(
            out,
            exc,
            url=url,
            as_json=as_json,
            status=EXIT_JOB_FAILED,
            extra={"job_id": stream.job_id, "final_status": stream.status},
        )
    except ConnectionLostError as exc:
        return report_error(out, exc, url=url, as_json=as_json, status=EXIT_REFUSED)
    out.line(
        f"[green]✓ success[/] {stream.job_id} [dim]in {elapsed:.1f}s, {view.events} events[/]",
        f"final status: success ({view.events} events)",
    )
    if as_json:
        dump_json({"job_id": stream.job_id, "final_status": "success", "result": _jsonable(result)})
        if output is not None:
            write_result(out, result, output)
        return EXIT_OK
    write_result(out, result, output)
    return EXIT_OK


def escape_status(status: str) -> str:
    """A final status as markup-safe text."""
    return status.replace("[", r"\[")


def _jsonable(result: Any) -> Any:
    if isinstance(result, bytes):
        return base64.b64encode(result).decode()
    return result


def write_result(out: Output, result: Any, output: Path | None) -> None:
    """The result on stdout or into ``output``: bytes for base64, text for utf8, else JSON."""
    if isinstance(result, bytes):
        data = result
    elif isinstance(result, str):
        data = result.encode()
    else:
        data = orjson.dumps(result, option=orjson.OPT_INDENT_2)
    if output is not None:
        output.write_bytes(data)
        out.line(
            f"wrote {len(data):,} bytes to [bold]{output}[/]",
            f"wrote {len(data)} bytes to {output}",
        )
        return
    if isinstance(result, bytes):
        sys.stdout.buffer.write(result)
        sys.stdout.buffer.flush()
    elif isinstance(result, str):
        click.echo(result)
    elif sys.stdout.isatty() and out.rich:
        from rich.console import Console
        from rich.json import JSON

        Console().print(JSON(data.decode()))
    else:
        click.echo(data.decode())
