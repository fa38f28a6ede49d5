import Foundation
import TimbreCore
import TimbreInterchange

/// Train/test folds as plain files, so another library (LensKit, implicit, a notebook) trains and
/// scores on exactly the folds Timbre evaluates on, and Timbre can evaluate on folds anyone wrote.
///
/// Layout: `DIR/fold-K/train.tsv` and `DIR/fold-K/test.tsv` (K = 1…folds), tab-separated with the
/// header `user\titem\tvalue\ttimestamp`, external ids, rows sorted by (user, item) id; `DIR/splits.json`
/// (`Manifest`) says what split made them. Timestamps are seconds since 1970, 0 where unknown.
public enum SplitFiles {
    public static let header = "user\titem\tvalue\ttimestamp"
    public static let manifestName = "splits.json"
    public static let format = "timbre-splits/1"

    public struct FoldCounts: Codable, Sendable, Equatable {
        /// 1-based, as in the folder name.
        public var fold: Int
        public var train: Int
        public var test: Int
        public var testUsers: Int
    }

    /// `splits.json`. Only `format` and `folds` are read back; the rest documents the export.
    public struct Manifest: Codable, Sendable, Equatable {
        public var format: String
        public var writer: String
        public var dataset: DatasetSummary
        public var feedback: FeedbackKind
        public var split: SplitSpec
        public var splitDescription: String
        public var seed: UInt64
        public var columns: String
        public var folds: [FoldCounts]
    }

    /// Folds read back from a directory, aligned with the dataset's vocabularies.
    public struct ImportedSplits: Sendable {
        public let directory: String
        /// Nil when the folds came without a `splits.json` (written by someone else).
        public let manifest: Manifest?
        public let folds: [TrainTestSplit]

        /// What a report records as its split: folds given as files (the drawn split is in the text).
        public var spec: SplitSpec { SplitSpec(.files(folds: folds.count), seed: manifest?.seed ?? 0) }

        public var description: String {
            "read from \(directory)" + (manifest.map { " (exported by \($0.writer): \($0.splitDescription))" } ?? "")
        }
    }

    // MARK: writing

    /// Draws `split`'s folds of `data` and writes them to `directory`, returning the manifest.
    public static func export(_ data: TrainingData, split: SplitSpec, dataset: String, to directory: String) throws -> Manifest {
        let matrix = data.ratings
        let folds = try split.splits(of: matrix)
        let summary = DatasetSummary(name: dataset, users: matrix.userCount, items: matrix.itemCount, ratings: matrix.ratingCount)
        return try write(folds, split: split, dataset: summary, feedback: data.feedback, to: directory)
    }

    /// Writes into a fresh sibling directory and renames it into place, so `directory` never holds a
    /// half-written export. An existing `directory` must be empty or a previous export (it has our
    /// `splits.json` and nothing but `fold-K` folders): anything else is refused, never overwritten.
    public static func write(_ folds: [TrainTestSplit], split: SplitSpec, dataset: DatasetSummary, feedback: FeedbackKind,
                             to directory: String) throws -> Manifest {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: target.path, isDirectory: &isDirectory)
        var replacing = false
        if exists {
            guard isDirectory.boolValue else { throw EvaluationError("\(directory) exists and is not a directory") }
            let contents = try fm.contentsOfDirectory(atPath: target.path)
            if !contents.isEmpty {
                guard isPreviousExport(target, contents: contents) else {
                    throw EvaluationError("\(directory) is not empty and is not a previous split export (no \(manifestName) of format \(format), or other files in it): choose another directory")
                }
                replacing = true
            }
        }
        let suffix = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).tmp-\(suffix)")
        do {
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            var counts: [FoldCounts] = []
            for (k, fold) in folds.enumerated() {
                let folder = temporary.appendingPathComponent("fold-\(k + 1)")
                try fm.createDirectory(at: folder, withIntermediateDirectories: false)
                try Data(tsv(fold.train).utf8).write(to: folder.appendingPathComponent("train.tsv"))
                try Data(tsv(fold.test).utf8).write(to: folder.appendingPathComponent("test.tsv"))
                let testUsers = (0..<Int32(fold.test.userCount)).filter { fold.test.byUser.count($0) > 0 }.count
                counts.append(FoldCounts(fold: k + 1, train: fold.train.ratingCount, test: fold.test.ratingCount, testUsers: testUsers))
            }
            let manifest = Manifest(
                format: format, writer: "timbre \(TimbreVersion.string)", dataset: dataset, feedback: feedback,
                split: split, splitDescription: split.description, seed: split.seed,
                columns: "user, item: external ids; value: rating or play total; timestamp: seconds since 1970, 0 = unknown",
                folds: counts)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(manifest).write(to: temporary.appendingPathComponent(manifestName))
            if replacing {
                // rename(2) cannot replace a non-empty directory: move the old export aside first.
                let old = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).old-\(suffix)")
                try renameDirectory(target, to: old)
                try renameDirectory(temporary, to: target)
                try? fm.removeItem(at: old)
            } else {
                // Replaces an empty directory in one step, or creates the name.
                try renameDirectory(temporary, to: target)
            }
            return manifest
        } catch {
            try? fm.removeItem(at: temporary)
            if let e = error as? EvaluationError { throw e }
            throw EvaluationError("cannot write the splits to \(directory): \(error.localizedDescription)")
        }
    }

    private static func renameDirectory(_ from: URL, to: URL) throws {
        guard rename(from.path, to.path) == 0 else {
            throw EvaluationError("cannot rename \(from.path) to \(to.path): \(String(cString: strerror(errno)))")
        }
    }

    private static func isPreviousExport(_ directory: URL, contents: [String]) -> Bool {
        guard contents.contains(manifestName),
              contents.allSatisfy({ $0 == manifestName || foldNumber($0) != nil }),
              let data = FileManager.default.contents(atPath: directory.appendingPathComponent(manifestName).path),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else { return false }
        return manifest.format == format
    }

    private static func foldNumber(_ name: String) -> Int? {
        guard name.hasPrefix("fold-"), let k = Int(name.dropFirst(5)), k >= 1, "fold-\(k)" == name else { return nil }
        return k
    }

    /// Rows in external-id order, so one split of one dataset gives the same bytes however it was loaded.
    static func tsv(_ m: RatingMatrix) -> String {
        var rows: [(user: String, item: String, value: Float, timestamp: Int64)] = []
        rows.reserveCapacity(m.ratingCount)
        for u in 0..<Int32(m.userCount) {
            for k in m.byUser.range(u) {
                rows.append((m.users[u], m.items[m.byUser.columns[k]], m.byUser.values[k], m.byUser.timestamps[k]))
            }
        }
        rows.sort { ($0.user, $0.item) < ($1.user, $1.item) }
        var out = header + "\n"
        out.reserveCapacity(rows.count * 24)
        for r in rows { out += "\(r.user)\t\(r.item)\t\(number(r.value))\t\(r.timestamp)\n" }
        return out
    }

    /// Whole values without a fraction ("4", not "4.0"); others in Swift's shortest exact form.
    private static func number(_ v: Float) -> String {
        v == v.rounded() && abs(v) < 1e7 ? String(Int(v)) : "\(v)"
    }

    // MARK: reading

    /// Reads and checks folds written by anyone: each `fold-K` has both files with the right header,
    /// no user–item pair twice in a file or in both files of a fold, and only ids the dataset knows
    /// (`users`, `items`). Errors name the file and line. With a `splits.json`, its fold count and
    /// row counts must agree with the files (a truncated copy is caught).
    public static func read(from directory: String, users: Vocabulary, items: Vocabulary) throws -> ImportedSplits {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EvaluationError("\(directory): no such directory")
        }
        let manifestPath = root.appendingPathComponent(manifestName).path
        var manifest: Manifest?
        if let data = fm.contents(atPath: manifestPath) {
            do { manifest = try JSONDecoder().decode(Manifest.self, from: data) }
            catch { throw InputFileError(file: manifestPath, line: nil, "not a split description of format \(format): \(error)") }
            guard manifest!.format == format else {
                throw InputFileError(file: manifestPath, line: nil, "format '\(manifest!.format)', expected '\(format)'")
            }
        }
        let numbers = try fm.contentsOfDirectory(atPath: root.path).compactMap(foldNumber).sorted()
        guard !numbers.isEmpty else { throw EvaluationError("\(directory): no fold-1, fold-2, … folders") }
        if let missing = (1...numbers.last!).first(where: { !numbers.contains($0) }) {
            throw EvaluationError("\(directory): fold-\(missing) is missing (found fold-\(numbers.first!) … fold-\(numbers.last!))")
        }
        if let manifest, manifest.folds.count != numbers.count {
            throw InputFileError(file: manifestPath, line: nil, "describes \(manifest.folds.count) folds, the directory has \(numbers.count)")
        }
        var folds: [TrainTestSplit] = []
        for k in numbers {
            let folder = root.appendingPathComponent("fold-\(k)")
            let trainPath = folder.appendingPathComponent("train.tsv").path, testPath = folder.appendingPathComponent("test.tsv").path
            let train = try records(trainPath, users: users, items: items)
            let test = try records(testPath, users: users, items: items)
            var trainLine: [Pair: Int] = [:]
            trainLine.reserveCapacity(train.triples.count)
            for (t, line) in zip(train.triples, train.lines) { trainLine[Pair(t)] = line }
            for (t, line) in zip(test.triples, test.lines) {
                if let earlier = trainLine[Pair(t)] {
                    throw InputFileError(file: testPath, line: line,
                                         "user \(users[t.user]) item \(items[t.item]) is also in the training set (\(trainPath):\(earlier))")
                }
            }
            if let counts = manifest?.folds.first(where: { $0.fold == k }),
               counts.train != train.triples.count || counts.test != test.triples.count {
                throw InputFileError(file: manifestPath, line: nil,
                                     "fold \(k) has \(counts.train) training and \(counts.test) test rows, the files \(train.triples.count) and \(test.triples.count)")
            }
            folds.append(TrainTestSplit(fold: k - 1, train: try RatingMatrix(users: users, items: items, ratings: train.triples),
                                        test: try RatingMatrix(users: users, items: items, ratings: test.triples)))
        }
        return ImportedSplits(directory: directory, manifest: manifest, folds: folds)
    }

    private struct Pair: Hashable {
        let user: Int32, item: Int32
        init(_ t: RatingTriple) { (user, item) = (t.user, t.item) }
    }

    private static let anyValue: RatingScale = -.greatestFiniteMagnitude ... .greatestFiniteMagnitude

    private static func records(_ path: String, users: Vocabulary, items: Vocabulary) throws -> (triples: [RatingTriple], lines: [Int]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputFileError(file: path, line: nil, "missing or unreadable")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let firstLine = bytes.prefix { $0 != UInt8(ascii: "\n") }
        let found = String(decoding: firstLine.last == UInt8(ascii: "\r") ? firstLine.dropLast() : firstLine, as: UTF8.self)
        guard found == header else {
            throw InputFileError(file: path, line: 1, "header '\(found.replacingOccurrences(of: "\t", with: "\\t"))', expected 'user\\titem\\tvalue\\ttimestamp'")
        }
        let table = try DelimitedTable.parse(bytes, file: path, kind: .ratings, layout: .atomic)
        let rows = try table.ratingRecords(scale: anyValue)
        var triples: [RatingTriple] = []
        triples.reserveCapacity(rows.count)
        for r in rows {
            guard let u = users.index(of: r.user) else { throw InputFileError(file: path, line: r.line, "user '\(r.user)' is not in the dataset") }
            guard let i = items.index(of: r.item) else { throw InputFileError(file: path, line: r.line, "item '\(r.item)' is not in the dataset") }
            triples.append(RatingTriple(user: u, item: i, value: r.value, timestamp: r.timestamp ?? 0))
        }
        return (triples, rows.map(\.line))
    }
}
