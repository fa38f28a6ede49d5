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
    /// parameters {field, values}. A rerun with the same values reuses that model and adds only
    /// missing items; a new value makes a new model (vectors of another length). One transaction.
    public func embedMetadata(field: String) throws -> MetadataEmbedding {
        guard !field.isEmpty else { throw DatabaseError("the metadata field name is empty") }
        return try transaction {
            let found = try query("""
                SELECT DISTINCT v FROM items, LATERAL (
                    SELECT jsonb_array_elements_text(metadata -> $1) AS v WHERE jsonb_typeof(metadata -> $1) = 'array'
                    UNION ALL
                    SELECT metadata ->> $1 WHERE jsonb_typeof(metadata -> $1) IN ('string', 'number', 'boolean')
                ) x WHERE v <> '' ORDER BY v
                """, [field])
            let values = (0..<found.rowCount).map { found.string($0, 0)! }
            guard !values.isEmpty else { throw DatabaseError("no item in \(target) has a value for metadata field '\(field)'") }
            struct Settings: Encodable { var field: String; var values: [String] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let parameters = String(decoding: try encoder.encode(Settings(field: field, values: values)), as: UTF8.self)
            let valueArray = String(decoding: try encoder.encode(values), as: UTF8.self)
            let existing = try query("""
                SELECT id::text FROM trained_models WHERE strategy = $1 AND parameters = $2::jsonb ORDER BY id DESC LIMIT 1
                """, [Self.metadataStrategyName, parameters])
            let model: Int64
            if let id = existing.string(0, 0).flatMap(Int64.init) {
                model = id
            } else {
                var state = ModelWriter()
                state.write(field)
                state.write(values)
                model = Int64(try query("""
                    INSERT INTO trained_models (strategy, parameters, trained_on, state, code_version)
                    VALUES ($1, $2::text::jsonb, '{}'::jsonb, $3, $4) RETURNING id
                    """, binary: [Array(Self.metadataStrategyName.utf8), Array(parameters.utf8), state.bytes,
                                  Array(TimbreVersion.string.utf8)]).string(0, 0)!)!
            }
            let inserted = try query("""
                INSERT INTO item_embeddings (model_id, item_id, vector)
                SELECT $1::bigint, i.id,
                       ARRAY(SELECT (u.v = ANY (own.a))::int::real FROM jsonb_array_elements_text($3::jsonb) WITH ORDINALITY u(v, k) ORDER BY u.k)
                FROM items i, LATERAL (
                    SELECT CASE jsonb_typeof(i.metadata -> $2)
                           WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(i.metadata -> $2))
                           ELSE ARRAY[i.metadata ->> $2] END AS a
                ) own
                WHERE jsonb_typeof(i.metadata -> $2) IN ('array', 'string', 'number', 'boolean') AND own.a && ARRAY(SELECT jsonb_array_elements_text($3::jsonb))
                ON CONFLICT (model_id, item_id) DO NOTHING
                """, [String(model), field, valueArray]).affectedRows
            let total = try query("SELECT count(*) FROM item_embeddings WHERE model_id = $1::bigint", [String(model)]).int(0, 0) ?? 0
            return MetadataEmbedding(model: model, field: field, values: values, embedded: inserted, items: total)
        }
    }
}
