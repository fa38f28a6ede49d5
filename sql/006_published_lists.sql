-- Lists an app can read. A published list has a name (a "home feed", a "new releases" list; by
-- default the strategy spec) and records the rules it was built under; entries may carry their
-- explanation. Lists are written whole in one transaction and the view below picks the newest
-- list per name by id, so a reader sees either the previous list or the new one, never a mix.
ALTER TABLE recommendation_lists
    ADD COLUMN name  text,
    ADD COLUMN rules jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(rules) = 'object');
UPDATE recommendation_lists SET name = strategy WHERE name IS NULL;
ALTER TABLE recommendation_lists
    ALTER COLUMN name SET NOT NULL,
    ADD CONSTRAINT recommendation_lists_name_not_empty CHECK (name <> '');
CREATE INDEX recommendation_lists_name_idx ON recommendation_lists (name, id DESC);

-- [{"item": external id, "title": text or null, "share": number}, …], largest share first.
ALTER TABLE recommendation_entries
    ADD COLUMN explanation jsonb CHECK (explanation IS NULL OR jsonb_typeof(explanation) = 'array');

-- The app's contract: the newest list of each name, one row per user and rank.
CREATE VIEW published_recommendations AS
SELECT l.name       AS list_name,
       l.id         AS list_id,
       l.published_at,
       u.external_id AS user_id,
       e.rank,
       i.external_id AS item_id,
       i.title,
       e.score,
       e.explanation
FROM (SELECT DISTINCT ON (name) id, name, published_at FROM recommendation_lists ORDER BY name, id DESC) l
JOIN recommendation_entries e ON e.list_id = l.id
JOIN users u ON u.id = e.user_id
JOIN items i ON i.id = e.item_id;

-- Items never to recommend: to one user (user_id set; e.g. already in their library) or to
-- everyone (user_id NULL; e.g. licensing). Every recommend, serve and publish applies them.
CREATE TABLE excluded_items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
    item_id    bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX excluded_items_pair_idx ON excluded_items (coalesce(user_id, 0), item_id);
