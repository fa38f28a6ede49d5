import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreEvaluation
import TimbreStrategies
import TimbreInterchange

extension PairedTest: ExpressibleByArgument {}

/// `timbre evaluate`: several strategies on the same seeded splits, side by side, on the catalog's
/// ratings (the run is stored) or on a ratings file.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare strategies offline on the same splits (rating and full-ranking top-N metrics).",
        discussion: """
        Evaluates on the catalog's ratings or play totals (--feedback) and stores the run (see `timbre runs`), or, with --ratings FILE, \
        on a file in any layout `timbre import` reads, without a database and without storing.
        --export-splits DIR writes the folds for other libraries; --splits-from DIR evaluates on folds from files \
        (see docs/evaluation.md, "Folds as files").

        On plays, RMSE and MAE are not computed (they measure error on a rating scale); the report says which feedback was used.

        Candidates for top-N are all items the user has not rated in training (full ranking, no sampled \
        negatives). Every strategy sees the same splits; the first is the reference for the paired tests.
        Strategy specs: NAME or NAME:key=value,key=value (e.g. item-knn:mode=implicit,similarity=cosine,centring=none,k=20), optionally with a label for the reports in front: LABEL=NAME:… (e.g. iknn=item-knn:mode=implicit,k=20). A value that is itself a strategy is written NAME(key=value,…), e.g. 'hybrid:first=item-knn(mode=implicit,k=20),second=popularity,weight=0.1'.
        """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var embeddings: EmbeddingOptions
    @OptionGroup var feedback: FeedbackOptions

    @Flag(help: "Do not store the run in the catalog.")
    var noSave = false

    enum SplitKind: String, ExpressibleByArgument, CaseIterable {
        case kfold, holdout, temporal, loo
        case coldItems = "cold-items"
    }

    @Option(help: ArgumentHelp("Evaluate on this ratings file instead of the catalog.", valueName: "file"))
    var ratings: String?

    @Option(name: .customLong("strategy"), help: "Strategy to evaluate (repeat); the first is the reference for paired tests. Default: every registered strategy (those that use item embeddings only when there are some).")
    var strategies: [String] = []

    @Option(help: "kfold (random k-fold over ratings), holdout (users in folds, a fraction of each held out), temporal, loo, cold-items (items in folds, all ratings of a test fold's items held out: new items). Default: holdout.")
    var split: SplitKind?

    @Option(parsing: .unconditional, help: "Folds for kfold, holdout and cold-items (default 5).")
    var folds: Int?

    @Option(help: "Fraction held out per test user (holdout, temporal; default 0.2).")
    var fraction: Double?

    @Option(help: "Seed of the split (default 0).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Write the split's folds to this directory (fold-K/train.tsv, fold-K/test.tsv, splits.json) and stop, evaluating nothing. The directory must not exist, be empty, or hold a previous export (which is replaced).", valueName: "dir"))
    var exportSplits: String?

    @Option(help: ArgumentHelp("Evaluate on the folds in this directory (a previous --export-splits, or written by anyone in that layout) instead of drawing a split; their ids must be in the dataset.", valueName: "dir"))
    var splitsFrom: String?

    @Option(name: .customShort("n"), parsing: .unconditional, help: "Length of the top-N list.")
    var cutoff = 10

    @Option(parsing: .unconditional, help: "Count a held-out item as relevant only when rated at least this (default: any held-out item).")
    var relevantAtLeast: Float?

    @Option(help: "Paired test of per-user metrics against the first strategy: z-test or wilcoxon (signed-rank). p-values are Holm–Bonferroni adjusted over the report's strategies × metrics.")
    var pairedTest: PairedTest = .zTest

    @Option(help: "Output: table, json or csv.")
    var format: OutputFormat = .table

    @Option(help: "Also write the comparison as an SVG bar chart with 95% intervals.")
    var plot: String?

    @Flag(help: "Tune every strategy given as a search space (NAME:k=[a,b],w=lo..hi,r=log(lo..hi)) on validation parts of the training folds, with the same budget, before the comparison.")
    var tuned = false

    @OptionGroup var tuning: TuningArguments

    func validate() throws {
        if let plot { try checkOutputFolder(of: plot) }
        if let folds { try requireInRange(folds, "--folds", 2...SplitSpec.maxFolds) }
        try requireInRange(cutoff, "-n", 1...maxListLength)
        if let relevantAtLeast, !relevantAtLeast.isFinite {
            throw ValidationError("--relevant-at-least must be a finite rating, got \(relevantAtLeast)")
        }
        if ratings != nil, embeddings.given {
            throw ValidationError("--embedding-model reads the catalog's item embeddings; a --ratings file has none")
        }
        if ratings != nil, feedback.kind == .plays {
            throw ValidationError("--feedback plays reads the catalog's play totals; a --ratings file holds ratings")
        }
        if exportSplits != nil, splitsFrom != nil {
            throw ValidationError("--export-splits and --splits-from exclude each other")
        }
        if exportSplits != nil, !strategies.isEmpty || plot != nil {
            throw ValidationError("--export-splits only writes the folds; evaluate them with --splits-from DIR --strategy …")
        }
        if tuned, splitsFrom != nil || exportSplits != nil {
            throw ValidationError("--tuned draws its own split (the validation parts come from its training folds): leave out --splits-from/--export-splits")
        }
        if !tuned, let searched = strategies.first(where: { (try? SearchSpace.parse($0))?.isSearch == true }) {
            throw ValidationError("'\(searched)' searches settings: add --tuned (or use `timbre tune`)")
        }
        if splitsFrom != nil, split != nil || folds != nil || fraction != nil || seed != nil {
            throw ValidationError("--splits-from takes its folds from the files: --split, --folds, --fraction and --seed do not apply")
        }
    }

    func run() throws {
        let db: PostgresConnection? = ratings == nil ? try catalog.connect() : nil
        let method: SplitSpec.Method = switch split ?? .holdout {
        case .kfold: .randomKFold(folds: folds ?? 5)
        case .holdout: .userHoldout(folds: folds ?? 5, fraction: fraction ?? 0.2)
        case .temporal: .temporal(fraction: fraction ?? 0.2)
        case .loo: .leaveOneOut
        case .coldItems: .coldItems(folds: folds ?? 5)
        }
        let spec = SplitSpec(method, seed: seed ?? 0)
        let source: EvaluationRequest.Source = try ratings.map { .ratingsFile($0) } ?? .catalog(try catalog.connect())
        let service = CatalogEvaluation(registry: hostStrategies)
        if let exportSplits {
            let manifest = try service.exportSplits(of: source, split: spec, feedback: feedback.kind, to: exportSplits)
            note("wrote \(manifest.folds.count) folds (\(spec)) to \(exportSplits)")
            return
        }
        var request = EvaluationRequest(source: source, split: spec)
        request.options = EvaluationOptions(cutoff: cutoff, relevance: relevantAtLeast.map { .ratingAtLeast($0) } ?? .anyHeldOut,
                                            pairedTest: pairedTest)
        request.strategies = strategies
        request.splitsFrom = splitsFrom
        request.embeddings = embeddings.choice
        request.feedback = feedback.kind
        request.store = !noSave
        if tuned {
            let tuning = tuning, cutoff = cutoff
            request.tuning = { try tuning.tuning($0, cutoff: cutoff) }
        }
        let outcome = try service.run(request)
        if !outcome.leftOut.isEmpty { note("leaving out \(outcome.leftOut.joined(separator: ", ")): there are no item embeddings") }
        if let id = outcome.storedRun { note("stored as evaluation run #\(id) (timbre runs show \(id))") }
        let report = outcome.report, records = outcome.tuning
        try printReport(report, format: format)
        if format == .table, !records.isEmpty { print(TunedComparison.table(records, report: report), terminator: "") }
        if let plot {
            try writeFileSafely(Array(report.svg().utf8), to: plot)
        }
    }
}

func printReport(_ report: EvaluationReport, format: OutputFormat) throws {
    switch format {
    case .table: print(report.table(), terminator: "")
    case .json: print(try report.json())
    case .csv: print(report.csv(), terminator: "")
    }
}
