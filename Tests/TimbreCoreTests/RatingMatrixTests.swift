import Testing
@testable import TimbreCore

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
