import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreServing
import TimbreStrategies

struct CatalogOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "PostgreSQL connection URL or key=value string (default: $DATABASE_URL, then libpq's PG* variables).",
        valueName: "url"))
    var database: String?

    /// Connects and checks that the catalog is migrated (unless `migrated` is false).
    func connect(requireMigrated: Bool = true) throws -> PostgresConnection {
        let url = database ?? ProcessInfo.processInfo.environment["DATABASE_URL"]
        let db = try PostgresConnection(url: url)
        if requireMigrated { try Migrator.bundled().requireCurrent(db) }
        return db
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

struct StrategyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Strategy name (see `timbre strategies`), or a whole spec NAME:key=value,… as `timbre evaluate` takes.",
        valueName: "spec"))
    var strategy: String

    @Option(name: [.customLong("param"), .customShort("p")], parsing: .singleValue, help: ArgumentHelp(
        "Strategy parameter as name=value; repeat for several (e.g. -p k=40 -p similarity=cosine).",
        valueName: "name=value"))
    var parameters: [String] = []

    func choice(_ embeddings: EmbeddingOptions) throws -> StrategyChoice {
        try StrategyChoice(strategy, parameters: parameters, embeddings: embeddings.choice)
    }

    /// The strategy alone (its embeddings are chosen separately, e.g. by `train`); with `catalog`,
    /// a strategy whose plugin is not loaded is named as such.
    func resolve(catalog: PostgresConnection? = nil) throws -> (type: any Strategy.Type, instance: any Strategy, parameters: Parameters) {
        let choice = try StrategyChoice(strategy, parameters: parameters)
        return try catalog.map { try choice.resolve(hostStrategies, catalog: $0) } ?? choice.resolve(hostStrategies)
    }
}

struct EmbeddingOptions: ParsableArguments {
    @Option(name: .customLong("embedding-model"), help: ArgumentHelp(
        "Item embeddings for strategies that use them: an embedding set's id or name, latest (the newest set; where the catalog has sets of several kinds, the kind this strategy used before, else the choices are named), latest:KIND (\(EmbeddingKind.allCases.map(\.rawValue).joined(separator: ", "))) or none. See `timbre embeddings list`.",
        valueName: "id|name|latest[:kind]|none"))
    var text: String?

    func validate() throws {
        if let text, EmbeddingChoice(text) == nil {
            throw ValidationError("--embedding-model takes a set id or name, latest, latest:KIND (\(EmbeddingKind.allCases.map(\.rawValue).joined(separator: ", "))) or none, not '\(text)'")
        }
    }

    /// Whether it was given at all (so a command without a catalog can refuse it).
    var given: Bool { text != nil }
    var choice: EmbeddingChoice { text.flatMap(EmbeddingChoice.init) ?? .latest }
}

/// Longest top-N list `recommend`, `publish` and `evaluate` produce (a list is also never longer
/// than the catalog's items).
let maxListLength = 10_000

/// Refuses a number outside `range`, naming the option: sizes reach allocations and loops, so an
/// unbounded one is a crash or a run of hours rather than an error.
func requireInRange<T: Comparable & CustomStringConvertible>(_ value: T, _ option: String, _ range: ClosedRange<T>) throws {
    guard range.contains(value) else {
        throw ValidationError("\(option) must be \(range.lowerBound) to \(range.upperBound), got \(value)")
    }
}

extension FeedbackKind: ExpressibleByArgument {}

struct FeedbackOptions: ParsableArguments {
    @Option(name: .customLong("feedback"), help: ArgumentHelp(
        "Train and serve on ratings or on play totals (default: what the catalog has; a catalog with both needs this).",
        valueName: "ratings|plays"))
    var kind: FeedbackKind?
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
