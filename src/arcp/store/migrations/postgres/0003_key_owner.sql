-- Which node claimed each idempotency key (§7.2). A claim comes before its job row, in a
-- commit of its own: a node killed between the two leaves a claim without a job, which
-- would refuse every retry of that key. The node that made it clears such claims when it
-- starts again, and any node clears those of a node that went silent.
ALTER TABLE idempotency_keys ADD COLUMN owner text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX idempotency_keys_owner ON idempotency_keys (owner);
