-- The Timbre catalog. Every table lives in the connection's current schema (search_path), so
-- tests can give each case its own schema. Keys are chosen so the big tables can be distributed
-- by user (ratings, recommendation entries) or item (features, embeddings) under Citus unchanged.

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text NOT NULL UNIQUE CHECK (external_id <> ''),
    attributes  jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text NOT NULL UNIQUE CHECK (external_id <> ''),
    title       text,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per user–item pair; a re-rating replaces the value.
CREATE TABLE ratings (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id  bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    value    real   NOT NULL CHECK (value = value AND value > '-Infinity' AND value < 'Infinity'),
    rated_at timestamptz,
    PRIMARY KEY (user_id, item_id)
);
-- "who rated this item" (item-based lookups, cascades from items).
CREATE INDEX ratings_item_id_idx ON ratings (item_id);

-- Decoded-audio facts and the MFCC sequence of a track (Float32 little-endian, coefficients ×
-- frames, row-major by coefficient), matched by content hash so a renamed file is the same track.
CREATE TABLE audio_features (
    item_id        bigint PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    content_sha256 bytea  NOT NULL UNIQUE CHECK (octet_length(content_sha256) = 32),
    source_path    text   NOT NULL,
    format         text   NOT NULL,
    sample_rate    integer NOT NULL CHECK (sample_rate > 0),
    channels       integer NOT NULL CHECK (channels > 0),
    duration_s     double precision NOT NULL CHECK (duration_s >= 0),
    n_coefficients integer NOT NULL CHECK (n_coefficients > 0),
    n_frames       integer NOT NULL CHECK (n_frames >= 0),
    extractor      jsonb  NOT NULL,
    mfcc           bytea  NOT NULL CHECK (octet_length(mfcc) = 4 * n_coefficients * n_frames),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- A fitted strategy: its parameters, the vocabulary it was trained on and its binary state.
CREATE TABLE trained_models (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy     text   NOT NULL CHECK (strategy <> ''),
    parameters   jsonb  NOT NULL,
    trained_on   jsonb  NOT NULL DEFAULT '{}'::jsonb,
    state        bytea  NOT NULL,
    code_version text   NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trained_models_strategy_idx ON trained_models (strategy, created_at DESC);

-- Item vectors produced by a model (e.g. the audio LSTM's state), one per item and model.
CREATE TABLE item_embeddings (
    model_id bigint NOT NULL REFERENCES trained_models (id) ON DELETE CASCADE,
    item_id  bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    vector   real[] NOT NULL CHECK (array_ndims(vector) = 1 AND cardinality(vector) > 0),
    PRIMARY KEY (model_id, item_id)
);
CREATE INDEX item_embeddings_item_id_idx ON item_embeddings (item_id);

CREATE TABLE evaluation_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset      jsonb NOT NULL,
    split        jsonb NOT NULL,
    settings     jsonb NOT NULL DEFAULT '{}'::jsonb,
    code_version text  NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE evaluation_results (
    run_id     bigint  NOT NULL REFERENCES evaluation_runs (id) ON DELETE CASCADE,
    position   integer NOT NULL CHECK (position >= 0),
    strategy   text    NOT NULL,
    parameters jsonb   NOT NULL,
    metrics    jsonb   NOT NULL,
    timings    jsonb   NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (run_id, position)
);

-- Top-N lists served to a downstream app. A list is written whole in one transaction; the app
-- reads the newest published list per strategy.
CREATE TABLE recommendation_lists (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy     text    NOT NULL,
    model_id     bigint  REFERENCES trained_models (id) ON DELETE SET NULL,
    list_length  integer NOT NULL CHECK (list_length > 0),
    published_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recommendation_lists_strategy_idx ON recommendation_lists (strategy, published_at DESC);

CREATE TABLE recommendation_entries (
    list_id bigint  NOT NULL REFERENCES recommendation_lists (id) ON DELETE CASCADE,
    user_id bigint  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rank    integer NOT NULL CHECK (rank >= 1),
    item_id bigint  NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    score   real    NOT NULL,
    PRIMARY KEY (list_id, user_id, rank)
);
-- Deleting a user or item cascades here.
CREATE INDEX recommendation_entries_user_id_idx ON recommendation_entries (user_id);
CREATE INDEX recommendation_entries_item_id_idx ON recommendation_entries (item_id);
