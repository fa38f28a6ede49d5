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

    init(offsets: [Int], columns: [Int32], values: [Float], timestamps: [Int64]) {
        self.offsets = offsets
        self.columns = columns
        self.values = values
        self.timestamps = timestamps
    }

    /// A stable counting sort of `order` (indices into `keys`) by key: the row offsets and the
    /// reordered indices. Sorting by column first and then by row gives rows sorted by column:
    /// two O(n) passes instead of a comparison sort per row (the snapshot builds this for every
    /// train, evaluate and publish).
    static func countingSort(rows: Int, keys: UnsafeBufferPointer<Int32>, order: UnsafeBufferPointer<Int32>) -> (offsets: [Int], order: [Int32]) {
        let n = order.count
        var offsets = [Int](repeating: 0, count: rows + 1)
        offsets.withUnsafeMutableBufferPointer { o in
            for k in 0..<n { o[Int(keys[Int(order[k])]) + 1] += 1 }
            for r in 0..<rows { o[r + 1] += o[r] }
        }
        var cursor = offsets
        let sorted = [Int32](unsafeUninitializedCapacity: n) { out, count in
            cursor.withUnsafeMutableBufferPointer { c in
                for k in 0..<n {
                    let t = order[k]
                    let r = Int(keys[Int(t)])
                    out[c[r]] = t
                    c[r] += 1
                }
            }
            count = n
        }
        return (offsets, sorted)
    }

    /// The rows `offsets` over the triples taken in `order`, with columns from `columnKeys`.
    init(offsets: [Int], order: UnsafeBufferPointer<Int32>, columnKeys: UnsafeBufferPointer<Int32>,
         triples: UnsafeBufferPointer<RatingTriple>) {
        let n = order.count
        self.offsets = offsets
        columns = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for k in 0..<n { buf[k] = columnKeys[Int(order[k])] }
            count = n
        }
        values = [Float](unsafeUninitializedCapacity: n) { buf, count in
            for k in 0..<n { buf[k] = triples[Int(order[k])].value }
            count = n
        }
        timestamps = [Int64](unsafeUninitializedCapacity: n) { buf, count in
            for k in 0..<n { buf[k] = triples[Int(order[k])].timestamp }
            count = n
        }
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
        precondition(ratings.count < Int(Int32.max), "more than 2³¹ ratings")
        let n = ratings.count
        var userKeys = [Int32](repeating: 0, count: n), itemKeys = [Int32](repeating: 0, count: n)
        for (k, t) in ratings.enumerated() {
            guard t.user >= 0, Int(t.user) < users.count else { throw RatingMatrixError.indexOutOfRange("user #\(t.user)") }
            guard t.item >= 0, Int(t.item) < items.count else { throw RatingMatrixError.indexOutOfRange("item #\(t.item)") }
            userKeys[k] = t.user
            itemKeys[k] = t.item
        }
        self.users = users
        self.items = items
        // Three stable counting sorts: by item (from file order), then by user (so each user's
        // row is sorted by item), then by item again over that (each item's row sorted by user).
        (byUser, byItem) = ratings.withUnsafeBufferPointer { triples in
            userKeys.withUnsafeBufferPointer { u in
                itemKeys.withUnsafeBufferPointer { i in
                    let identity = [Int32](unsafeUninitializedCapacity: n) { buf, count in
                        for k in 0..<n { buf[k] = Int32(k) }
                        count = n
                    }
                    let byItemFirst = identity.withUnsafeBufferPointer { SparseRows.countingSort(rows: items.count, keys: i, order: $0) }
                    let userSorted = byItemFirst.order.withUnsafeBufferPointer { SparseRows.countingSort(rows: users.count, keys: u, order: $0) }
                    let itemSorted = userSorted.order.withUnsafeBufferPointer { SparseRows.countingSort(rows: items.count, keys: i, order: $0) }
                    let byUser = userSorted.order.withUnsafeBufferPointer {
                        SparseRows(offsets: userSorted.offsets, order: $0, columnKeys: i, triples: triples)
                    }
                    let byItem = itemSorted.order.withUnsafeBufferPointer {
                        SparseRows(offsets: itemSorted.offsets, order: $0, columnKeys: u, triples: triples)
                    }
                    return (byUser, byItem)
                }
            }
        }
        for u in 0..<Int32(users.count) {
            let cols = byUser.columns(u)
            var previous: Int32 = -1
            for c in cols {
                if c == previous { throw RatingMatrixError.duplicatePair(user: users[u], item: items[c]) }
                previous = c
            }
        }
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
