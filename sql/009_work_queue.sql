-- One work queue for every job that workers (threads, processes, machines) split between them:
-- audio ingest (queue 'audio-ingest', key = a file's absolute path) and embedding (queue
-- 'embed:<model id>', key = an item id) both claim here with FOR UPDATE SKIP LOCKED, holding the
-- row lock while they work and marking the row finished (with the failure, if any) in the
-- transaction that stores the result: a killed worker's claim rolls back with its connection and
-- the next worker takes it. Enqueueing a finished key opens it again (a rerun retries what
-- failed). Claims touch this small table only, so under Citus it is a reference table and the
-- workers coordinate unchanged. No foreign keys: keys name files as well as items, and an entry
-- whose item or model has gone is finished when claimed. Replaces audio_ingest_queue (002) and
-- embedding_queue (004), whose rows it takes over.
CREATE TABLE work_queue (
    queue       text NOT NULL CHECK (queue <> ''),
    key         text NOT NULL CHECK (key <> ''),
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text,
    PRIMARY KEY (queue, key)
);
CREATE INDEX work_queue_pending_idx ON work_queue (queue, key) WHERE finished_at IS NULL;

INSERT INTO work_queue (queue, key, enqueued_at, finished_at, error)
SELECT 'audio-ingest', path, enqueued_at, finished_at, error FROM audio_ingest_queue;
INSERT INTO work_queue (queue, key, enqueued_at)
SELECT 'embed:' || model_id, item_id::text, enqueued_at FROM embedding_queue;

DROP TABLE audio_ingest_queue;
DROP TABLE embedding_queue;
