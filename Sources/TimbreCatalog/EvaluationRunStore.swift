import Foundation
import TimbreCore
import TimbreEvaluation

/// One stored evaluation run in a listing (`timbre runs list`).
public struct EvaluationRunSummary: Sendable {
    public var id: Int64
    public var createdAt: String
    /// "name (N ratings)", or the stored JSON when it is not a dataset summary this version reads.
    public var dataset: String
    /// The split as `SplitSpec` describes itself, or the stored JSON likewise.
    public var split: String
    public var strategies: [String]
}

/// Evaluation reports in the catalog (evaluation_runs, evaluation_results): how an
/// `EvaluationReport` maps onto the stored run, so that `timbre evaluate` stores what
/// `timbre runs show` later prints the same. The run's settings and each strategy's metrics are
/// jsonb, so they can be queried in SQL as well as read back whole.
public struct EvaluationRunStore {
    private let db: PostgresConnection

    public init(_ db: PostgresConnection) { self.db = db }

    /// Stores the report and its per-strategy results in one transaction; returns the run id.
    public func save(_ report: EvaluationReport) throws -> Int64 {
        let settings = RunSettings(splitDescription: report.splitDescription, folds: report.folds, options: report.options,
                                   candidates: report.candidates, intervals: report.intervals,
                                   embeddingModel: report.embeddingModel, feedback: report.feedback, tuning: report.tuning)
        return try db.saveEvaluationRun(
            datasetJSON: try sortedJSON(report.dataset), splitJSON: try sortedJSON(report.split), settingsJSON: try sortedJSON(settings),
            results: try report.strategies.map {
                StoredEvaluationResult(strategy: $0.name, parametersJSON: $0.parameters.json,
                                       metricsJSON: try sortedJSON(ResultMetrics(label: $0.label, metrics: $0.metrics, predictions: $0.predictions,
                                                                                 fallbacks: $0.fallbacks, slices: $0.slices)),
                                       timingsJSON: try sortedJSON($0.timings))
            })
    }

    /// Run `id` as the report `timbre evaluate` printed (`UnknownRunError` when there is none).
    public func report(_ id: Int64) throws -> EvaluationReport {
        let run = try db.evaluationRun(id)
        let settings = try decode(RunSettings.self, run.settingsJSON)
        var report = EvaluationReport(
            dataset: try decode(DatasetSummary.self, run.datasetJSON), split: try decode(SplitSpec.self, run.splitJSON),
            splitDescription: settings.splitDescription, folds: settings.folds, options: settings.options,
            candidates: settings.candidates,
            strategies: try run.results.map { r in
                let m = try decode(ResultMetrics.self, r.metricsJSON)
                return StrategyResult(label: m.label, name: r.strategy,
                                      parameters: Parameters(values: try decode([String: ParameterValue].self, r.parametersJSON)),
                                      metrics: m.metrics, timings: try decode(StrategyTimings.self, r.timingsJSON),
                                      predictions: m.predictions, fallbacks: m.fallbacks, slices: m.slices)
            },
            codeVersion: run.codeVersion, feedback: settings.feedback ?? .ratings, intervals: settings.intervals)
        report.embeddingModel = settings.embeddingModel
        report.tuning = settings.tuning
        return report
    }

    /// Runs newest first, without their results.
    public func list(limit: Int) throws -> [EvaluationRunSummary] {
        try db.evaluationRuns(limit: limit).map { r in
            EvaluationRunSummary(
                id: r.id, createdAt: r.createdAt,
                dataset: (try? decode(DatasetSummary.self, r.datasetJSON)).map { "\($0.name) (\($0.ratings) ratings)" } ?? r.datasetJSON,
                split: (try? decode(SplitSpec.self, r.splitJSON)).map { "\($0)" } ?? r.splitJSON,
                strategies: r.strategies)
        }
    }

    /// Two runs' strategies in one report, labelled "#RUN label", the first run's settings kept.
    /// Paired tests are dropped: two runs need not share their splits, so only the intervals are
    /// comparable. `splitNote` says how the splits differ, when they do.
    public func compare(_ first: Int64, _ second: Int64) throws -> (report: EvaluationReport, splitNote: String?) {
        let a = try report(first), b = try report(second)
        var merged = a
        merged.strategies = [(first, a), (second, b)].flatMap { id, report in
            report.strategies.map { s in
                var s = s
                s.label = "#\(id) \(s.label)"
                s.metrics = s.metrics.map { var m = $0; m.vsFirst = nil; return m }
                return s
            }
        }
        let note = a.split == b.split ? nil : "run #\(first) used \(a.splitDescription); run #\(second) used \(b.splitDescription)"
        return (merged, note)
    }
}

/// A run's settings (evaluation_runs.settings).
private struct RunSettings: Codable {
    var splitDescription: String
    var folds: Int
    var options: EvaluationOptions
    var candidates: String
    var intervals: String
    var embeddingModel: Int64?
    /// Absent in runs stored before plays existed: those were on ratings.
    var feedback: FeedbackKind?
    var tuning: [TuningRecord]?
}

/// One strategy's metrics (evaluation_results.metrics).
private struct ResultMetrics: Codable {
    var label: String
    var metrics: [MetricEstimate]
    var predictions: Int
    var fallbacks: [String: Int]
    /// Absent in runs stored before slices.
    var slices: [SliceResult]?
}

private func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
}
