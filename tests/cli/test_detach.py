"""`arcp submit --detach`, then `arcp cancel` / `arcp watch` from other processes: they resume
the submitting session (§6.3), which keeps the cancel authority (§7.4, §7.7). Real `arcp`
processes against a real `arcp serve --demo`."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

from arcp.client import Client
from tests.cli.conftest import ARCP, TOKEN, Done, cli_env


async def _arcp(url: str, state: Path, *args: str) -> Done:
    proc = await asyncio.create_subprocess_exec(
        *ARCP,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(url, XDG_STATE_HOME=str(state)),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


async def _status(url: str, job_id: str) -> str:
    async with Client.connect(url, token=TOKEN) as client:
        async for job in client.list_jobs():
            if job.job_id == job_id:
                return job.status
    raise AssertionError(f"{job_id} not listed")


async def test_detach_then_cancel_from_another_process(server: str, tmp_path: Path) -> None:
    sub = await _arcp(server, tmp_path, "submit", "slow", "--input", '{"sec": 60}', "--detach")
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    assert job_id.startswith("job_")
    assert f"arcp cancel {job_id}" in sub.stderr
    folder = tmp_path / "arcp" / "sessions"
    ticket = folder / f"{job_id}.json"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(ticket.stat().st_mode) == 0o600
    token = json.loads(ticket.read_text())["ticket"]["resume_token"]
    assert token not in sub.stdout + sub.stderr
    assert await _status(server, job_id) == "running"

    done = await _arcp(server, tmp_path, "cancel", job_id, "-vv")
    assert done.returncode == 0, done.stderr
    assert f"cancelled {job_id}" in done.stderr
    assert token not in done.stdout + done.stderr  # not even in debug logs
    assert await _status(server, job_id) == "cancelled"
    assert not ticket.exists()


async def test_cancel_without_the_ticket_is_refused_with_the_rule(
    server: str, tmp_path: Path
) -> None:
    sub = await _arcp(
        server, tmp_path / "a", "submit", "slow", "--input", '{"sec": 60}', "--detach"
    )
    job_id = sub.stdout.strip()
    other = await _arcp(server, tmp_path / "b", "cancel", job_id)
    assert other.returncode == 3
    assert "PERMISSION_DENIED" in other.stderr
    assert "--detach" in other.stderr
    assert (await _arcp(server, tmp_path / "a", "cancel", job_id)).returncode == 0


async def test_watch_reattaches_a_detached_job(server: str, tmp_path: Path) -> None:
    sub = await _arcp(
        server,
        tmp_path,
        "submit",
        "progress",
        "--input",
        '{"n": 8, "delay_ms": 400}',
        "--detach",
        "--json",
    )
    assert sub.returncode == 0, sub.stderr
    job_id = json.loads(sub.stdout)["job_id"]
    watched = await _arcp(server, tmp_path, "watch", job_id)
    assert watched.returncode == 0, watched.stderr
    assert f"reattached {job_id}" in watched.stderr
    assert json.loads(watched.stdout) == {"steps": 8}
    assert "progress: 8/8 steps" in watched.stderr
    assert not (tmp_path / "arcp" / "sessions" / f"{job_id}.json").exists()


async def test_cancel_of_a_detached_job_that_already_ended(server: str, tmp_path: Path) -> None:
    sub = await _arcp(server, tmp_path, "submit", "echo", "--input", '"x"', "--detach")
    job_id = sub.stdout.strip()
    await asyncio.sleep(0.3)
    done = await _arcp(server, tmp_path, "cancel", job_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "job_id": job_id,
        "cancelled": False,
        "final_status": "success",
    }
