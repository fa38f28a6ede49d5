-- Listening data: plays as a first-class kind of feedback beside ratings.
--
-- play_totals holds one row per user–item pair (the sum of its plays), which is what strategies
-- train on and what serving reads; it is maintained by the importer in the transaction that adds
-- the plays, so a snapshot reads one row per pair instead of aggregating every play.
-- plays keeps each imported row as given (a play-log row counts 1, a count-file row its count)
-- with its time, so temporal splits and later re-aggregation stay possible.
CREATE TABLE play_totals (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id         bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    plays           bigint NOT NULL CHECK (plays >= 1),
    -- The pair's first play with a known time: a temporal split holds out pairs first played late.
    first_played_at timestamptz,
    PRIMARY KEY (user_id, item_id)
);
-- "who played this item" (item-based lookups, cascades from items).
CREATE INDEX play_totals_item_id_idx ON play_totals (item_id);

-- A plays file imported once: its SHA-256 over the bytes that were parsed, so the same file
-- again adds nothing (plays add up, unlike ratings, so a rerun must be recognised).
CREATE TABLE imported_files (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      bytea  NOT NULL UNIQUE CHECK (octet_length(sha256) = 32),
    kind        text   NOT NULL CHECK (kind IN ('plays')),
    path        text   NOT NULL,
    row_count   bigint NOT NULL CHECK (row_count >= 0),
    imported_at timestamptz NOT NULL DEFAULT now()
);

-- One row per imported line. Its pair's total is the sum of these counts; the foreign key on
-- the pair (one check per row instead of one per user and one per item) cascades deletes of a
-- user or item through play_totals.
CREATE TABLE plays (
    user_id   bigint  NOT NULL,
    item_id   bigint  NOT NULL,
    count     integer NOT NULL CHECK (count >= 1),
    played_at timestamptz,
    -- The file it came from; a file's row is kept while its plays are (forgetting it would let a
    -- rerun count them twice).
    file_id   integer NOT NULL REFERENCES imported_files (id),
    FOREIGN KEY (user_id, item_id) REFERENCES play_totals (user_id, item_id) ON DELETE CASCADE
);
CREATE INDEX plays_user_item_idx ON plays (user_id, item_id);
