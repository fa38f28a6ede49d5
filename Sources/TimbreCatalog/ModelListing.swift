import Foundation

/// One row of `trained_models` as `timbre models list` shows it (the state itself stays out).
public struct StoredModelSummary: Sendable, Codable, Equatable {
    public let id: Int64
    public let strategy: String
    /// The parameters as stored (JSON text).
    public let parameters: String
    /// What it was trained on (JSON text: users, items, ratings, embedding set …).
    public let trainedOn: String
    public let bytes: Int
    public let createdAt: String
    /// The embedding set it made, if it made one (content models, metadata vectors …).
    public let embeddingSet: String?
}

extension PostgresConnection {
    /// Every stored model, newest first; `strategy` narrows to one strategy (or the content model's name).
    public func storedModels(strategy: String? = nil) throws -> [StoredModelSummary] {
        try query("""
            SELECT m.id, m.strategy, m.parameters::text AS parameters, m.trained_on::text AS trained_on,
                   octet_length(m.state) AS bytes, to_char(m.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created, s.name AS embedding_set
            FROM trained_models m LEFT JOIN embedding_sets s ON s.model_id = m.id
            WHERE $1 IS NULL OR m.strategy = $1
            ORDER BY m.id DESC
            """, [strategy], purpose: "list the stored models").map { row in
            StoredModelSummary(id: try row.int64("id"), strategy: try row.string("strategy"), parameters: try row.string("parameters"),
                               trainedOn: try row.string("trained_on"), bytes: try row.int("bytes"), createdAt: try row.string("created"),
                               embeddingSet: try row.optionalString("embedding_set"))
        }
    }
}
