import Testing
@testable import TimbreCore
import TimbreInterchange

@Suite struct RatingMatrixTests {
    @Test func csrByUserAndByItemAgree() throws {
        let users = Vocabulary(["a", "b"]), items = Vocabulary(["x", "y", "z"])
        let m = try RatingMatrix(users: users, items: items, ratings: [
            .init(user: 1, item: 2, value: 4), .init(user: 0, item: 1, value: 3), .init(user: 0, item: 0, value: 5),
        ])
        #expect(m.byUser.offsets == [0, 2, 3])
        #expect(Array(m.byUser.columns(0)) == [0, 1])
        #expect(Array(m.byUser.values(0)) == [5, 3])
        #expect(Array(m.byItem.columns(2)) == [1])
        #expect(m.byItem.count(0) == 1)
    }

    /// The counting-sort construction against a direct one: sort all triples by (row, column).
    @Test func rowsMatchASortedReference() throws {
        var rng = SeededGenerator(seed: 3)
        let users = Vocabulary((0..<40).map { "u\($0)" }), items = Vocabulary((0..<30).map { "i\($0)" })
        var seen = Set<Int>(), triples: [RatingTriple] = []
        while triples.count < 500 {
            let u = rng.below(40), i = rng.below(30)
            guard seen.insert(u * 30 + i).inserted else { continue }
            triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: Float(rng.below(5) + 1), timestamp: Int64(rng.below(1000))))
        }
        let m = try RatingMatrix(users: users, items: items, ratings: triples)
        for (rows, key) in [(m.byUser, { (t: RatingTriple) in (t.user, t.item) }), (m.byItem, { (t: RatingTriple) in (t.item, t.user) })] {
            let reference = triples.sorted { key($0) < key($1) }
            #expect(rows.nonzeroCount == reference.count)
            for (k, t) in reference.enumerated() {
                let (row, column) = key(t)
                #expect(rows.range(row).contains(k))
                #expect(rows.columns[k] == column && rows.values[k] == t.value && rows.timestamps[k] == t.timestamp)
            }
        }
        // A pair twice is refused, naming it.
        #expect(throws: RatingMatrixError.duplicatePair(user: "u1", item: "i2")) {
            try RatingMatrix(users: users, items: items, ratings: [.init(user: 1, item: 2, value: 1), .init(user: 0, item: 2, value: 1),
                                                                   .init(user: 1, item: 2, value: 3)])
        }
    }
}

@Suite struct NumPyArrayTests {
    @Test func float32AndIntegerArraysRoundTripAndBadHeadersAreNamed() throws {
        let data = NumPyArray.encode([1.5, -2, 3.25, 0, 7, 8] as [Float], shape: [2, 3])
        // The header is padded so the data starts on a 64-byte boundary, as numpy writes it.
        #expect((data.count - 24) % 64 == 0)
        let back = try NumPyArray(decoding: [UInt8](data))
        #expect(back.shape == [2, 3] && back.values == [1.5, -2, 3.25, 0, 7, 8])
        let ints = try NumPyArray(decoding: [UInt8](NumPyArray.encode([Int64(-3), 1 << 40], shape: [2])))
        #expect(ints.values == [-3, Double(1 << 40)])
        var truncated = [UInt8](data)
        truncated.removeLast()
        let short = #expect(throws: NumPyArray.FormatError.self) { try NumPyArray(decoding: truncated) }
        #expect(short?.description.contains("data bytes for shape [2, 3]") == true)
        #expect(throws: NumPyArray.FormatError.self) { try NumPyArray(decoding: Array("not numpy at all".utf8)) }
    }
}
