-- External ids are compared in Unicode NFC form (see ExternalID in TimbreCore): Swift compares
-- strings by canonical equivalence, PostgreSQL by bytes, so "café" written as U+00E9 and as
-- e + U+0301 must never be two rows. Existing ids are normalised here; two rows that would become
-- one stop the migration, naming both (merge or rename them by hand, then migrate again). The
-- CHECK keeps every later writer honest. Unicode normalisation needs a UTF8 server encoding;
-- other encodings cannot hold such ids apart anyway, so they are left as they are.
DO $$
DECLARE
    clash text;
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RETURN;
    END IF;
    SELECT string_agg(format('%s %s', kind, ids), '; ') INTO clash FROM (
        SELECT 'users' AS kind, string_agg(format('%L (id %s)', external_id, id), ' and ' ORDER BY id) AS ids
        FROM users GROUP BY normalize(external_id, NFC) HAVING count(*) > 1
        UNION ALL
        SELECT 'items', string_agg(format('%L (id %s)', external_id, id), ' and ' ORDER BY id)
        FROM items GROUP BY normalize(external_id, NFC) HAVING count(*) > 1
    ) AS clashes;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'external ids that are one id in Unicode NFC form: %', clash
            USING HINT = 'merge or rename these rows, then run timbre db migrate again';
    END IF;
    UPDATE users SET external_id = normalize(external_id, NFC) WHERE external_id IS NOT NFC NORMALIZED;
    UPDATE items SET external_id = normalize(external_id, NFC) WHERE external_id IS NOT NFC NORMALIZED;
    ALTER TABLE users ADD CONSTRAINT users_external_id_nfc CHECK (external_id IS NFC NORMALIZED);
    ALTER TABLE items ADD CONSTRAINT items_external_id_nfc CHECK (external_id IS NFC NORMALIZED);
END
$$;
