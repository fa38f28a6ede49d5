import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreStrategies

struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the registered strategies with their parameters and defaults.")

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    struct Listing: Encodable {
        let name: String
        let summary: String
        let parameters: [Parameter]
        struct Parameter: Encodable {
            let name: String
            let defaultValue: ParameterValue
            let summary: String
            let choices: [String]?
        }
    }

    func run() throws {
        let listing = registeredStrategies.strategies.map { s in
            Listing(name: s.name, summary: s.summary, parameters: s.parameters.map {
                .init(name: $0.name, defaultValue: $0.defaultValue, summary: $0.summary, choices: $0.choices.isEmpty ? nil : $0.choices)
            })
        }
        if format == .json { return try printJSON(listing) }
        for s in listing {
            print("\(s.name)  —  \(s.summary)")
            for p in s.parameters {
                let choices = p.choices.map { " (one of: \($0.joined(separator: ", ")))" } ?? ""
                print("    \(p.name)=\(p.defaultValue)  \(p.summary)\(choices)")
            }
        }
    }
}

/// Fits a strategy on the catalog's current ratings and saves the model.
func trainAndSave(_ db: PostgresConnection, _ s: (type: any Strategy.Type, instance: any Strategy, parameters: Parameters)) throws -> StoredModel {
    let start = Date()
    let stored = try db.trainAndSave(s.instance, parameters: s.parameters)
    note(String(format: "trained %@ in %.2f s; saved as model #%lld", s.type.name, Date().timeIntervalSince(start), stored.id))
    return stored
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fit a strategy on the catalog's ratings and store the model.",
        discussion: "`timbre recommend` and `timbre publish` use the newest stored model with the same parameters.")

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var strategy: StrategyOptions

    func run() throws {
        let db = try catalog.connect()
        let stored = try trainAndSave(db, try strategy.resolve())
        print(stored.id)
    }
}
