"""The asyncio ARCP runtime: serves connections and runs agents (§6-§8).

:class:`Runtime` is a thin driver around the sans-IO :class:`RuntimeCore`: per connection it
runs one reader loop, one writer task that drains the session's queue, and (with
``heartbeat`` negotiated) one heartbeat task. Agents run as one task per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from arcp._version import __version__
from arcp.protocol.agent_catalog import AgentCatalog
from arcp.protocol.authority import ModelPolicy
from arcp.protocol.ceilings import Ceilings
from arcp.protocol.job_table import ObserverPolicy
from arcp.protocol.journal import Journal
from arcp.protocol.limits import Limits
from arcp.protocol.runtime_actions import Action, AskCluster, Authenticate, StartJob, StopJob
from arcp.protocol.runtime_connection import RuntimeConnection
from arcp.protocol.runtime_core import SUPPORTED_FEATURES, RuntimeConfig, RuntimeCore
from arcp.protocol.runtime_session import RuntimeSession
from arcp.runtime.bearer import BearerAuth, TokenVerifier
from arcp.runtime.context import JobContext
from arcp.runtime.credentials import CredentialProvisioner
from arcp.runtime.job_runner import JobRunner
from arcp.runtime.persistence import JournaledRevocationOutbox, Persister
from arcp.runtime.revocation import CredentialKeeper, PendingRevocation, RevocationOutbox
from arcp.store.base import Store, StoredRevocation, StoreError
from arcp.transport.base import Transport, TransportClosed
from arcp_gen.errors import InternalError, JobCancelledError, UnauthenticatedError
from arcp_gen.features import Feature

if TYPE_CHECKING:
    from arcp.cluster.database import Clustered
    from arcp.cluster.node import ClusterNode
    from arcp.transport.websocket import WebSocketServer

__all__ = ["Agent", "Runtime", "TokenVerifier", "wall_clock_ms"]

log = logging.getLogger("arcp.runtime")

Agent = Callable[[Any, JobContext], Awaitable[Any]]
"""An agent: ``async def agent(input, ctx) -> result``."""

A = TypeVar("A", bound=Agent)

_CLOSE_GRACE_SEC = 1.0
"""How long a connection being closed for a limit may take to write its last error."""
_CLOSE_TIMEOUT_SEC = 5.0
"""How long a closing handshake may take before the connection is dropped."""


async def _recv(transport: Transport, deadline: float | None) -> bytes:
    """The next frame; TimeoutError past ``deadline`` (loop time) when one is given."""
    if deadline is None:
        return await transport.recv()
    async with asyncio.timeout_at(deadline):
        return await transport.recv()


async def _shut(transport: Transport, *, abort: bool = False) -> None:
    """Close ``transport``; drop it (when it can be dropped) if ``abort`` or when the peer
    does not take the close within :data:`_CLOSE_TIMEOUT_SEC` because it stopped reading."""
    drop: Callable[[], None] | None = getattr(transport, "drop", None)
    if abort and drop is not None:
        drop()
        return
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT_SEC):
            await transport.close()
    except TimeoutError:
        if drop is not None:
            drop()


def wall_clock_ms() -> int:
    """The wall clock the runtime injects into its sans-IO core: milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class Runtime:
    """An ARCP runtime hosting agents; serve it over any :class:`Transport` (§4).

    Authority (§9): ``expiry_grace_sec`` is the grace after a lease's ``expires_at``;
    ``model_policy`` (``"require"`` or ``"allow"``) enables and advertises ``model.use``;
    ``provisioner`` enables and advertises ``provisioned_credentials`` (revocations go through
    ``revocation_outbox``, in memory by default); ``observer_policy(principal, job)`` may let
    other principals subscribe to a job (default: same principal only, §14).

    State: without ``store`` everything lives in this object and a restart forgets it. With
    a :class:`~arcp.store.Store` every session, buffered event, job, idempotency key and
    pending revocation is committed there (in batches, before frames are sent), and
    :meth:`open` (run by the first ``serve``) reads it back after a restart.

    Flow control (§13.2): once a session's client is ``high_water`` events behind (not yet
    acknowledged with ``ack``, not yet sent without), the agents feeding it wait; a
    subscriber that far behind is unsubscribed with ``session.error`` instead. No event is
    dropped before its client had it; ``buffer_limit`` only bounds how many events it
    already had are kept for resume. See docs/sessions.md.

    Limits (§13.2, §14): ``limits`` bounds what one connection or principal may hold
    (hello deadline, queued replies, sessions, jobs and input bytes per principal); see
    :class:`~arcp.protocol.limits.Limits` for the defaults. ``ceilings`` caps the lease,
    budget and lifetime each principal's jobs may be granted (a
    :class:`~arcp.protocol.ceilings.Ceilings` or its mapping form; default: no ceiling).
    """

    def __init__(
        self,
        name: str = "arcp-python",
        version: str = __version__,
        *,
        tokens: Mapping[str, str] | TokenVerifier | None = None,
        resume_window_sec: float = 600,
        heartbeat_interval_sec: float = 30,
        features: Iterable[Feature] | None = None,
        back_pressure_threshold: int = 1000,
        buffer_limit: int = 100_000,
        high_water: int = 50_000,
        max_result_chunk_bytes: int = 1024 * 1024,
        max_result_bytes: int = 64 * 1024 * 1024,
        expiry_grace_sec: float = 1.0,
        model_policy: ModelPolicy | None = None,
        provisioner: CredentialProvisioner | None = None,
        revocation_outbox: RevocationOutbox | None = None,
        observer_policy: ObserverPolicy | None = None,
        store: Store | None = None,
        limits: Limits | None = None,
        ceilings: Ceilings | Mapping[str, Any] | None = None,
    ) -> None:
        supported = set(SUPPORTED_FEATURES)
        if model_policy is not None:
            if model_policy not in ("require", "allow"):
                raise ValueError("model_policy must be 'require' or 'allow'")
            supported.add(Feature.MODEL_USE)
        if provisioner is not None:
            supported.add(Feature.PROVISIONED_CREDENTIALS)
        if high_water < 1:
            raise ValueError("high_water must be at least 1")
        if expiry_grace_sec < 0:
            raise ValueError("expiry_grace_sec must not be negative")
        if isinstance(features, str):  # never iterate a string into one-letter features
            raise TypeError("features must be a collection of feature names, not a string")
        chosen = (
            frozenset(supported) if features is None else frozenset(Feature(f) for f in features)
        )
        if chosen - supported:
            log.warning(
                "not advertising unsupported features: %s",
                ", ".join(sorted(f.value for f in chosen - supported)),
            )
        config = RuntimeConfig(
            name=name,
            version=version,
            features=chosen & supported,
            resume_window_sec=resume_window_sec,
            heartbeat_interval_sec=heartbeat_interval_sec,
            back_pressure_threshold=back_pressure_threshold,
            buffer_limit=buffer_limit,
            high_water=high_water,
            expiry_grace_sec=expiry_grace_sec,
            model_policy=model_policy or "require",
            credentials=provisioner is not None and Feature.PROVISIONED_CREDENTIALS in chosen,
            limits=limits or Limits(),
            ceilings=ceilings
            if ceilings is None or isinstance(ceilings, Ceilings)
            else Ceilings.from_mapping(ceilings),
        )
        self._agents: AgentCatalog[Agent] = AgentCatalog()
        self.core: RuntimeCore[Agent] = RuntimeCore(
            config, self._agents, observer_policy, clock=wall_clock_ms
        )
        self.store = store
        self._journal: Journal | None = None
        self._persister: Persister | None = None
        if store is not None:
            self._journal = Journal()
            self._persister = Persister(store, self._journal, self.core.store_flow)
            self._persister.on_change = self._wake_writers
            if revocation_outbox is None:
                revocation_outbox = JournaledRevocationOutbox(self._journal)
        self.credentials: CredentialKeeper | None = (
            CredentialKeeper(provisioner, revocation_outbox) if provisioner is not None else None
        )
        """The credential keeper when a provisioner is configured (§9.8)."""
        self.jobs = JobRunner(
            self.core,
            self.credentials,
            max_result_chunk_bytes=max_result_chunk_bytes,
            max_result_bytes=max_result_bytes,
        )
        self._auth = BearerAuth(tokens)
        self._connections: dict[RuntimeConnection, tuple[Transport, asyncio.Task[None]]] = {}
        self._unauthenticated = 0
        self._servers: list[WebSocketServer] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False
        self._opened = store is None
        self.cluster: ClusterNode | None = None
        """This runtime's part in a cluster, when its store is shared by several nodes."""
        self._open_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Runtime({self.core.config.name!r}, {self.core.config.version!r})"

    # -- agents (§7.5) ---------------------------------------------------------------------

    def register(
        self, name: str, fn: Agent, *, version: str = "1.0.0", default: bool = False
    ) -> None:
        """Offer ``fn`` as agent ``name@version``."""
        self._agents.add(name, version, fn, default=default)

    def registered(self) -> list[tuple[str, str, Agent, bool]]:
        """Every agent offered, as ``(name, version, agent, is_default)`` (§7.5)."""
        return self._agents.entries()

    def agent(
        self, name: str, *, version: str = "1.0.0", default: bool = False
    ) -> Callable[[A], A]:
        """Decorator form of :meth:`register`."""

        def wrap(fn: A) -> A:
            self.register(name, fn, version=version, default=default)
            return fn

        return wrap

    # -- serving (§4, §6) ----------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Open the store and carry on from its state (§6.3); serving calls this first.

        Detached sessions become resumable with their buffered events; jobs that were
        running when the previous process stopped end with ``job.error INTERNAL_ERROR``
        (retryable); credential revocations left pending are retried (§9.8.2).
        """
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            assert self.store is not None and self._journal is not None
            assert self._persister is not None
            await self.store.open()
            snapshot = await self.store.load()
            now = asyncio.get_running_loop().time()
            self.core.clustered = self._clustered()
            collecting = gc.isenabled()
            gc.disable()  # rebuilding allocates ~2 objects per event and no cycles
            try:
                running = self.core.restore(snapshot, now, time.time())
            finally:
                if collecting:
                    gc.enable()
            self.core.attach_journal(self._journal)
            for job in running:
                err = InternalError("the runtime stopped while the job was running")
                self.core.fail(job, err, "error", now, time.time())
                log.warning("job %s was running when the runtime stopped: ended", job.job_id)
            if self.credentials is not None:
                self._take_revocations(snapshot.revocations)
            self._persister.start()
            if not await self._persister.flush():
                await self._persister.aclose()
                await self.store.close()
                raise StoreError(f"{self.store!r} cannot be written: refusing to serve")
            await self._join_cluster()
            self._opened = True
            log.info(
                "store opened: %d sessions and %d jobs restored, %d interrupted jobs ended",
                len(self.core.sessions),
                len(self.core.jobs),
                len(running),
            )

    def _clustered(self) -> bool:
        from arcp.cluster.database import Clustered

        return isinstance(self.store, Clustered)

    async def _join_cluster(self) -> None:
        if not self._clustered():
            return
        from arcp.cluster.node import ClusterNode

        assert self._persister is not None and self.store is not None
        self.cluster = ClusterNode(
            self.core,
            cast("Clustered", self.store).cluster(),
            self._persister,
            self._act,
            self.jobs.stop,
            self._disconnect,
            self._take_revocations if self.credentials is not None else None,
        )
        await self.cluster.start()

    def _take_revocations(self, stored: list[StoredRevocation]) -> None:
        """Revoke what the store holds for this process or node (§9.8.2)."""
        assert self.credentials is not None
        self.credentials.take(PendingRevocation(r.credential_id, r.job_id) for r in stored)

    def _disconnect(self, session: RuntimeSession) -> None:
        """Close the connection a session is attached to (it moves to another node)."""
        for conn in self._connections:
            if conn.session is session and conn.current:
                conn.close_after_flush()

    async def serve(self, transport: Transport) -> None:
        """Serve one connection until it closes.

        Limits (§14): the peer must open a session within ``hello_timeout_sec``; at most
        ``max_unauthenticated`` connections wait for one; a peer whose replies overflow their
        queue is closed (§13.2).
        """
        if self._closed:
            await transport.close()
            return
        await self.open()
        limits = self.core.config.limits
        if self._unauthenticated >= limits.max_unauthenticated:
            log.warning("connection refused: %d waiting for session.hello", self._unauthenticated)
            await _shut(transport)
            return
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        conn = RuntimeConnection(wake.set, limits.max_preamble_bytes, stamps=self.core.stamps)
        writer = asyncio.create_task(self._write(conn, transport, wake))
        self._connections[conn] = (transport, writer)
        self._start_sweeper()
        heartbeat: asyncio.Task[None] | None = None
        self._unauthenticated += 1
        waiting = True  # counted in _unauthenticated until a session is bound
        hello_deadline = loop.time() + limits.hello_timeout_sec
        try:
            while not conn.overflowed:
                try:
                    data = await _recv(transport, hello_deadline if waiting else None)
                except TransportClosed:
                    break
                except TimeoutError:
                    conn.error(UnauthenticatedError("no session.hello in time"))
                    conn.close_after_flush()
                    break
                session_before = conn.session, conn.generation
                actions = self.core.on_frame(conn, data, loop.time(), time.time())
                del data  # an idle connection keeps no frame (nor its decoded hello) alive
                while actions:
                    await self._act(actions.pop(0))
                if waiting and conn.session is not None:
                    waiting = False
                    self._unauthenticated -= 1
                if (conn.session, conn.generation) != session_before and conn.current:
                    if heartbeat is not None:
                        heartbeat.cancel()
                    heartbeat = asyncio.create_task(self._heartbeat(conn, transport, writer))
        finally:
            if waiting:
                self._unauthenticated -= 1
            if conn.closing and not writer.done():  # give the writer a moment for the error
                await asyncio.wait([writer], timeout=_CLOSE_GRACE_SEC)
            self.core.on_disconnect(conn, loop.time())
            if heartbeat is not None:
                heartbeat.cancel()
            if not writer.done():
                writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, TransportClosed):
                await writer
            self._connections.pop(conn, None)
            await _shut(transport, abort=conn.overflowed)

    async def serve_websocket(
        self, host: str = "127.0.0.1", port: int = 0, path: str | None = "/arcp", **ws_options: Any
    ) -> WebSocketServer:
        """Listen for WebSocket connections (§4); returns the ``WebSocketServer``."""
        from arcp.transport.websocket import serve_websocket

        await self.open()
        server = await serve_websocket(self.serve, host=host, port=port, path=path, **ws_options)
        self._servers.append(server)
        return server

    async def _write(
        self, conn: RuntimeConnection, transport: Transport, wake: asyncio.Event
    ) -> None:
        """Drain ``conn`` to ``transport``: commit first, then send (never an event the
        store does not hold); while the store fails, only control frames go out."""
        loop = asyncio.get_running_loop()
        persister = self._persister
        # A transport may offer ``send_many(frames)`` to write a batch with one flush.
        send_many: Callable[[list[bytes]], Awaitable[None]] | None = getattr(
            transport, "send_many", None
        )

        async def send(frames: list[bytes]) -> None:
            if send_many is not None and frames:  # one frame too: it skips per-frame objects
                await send_many(frames)
            else:
                for frame in frames:
                    await transport.send(frame)

        held: list[bytes] = []  # taken, but their commit failed: sent once it succeeds
        try:
            while True:
                if persister is not None and persister.failing:
                    if not await self._write_control(conn, transport, wake, send):
                        return
                    wake.set()  # the store is back: send what waited
                    continue
                await wake.wait()
                wake.clear()
                frames = conn.take(loop.time())
                if held:
                    frames, held = held + frames, []
                if persister is not None and not await persister.flush():
                    held = frames
                    continue
                await send(frames)
                del frames  # not kept while the connection idles
                if (
                    conn.closing
                    and not conn.preamble
                    and not (conn.current and conn.session and conn.session.outbox)
                ):
                    await transport.close()
                    return
        except TransportClosed:
            return

    async def _write_control(
        self,
        conn: RuntimeConnection,
        transport: Transport,
        wake: asyncio.Event,
        send: Callable[[list[bytes]], Awaitable[None]],
    ) -> bool:
        """While the store fails: send control frames (errors, pongs) as they come, keep
        events queued. False when the connection was superseded and is closed."""
        persister = self._persister
        loop = asyncio.get_running_loop()
        while persister is not None and persister.failing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.25):  # a queue with events wakes no one
                    await wake.wait()
            wake.clear()
            await send(conn.take_control(loop.time()))
            if conn.closing and not conn.current:
                await transport.close()
                return False
        return True

    def _wake_writers(self) -> None:
        """The store started failing or recovered: every writer re-checks what it may send."""
        for conn in self._connections:
            if conn.notify is not None:
                conn.notify()

    async def _heartbeat(
        self, conn: RuntimeConnection, transport: Transport, writer: asyncio.Task[None]
    ) -> None:
        """Ping when idle; on heartbeat loss give the writer one interval to send the error,
        then close the transport even if the peer stopped reading (§6.4)."""
        loop = asyncio.get_running_loop()
        session = conn.session
        while session is not None and conn.current:
            deadline = session.next_deadline()
            if deadline is None:
                if session.closing:
                    await asyncio.wait([writer], timeout=session.heartbeat_interval_sec)
                    await transport.close()
                return
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            if not conn.current:
                return
            session.on_deadline(loop.time())

    async def _act(self, action: Action) -> None:
        if isinstance(action, Authenticate):
            principal = await self._auth.principal(action.token)
            loop = asyncio.get_running_loop()
            self.core.on_authenticated(action.connection, action.hello, principal, loop.time())
        elif isinstance(action, StartJob):
            self.jobs.start(action.job, action.handler)
        elif isinstance(action, StopJob):
            self.jobs.stop(action.job)
        elif isinstance(action, AskCluster):  # pyright: ignore[reportUnnecessaryIsInstance]
            assert self.cluster is not None
            await self.cluster.handle(action)

    # -- credentials (§9.8) ----------------------------------------------------------------------

    async def rotate_credentials(self, job_id: str) -> None:
        """Rotate a running job's credentials (``status credential_rotated``, §9.8.2)."""
        job = self.core.jobs.jobs.get(job_id)
        if job is not None:
            await self.jobs.rotate_credentials(job)

    async def revocations_settled(self) -> None:
        """Wait until every credential of every ended job is revoked upstream (§9.8.2)."""
        await self.jobs.ended_tasks()
        if self.credentials is not None:
            await self.credentials.settled()

    # -- housekeeping and shutdown ----------------------------------------------------------------

    def _start_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        period = max(0.05, min(5.0, self.core.config.resume_window_sec / 4))
        while not self._closed:
            await asyncio.sleep(period)
            self.core.sweep(loop.time())

    async def aclose(self) -> None:
        """Stop accepting, end running jobs, flush every attached session, close transports.

        Jobs still running end with ``job.error CANCELLED``; that terminal message is flushed
        to attached sessions like every other buffered event before their transports close.
        """
        if self._closed:
            return
        self._closed = True  # serve() now refuses new connections
        now = asyncio.get_running_loop().time()
        stopping: list[asyncio.Task[None]] = []
        for job_id, (task, ctx) in list(self.jobs.running.items()):
            job = self.core.jobs.jobs.get(job_id)
            if job is not None:
                err = JobCancelledError("the runtime is shutting down")
                self.core.fail(job, err, "cancelled", now, time.time())
            ctx.mark_cancelled()
            task.cancel()
            stopping.append(task)
        if stopping:
            await asyncio.wait(stopping, timeout=5)
        for conn in list(self._connections):
            conn.close_after_flush()
        writers = [writer for _, writer in self._connections.values()]
        if writers:
            await asyncio.wait(writers, timeout=5)
        for transport, _ in list(self._connections.values()):
            await transport.close()
        for server in self._servers:
            await server.close(grace=1)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.credentials is not None:
            await self.credentials.aclose()
        if self.cluster is not None:
            await self.cluster.aclose()
        if self.store is not None and self._persister is not None:
            if self._opened:
                await self._persister.aclose()
            await self.store.close()
