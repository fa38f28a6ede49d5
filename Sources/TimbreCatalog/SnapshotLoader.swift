import TimbreCore

/// The catalog's ratings as an in-memory `RatingMatrix`, read with binary COPY. The vocabularies
/// hold every user and item (rated or not), ordered by catalog id, so dense indices are stable
/// while nothing is deleted.
public struct CatalogSnapshot: Sendable {
    public let ratings: RatingMatrix
    /// Catalog ids (`users.id`, `items.id`) by dense index.
    public let userIDs: [Int64]
    public let itemIDs: [Int64]
    public let itemTitles: [String?]
}

extension PostgresConnection {
    public func loadSnapshot() throws -> CatalogSnapshot {
        var users = Vocabulary(), items = Vocabulary()
        var userIDs: [Int64] = [], itemIDs: [Int64] = [], titles: [String?] = []
        var userIndex: [Int64: Int32] = [:], itemIndex: [Int64: Int32] = [:]
        try copyOutBinary("SELECT id, external_id FROM users ORDER BY id") { row in
            let id = row.int64()!
            userIndex[id] = try internDistinct(row.text()!, id: id, into: &users, ids: userIDs, what: "users")
            userIDs.append(id)
        }
        try copyOutBinary("SELECT id, external_id, title FROM items ORDER BY id") { row in
            let id = row.int64()!
            itemIndex[id] = try internDistinct(row.text()!, id: id, into: &items, ids: itemIDs, what: "items")
            itemIDs.append(id)
            titles.append(row.text())
        }
        var triples: [RatingTriple] = []
        let count = try query("SELECT count(*) FROM ratings").int(0, 0) ?? 0
        triples.reserveCapacity(count)
        try copyOutBinary("SELECT user_id, item_id, value, coalesce(extract(epoch FROM rated_at)::bigint, 0) FROM ratings") { row in
            let u = row.int64()!, i = row.int64()!
            // Rows inserted between the two COPYs would be unknown here; the snapshot is
            // consistent only inside a REPEATABLE READ transaction (see below).
            guard let user = userIndex[u], let item = itemIndex[i] else { return }
            triples.append(RatingTriple(user: user, item: item, value: row.float32()!, timestamp: row.int64()!))
        }
        return CatalogSnapshot(ratings: try RatingMatrix(users: users, items: items, ratings: triples),
                               userIDs: userIDs, itemIDs: itemIDs, itemTitles: titles)
    }

    /// Adds a catalog row's external id to `vocabulary`, refusing one that Swift takes for an id
    /// already there (canonically equivalent strings are equal in Swift, distinct in PostgreSQL):
    /// merging them would shift every later index against `ids` and hand lists to the wrong users.
    /// Migration 008 keeps such rows out; this guards catalogs written around it.
    private func internDistinct(_ text: String, id: Int64, into vocabulary: inout Vocabulary, ids: [Int64], what: String) throws -> Int32 {
        let before = vocabulary.count
        let index = vocabulary.intern(text)
        guard vocabulary.count > before else {
            throw DatabaseError("""
                \(target): \(what) '\(excerpt(vocabulary[index]))' (id \(ids[Int(index)])) and '\(excerpt(text))' (id \(id)) are one \
                id in Unicode NFC form (\(ExternalID.codePoints(vocabulary[index])) vs \(ExternalID.codePoints(text))); merge or rename one
                """)
        }
        return index
    }

    /// A consistent snapshot even while imports run: all three COPYs see one database state.
    public func loadConsistentSnapshot() throws -> CatalogSnapshot {
        try readConsistently { try loadSnapshot() }
    }

    /// Runs `body`'s reads in one REPEATABLE READ transaction: they all see one database state.
    func readConsistently<T>(_ body: () throws -> T) throws -> T {
        try transaction("ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }
}
