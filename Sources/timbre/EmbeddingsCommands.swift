import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreTerminal

struct EmbeddingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embeddings",
        abstract: "List embedding sets, or import item vectors from a file as one.",
        discussion: """
            An embedding set is the item vectors one producer made, with a kind: \
            \(EmbeddingKind.allCases.map(\.rawValue).joined(separator: ", ")). Strategies that use item \
            embeddings (content, a hybrid with content) take --embedding-model ID|NAME|latest|latest:KIND|none.
            """,
        subcommands: [List.self, Import.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the catalog's embedding sets, newest first.")
        @OptionGroup var catalog: CatalogOptions
        @Option(help: "Output format: table, json or csv.") var format: OutputFormat = .table

        func run() throws {
            let sets = try EmbeddingSetStore(try catalog.connect()).list()
            let header = ["id", "name", "kind", "dimension", "items", "created", "source"]
            let rows = sets.map { [String($0.id), $0.name, $0.kind.rawValue, String($0.dimension), String($0.items), $0.createdAt, $0.source] }
            switch format {
            case .json: try printJSON(sets)
            case .csv: print(([header] + rows).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n"))
            case .table: print(renderTable(header, rows, rightAligned: [0, 3, 4]))
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import item vectors from CSV/TSV or .npy as an embedding set of kind imported.",
            discussion: """
                CSV (.csv) or tab-separated (other endings) with a header whose first column is the item's \
                external id (item, item_id or id) and one numeric column per dimension; or a 2-D .npy array \
                whose first column is the item's integer external id. Every row is checked before anything \
                is written (unknown item, wrong width, non-finite value: file:line), in one transaction. The \
                same file imported again under the same name writes nothing.
                """)
        @OptionGroup var catalog: CatalogOptions
        @Argument(help: "The vectors file.") var file: String
        @Option(help: "The set's name (what --embedding-model NAME selects).") var name: String
        @Option(help: "Output format of the summary: table or json.") var format: OutputFormat = .table

        func run() throws {
            let summary = try EmbeddingSetStore(try catalog.connect()).importVectors(path: file, name: name)
            switch format {
            case .json: try printJSON(summary)
            default:
                print(summary.created
                      ? "embedding set #\(summary.set) '\(summary.name)': \(summary.items) items, \(summary.dimension)-d"
                      : "embedding set #\(summary.set) '\(summary.name)' already holds this file (\(summary.items) items): nothing imported")
            }
        }
    }
}
