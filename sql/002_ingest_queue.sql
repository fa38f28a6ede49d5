-- Files an audio ingest has to analyse. Every `timbre audio ingest` enqueues its files here and its
-- workers (threads, processes, machines) claim them one at a time with FOR UPDATE SKIP LOCKED,
-- holding the row lock while they analyse: concurrent runs split the work, and a killed worker's
-- file is free again the moment its connection drops.
CREATE TABLE audio_ingest_queue (
    path        text PRIMARY KEY CHECK (path <> ''),
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text
);
CREATE INDEX audio_ingest_queue_pending_idx ON audio_ingest_queue (path) WHERE finished_at IS NULL;
