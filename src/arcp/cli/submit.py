"""``arcp submit``: run one job and print its events and outcome (§7)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
import orjson

from arcp.cli.render import describe_event
from arcp.client import Client
from arcp_gen.errors import ARCPError

__all__ = ["EXIT_JOB_FAILED", "EXIT_PROTOCOL_ERROR", "submit"]

EXIT_JOB_FAILED = 1
"""The job ended with ``job.error`` (the code is printed)."""
EXIT_PROTOCOL_ERROR = 3
"""The runtime refused the request or the connection failed (the code is printed)."""


def _json_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise click.BadParameter("must be valid JSON", param=param) from None


@click.command()
@click.argument("agent")
@click.option("--input", "input_", callback=_json_option, help="Job input as JSON.")
@click.option(
    "--lease",
    callback=_json_option,
    help='Lease request as JSON, e.g. \'{"fs.read":["/data/**"]}\'.',
)
@click.option("--url", envvar="ARCP_URL", default="ws://127.0.0.1:7777/arcp", show_default=True)
@click.option("--token", envvar="ARCP_TOKEN", default=None, help="Bearer token (or ARCP_TOKEN).")
@click.option("--idempotency-key", default=None, help="§7.2 idempotency key.")
@click.option("--max-runtime", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print only the terminal payload as JSON.")
def submit(
    agent: str,
    input_: Any,
    lease: Any,
    url: str,
    token: str | None,
    idempotency_key: str | None,
    max_runtime: float | None,
    as_json: bool,
) -> None:
    """Submit AGENT (name or name@version), stream its events, print the result."""
    code = asyncio.run(
        _run(agent, input_, lease, url, token, idempotency_key, max_runtime, as_json)
    )
    sys.exit(code)


async def _run(
    agent: str,
    input_: Any,
    lease: Any,
    url: str,
    token: str | None,
    idempotency_key: str | None,
    max_runtime: float | None,
    as_json: bool,
) -> int:
    try:
        client = await Client.connect(url, token=token)
    except ARCPError as exc:
        return _fail(exc, as_json, EXIT_PROTOCOL_ERROR)
    except OSError as exc:
        click.echo(f"error: cannot reach {url}: {exc.strerror or exc}", err=True)
        return EXIT_PROTOCOL_ERROR
    async with client:
        try:
            handle = await client.submit(
                agent,
                input_,
                lease=lease,
                idempotency_key=idempotency_key,
                max_runtime_sec=max_runtime,
            )
        except ARCPError as exc:
            return _fail(exc, as_json, EXIT_PROTOCOL_ERROR)
        if not as_json:
            click.echo(f"accepted {handle.job_id} ({handle.agent})", err=True)
            async for event in handle:
                click.echo(describe_event(event), err=True)
        try:
            result = await handle.result()
        except ARCPError as exc:
            return _fail(exc, as_json, EXIT_JOB_FAILED, final_status=str(handle.status))
    terminal = {"job_id": handle.job_id, "final_status": "success", "result": _jsonable(result)}
    if as_json:
        click.echo(orjson.dumps(terminal).decode())
    elif isinstance(result, bytes):
        sys.stdout.buffer.write(result)
    elif isinstance(result, str):
        click.echo(result)
    else:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


def _jsonable(result: Any) -> Any:
    if isinstance(result, bytes):
        import base64

        return base64.b64encode(result).decode()
    return result


def _fail(exc: ARCPError, as_json: bool, status: int, final_status: str | None = None) -> int:
    if as_json:
        payload = exc.to_payload()
        if final_status is not None:
            payload = {"final_status": final_status, **payload}
        click.echo(orjson.dumps(payload).decode())
    else:
        click.echo(f"error: {exc.code.value}: {exc.message}", err=True)
    return status
