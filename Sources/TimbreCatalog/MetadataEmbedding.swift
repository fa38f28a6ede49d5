import Foundation
import TimbreCore

/// Item vectors from catalog metadata instead of audio: the multi-hot of an item's values of one
/// `items.metadata` field (e.g. MovieLens genres), so content-based and hybrid strategies can be
/// tried on any catalog, and compared on real ratings.
public struct MetadataEmbedding: Sendable, Equatable {
    public let model: Int64
    public let field: String
    /// The vector's components: every value the field takes, sorted.
    public let values: [String]
    /// Items given a vector by this call (0 on a rerun with nothing new).
    public let embedded: Int
    /// Items with a vector from this model in all.
    public let items: Int
}

extension PostgresConnection {
    public static let metadataStrategyName = "item-metadata"

    /// Stores the multi-hot vector of `field` for every item that has a value for it (a JSON array
    /// of values, or one string/number/boolean), as the embeddings of a model `item-metadata` with
    /// parameters {field, values}. A rerun reuses that model and adds only missing items while the
    /// stored vectors still hold; a new value, or an item whose values changed or went, makes a new
    /// model, since a model's vectors never change once stored. One transaction.
    public func embedMetadata(field: String) throws -> MetadataEmbedding {
        guard !field.isEmpty else { throw DatabaseError("the metadata field name is empty") }
        return try transaction {
            // Two runs for one field at once would both create the model: one at a time.
            try query("SELECT pg_advisory_xact_lock(hashtext('timbre embed-metadata ' || $1))", [field],
                      purpose: "lock metadata embedding of '\(field)'")
            let found = try query("""
                SELECT DISTINCT v FROM items, LATERAL (
                    SELECT jsonb_array_elements_text(metadata -> $1) AS v WHERE jsonb_typeof(metadata -> $1) = 'array'
                    UNION ALL
                    SELECT metadata ->> $1 WHERE jsonb_typeof(metadata -> $1) IN ('string', 'number', 'boolean')
                ) x WHERE v <> '' ORDER BY v
                """, [field], purpose: "find the values of metadata field '\(field)'")
            let values = try found.map { try $0.string("v") }
            guard !values.isEmpty else { throw DatabaseError("no item in \(target) has a value for metadata field '\(field)'") }
            struct Settings: Encodable { var field: String; var values: [String] }
            let parameters = try sortedJSON(Settings(field: field, values: values))
            let valueArray = try sortedJSON(values)
            // Each item's vector now; JSON nulls in a value list are dropped.
            let fresh = """
                SELECT i.id AS item_id,
                       ARRAY(SELECT coalesce(u.v = ANY (own.a), false)::int::real
                             FROM jsonb_array_elements_text($2) WITH ORDINALITY u(v, k) ORDER BY u.k) AS vector
                FROM items i, LATERAL (
                    SELECT array_remove(CASE jsonb_typeof(i.metadata -> $1)
                                        WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(i.metadata -> $1))
                                        ELSE ARRAY[i.metadata ->> $1] END, NULL) AS a
                ) own
                WHERE jsonb_typeof(i.metadata -> $1) IN ('array', 'string', 'number', 'boolean')
                  AND own.a && ARRAY(SELECT jsonb_array_elements_text($2))
                """
            // A model's vectors never change once stored (trained models record which vectors they
            // saw): reuse the newest model with these values only if none of its vectors is stale.
            let existing = try query("""
                SELECT m.id FROM trained_models m WHERE m.strategy = $3 AND m.parameters = $4
                  AND NOT EXISTS (SELECT 1 FROM item_embeddings e LEFT JOIN (\(fresh)) f ON f.item_id = e.item_id
                                  WHERE e.model_id = m.id AND f.vector IS DISTINCT FROM e.vector)
                ORDER BY m.id DESC LIMIT 1
                """, [field, PostgresJSONB(valueArray), Self.metadataStrategyName, PostgresJSONB(parameters)],
                purpose: "find a reusable metadata embedding of '\(field)'")
            let model: Int64
            if let id = try existing.first?.int64("id") {
                model = id
            } else {
                var state = ModelWriter()
                state.write(field)
                state.write(values)
                model = try insertTrainedModel(strategy: Self.metadataStrategyName, parameters: parameters, trainedOn: "{}", state: state.bytes)
            }
            try EmbeddingSetStore(self).register(model: model, name: field, kind: .metadata, dimension: values.count,
                                                 source: try sortedJSON(["producer": Self.metadataStrategyName, "field": field]))
            let inserted = try query("""
                INSERT INTO item_embeddings (model_id, item_id, vector)
                SELECT $3, f.item_id, f.vector FROM (\(fresh)) f
                ON CONFLICT (model_id, item_id) DO NOTHING
                """, [field, PostgresJSONB(valueArray), model], purpose: "store the vectors of metadata field '\(field)'").affectedRows
            let total = try query("SELECT count(*) FROM item_embeddings WHERE model_id = $1", [model],
                                  purpose: "count the vectors of embedding set #\(model)").scalar(Int.self)
            return MetadataEmbedding(model: model, field: field, values: values, embedded: inserted, items: total)
        }
    }
}
