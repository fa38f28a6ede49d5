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
