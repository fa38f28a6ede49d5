-- Embedding sets: what a producer's item vectors are. The vectors stay in item_embeddings, keyed by
-- the trained_models row that made them (an audio model, a metadata field's multi-hot model, a CF
-- model's item factors, a model predicting factors from content, or an imported file); this table
-- names each set and says its kind, so `--embedding-model latest` resolves within a kind instead of
-- taking the highest id of any kind (adding genre vectors must not switch `content` off audio).
CREATE TABLE embedding_sets (
    model_id   bigint  PRIMARY KEY REFERENCES trained_models (id) ON DELETE CASCADE,
    name       text    NOT NULL CHECK (name <> ''),
    kind       text    NOT NULL CHECK (kind IN ('audio-model', 'metadata', 'cf-factors', 'predicted-factors', 'imported')),
    dimension  integer NOT NULL CHECK (dimension > 0),
    source     jsonb   NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embedding_sets_kind_idx ON embedding_sets (kind, model_id DESC);
CREATE INDEX embedding_sets_name_idx ON embedding_sets (name, model_id DESC);

-- Sets stored before this table, classified by the model that made them.
INSERT INTO embedding_sets (model_id, name, kind, dimension, source)
SELECT m.id,
       CASE WHEN m.strategy = 'item-metadata' THEN m.parameters ->> 'field' ELSE m.strategy || '-' || m.id END,
       CASE WHEN m.strategy = 'item-metadata' THEN 'metadata' ELSE 'audio-model' END,
       (SELECT cardinality(e.vector) FROM item_embeddings e WHERE e.model_id = m.id LIMIT 1),
       jsonb_build_object('producer', m.strategy)
FROM trained_models m
WHERE EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = m.id);
