-- Initial schema of the SQLite store (arcp.store.sqlite).
-- JSON columns hold orjson-encoded UTF-8 bytes; NULL stands for None.

-- One row per session (§6). Resume tokens are kept only as their SHA-256 digest (§14).
-- The implicit rowid keeps insertion order, which load() reports.
CREATE TABLE sessions (
    session_id        TEXT PRIMARY KEY,
    principal         TEXT NOT NULL,
    features          BLOB NOT NULL,
    token_digest      BLOB NOT NULL,
    resume_window_sec REAL NOT NULL,
    first_seq         INTEGER NOT NULL,
    last_seq          INTEGER NOT NULL,
    acked_seq         INTEGER NOT NULL,
    detached_at       REAL,
    subscriptions     BLOB NOT NULL
);

-- What the buffered events of one job share: the pre-encoded envelope middle (type, trace
-- and job ids, §8.3), the job and the feature gate. Each distinct triple is stored once and
-- its events name it by head_id. Heads no event refers to any more are deleted from time to
-- time (a commit sweeps them once the table has doubled since the last sweep).
CREATE TABLE heads (
    head_id INTEGER PRIMARY KEY,
    head    BLOB NOT NULL,
    job_id  TEXT NOT NULL,
    gate    INTEGER NOT NULL
);

-- A session's buffered events (§6.3 resume, §6.5 ack), framed as sent (§8.3), in chunks: a
-- commit appends one row per session holding that batch's events of the session, packed by
-- arcp.store.sqlite (each entry: seq, origin_seq, head_id, payload). The envelope middle, job
-- and gate come through heads. An event committed again with a seq already held replaces the
-- older one: among chunks, the highest chunk_id (the latest commit) wins. first_seq and
-- last_seq are the lowest and highest seq in the chunk; a trim deletes the chunks wholly
-- below a session's first_seq and rewrites the one it cuts through.
CREATE TABLE session_chunks (
    chunk_id   INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    data       BLOB NOT NULL
);

CREATE INDEX session_chunks_owner ON session_chunks (session_id, first_seq);

-- One row per job (§7). Several rows may share (principal, idempotency_key): the
-- runtime decides what a key means (§7.2); the store only keeps the last write per job.
CREATE TABLE jobs (
    job_id            TEXT PRIMARY KEY,
    principal         TEXT NOT NULL,
    agent             TEXT NOT NULL,
    lease             BLOB NOT NULL,
    lease_constraints BLOB,
    trace_id          TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    input             BLOB NOT NULL,
    max_runtime_sec   REAL,
    origin_session_id TEXT NOT NULL,
    accepted          BLOB NOT NULL,
    fingerprint       BLOB NOT NULL,
    idempotency_key   TEXT,
    status            TEXT NOT NULL,
    finished_at       REAL,
    parent_job_id     TEXT,
    children          BLOB NOT NULL,
    budget            BLOB,
    outcome           BLOB,
    first_origin_seq  INTEGER NOT NULL,
    last_origin_seq   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX jobs_idempotency ON jobs (principal, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- A job's own log in the origin coordinate (§7.6), in chunks like session_chunks: one row
-- per job and commit, each entry packed as origin_seq, kind, gate, payload.
CREATE TABLE job_chunks (
    chunk_id   INTEGER PRIMARY KEY,
    job_id     TEXT NOT NULL,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    data       BLOB NOT NULL
);

CREATE INDEX job_chunks_owner ON job_chunks (job_id, first_seq);

-- Credentials still to be revoked upstream (§9.8.2); rowid keeps insertion order.
CREATE TABLE revocations (
    credential_id TEXT PRIMARY KEY,
    job_id        TEXT NOT NULL
);
