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
    /// The plugin whose strategy made it, as "name version" (nil: a built-in).
    public var plugin: String? = nil
}

extension PostgresConnection {
    /// Every stored model, newest first; `strategy` narrows to one strategy (or the content model's name).
    public func storedModels(strategy: String? = nil) throws -> [StoredModelSummary] {
        let rows = try query("""
            SELECT m.id, m.strategy, m.parameters::text, m.trained_on::text, octet_length(m.state),
                   to_char(m.created_at, 'YYYY-MM-DD HH24:MI:SS'), s.name, m.plugin || ' ' || m.plugin_version
            FROM trained_models m LEFT JOIN embedding_sets s ON s.model_id = m.id
            WHERE $1::text IS NULL OR m.strategy = $1::text
            ORDER BY m.id DESC
            """, [strategy])
        return (0..<rows.rowCount).map { r in
            StoredModelSummary(id: Int64(rows.string(r, 0)!)!, strategy: rows.string(r, 1)!, parameters: rows.string(r, 2)!,
                               trainedOn: rows.string(r, 3)!, bytes: rows.int(r, 4)!, createdAt: rows.string(r, 5)!,
                               embeddingSet: rows.string(r, 6), plugin: rows.string(r, 7))
        }
    }
}
