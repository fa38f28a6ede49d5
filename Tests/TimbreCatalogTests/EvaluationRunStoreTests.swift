import Foundation
import Testing
import TimbreCatalog
import TimbreCore
import TimbreEvaluation
import TimbreStrategies
import TimbreTestSupport
import TimbreInterchange

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

/// `CatalogEvaluation` (what `timbre evaluate` calls) in-process: the catalog's data, the default
/// strategies, folds from files, storing, and the same figures from a ratings file.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct CatalogEvaluationTests {
    /// Eight users × eight items, every pair with (u + i) % 3 ≠ 0 rated, as an atomic file.
    static func ratingsFile() throws -> String {
        var text = "user_id:token\titem_id:token\trating:float\n"
        for u in 0..<8 { for i in 0..<8 where (u + i) % 3 != 0 { text += "u\(u)\ti\(i)\t\(1 + (u * i) % 5)\n" } }
        return try TestData.file("tiny.inter", text)
    }

    @Test func evaluatesTheCatalogStoresTheRunAndAgreesWithTheFile() throws {
        let catalog = try TestCatalog()
        let file = try Self.ratingsFile()
        _ = try CatalogImporter(ratingsFile: file).run(catalog.db)
        let service = CatalogEvaluation(registry: registeredStrategies)
        let split = SplitSpec(.userHoldout(folds: 2, fraction: 0.3), seed: 4)
        var request = EvaluationRequest(source: .catalog(catalog.db), split: split)
        request.options = EvaluationOptions(cutoff: 3, bootstrapSamples: 20)
        request.strategies = ["popularity", "bias"]
        let fromCatalog = try service.run(request)
        let id = try #require(fromCatalog.storedRun)
        #expect(try EvaluationRunStore(catalog.db).report(id).json() == fromCatalog.report.json())
        #expect(fromCatalog.report.dataset.name == "catalog" && fromCatalog.report.dataset.ratings == 43)
        #expect(fromCatalog.leftOut.isEmpty)

        // The same split of the same ratings read from the file: the same rating errors (top-N
        // lists may break popularity ties another way: the file's item order is not the catalog's),
        // nothing stored.
        var onFile = request
        onFile.source = .ratingsFile(file)
        let fromFile = try service.run(onFile)
        #expect(fromFile.storedRun == nil && fromFile.report.dataset.name == "tiny.inter")
        for name in ["RMSE", "MAE"] {
            let a = try #require(fromFile.report.strategies[1].metric(name)), b = try #require(fromCatalog.report.strategies[1].metric(name))
            #expect(abs(a.value - b.value) < 1e-12, "\(name)")
        }

        // Folds written out and read back evaluate as the drawn ones.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-folds-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try service.exportSplits(of: .catalog(catalog.db), split: split, feedback: nil, to: folder).folds.count == 2)
        var fromFolds = request
        fromFolds.splitsFrom = folder
        fromFolds.store = false
        let refolded = try service.run(fromFolds)
        #expect(refolded.storedRun == nil)
        #expect(refolded.report.strategies.map { $0.metrics.map(\.value) } == fromCatalog.report.strategies.map { $0.metrics.map(\.value) })
        #expect(try catalog.count("evaluation_runs") == 1)
    }

    @Test func withoutItemEmbeddingsTheDefaultLeavesOutTheStrategiesThatNeedThem() throws {
        let service = CatalogEvaluation(registry: registeredStrategies)
        var request = EvaluationRequest(source: .ratingsFile(try Self.ratingsFile()), split: SplitSpec(.randomKFold(folds: 2), seed: 1))
        request.options = EvaluationOptions(cutoff: 3, bootstrapSamples: 20)
        let outcome = try service.run(request)
        let needing = try registeredStrategies.names.filter { try registeredStrategies.make($0).0.usesItemEmbeddings }
        #expect(!needing.isEmpty && outcome.leftOut == needing)
        #expect(outcome.report.strategies.map(\.name) == registeredStrategies.names.filter { !needing.contains($0) })
    }
}
