import ArgumentParser
import Foundation
import TimbreCore
import TimbreEvaluation
import TimbreStrategies

/// `timbre evaluate`: several strategies on the same seeded splits, side by side.
/// The ratings come from `loadRatings`, which reads a RecBole `.inter` file today; the catalog
/// can supply them instead by replacing that one function.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare strategies offline on the same splits (rating and full-ranking top-N metrics).",
        discussion: """
        Candidates for top-N are all items the user has not rated in training (full ranking).
        Strategy specs: NAME or NAME:key=value,key=value (e.g. item-knn:mode=implicit,similarity=cosine,centring=none,k=20).
        """)

    enum SplitKind: String, ExpressibleByArgument, CaseIterable {
        case kfold, holdout, temporal, loo
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @Option(help: "Folder holding ml-100k.inter (RecBole atomic format), or the file itself.")
    var ratings: String = MovieLensFixture.directory

    @Option(name: .customLong("strategy"), help: "Strategy to evaluate (repeat); the first is the reference for paired tests. Default: every registered strategy.")
    var strategies: [String] = []

    @Option(help: "kfold (random k-fold over ratings), holdout (users in folds, a fraction of each held out), temporal, loo.")
    var split: SplitKind = .holdout

    @Option(help: "Folds for kfold and holdout.")
    var folds = 5

    @Option(help: "Fraction held out per test user (holdout, temporal).")
    var fraction = 0.2

    @Option(help: "Seed of the split.")
    var seed: UInt64 = 0

    @Option(name: .customShort("n"), help: "Length of the top-N list.")
    var cutoff = 10

    @Option(help: "Count a held-out item as relevant only when rated at least this (default: any held-out item).")
    var relevantAtLeast: Float?

    @Option(help: "Output: table, json or csv.")
    var format: Format = .table

    @Option(help: "Also write the comparison as an SVG bar chart with 95% intervals.")
    var plot: String?

    func run() throws {
        let matrix = try loadRatings()
        let method: SplitSpec.Method = switch split {
        case .kfold: .randomKFold(folds: folds)
        case .holdout: .userHoldout(folds: folds, fraction: fraction)
        case .temporal: .temporal(fraction: fraction)
        case .loo: .leaveOneOut
        }
        let options = EvaluationOptions(cutoff: cutoff, relevance: relevantAtLeast.map { .ratingAtLeast($0) } ?? .anyHeldOut)
        let specs = strategies.isEmpty ? registeredStrategies.names : strategies
        let report = try Evaluation(split: SplitSpec(method, seed: seed), options: options)
            .run(matrix, strategies: specs.map { try .parse($0, in: registeredStrategies) },
                 dataset: URL(fileURLWithPath: ratings).lastPathComponent)
        switch format {
        case .table: print(report.table(), terminator: "")
        case .json: print(try report.json())
        case .csv: print(report.csv(), terminator: "")
        }
        if let plot {
            try report.svg().write(toFile: plot, atomically: true, encoding: .utf8)
        }
    }

    func loadRatings() throws -> RatingMatrix {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: ratings, isDirectory: &isFolder)
        return try !exists || isFolder.boolValue
            ? MovieLensFixture.load(directory: ratings)
            : MovieLensFixture.parse(String(contentsOfFile: ratings, encoding: .utf8), source: ratings)
    }
}
