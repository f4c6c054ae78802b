-- Several runtime nodes on one database (arcp.cluster).
-- A session is owned by one node at a time; a job lives on the node it was submitted to;
-- a pending revocation belongs to the node that queued it. Rows of version 1 belong to the
-- node named '' (a store opened without a node id).
ALTER TABLE sessions ADD COLUMN owner text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN home text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE revocations ADD COLUMN owner text COLLATE "C" NOT NULL DEFAULT '';

CREATE INDEX sessions_owner ON sessions (owner);
CREATE INDEX jobs_home ON jobs (home);
CREATE INDEX jobs_origin_session ON jobs (origin_session_id);
CREATE INDEX jobs_principal ON jobs (principal, job_id);

-- How far a session had seen each job when its previous node handed it over (§6.3):
-- the job-log seq (origin coordinate) of the last entry it was given.
CREATE TABLE session_cursors (
    session_id text COLLATE "C" NOT NULL,
    job_id     text COLLATE "C" NOT NULL,
    cursor     bigint NOT NULL,
    PRIMARY KEY (session_id, job_id)
);

-- Idempotency keys claimed across nodes (§7.2): the claim comes before the job exists.
CREATE TABLE idempotency_keys (
    principal   text NOT NULL,
    key         bytea NOT NULL,
    job_id      text COLLATE "C" NOT NULL,
    fingerprint bytea NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);

-- Every node says it is alive every second or so; a node that stops saying so for a few
-- seconds is taken for dead, and its sessions may be taken over without a hand-over.
CREATE TABLE nodes (
    node_id text COLLATE "C" PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
