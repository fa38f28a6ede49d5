-- Tracks a content model still has to embed. `timbre content embed` enqueues what lacks an
-- embedding and its workers (threads, processes, machines) claim rows here with FOR UPDATE SKIP
-- LOCKED, holding the lock while they describe the track and deleting the row in the transaction
-- that stores the embedding. Claims touch this small table only (no multi-shard row locks on the
-- item-distributed tables), so under Citus it becomes a reference table and the workers
-- coordinate unchanged. No foreign keys: rows are transient, and an entry whose item or model
-- has gone is dropped when claimed.
CREATE TABLE embedding_queue (
    model_id    bigint NOT NULL,
    item_id     bigint NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, item_id)
);
