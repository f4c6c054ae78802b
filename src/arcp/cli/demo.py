"""``arcp demo``: an embedded runtime and a live tour of the protocol (``arcp.demo.showcase``)."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arcp.cli.live import JobView
from arcp.cli.options import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK, Output, dump_json
from arcp.client import JobStream
from arcp.demo.showcase import StepResult, run_embedded_showcase
from arcp_gen.messages import JobEventMessage

__all__ = ["demo"]


class _Renderer:
    """Renders each step's job with :class:`JobView`."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.view: JobView | None = None
        self.index = 0

    def step_started(self, step: str, description: str) -> None:
        self.index += 1
        self.out.line(
            f"\n[bold cyan]{self.index}. {escape(step)}[/] [dim]— {escape(description)}[/]",
            f"{self.index}. {step}: {description}",
        )

    def job_started(self, stream: JobStream) -> None:
        self.view = JobView(self.out, stream).__enter__()

    def job_event(self, stream: JobStream, event: JobEventMessage) -> None:
        if self.view is not None:
            self.view.event(event)

    def note(self, text: str) -> None:
        if self.view is not None:
            self.view.note(f"[yellow]{escape(text)}[/]", text)
        else:
            self.out.line(f"[yellow]{escape(text)}[/]", text)

    def step_finished(self, result: StepResult) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        self.out.line(
            f"{mark} {escape(result.outcome)} [dim]{escape(result.detail)}[/]",
            f"{'ok' if result.ok else 'FAILED'}: {result.outcome} ({result.detail})",
        )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print only the summary, as JSON.")
def demo(as_json: bool) -> None:
    """Start a runtime with the demo agents in-process and tour ARCP through the real client.

    Streamed progress, a chunked result, a budget running out, a cancellation, and a resume
    after the connection is cut: each rendered live, then a summary table. Exits 1 if a step
    did not behave as the spec says.
    """
    out = Output(quiet=as_json)
    try:
        results = asyncio.run(run_embedded_showcase(None if as_json else _Renderer(out)))
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None
    ok = all(r.ok for r in results)
    if as_json:
        dump_json({"ok": ok, "steps": [r.to_json() for r in results]})
    else:
        _summary(out, results)
    raise SystemExit(EXIT_OK if ok else EXIT_JOB_FAILED)


def _summary(out: Output, results: list[StepResult]) -> None:
    total = sum(r.seconds for r in results)
    if not out.rich:
        click.echo("", err=True)
        for r in results:
            mark = "ok" if r.ok else "FAILED"
            click.echo(
                f"{r.step:<15} {mark:<6} {r.outcome:<17} {r.events:>5} events {r.seconds:6.2f}s",
                err=True,
            )
        click.echo(f"total {total:.2f}s", err=True)
        return
    table = Table(title="ARCP showcase", title_justify="left", header_style="bold")
    table.add_column("step")
    table.add_column("outcome")
    table.add_column("events", justify="right")
    table.add_column("time", justify="right")
    table.add_column("what happened", style="dim")
    for r in results:
        style = "green" if r.ok else "red"
        table.add_row(
            r.step,
            f"[{style}]{escape(r.outcome)}[/]",
            str(r.events),
            f"{r.seconds:.2f}s",
            escape(r.detail),
        )
    table.caption = f"total {total:.2f}s"
    Console(stderr=True).print()
    out.console.print(table)
