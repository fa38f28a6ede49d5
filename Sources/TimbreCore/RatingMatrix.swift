/// One rating event in dense-index space.
public struct RatingTriple: Sendable, Equatable {
    public var user: Int32
    public var item: Int32
    public var value: Float
    public var timestamp: Int64

    public init(user: Int32, item: Int32, value: Float, timestamp: Int64 = 0) {
        self.user = user
        self.item = item
        self.value = value
        self.timestamp = timestamp
    }
}

/// Compressed sparse rows: row `r` owns `columns[offsets[r]..<offsets[r+1]]`, sorted by column.
public struct SparseRows: Sendable, Equatable {
    public let offsets: [Int]
    public let columns: [Int32]
    public let values: [Float]
    /// Same order as `columns`; 0 where unknown.
    public let timestamps: [Int64]

    public var rowCount: Int { offsets.count - 1 }
    public var nonzeroCount: Int { columns.count }

    @inlinable public func range(_ row: Int32) -> Range<Int> { offsets[Int(row)]..<offsets[Int(row) + 1] }
    @inlinable public func count(_ row: Int32) -> Int { offsets[Int(row) + 1] - offsets[Int(row)] }
    @inlinable public func columns(_ row: Int32) -> ArraySlice<Int32> { columns[range(row)] }
    @inlinable public func values(_ row: Int32) -> ArraySlice<Float> { values[range(row)] }

    /// Counting sort by `row`, then by column inside each row: O(n + rows) and stable.
    init(rows: Int, triples: [RatingTriple], row: (RatingTriple) -> Int32, column: (RatingTriple) -> Int32) {
        var offsets = [Int](repeating: 0, count: rows + 1)
        for t in triples { offsets[Int(row(t)) + 1] += 1 }
        for r in 0..<rows { offsets[r + 1] += offsets[r] }
        var cursor = offsets
        var order = [Int](repeating: 0, count: triples.count)
        for (i, t) in triples.enumerated() {
            let r = Int(row(t))
            order[cursor[r]] = i
            cursor[r] += 1
        }
        for r in 0..<rows where offsets[r + 1] - offsets[r] > 1 {
            order[offsets[r]..<offsets[r + 1]].sort { column(triples[$0]) < column(triples[$1]) }
        }
        self.offsets = offsets
        columns = order.map { column(triples[$0]) }
        values = order.map { triples[$0].value }
        timestamps = order.map { triples[$0].timestamp }
    }
}

public enum RatingMatrixError: Error, CustomStringConvertible, Equatable {
    case duplicatePair(user: String, item: String)
    case indexOutOfRange(String)

    public var description: String {
        switch self {
        case let .duplicatePair(user, item): "user \(user) rated item \(item) more than once"
        case let .indexOutOfRange(what): "rating refers to \(what), which is not in the vocabulary"
        }
    }
}

/// The in-memory rating snapshot every strategy trains on: dense users × items, Float32 values,
/// stored twice (by user and by item) so both user- and item-oriented algorithms read rows.
/// The vocabularies hold *every* known user and item, rated or not, so unrated (cold-start) items
/// still have an index.
public struct RatingMatrix: Sendable {
    public let users: Vocabulary
    public let items: Vocabulary
    public let byUser: SparseRows
    public let byItem: SparseRows

    public var userCount: Int { users.count }
    public var itemCount: Int { items.count }
    public var ratingCount: Int { byUser.nonzeroCount }

    public init(users: Vocabulary, items: Vocabulary, ratings: [RatingTriple]) throws {
        for t in ratings {
            guard t.user >= 0, Int(t.user) < users.count else { throw RatingMatrixError.indexOutOfRange("user #\(t.user)") }
            guard t.item >= 0, Int(t.item) < items.count else { throw RatingMatrixError.indexOutOfRange("item #\(t.item)") }
        }
        self.users = users
        self.items = items
        byUser = SparseRows(rows: users.count, triples: ratings, row: \.user, column: \.item)
        for u in 0..<Int32(users.count) {
            let cols = byUser.columns(u)
            var previous: Int32 = -1
            for c in cols {
                if c == previous { throw RatingMatrixError.duplicatePair(user: users[u], item: items[c]) }
                previous = c
            }
        }
        byItem = SparseRows(rows: items.count, triples: ratings, row: \.item, column: \.user)
    }

    /// All ratings as triples, in user-major order.
    public var triples: [RatingTriple] {
        var out = [RatingTriple]()
        out.reserveCapacity(ratingCount)
        for u in 0..<Int32(userCount) {
            for k in byUser.range(u) {
                out.append(RatingTriple(user: u, item: byUser.columns[k], value: byUser.values[k], timestamp: byUser.timestamps[k]))
            }
        }
        return out
    }

    /// A matrix over the same vocabularies holding only `ratings` (used for train/test splits).
    public func restricted(to ratings: [RatingTriple]) -> RatingMatrix {
        // The triples come from this matrix, so they are in range and unique.
        try! RatingMatrix(users: users, items: items, ratings: ratings)
    }

    public func profile(of user: Int32) -> UserProfile {
        UserProfile(user: user, items: Array(byUser.columns(user)), ratings: Array(byUser.values(user)))
    }

    public var globalMean: Float {
        guard ratingCount > 0 else { return 0 }
        var sum = 0.0
        for v in byUser.values { sum += Double(v) }
        return Float(sum / Double(ratingCount))
    }
}
