import TimbreCore
extension RatingMatrix {
    /// Reads a ratings file (any layout `timbre import` reads) straight into memory, for
    /// benchmarks and evaluations that need no catalog. Indices follow first appearance in the file.
    public static func read(ratingsFile path: String, layout: TableLayout? = nil,
                            scale: RatingScale = .movieLens) throws -> RatingMatrix {
        let records = try DelimitedTable.read(path: path, kind: .ratings, layout: layout).ratingRecords(scale: scale)
        var users = Vocabulary(), items = Vocabulary()
        let triples = records.map {
            RatingTriple(user: users.intern($0.user), item: items.intern($0.item), value: $0.value, timestamp: $0.timestamp ?? 0)
        }
        return try RatingMatrix(users: users, items: items, ratings: triples)
    }
}
