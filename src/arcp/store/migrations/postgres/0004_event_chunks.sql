-- Events and job-log entries in chunks (issue #18): one row per group of a commit's events
-- sharing their owner and constant columns (a session, job, head and gate; a job), instead
-- of one index-maintained row per event. A chunk holds its entries as arrays and their
-- payloads as one bytea, cut at `pos` (1-based) for `lens` bytes.
-- `session_events` and `job_events` become views over the chunks with the rows the tables
-- held: of one seq in a session the later chunk wins; of one origin seq in a job the first
-- stays. A trim deletes the chunks wholly below the new start and drops the entries below
-- it from the arrays of one it cuts through (`first_seq`, `last_seq`: the least and the
-- greatest seq a chunk holds).
CREATE TABLE session_chunks (
    session_id text COLLATE "C" NOT NULL,
    chunk_id   bigint GENERATED ALWAYS AS IDENTITY,
    job_id     text COLLATE "C" NOT NULL,
    head       bytea NOT NULL,
    gate       bigint NOT NULL,
    first_seq  bigint NOT NULL,
    last_seq   bigint NOT NULL,
    seqs       int8[] NOT NULL,
    origins    int8[] NOT NULL,
    pos        int4[] NOT NULL,
    lens       int4[] NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (session_id, chunk_id)
);

CREATE TABLE job_chunks (
    job_id     text COLLATE "C" NOT NULL,
    chunk_id   bigint GENERATED ALWAYS AS IDENTITY,
    first_seq  bigint NOT NULL,
    last_seq   bigint NOT NULL,
    origins    int8[] NOT NULL,
    kinds      int2[] NOT NULL,
    gates      int8[] NOT NULL,
    pos        int4[] NOT NULL,
    lens       int4[] NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (job_id, chunk_id)
);

-- Trims and readers look for the chunks that reach past a seq: without these, every commit
-- and every follower's read scans all the chunks of a long job or session.
CREATE INDEX session_chunks_reach ON session_chunks (session_id, last_seq);
CREATE INDEX job_chunks_reach ON job_chunks (job_id, last_seq);

-- The rows of version 3, one chunk each.
INSERT INTO session_chunks (session_id, job_id, head, gate, first_seq, last_seq, seqs,
    origins, pos, lens, data)
SELECT session_id, job_id, head, gate, seq, seq, ARRAY[seq], ARRAY[origin_seq], ARRAY[1],
    ARRAY[length(payload)], payload
FROM session_events ORDER BY session_id, seq;

INSERT INTO job_chunks (job_id, first_seq, last_seq, origins, kinds, gates, pos, lens, data)
SELECT job_id, origin_seq, origin_seq, ARRAY[origin_seq], ARRAY[kind], ARRAY[gate], ARRAY[1],
    ARRAY[length(payload)], payload
FROM job_events ORDER BY job_id, origin_seq;

DROP TABLE session_events;
DROP TABLE job_events;

CREATE VIEW session_events AS
SELECT DISTINCT ON (c.session_id, u.seq) c.session_id, u.seq, c.job_id, u.origin_seq, c.head,
    substring(c.data FROM u.pos FOR u.len) AS payload, c.gate
FROM session_chunks c
CROSS JOIN LATERAL unnest(c.seqs, c.origins, c.pos, c.lens) AS u(seq, origin_seq, pos, len)
ORDER BY c.session_id, u.seq, c.chunk_id DESC;

CREATE VIEW job_events AS
SELECT DISTINCT ON (c.job_id, u.origin_seq) c.job_id, u.origin_seq, u.kind,
    substring(c.data FROM u.pos FOR u.len) AS payload, u.gate
FROM job_chunks c
CROSS JOIN LATERAL unnest(c.origins, c.kinds, c.gates, c.pos, c.lens)
    AS u(origin_seq, kind, gate, pos, len)
ORDER BY c.job_id, u.origin_seq, c.chunk_id;
