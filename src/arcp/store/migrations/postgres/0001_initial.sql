-- Initial schema of the PostgreSQL store (arcp.store.postgres).
-- Identifiers use the "C" collation, so ORDER BY matches Python's string order.
-- JSON columns are `json`, not `jsonb`: json keeps the text as written, including "\u0000",
-- which jsonb refuses (a job's input comes from a client). SQL NULL stands for None.

-- One row per session (§6). Resume tokens are kept only as their SHA-256 digest (§14).
-- `position` keeps first-insertion order, which load() reports.
CREATE TABLE sessions (
    session_id        text COLLATE "C" PRIMARY KEY,
    position          bigint GENERATED ALWAYS AS IDENTITY,
    principal         text NOT NULL,
    features          json NOT NULL,
    token_digest      bytea NOT NULL,
    resume_window_sec double precision NOT NULL,
    first_seq         bigint NOT NULL,
    last_seq          bigint NOT NULL,
    acked_seq         bigint NOT NULL,
    detached_at       double precision,
    subscriptions     json NOT NULL
);

-- A session's buffered events (§6.3 resume, §6.5 ack), framed as sent (§8.3).
-- No foreign key: a batch may carry events of a session it also forgets.
CREATE TABLE session_events (
    session_id text COLLATE "C" NOT NULL,
    seq        bigint NOT NULL,
    job_id     text COLLATE "C" NOT NULL,
    origin_seq bigint NOT NULL,
    head       bytea NOT NULL,
    payload    bytea NOT NULL,
    gate       bigint NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- One row per job (§7). The idempotency key (§7.2) is bytea (UTF-8): it comes from a client
-- and may hold U+0000, which text cannot. Not unique: the runtime decides what a repeated
-- key means, and a constraint here would fail a whole batch (the store contract).
CREATE TABLE jobs (
    job_id            text COLLATE "C" PRIMARY KEY,
    principal         text NOT NULL,
    agent             text NOT NULL,
    lease             json NOT NULL,
    lease_constraints json,
    trace_id          text NOT NULL,
    created_at        text NOT NULL,
    input             json NOT NULL,
    max_runtime_sec   double precision,
    origin_session_id text NOT NULL,
    accepted          json NOT NULL,
    fingerprint       bytea NOT NULL,
    idempotency_key   bytea,
    status            text NOT NULL,
    finished_at       double precision,
    parent_job_id     text,
    children          json NOT NULL,
    budget            json,
    outcome_is_error  boolean,
    outcome           json,
    first_origin_seq  bigint NOT NULL,
    last_origin_seq   bigint NOT NULL
);

CREATE INDEX jobs_idempotency ON jobs (principal, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- A job's own log in the origin coordinate (§7.6).
CREATE TABLE job_events (
    job_id     text COLLATE "C" NOT NULL,
    origin_seq bigint NOT NULL,
    kind       smallint NOT NULL,
    payload    bytea NOT NULL,
    gate       bigint NOT NULL,
    PRIMARY KEY (job_id, origin_seq)
);

-- Credentials still to be revoked upstream (§9.8.2): ids, never values.
CREATE TABLE revocations (
    credential_id text COLLATE "C" PRIMARY KEY,
    position      bigint GENERATED ALWAYS AS IDENTITY,
    job_id        text NOT NULL
);
