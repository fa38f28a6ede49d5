import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreEvaluation
import TimbreTerminal
import TimbreInterchange

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
            let rows = try EvaluationRunStore(try catalog.connect()).list(limit: limit).map {
                [String($0.id), $0.createdAt, $0.dataset, $0.split, $0.strategies.joined(separator: ", ")]
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
            let report = try EvaluationRunStore(try catalog.connect()).report(id)
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
            let (merged, splitNote) = try EvaluationRunStore(try catalog.connect()).compare(first, second)
            if let splitNote { note("note: " + splitNote) }
            try printReport(merged, format: format)
        }
    }
}
