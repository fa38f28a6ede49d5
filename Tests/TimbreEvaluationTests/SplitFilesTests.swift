import Foundation
import Testing
import TimbreCore
import TimbreStrategies
import TimbreTestSupport
@testable import TimbreEvaluation
import TimbreInterchange

private func scratch(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("timbre-splits-\(name)-\(UUID().uuidString)").path
}

private struct Row: Hashable { var user: String, item: String, value: Float, timestamp: Int64 }

private func rows(_ m: RatingMatrix) -> Set<Row> {
    Set(m.triples.map { Row(user: m.users[$0.user], item: m.items[$0.item], value: $0.value, timestamp: $0.timestamp) })
}

/// Writes `files` (path relative to `dir` → content) for hand-made fold directories.
private func write(_ files: [String: String], in dir: String) throws {
    for (path, text) in files {
        let url = URL(fileURLWithPath: dir).appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

@Suite struct SplitFilesTests {
    let data = SyntheticCatalog(users: 120, items: 90, ratings: 3000, seed: 5).generate()
    let spec = SplitSpec(.userHoldout(folds: 3, fraction: 0.25), seed: 9)

    @Test func roundTripGivesTheSameFoldsAndTheSameMetrics() throws {
        let dir = scratch("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try SplitFiles.export(TrainingData(ratings: data), split: spec, dataset: "synthetic", to: dir)
        let drawn = try spec.splits(of: data)
        #expect(manifest.folds.map(\.test) == drawn.map(\.test.ratingCount))
        #expect(manifest.folds.map(\.train) == drawn.map(\.train.ratingCount))

        let read = try SplitFiles.read(from: dir, users: data.users, items: data.items)
        #expect(read.manifest == manifest)
        #expect(read.folds.count == drawn.count)
        for (a, b) in zip(read.folds, drawn) {
            #expect(a.fold == b.fold)
            #expect(rows(a.train) == rows(b.train) && rows(a.test) == rows(b.test))
            #expect(a.train.triples == b.train.triples && a.test.triples == b.test.triples, "same dense indices too")
        }

        let strategies = try ["popularity", "item-knn:mode=implicit,k=20", "bias"].map { try StrategyUnderTest.parse($0, in: registeredStrategies) }
        let evaluation = Evaluation(split: spec, options: EvaluationOptions(bootstrapSamples: 50))
        let inMemory = try evaluation.run(TrainingData(ratings: data), strategies: strategies, dataset: "synthetic")
        let fromFiles = try evaluation.run(TrainingData(ratings: data), splits: read, strategies: strategies, dataset: "synthetic")
        #expect(fromFiles.strategies.map(\.metrics) == inMemory.strategies.map(\.metrics))
        #expect(fromFiles.strategies[1].metric("NDCG@10")!.value > 0)
        #expect(fromFiles.split == SplitSpec(.files(folds: 3), seed: 9))
        #expect(fromFiles.splitDescription.contains(spec.description) && fromFiles.splitDescription.contains(dir))
    }

    @Test func filesAreSortedByIdsAndKeepValuesAndTimestamps() throws {
        let users = Vocabulary(["u2", "u1"]), items = Vocabulary(["b", "a"])
        let m = try RatingMatrix(users: users, items: items, ratings: [
            RatingTriple(user: 0, item: 0, value: 3.5, timestamp: 20), RatingTriple(user: 1, item: 1, value: 4, timestamp: 10),
            RatingTriple(user: 1, item: 0, value: 2, timestamp: 0),
        ])
        #expect(SplitFiles.tsv(m) == "user\titem\tvalue\ttimestamp\nu1\ta\t4\t10\nu1\tb\t2\t0\nu2\tb\t3.5\t20\n")
    }

    @Test func replacesAPreviousExportAndRefusesAnythingElse() throws {
        let dir = scratch("replace")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
        _ = try SplitFiles.export(TrainingData(ratings: data), split: spec, dataset: "synthetic", to: dir)
        let other = SplitSpec(.randomKFold(folds: 2), seed: 1)
        let second = try SplitFiles.export(TrainingData(ratings: data), split: other, dataset: "synthetic", to: dir)
        let read = try SplitFiles.read(from: dir, users: data.users, items: data.items)
        #expect(read.manifest == second && read.folds.count == 2, "the old fold-3 is gone with the old export")
        let name = URL(fileURLWithPath: dir).lastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent).allSatisfy { !$0.hasPrefix(".\(name).") },
                "no temporary or old directory left beside it")

        // A folder with anything else in it is refused and left as it was.
        let foreign = scratch("foreign")
        defer { try? FileManager.default.removeItem(atPath: foreign) }
        try write(["notes.txt": "mine"], in: foreign)
        #expect(throws: EvaluationError.self) { try SplitFiles.export(TrainingData(ratings: data), split: spec, dataset: "x", to: foreign) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign) == ["notes.txt"])
        // So is a previous export with a stray file added.
        try write(["fold-1/extra.tsv": ""], in: dir)
        try write(["README": "x"], in: dir)
        #expect(throws: EvaluationError.self) { try SplitFiles.export(TrainingData(ratings: data), split: spec, dataset: "x", to: dir) }
        // An empty directory is filled.
        let empty = scratch("empty")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        _ = try SplitFiles.export(TrainingData(ratings: data), split: spec, dataset: "x", to: empty)
        #expect(try SplitFiles.read(from: empty, users: data.users, items: data.items).folds.count == 3)
    }

    // MARK: folds written by someone else

    let users = Vocabulary(["1", "2", "3"]), items = Vocabulary(["a", "b", "c", "d"])
    let header = "user\titem\tvalue\ttimestamp\n"

    @Test func readsHandWrittenFoldsWithoutASplitsFile() throws {
        let dir = scratch("peer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write([
            "fold-1/train.tsv": header + "1\ta\t1\t\n2\tb\t5\t100\r\n\n3\tc\t2.5\t7\n",
            "fold-1/test.tsv": header + "1\tb\t4\t0\n",
            "fold-2/train.tsv": header + "1\tb\t4\t0\n",
            "fold-2/test.tsv": header + "1\ta\t1\t\n3\td\t3\t9\n",
        ], in: dir)
        let read = try SplitFiles.read(from: dir, users: users, items: items)
        #expect(read.manifest == nil && read.folds.map(\.fold) == [0, 1])
        #expect(rows(read.folds[0].train) == [Row(user: "1", item: "a", value: 1, timestamp: 0), Row(user: "2", item: "b", value: 5, timestamp: 100),
                                               Row(user: "3", item: "c", value: 2.5, timestamp: 7)])
        #expect(rows(read.folds[1].test) == [Row(user: "1", item: "a", value: 1, timestamp: 0), Row(user: "3", item: "d", value: 3, timestamp: 9)])
        #expect(read.folds[1].train.users == users && read.folds[1].train.items == items, "over the dataset's vocabularies")
        #expect(read.spec.method == .files(folds: 2))
    }

    /// Each bad fold directory gives an error naming the file (and line) at fault.
    @Test(arguments: [
        (["fold-1/train.tsv": "user\titem\tvalue\n1\ta\t1\n"], "fold-1/train.tsv:1:"),
        (["fold-1/train.tsv": "1\ta\t1\t0\n"], "fold-1/train.tsv:1:"),
        (["fold-1/test.tsv": "user\titem\tvalue\ttimestamp\n2\tb\t3\t0\n1\tc\t1\t0\n"], "fold-1/test.tsv:3: user 1 item c is also in the training set"),
        (["fold-1/train.tsv": "user\titem\tvalue\ttimestamp\n1\tc\t1\t0\n9\ta\t1\t0\n"], "fold-1/train.tsv:3: user '9' is not in the dataset"),
        (["fold-1/test.tsv": "user\titem\tvalue\ttimestamp\n2\tz\t1\t0\n"], "fold-1/test.tsv:2: item 'z' is not in the dataset"),
        (["fold-1/train.tsv": "user\titem\tvalue\ttimestamp\n1\tc\t1\t0\n1\tc\t2\t0\n"], "fold-1/train.tsv:3: user 1 already rated item c on line 2"),
        (["fold-1/train.tsv": "user\titem\tvalue\ttimestamp\n1\tc\tfive\t0\n"], "fold-1/train.tsv:2: rating 'five' is not a number"),
        (["fold-1/train.tsv": "user\titem\tvalue\ttimestamp\n1\tc\t1\n"], "fold-1/train.tsv:2: expected 4 fields"),
    ] as [([String: String], String)])
    func badFilesNameFileAndLine(override: [String: String], message: String) throws {
        let dir = scratch("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(["fold-1/train.tsv": header + "1\tc\t1\t0\n", "fold-1/test.tsv": header + "2\tb\t3\t0\n"].merging(override) { $1 }, in: dir)
        let error = try #require(throws: InputFileError.self) { try SplitFiles.read(from: dir, users: users, items: items) }
        #expect(error.description.contains(message), "\(error)")
    }

    @Test func missingFilesAndFoldsAreNamed() throws {
        let dir = scratch("missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(["fold-1/train.tsv": header + "1\tc\t1\t0\n"], in: dir)
        let noTest = try #require(throws: InputFileError.self) { try SplitFiles.read(from: dir, users: users, items: items) }
        #expect(noTest.file.hasSuffix("fold-1/test.tsv") && noTest.description.contains("missing"))
        try write(["fold-1/test.tsv": header, "fold-3/train.tsv": header, "fold-3/test.tsv": header], in: dir)
        let gap = try #require(throws: EvaluationError.self) { try SplitFiles.read(from: dir, users: users, items: items) }
        #expect(gap.description.contains("fold-2 is missing"))
        #expect(throws: EvaluationError.self) { try SplitFiles.read(from: dir + "-nowhere", users: users, items: items) }
    }

    @Test func aTruncatedExportDisagreesWithItsSplitsFile() throws {
        let dir = scratch("truncated")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try SplitFiles.export(TrainingData(ratings: data), split: spec, dataset: "synthetic", to: dir)
        let test = dir + "/fold-2/test.tsv"
        let lines = try String(contentsOfFile: test, encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: test, atomically: true, encoding: .utf8)
        let error = try #require(throws: InputFileError.self) { try SplitFiles.read(from: dir, users: data.users, items: data.items) }
        #expect(error.file.hasSuffix("splits.json") && error.description.contains("fold 2"))
        // A drawn split cannot pretend to be files, nor the other way round.
        #expect(throws: EvaluationError.self) { try SplitSpec(.files(folds: 2)).splits(of: data) }
    }
}
