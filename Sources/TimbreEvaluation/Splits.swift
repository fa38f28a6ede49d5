import TimbreCore

/// How ratings are divided into training and test sets. Codable so a run records exactly the
/// split it used; with the same seed and data, `splits(of:)` returns the same folds.
public struct SplitSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Method: Codable, Sendable, Equatable {
        /// Ratings shuffled and dealt into `folds` equal parts; each part is the test set once.
        case randomKFold(folds: Int)
        /// Users shuffled into `folds` parts; each test user has `fraction` of their ratings
        /// (chosen at random, at least one) held out; everything else trains.
        case userHoldout(folds: Int, fraction: Double)
        /// One split: each user's latest `fraction` of ratings (by timestamp) are the test set.
        case temporal(fraction: Double)
        /// One split: one rating per user (with at least two) chosen at random is the test set.
        case leaveOneOut
        /// Rated items shuffled into `folds` parts; every rating of a test part's items is held
        /// out, so those items are new to the model (item cold start): only strategies that know
        /// something else about an item (its embedding) can recommend it.
        case coldItems(folds: Int)
        /// Folds given as files (`SplitFiles`), not drawn here: recorded so a report says where its
        /// folds came from; `splits(of:)` cannot make them.
        case files(folds: Int)
    }

    public var method: Method
    public var seed: UInt64

    public init(_ method: Method, seed: UInt64 = 0) {
        self.method = method
        self.seed = seed
    }

    public var description: String {
        switch method {
        case let .randomKFold(k): "random \(k)-fold over ratings (seed \(seed))"
        case let .userHoldout(k, f): "users in \(k) folds, \(Int((f * 100).rounded()))% of each test user's ratings held out (seed \(seed))"
        case let .temporal(f): "temporal: each user's last \(Int((f * 100).rounded()))% of ratings held out"
        case .leaveOneOut: "leave-one-out: one random rating per user held out (seed \(seed))"
        case let .coldItems(k): "cold items: rated items in \(k) folds, every rating of a test fold's items held out (seed \(seed))"
        case let .files(k): "\(k) folds read from files"
        }
    }

    /// Every fold needs something to test.
    static func requireFolds(_ k: Int, atMost count: Int, _ what: String) throws {
        guard k <= count else { throw EvaluationError("\(k) folds need at least \(k) \(what); there are \(count)") }
    }

    public func validate() throws {
        switch method {
        case let .randomKFold(k), let .userHoldout(k, _), let .coldItems(k):
            guard k >= 2, k <= Self.maxFolds else {
                throw EvaluationError("a k-fold split needs 2 to \(Self.maxFolds) folds, got \(k)")
            }
        case .files:
            throw EvaluationError("folds given as files are read with SplitFiles.read, not drawn from the ratings")
        default: break
        }
        switch method {
        case let .userHoldout(_, f), let .temporal(f):
            guard f > 0, f < 1 else { throw EvaluationError("the held-out fraction must be between 0 and 1") }
        default: break
        }
    }

    /// More folds than this is leave-one-out in disguise, and each costs a full training.
    public static let maxFolds = 100

    /// Shuffles run over users and ratings in external-id order, not dense-index order, so one
    /// seed gives one split of the same data however it was loaded (a file, the catalog).
    public func splits(of matrix: RatingMatrix) throws -> [TrainTestSplit] {
        try validate()
        var rng = SeededGenerator(seed: seed)
        let all = matrix.triples
        let users = (0..<Int32(matrix.userCount)).sorted { matrix.users[$0] < matrix.users[$1] }
        // A user's ratings (indices into `all`, which is user-major) in item external-id order.
        func ratings(of u: Int32) -> [Int] {
            Array(matrix.byUser.range(u)).sorted { matrix.items[all[$0].item] < matrix.items[all[$1].item] }
        }
        var testSets: [[Int]] // indices into `all`
        switch method {
        case let .randomKFold(k):
            var order = users.flatMap(ratings(of:))
            try Self.requireFolds(k, atMost: order.count, "ratings")
            rng.shuffle(&order)
            testSets = (0..<k).map { f in Array(order[(f * order.count / k)..<((f + 1) * order.count / k)]) }
        case let .userHoldout(k, fraction):
            var rated = users.filter { matrix.byUser.count($0) > 0 }
            try Self.requireFolds(k, atMost: rated.count, "users with ratings")
            rng.shuffle(&rated)
            testSets = (0..<k).map { f in
                var held: [Int] = []
                for u in rated[(f * rated.count / k)..<((f + 1) * rated.count / k)] {
                    var rows = ratings(of: u)
                    rng.shuffle(&rows)
                    held += rows.prefix(Self.heldOutCount(rows.count, fraction))
                }
                return held
            }
        case let .temporal(fraction):
            var held: [Int] = []
            for u in users {
                // Stable sort: equal timestamps keep item external-id order.
                let rows = ratings(of: u).enumerated().sorted {
                    (all[$0.element].timestamp, $0.offset) < (all[$1.element].timestamp, $1.offset)
                }.map(\.element)
                held += rows.suffix(Self.heldOutCount(rows.count, fraction))
            }
            testSets = [held]
        case .leaveOneOut:
            var held: [Int] = []
            for u in users where matrix.byUser.count(u) >= 2 {
                let rows = ratings(of: u)
                held.append(rows[rng.below(rows.count)])
            }
            testSets = [held]
        case let .coldItems(k):
            var rated = (0..<Int32(matrix.itemCount)).filter { matrix.byItem.count($0) > 0 }
                .sorted { matrix.items[$0] < matrix.items[$1] }
            try Self.requireFolds(k, atMost: rated.count, "rated items")
            rng.shuffle(&rated)
            var foldOfItem = [Int](repeating: -1, count: matrix.itemCount)
            for f in 0..<k { for i in rated[(f * rated.count / k)..<((f + 1) * rated.count / k)] { foldOfItem[Int(i)] = f } }
            testSets = [[Int]](repeating: [], count: k)
            for (r, t) in all.enumerated() { testSets[foldOfItem[Int(t.item)]].append(r) }
        case .files:
            preconditionFailure("validate() refuses .files")
        }
        return testSets.enumerated().map { fold, held in
            var inTest = [Bool](repeating: false, count: all.count)
            for h in held { inTest[h] = true }
            var train: [RatingTriple] = [], test: [RatingTriple] = []
            train.reserveCapacity(all.count - held.count)
            test.reserveCapacity(held.count)
            for (i, t) in all.enumerated() {
                if inTest[i] { test.append(t) } else { train.append(t) }
            }
            return TrainTestSplit(fold: fold, train: matrix.restricted(to: train), test: matrix.restricted(to: test))
        }
    }

    /// round(fraction · n), but at least one rating held out and at least one kept for training.
    static func heldOutCount(_ n: Int, _ fraction: Double) -> Int {
        guard n >= 2 else { return 0 }
        return min(n - 1, max(1, Int((fraction * Double(n)).rounded())))
    }
}

/// One fold: both sides are matrices over the full vocabularies, so indices agree.
public struct TrainTestSplit: Sendable {
    public let fold: Int
    public let train: RatingMatrix
    public let test: RatingMatrix
}

public struct EvaluationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
