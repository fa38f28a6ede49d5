import TimbreCore
import TimbreInterchange

/// The catalog's ratings or play totals as an in-memory `RatingMatrix`, read with binary COPY.
/// The vocabularies hold every user and item (rated or played or not), ordered by catalog id, so
/// dense indices are stable while nothing is deleted.
public struct CatalogSnapshot: Sendable {
    public let ratings: RatingMatrix
    /// What the matrix's values are: ratings, or per user–item play totals.
    public let feedback: FeedbackKind
    /// Catalog ids (`users.id`, `items.id`) by dense index.
    public let userIDs: [Int64]
    public let itemIDs: [Int64]
    public let itemTitles: [String?]
}

/// Catalog id → dense index. Identity columns are dense from 1 unless rows were deleted, so an
/// array indexed by id is the common case (a dictionary costs ~8× more per lookup, and the
/// snapshot looks up two ids per rating); a sparse id range falls back to a dictionary.
struct DenseIndex {
    private var base: Int64 = 0
    private var table: [Int32] = []
    private var sparse: [Int64: Int32]?

    init(_ ids: [Int64]) {
        guard let lo = ids.min(), let hi = ids.max() else { return }
        if hi - lo < 4 * Int64(ids.count) + 1024 {
            base = lo
            table = [Int32](repeating: -1, count: Int(hi - lo) + 1)
            for (k, id) in ids.enumerated() { table[Int(id - lo)] = Int32(k) }
        } else {
            var map: [Int64: Int32] = [:]
            map.reserveCapacity(ids.count)
            for (k, id) in ids.enumerated() { map[id] = Int32(k) }
            sparse = map
        }
    }

    @inline(__always) func callAsFunction(_ id: Int64) -> Int32? {
        if let sparse { return sparse[id] }
        let offset = id &- base
        guard offset >= 0, offset < table.count else { return nil }
        let k = table[Int(offset)]
        return k < 0 ? nil : k
    }
}

extension FeedbackKind {
    /// The binary COPY query for this feedback: user id, item id, value (real) and, with `times`,
    /// the time (timestamptz). Times travel raw and are converted here: the server's
    /// `extract(epoch …)` per row cost more than the rest of the row.
    func snapshotQuery(times: Bool) -> String {
        switch self {
        case .ratings: "SELECT user_id, item_id, value\(times ? ", rated_at" : "") FROM ratings"
        case .plays: "SELECT user_id, item_id, plays::real\(times ? ", first_played_at" : "") FROM play_totals"
        }
    }

    var table: String {
        switch self {
        case .ratings: "ratings"
        case .plays: "play_totals"
        }
    }
}

extension PostgresConnection {
    /// `times` false leaves every timestamp 0: training and serving never read them (only
    /// temporal splits and split export do), and the time column was the largest part of the
    /// load's cost above a bare COPY of the pairs.
    public func loadSnapshot(feedback: FeedbackKind = .ratings, times: Bool = true) throws -> CatalogSnapshot {
        var users = Vocabulary(), items = Vocabulary()
        var userIDs: [Int64] = [], itemIDs: [Int64] = [], titles: [String?] = []
        try copyOutBinary("SELECT id, external_id FROM users ORDER BY id", purpose: "load the users") { row in
            let id = try row.int64()
            _ = try internDistinct(try row.text(), id: id, into: &users, ids: userIDs, what: "users")
            userIDs.append(id)
        }
        try copyOutBinary("SELECT id, external_id, title FROM items ORDER BY id", purpose: "load the items") { row in
            let id = try row.int64()
            _ = try internDistinct(try row.text(), id: id, into: &items, ids: itemIDs, what: "items")
            itemIDs.append(id)
            titles.append(try row.optionalText())
        }
        let userIndex = DenseIndex(userIDs), itemIndex = DenseIndex(itemIDs)
        var triples: [RatingTriple] = []
        // The planner's row estimate sizes the array (a count(*) would scan the table once more).
        let estimate = try query("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass($1)", [feedback.table],
                                 purpose: "estimate the size of \(feedback.table)").first?.decode(Int.self, at: 0) ?? 0
        triples.reserveCapacity(estimate)
        try copyOutBinary(feedback.snapshotQuery(times: times), purpose: "load the \(feedback.rawValue)") { row in
            let u = try row.int64(), i = try row.int64()
            // Rows inserted between the COPYs would be unknown here; the snapshot is consistent
            // only inside a REPEATABLE READ transaction (see below).
            guard let user = userIndex(u), let item = itemIndex(i) else { return }
            let value = try row.float32()
            triples.append(RatingTriple(user: user, item: item, value: value, timestamp: times ? try row.optionalTimestamptzSeconds() ?? 0 : 0))
        }
        return CatalogSnapshot(ratings: try RatingMatrix(users: users, items: items, ratings: triples), feedback: feedback,
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
    /// `feedback` nil: what the catalog has (see `feedbackKind`).
    public func loadConsistentSnapshot(feedback: FeedbackKind? = nil, times: Bool = true) throws -> CatalogSnapshot {
        try readConsistently { try loadSnapshot(feedback: try feedbackKind(feedback), times: times) }
    }

    /// Runs `body`'s reads in one REPEATABLE READ transaction: they all see one database state.
    func readConsistently<T>(_ body: () throws -> T) throws -> T {
        try transaction("ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }
}
