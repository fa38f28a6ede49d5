-- Automatic style labelling: the content model that made an item's embedding also names the item's
-- most probable class (e.g. the soundtrack or genre it sounds like) with that class's probability
-- (mean of the softmax over the track's 3 s segments).
ALTER TABLE item_embeddings
    ADD COLUMN label             text CHECK (label <> ''),
    ADD COLUMN label_probability real CHECK (label_probability BETWEEN 0 AND 1),
    ADD COLUMN created_at        timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT item_embeddings_label_pair CHECK ((label IS NULL) = (label_probability IS NULL));
