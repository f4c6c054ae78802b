"""A throwaway PostgreSQL cluster for the tests (pytest plugin, see ``tests/conftest.py``).

``postgres_cluster`` (session) runs ``initdb`` and ``pg_ctl`` from the PostgreSQL binaries on
PATH or under ``/usr/lib/postgresql/*/bin`` in a temporary directory, listening on 127.0.0.1
only; ``postgres_dsn`` (function) is a fresh empty database on it. Without the binaries the
tests skip, except under CI (``CI`` set), where they fail: CI must never skip them silently.

Running as root, the cluster runs as the ``postgres`` OS user (PostgreSQL refuses root).
A DSN is a plain string, so a test may hand it to child processes (several runtimes on one
database); :meth:`PostgresCluster.create_database` makes more databases.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

__all__ = [
    "PASSWORD_ROLE",
    "PostgresCluster",
    "find_pg_bindir",
    "postgres_cluster",
    "postgres_dsn",
    "silence_node",
    "start_cluster",
]

PASSWORD_ROLE = "arcp_password_user"
"""The one role the cluster authenticates by password over TCP (every other role: trust)."""

_RUN_AS = "postgres"


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name)) or (0,)


def find_pg_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then the newest Debian one."""
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("pg_ctl") is not None:
        return Path(on_path).resolve().parent
    candidates = [
        bindir
        for bindir in Path("/usr/lib/postgresql").glob("*/bin")
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()
    ]
    return max(candidates, key=_version_key, default=None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class PostgresCluster:
    """A running throwaway cluster: superuser ``postgres``, no password, on 127.0.0.1."""

    bindir: Path
    datadir: Path
    host: str
    port: int

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """The URL of ``dbname`` on this cluster (a plain string, fine for child processes)."""
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    def create_database(self) -> str:
        """Create a fresh empty database and return its DSN."""
        name = f"t_{uuid.uuid4().hex}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        """Drop the database a DSN of :meth:`create_database` names, connections and all."""
        name = dsn.rsplit("/", 1)[1]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", _RUN_AS, "--", *argv] if os.geteuid() == 0 else argv


def _run(cwd: Path, *argv: str) -> None:
    done = subprocess.run(
        _as_owner(list(argv)), cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def start_cluster(bindir: Path) -> Iterator[PostgresCluster]:
    """Create, start, and at the end stop and delete a cluster in a temporary directory."""
    base = Path(tempfile.mkdtemp(prefix="arcp-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(_RUN_AS)
        os.chown(base, owner.pw_uid, owner.pw_gid)
    datadir = base / "data"
    pg_ctl = str(bindir / "pg_ctl")
    log = base / "log"
    try:
        _run(base, str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
             "--no-sync", "-E", "UTF8", "--locale=C")  # fmt: skip
        hba = datadir / "pg_hba.conf"
        rule = f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())  # the first matching line wins
        for attempt in range(3):  # the free port may be taken before the server binds it
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={datadir}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=200"
            )
            try:
                _run(base, pg_ctl, "-D", str(datadir), "-l", str(log), "-w", "-o", options, "start")
            except RuntimeError:
                if attempt == 2:
                    raise RuntimeError(log.read_text() if log.exists() else "no log") from None
                continue
            yield PostgresCluster(bindir, datadir, "127.0.0.1", port)
            return
    finally:
        if (datadir / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                _run(base, pg_ctl, "-D", str(datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway cluster for the whole test session."""
    bindir = find_pg_bindir()
    if bindir is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or /usr/lib/postgresql"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    with start_cluster(bindir) as cluster:
        yield cluster


@pytest.fixture
def postgres_dsn(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The DSN of a fresh, empty database, dropped after the test."""
    dsn = postgres_cluster.create_database()
    try:
        yield dsn
    finally:
        postgres_cluster.drop_database(dsn)


async def silence_node(dsn: str, node_id: str) -> None:
    """Make cluster node ``node_id`` look silent for an hour (its last keep-alive)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            "UPDATE nodes SET seen_at = now() - interval '1 hour' WHERE node_id = %s", (node_id,)
        )
