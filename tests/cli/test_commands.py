"""`arcp jobs`, `watch`, `cancel`, `tail`, `submit --output` and Ctrl-C, as real processes
against a real `arcp serve --demo`; jobs to look at are made with the real client."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

from click.testing import CliRunner

from arcp.cli.main import cli
from arcp.client import Client
from tests.cli.conftest import ARCP, TOKEN, arcp, cli_env


async def test_jobs_lists_and_filters(server: str) -> None:
    """§6.6: a table by default, JSON with --json, filtered by status, agent and time."""
    async with await Client.connect(server, token=TOKEN) as client:
        chatty = await client.submit("chatty", {"n": 2})
        await chatty.result()
        echo = await client.submit("echo", "hi")
        await echo.result()
    listed, table, bad = await asyncio.gather(
        arcp(server, "jobs", "--agent", "chatty", "--since", "1h", "--json"),
        arcp(server, "jobs", "--status", "success", "--status", "error"),
        arcp(server, "jobs", "--since", "yesterday-ish"),
    )
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    ids = {e["job_id"] for e in entries}
    assert chatty.job_id in ids
    assert echo.job_id not in ids
    assert all(e["agent"].startswith("chatty@") for e in entries)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["JOB", "AGENT", "STATUS", "CREATED", "EVENTS"]
    assert any(echo.job_id in line and "success" in line for line in table.stdout.splitlines())
    assert bad.returncode == 2
    assert "--since" in bad.stderr


async def test_watch_replays_history_and_prints_the_result(server: str) -> None:
    """§7.6: subscribe with history; the same rendering and result as submit."""
    async with await Client.connect(server, token=TOKEN) as client:
        job = await client.submit("progress", {"n": 5})
        await job.result()
    done, missing = await asyncio.gather(
        arcp(server, "watch", job.job_id), arcp(server, "watch", "job_missing", "--json")
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"steps": 5}
    assert "[5] progress: 5/5 steps" in done.stderr
    assert missing.returncode == 3
    assert json.loads(missing.stdout)["code"] == "JOB_NOT_FOUND"
    assert "arcp jobs" in missing.stderr


async def test_cancel_names_the_rule_when_another_session_submitted(server: str) -> None:
    """§7.4: only the submitting session may cancel; the error says what to do instead."""
    async with await Client.connect(server, token=TOKEN) as client:
        job = await client.submit("slow", {"sec": 30})
        refused = await arcp(server, "cancel", job.job_id)
        assert refused.returncode == 3
        assert "PERMISSION_DENIED" in refused.stderr
        assert "Ctrl-C" in refused.stderr
        assert job.status in ("pending", "running")
        await job.cancel()
    unknown = await arcp(server, "cancel", "job_unknown", "--json")
    assert unknown.returncode == 3
    assert json.loads(unknown.stdout)["code"] == "JOB_NOT_FOUND"


async def test_tail_prints_event_envelopes_as_json_lines(server: str) -> None:
    """Every event of a live job as one JSON envelope per line, until --count."""
    async with await Client.connect(server, token=TOKEN) as client:
        job = await client.submit("progress", {"n": 400, "delay_ms": 25})
        done = await arcp(server, "tail", "--count", "3", "--agent", "progress")
        await job.cancel()
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 3
    mine = [e for e in lines if e["job_id"] == job.job_id]
    assert mine, lines
    assert all(e["type"] == "job.event" and e["payload"]["kind"] == "progress" for e in mine)
    seqs = [e["event_seq"] for e in lines]
    assert seqs == sorted(seqs)


async def test_submit_writes_a_streamed_result_to_a_file(server: str, tmp_path: Path) -> None:
    """§8.4: the reassembled chunked result goes to --output, nothing to stdout; the input
    comes from a file (``@FILE``)."""
    target = tmp_path / "result.txt"
    spec = tmp_path / "input.json"
    spec.write_text('{"bytes": 5000, "chunk_size": 512}')
    done = await arcp(server, "submit", "chunked", "--input", f"@{spec}", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    text = target.read_text()
    assert len(target.read_bytes()) == 5000  # input.bytes counts UTF-8 bytes (#12.8)
    assert text.startswith("ARCP streams large results")
    assert f"to {target}" in done.stderr


async def test_budget_exhaustion_is_a_failed_job_with_a_hint(server: str) -> None:
    """§9.6: the costly agent under a USD 1.00 cap ends BUDGET_EXHAUSTED, exit 1."""
    lease = '{"tool.call": ["search.*"], "cost.budget": ["USD:1.00"]}'
    done = await arcp(server, "submit", "costly", "--input", '{"steps": 10}', "--lease", lease)
    assert done.returncode == 1
    assert "BUDGET_EXHAUSTED" in done.stderr
    assert "cost.budget" in done.stderr
    assert "metric: cost.budget.remaining = 0.0 USD" in done.stderr


async def test_a_string_lease_is_refused_and_never_widens_authority(server: str) -> None:
    """§9.2 (#12.1): ``--lease '{"tool.call":"search.*"}'`` used to be split into one-letter
    patterns whose ``*`` let every tool call through; it is refused before anything is sent
    (INVALID_REQUEST naming the field, exit 3), and so is a string budget."""
    async with await Client.connect(server, token=TOKEN) as client:
        before = {job.job_id async for job in client.list_jobs(agent="costly")}
    tools, budget = await asyncio.gather(
        arcp(server, "submit", "costly", "--lease", '{"tool.call":"search.*"}', "--json"),
        arcp(server, "submit", "costly", "--lease", '{"cost.budget":"USD:5"}'),
    )
    assert tools.returncode == 3, tools.stderr
    refusal = json.loads(tools.stdout)
    assert refusal["code"] == "INVALID_REQUEST"
    assert refusal["details"]["field"] == "lease_request.tool.call"
    assert "must be a list of patterns, not a string" in refusal["message"]
    assert budget.returncode == 3, budget.stderr
    assert 'lease_request.cost.budget must be a list of amounts such as ["USD:5.00"]' in (
        " ".join(budget.stderr.split())
    )
    assert "Traceback" not in tools.stderr + budget.stderr
    async with await Client.connect(server, token=TOKEN) as client:
        after = {job.job_id async for job in client.list_jobs(agent="costly")}
    assert after == before  # no job was submitted


def test_ctrl_c_cancels_the_submitted_job(server: str) -> None:
    """§7.4: SIGINT sends job.cancel, waits for the outcome, exits 1 (cancelled)."""
    proc = subprocess.Popen(
        [*ARCP, "submit", "slow", "--input", '{"sec": 60}'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(server),
    )
    assert proc.stderr is not None
    accepted = proc.stderr.readline()
    assert accepted.startswith("accepted job_"), accepted
    job_id = accepted.split()[1]
    assert "status: sleeping" in proc.stderr.readline()  # the job is running
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "cancelling the job" in err
    assert "CANCELLED" in err
    listed = subprocess.run(
        [*ARCP, "jobs", "--agent", "slow", "--json"],
        capture_output=True,
        text=True,
        env=cli_env(server),
        timeout=60,
    )
    [entry] = [j for j in json.loads(listed.stdout) if j["job_id"] == job_id]
    assert entry["status"] == "cancelled"


async def test_ctrl_c_stops_watching_without_cancelling(server: str) -> None:
    """§7.6: an observer has no cancel authority; Ctrl-C ends `watch` (130), not the job."""
    async with await Client.connect(server, token=TOKEN) as client:
        job = await client.submit("slow", {"sec": 60})
        proc = await asyncio.create_subprocess_exec(
            *ARCP,
            "watch",
            job.job_id,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(server),
        )
        assert proc.stderr is not None
        assert (await proc.stderr.readline()).startswith(b"watching " + job.job_id.encode())
        assert b"status: sleeping" in await proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 130, err
        assert b"stopped watching" in err
        assert job.status == "running"
        await job.cancel()


def test_every_command_is_listed() -> None:
    done = CliRunner().invoke(cli, ["--help"])
    assert done.exit_code == 0
    for command in ("serve", "submit", "jobs", "watch", "cancel", "tail", "demo", "conformance"):
        assert f"  {command}" in done.output


async def test_tail_shows_a_job_that_ended_between_two_looks(server: str) -> None:
    """A job that starts and ends between two looks at the listing (§6.6) is still shown:
    its events are replayed through a subscription with history (§7.6)."""
    proc = await asyncio.create_subprocess_exec(
        *ARCP,
        "tail",
        "--count",
        "2",
        "--interval",
        "1.5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(server),
    )
    assert proc.stderr is not None
    assert b"tailing" in await asyncio.wait_for(proc.stderr.readline(), 30)
    async with await Client.connect(server, token=TOKEN) as client:
        job = await client.submit("chatty", {"n": 2})
        assert await job.result() == {"count": 2}
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [(e["job_id"], e["payload"]["kind"]) for e in lines] == [(job.job_id, "log")] * 2
