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

-- One row per imported line. Its pair's total is the sum of these counts. No foreign keys: they
-- were checked row by row and made a play-log import 4× PostgreSQL's own COPY + INSERT floor
-- (a play log is the largest table of a music catalogue). Only the importer writes here, in the
-- transaction that adds the pair to play_totals; deleting a pair (directly, or by cascade from
-- its user or item) deletes its plays through the statement trigger below. Timbre never deletes
-- imported_files rows: forgetting a file would let a rerun count its plays twice.
CREATE TABLE plays (
    user_id   bigint  NOT NULL,
    item_id   bigint  NOT NULL,
    count     integer NOT NULL CHECK (count >= 1),
    played_at timestamptz,
    file_id   integer NOT NULL
);
CREATE INDEX plays_user_item_idx ON plays (user_id, item_id);

CREATE FUNCTION delete_plays_of_pairs() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM plays p USING gone g WHERE p.user_id = g.user_id AND p.item_id = g.item_id;
    RETURN NULL;
END $$;
CREATE TRIGGER play_totals_delete_plays AFTER DELETE ON play_totals
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION delete_plays_of_pairs();
