import Testing
import TimbreCore
@testable import TimbreEvaluation

struct Pair: Hashable { var user: Int32, item: Int32 }

func pairs(_ m: RatingMatrix) -> [Pair] { m.triples.map { Pair(user: $0.user, item: $0.item) } }

@Suite struct SplitTests {
    let data = SyntheticCatalog(users: 200, items: 150, ratings: 5000, seed: 11).generate()

    @Test(arguments: [SplitSpec.Method.randomKFold(folds: 5), .userHoldout(folds: 5, fraction: 0.2),
                      .temporal(fraction: 0.25), .leaveOneOut, .coldItems(folds: 4)])
    func noRatingInBothTrainAndTest(method: SplitSpec.Method) throws {
        let splits = try SplitSpec(method, seed: 7).splits(of: data)
        for s in splits {
            let train = Set(pairs(s.train)), test = pairs(s.test)
            #expect(!test.isEmpty)
            #expect(test.allSatisfy { !train.contains($0) })
            #expect(train.count + test.count == data.ratingCount)
        }
        if case .randomKFold = method {
            // Every rating is tested exactly once across the folds.
            let tested = splits.flatMap { pairs($0.test) }
            #expect(tested.count == data.ratingCount && Set(tested).count == data.ratingCount)
        }
    }

    @Test func coldItemsHoldOutWholeItems() throws {
        let splits = try SplitSpec(.coldItems(folds: 4), seed: 3).splits(of: data)
        #expect(splits.count == 4)
        var testedItems: [Int32] = []
        for s in splits {
            let items = Set(s.test.triples.map(\.item))
            // A test item has no training rating at all, and every one of its ratings is in the test.
            #expect(items.allSatisfy { s.train.byItem.count($0) == 0 && s.test.byItem.count($0) == data.byItem.count($0) })
            testedItems += items
        }
        // Every rated item is new in exactly one fold, and the folds are within one item of each other.
        let rated = (0..<Int32(data.itemCount)).filter { data.byItem.count($0) > 0 }
        #expect(testedItems.sorted() == rated)
        let sizes = splits.map { Set($0.test.triples.map(\.item)).count }
        #expect(sizes.max()! - sizes.min()! <= 1)
        #expect(try SplitSpec(.coldItems(folds: 4), seed: 3).splits(of: data).map { pairs($0.test) } == splits.map { pairs($0.test) })
        #expect(throws: EvaluationError.self) { try SplitSpec(.coldItems(folds: 1)).splits(of: data) }
    }

    @Test func reproducibleWithASeedAndDifferentWithAnother() throws {
        let spec = SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 42)
        let a = try spec.splits(of: data).map { pairs($0.test) }
        let b = try spec.splits(of: data).map { pairs($0.test) }
        #expect(a == b)
        let c = try SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 43).splits(of: data).map { pairs($0.test) }
        #expect(a != c)
    }

    @Test func userHoldoutHoldsTheFractionOfEachTestUser() throws {
        let splits = try SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 1).splits(of: data)
        var testedUsers = Set<Int32>()
        for s in splits {
            for u in 0..<Int32(data.userCount) where s.test.byUser.count(u) > 0 {
                #expect(testedUsers.insert(u).inserted, "each user is a test user in exactly one fold")
                let n = data.byUser.count(u)
                #expect(s.test.byUser.count(u) == max(1, Int((0.2 * Double(n)).rounded())))
            }
        }
        #expect(testedUsers.count == data.userCount)
    }

    @Test func temporalHoldsEachUsersLatestRatings() throws {
        let s = try SplitSpec(.temporal(fraction: 0.25)).splits(of: data)[0]
        for u in 0..<Int32(data.userCount) {
            let latestTrain = s.train.byUser.range(u).map { s.train.byUser.timestamps[$0] }.max() ?? .min
            let earliestTest = s.test.byUser.range(u).map { s.test.byUser.timestamps[$0] }.min() ?? .max
            #expect(latestTrain <= earliestTest)
        }
    }

    @Test func leaveOneOutHoldsOnePerUser() throws {
        let s = try SplitSpec(.leaveOneOut, seed: 3).splits(of: data)[0]
        #expect((0..<Int32(data.userCount)).allSatisfy { s.test.byUser.count($0) == 1 })
    }

    @Test func specIsCodable() throws {
        let spec = SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 9)
        let data = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(SplitSpec.self, from: data) == spec)
    }

    @Test func badSpecsAreRejected() {
        #expect(throws: EvaluationError.self) { try SplitSpec(.randomKFold(folds: 1)).splits(of: data) }
        #expect(throws: EvaluationError.self) { try SplitSpec(.temporal(fraction: 1.5)).splits(of: data) }
    }
}

import Foundation
import TimbreTestSupport

/// The same ratings loaded in another order (a file vs the catalog) get other dense indices; one
/// seed must still hold out the same (user, item) pairs.
@Suite struct SplitOrderIndependenceTests {
    static func matrix(_ rows: [(String, String, Float)]) throws -> RatingMatrix {
        var users = Vocabulary(), items = Vocabulary()
        let triples = rows.map { RatingTriple(user: users.intern($0.0), item: items.intern($0.1), value: $0.2) }
        return try RatingMatrix(users: users, items: items, ratings: triples)
    }

    static func heldOut(_ m: RatingMatrix, _ spec: SplitSpec) throws -> [Set<String>] {
        try spec.splits(of: m).map { split in Set(split.test.triples.map { m.users[$0.user] + "/" + m.items[$0.item] }) }
    }

    @Test(arguments: [SplitSpec.Method.randomKFold(folds: 3), .userHoldout(folds: 2, fraction: 0.5), .leaveOneOut, .temporal(fraction: 0.3)])
    func oneSeedOneSplitWhateverTheLoadOrder(_ method: SplitSpec.Method) throws {
        var rows: [(String, String, Float)] = []
        for u in 0..<12 { for i in 0..<9 where (u * 7 + i * 3) % 4 != 0 { rows.append(("u\(u)", "i\(i)", Float((u + i) % 5 + 1))) } }
        let forward = try Self.matrix(rows), backward = try Self.matrix(rows.reversed())
        #expect(forward.users[0] != backward.users[0])
        let spec = SplitSpec(method, seed: 42)
        let a = try Self.heldOut(forward, spec), b = try Self.heldOut(backward, spec)
        #expect(a == b)
        #expect(a.allSatisfy { !$0.isEmpty })
    }
}
