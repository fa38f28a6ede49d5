import Foundation
import Testing
import TimbreCatalog
import TimbreCore
import TimbreEvaluation
import TimbreStrategies
import TimbreTestSupport

/// `EvaluationRunStore` in-process: a report reads back as itself, runs list newest first, and a
/// comparison of two runs relabels their strategies and drops the paired tests.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct EvaluationRunStoreTests {
    /// Popularity and bias on six users × six items, two folds of `method`.
    static func report(_ method: SplitSpec.Method) throws -> EvaluationReport {
        let users = Vocabulary((0..<6).map { "u\($0)" }), items = Vocabulary((0..<6).map { "i\($0)" })
        var triples: [RatingTriple] = []
        for u in 0..<6 { for i in 0..<6 where (u + i) % 3 != 0 { triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: Float(1 + (u * i) % 5))) } }
        let matrix = try RatingMatrix(users: users, items: items, ratings: triples)
        var report = try Evaluation(split: SplitSpec(method, seed: 1), options: EvaluationOptions(cutoff: 2, bootstrapSamples: 20))
            .run(matrix, strategies: [try .registered("popularity", in: registeredStrategies), try .registered("bias", in: registeredStrategies)],
                 dataset: "tiny")
        report.embeddingModel = 7
        report.codeVersion = TimbreVersion.string // what the store records
        return report
    }

    @Test func aStoredReportReadsBackWholeAndTwoRunsCompare() throws {
        let catalog = try TestCatalog()
        let store = EvaluationRunStore(catalog.db)
        let kfold = try Self.report(.randomKFold(folds: 2)), holdout = try Self.report(.userHoldout(folds: 2, fraction: 0.3))
        let first = try store.save(kfold), second = try store.save(holdout)
        #expect(try store.report(first).json() == kfold.json())
        #expect(try store.report(second).json() == holdout.json())
        #expect(try store.report(first).embeddingModel == 7)

        let listed = try store.list(limit: 10)
        #expect(listed.map(\.id) == [second, first])
        #expect(listed.allSatisfy { $0.strategies == ["popularity", "bias"] && $0.dataset == "tiny (\(kfold.dataset.ratings) ratings)" })
        #expect(listed.last?.split == "\(kfold.split)")
        #expect(try store.list(limit: 1).map(\.id) == [second])

        let (merged, splitNote) = try store.compare(first, second)
        #expect(merged.strategies.map(\.label) == ["#\(first) popularity", "#\(first) bias", "#\(second) popularity", "#\(second) bias"])
        #expect(merged.strategies.allSatisfy { $0.metrics.allSatisfy { $0.vsFirst == nil } })
        #expect(kfold.strategies[1].metrics.contains { $0.vsFirst != nil }, "nothing to drop: the test shows nothing")
        #expect(merged.strategies[2].metrics.map(\.value) == holdout.strategies[0].metrics.map(\.value))
        #expect(splitNote?.contains(holdout.splitDescription) == true)
        #expect(try store.compare(first, first).splitNote == nil)

        #expect(throws: UnknownRunError.self) { try store.report(second + 1) }
    }
}
