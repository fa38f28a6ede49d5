import Foundation
import TimbreCore
import TimbreEvaluation
import TimbreInterchange
import TimbreTerminal

/// What `timbre evaluate` compares, on what, and whether the run is stored.
public struct EvaluationRequest {
    /// Where the interactions come from: the catalog (ratings or play totals, item embeddings),
    /// or a ratings file in any layout `timbre import` reads (no database, nothing stored).
    public enum Source {
        case catalog(PostgresConnection)
        case ratingsFile(String)
    }

    public var source: Source
    public var split: SplitSpec
    public var options = EvaluationOptions()
    /// Specs (or, when tuned, search spaces); empty: every registered strategy, those using item
    /// embeddings only when the data has some.
    public var strategies: [String] = []
    /// Evaluate on folds from files (`SplitFiles`) instead of drawing `split`.
    public var splitsFrom: String?
    public var embeddings: EmbeddingChoice = .latest
    /// Ratings or plays (nil: what the catalog holds).
    public var feedback: FeedbackKind?
    /// With a search: each strategy given as a search space is tuned on validation parts of the
    /// training folds before the comparison (`evaluate --tuned`, `tune`).
    public var tuning: ((Evaluation) throws -> StrategyTuning)?
    /// Store the run in the catalog (only from the catalog).
    public var store = true

    public init(source: Source, split: SplitSpec) {
        self.source = source
        self.split = split
    }
}

/// What an evaluation did.
public struct EvaluationOutcome {
    public var report: EvaluationReport
    /// The searches of tuned strategies, in order.
    public var tuning: [TuningRecord]
    /// The evaluation_runs id, when stored.
    public var storedRun: Int64?
    /// Default strategies left out because the data has no item embeddings.
    public var leftOut: [String]
}

/// `timbre evaluate` as a service: loads the data, chooses the strategies, runs the comparison
/// (tuned or not) and stores the report with `EvaluationRunStore`.
public struct CatalogEvaluation {
    public let registry: StrategyRegistry

    public init(registry: StrategyRegistry) { self.registry = registry }

    public func run(_ request: EvaluationRequest) throws -> EvaluationOutcome {
        var chosen: [StrategyUnderTest] = request.strategies.isEmpty
            ? try registry.names.map { try .registered($0, in: registry) }
            : try request.strategies.map { try .parse(request.tuning != nil ? SearchSpace.parse($0).name : $0, in: registry) }
        let needsEmbeddings = chosen.contains { $0.strategy.usesItemEmbeddings }
        let (data, dataset, embeddingModel) = try load(request.source, embeddings: needsEmbeddings ? request.embeddings : .none,
                                                       feedback: request.feedback)
        var leftOut: [String] = []
        if request.strategies.isEmpty, data.itemEmbeddings == nil {
            leftOut = chosen.filter { $0.strategy.usesItemEmbeddings }.map(\.label)
            chosen.removeAll { $0.strategy.usesItemEmbeddings }
        }
        let evaluation = Evaluation(split: request.split, options: request.options)
        var records: [TuningRecord] = []
        var report: EvaluationReport
        if let tuning = request.tuning {
            let comparison = TunedComparison(tuning: try tuning(evaluation))
            let outcome = try comparison.run(request.strategies.isEmpty ? chosen.map(\.name) : request.strategies, data: data,
                                             dataset: dataset, registry: registry) { label, total in
                ProgressReporter(label, total: total, unit: "trials")
            }
            (report, records) = (outcome.report, outcome.records)
        } else if let folder = request.splitsFrom {
            report = try evaluation.run(data, splits: SplitFiles.read(from: folder, users: data.ratings.users, items: data.ratings.items),
                                        strategies: chosen, dataset: dataset)
        } else {
            report = try evaluation.run(data, strategies: chosen, dataset: dataset)
        }
        report.tuning = records.isEmpty ? nil : records
        report.codeVersion = TimbreVersion.string
        report.embeddingModel = embeddingModel
        var stored: Int64?
        if request.store, case .catalog(let db) = request.source { stored = try EvaluationRunStore(db).save(report) }
        return EvaluationOutcome(report: report, tuning: records, storedRun: stored, leftOut: leftOut)
    }

    /// Writes `split`'s folds of the source's data to `directory` (`SplitFiles.export`).
    public func exportSplits(of source: EvaluationRequest.Source, split: SplitSpec, feedback: FeedbackKind?,
                             to directory: String) throws -> SplitFiles.Manifest {
        let (data, dataset, _) = try load(source, embeddings: .none, feedback: feedback)
        return try SplitFiles.export(data, split: split, dataset: dataset, to: directory)
    }

    private func load(_ source: EvaluationRequest.Source, embeddings: EmbeddingChoice, feedback: FeedbackKind?) throws
        -> (data: TrainingData, dataset: String, embeddingModel: Int64?) {
        switch source {
        case .ratingsFile(let path):
            return (TrainingData(ratings: try RatingMatrix.read(ratingsFile: path)), URL(fileURLWithPath: path).lastPathComponent, nil)
        case .catalog(let db):
            let loaded = try db.loadTrainingData(embeddings: embeddings, feedback: feedback)
            return (loaded.data, "catalog", loaded.embeddingModel)
        }
    }
}
