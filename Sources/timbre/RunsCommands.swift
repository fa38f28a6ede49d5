import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreEvaluation

/// How an `EvaluationReport` maps onto evaluation_runs / evaluation_results: the run's settings
/// and each strategy's metrics are jsonb, so they can be queried in SQL as well as read back whole.
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

extension PostgresConnection {
    func saveEvaluationRun(_ report: EvaluationReport) throws -> Int64 {
        let settings = RunSettings(splitDescription: report.splitDescription, folds: report.folds, options: report.options,
                                   candidates: report.candidates, intervals: report.intervals,
                                   embeddingModel: report.embeddingModel, feedback: report.feedback, tuning: report.tuning)
        return try saveEvaluationRun(
            datasetJSON: try sortedJSON(report.dataset), splitJSON: try sortedJSON(report.split), settingsJSON: try sortedJSON(settings),
            results: try report.strategies.map {
                StoredEvaluationResult(strategy: $0.name, parametersJSON: $0.parameters.json,
                                       metricsJSON: try sortedJSON(ResultMetrics(label: $0.label, metrics: $0.metrics,
                                                                           predictions: $0.predictions, fallbacks: $0.fallbacks, slices: $0.slices)),
                                       timingsJSON: try sortedJSON($0.timings))
            })
    }

    func evaluationReport(_ id: Int64) throws -> EvaluationReport {
        let run = try evaluationRun(id)
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
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List, show and compare stored evaluation runs.",
        subcommands: [List.self, Show.self, Compare.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List evaluation runs, newest first.")
        @OptionGroup var catalog: CatalogOptions
        @Option(help: "How many runs to show.") var limit = 20

        func run() throws {
            let db = try catalog.connect()
            let rows = try db.evaluationRuns(limit: limit).map { r -> [String] in
                let split = (try? decode(SplitSpec.self, r.splitJSON)).map { "\($0)" } ?? r.splitJSON
                let dataset = (try? decode(DatasetSummary.self, r.datasetJSON)).map { "\($0.name) (\($0.ratings) ratings)" } ?? r.datasetJSON
                return [String(r.id), r.createdAt, dataset, split, r.strategies.joined(separator: ", ")]
            }
            print(renderTable(["id", "created", "dataset", "split", "strategies"], rows, rightAligned: [0]))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run's comparison table, as `timbre evaluate` printed it.")
        @OptionGroup var catalog: CatalogOptions
        @Argument(help: "Run id.") var id: Int64
        @Option(help: "Output format: table, json or csv.") var format: OutputFormat = .table
        @Option(help: "Also write the comparison as an SVG bar chart.") var plot: String?

        func run() throws {
            let report = try catalog.connect().evaluationReport(id)
            try printReport(report, format: format)
            if let plot { try writeFileSafely(Array(report.svg().utf8), to: plot) }
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put the strategies of two runs side by side.",
            discussion: """
                Rows are labelled #RUN strategy. Paired tests are dropped: two runs need not share their \
                splits, so only the intervals are comparable.
                """)
        @OptionGroup var catalog: CatalogOptions
        @Argument(help: "First run id.") var first: Int64
        @Argument(help: "Second run id.") var second: Int64
        @Option(help: "Output format: table, json or csv.") var format: OutputFormat = .table

        func run() throws {
            let db = try catalog.connect()
            let a = try db.evaluationReport(first), b = try db.evaluationReport(second)
            var merged = a
            merged.strategies = [(first, a), (second, b)].flatMap { id, report in
                report.strategies.map { s in
                    var s = s
                    s.label = "#\(id) \(s.label)"
                    s.metrics = s.metrics.map { var m = $0; m.vsFirst = nil; return m }
                    return s
                }
            }
            if a.split != b.split {
                note("note: run #\(first) used \(a.splitDescription); run #\(second) used \(b.splitDescription)")
            }
            try printReport(merged, format: format)
        }
    }
}
