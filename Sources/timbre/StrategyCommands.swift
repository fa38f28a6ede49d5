import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreStrategies

struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the registered strategies with their parameters, defaults and origin (built in, or the plugin file).")

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    struct Listing: Encodable {
        let name: String
        let summary: String
        let parameters: [Parameter]
        let usesItemEmbeddings: Bool
        /// "built in", or the plugin's library file.
        let origin: String
        let plugin: PluginIdentity?
        struct Parameter: Encodable {
            let name: String
            let defaultValue: ParameterValue
            let summary: String
            let choices: [String]?
            let range: String?
        }
    }

    func run() throws {
        let listing = hostStrategies.strategies.map { s in
            Listing(name: s.name, summary: s.summary, parameters: s.parameters.map {
                .init(name: $0.name, defaultValue: $0.defaultValue, summary: $0.summary, choices: $0.choices.isEmpty ? nil : $0.choices,
                  range: $0.rangeDescription)
            }, usesItemEmbeddings: (try? hostStrategies.make(s.name).0.usesItemEmbeddings) ?? false,
               origin: hostStrategies.plugin(of: s.name)?.file ?? "built in", plugin: hostStrategies.plugin(of: s.name))
        }
        if format == .json { return try printJSON(listing) }
        for s in listing {
            print("\(s.name)  —  \(s.summary)\(s.usesItemEmbeddings ? " (uses item embeddings)" : "")")
            print("    origin: " + (s.plugin.map { "plugin \($0.name) \($0.version), \($0.file)" } ?? s.origin))
            for p in s.parameters {
                let choices = p.choices.map { " (one of: \($0.joined(separator: ", ")))" } ?? p.range.map { " (\($0))" } ?? ""
                print("    \(p.name)=\(p.defaultValue)  \(p.summary)\(choices)")
            }
        }
    }
}

/// Fits a strategy on the catalog's current ratings or plays (and item embeddings, if it uses them) and saves the model.
func trainAndSave(_ db: PostgresConnection, _ s: (type: any Strategy.Type, instance: any Strategy, parameters: Parameters),
                  embeddings: EmbeddingChoice, feedback: FeedbackKind?, storeFactors: Bool = false) throws -> StoredModel {
    let start = Date()
    let stored = try db.trainAndSave(s.instance, parameters: s.parameters, embeddings: embeddings, feedback: feedback,
                                     storeFactors: storeFactors, plugin: hostStrategies.plugin(of: s.type.name))
    let with = stored.embeddingModel.map { " with the item embeddings of model #\($0)" } ?? ""
    note(String(format: "trained %@ on %@%@ in %.2f s; saved as model #%lld", s.type.name, stored.feedback.rawValue, with,
                Date().timeIntervalSince(start), stored.id))
    return stored
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fit a strategy on the catalog's ratings or plays and store the model.",
        discussion: "`timbre recommend` and `timbre publish` use the newest stored model with the same parameters and feedback.")

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var strategy: StrategyOptions
    @OptionGroup var embeddings: EmbeddingOptions
    @OptionGroup var feedback: FeedbackOptions

    @Flag(help: "Also store the model's item factors (ials, bpr) as an embedding set of kind cf-factors, for content, --like and the bridge.")
    var storeFactors = false

    func run() throws {
        let db = try catalog.connect()
        let stored = try trainAndSave(db, try strategy.resolve(catalog: db), embeddings: embeddings.choice, feedback: feedback.kind,
                                      storeFactors: storeFactors)
        print(stored.id)
    }
}
