import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreStrategies

/// The newest stored model for the strategy and parameters (and, if it uses item embeddings,
/// the embedding model chosen), training one when there is none.
func servingModel(_ db: PostgresConnection, _ strategy: StrategyOptions, _ embeddings: EmbeddingOptions, retrain: Bool) throws -> StoredModel {
    let s = try strategy.resolve()
    let embeddingModel = s.instance.usesItemEmbeddings ? try db.embeddingModel(embeddings.choice, for: EmbeddingUse(strategy: s.type.name, parameters: s.parameters)) : nil
    if !retrain, let stored = try db.latestModel(strategy: s.type, parameters: s.parameters, embeddingModel: embeddingModel,
                                                  registry: registeredStrategies) { return stored }
    if !retrain {
        let with = s.instance.usesItemEmbeddings ? embeddingModel.map { " and the item embeddings of model #\($0)" } ?? " and no item embeddings" : ""
        note("no stored \(s.type.name) model with these parameters\(with); training one")
    }
    return try trainAndSave(db, s, embeddings: embeddingModel.map(EmbeddingChoice.model) ?? EmbeddingChoice.none)
}

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Print the top-N items for a user.",
        discussion: """
            Uses the newest stored model of the strategy with the same parameters (training and storing \
            one first if there is none, or with --retrain). Items the user has rated are never recommended; \
            the user's current ratings are read from the catalog, so ratings added after training count \
            for strategies that use them, and users added after training are served too.
            """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var strategy: StrategyOptions
    @OptionGroup var embeddings: EmbeddingOptions

    @Option(help: ArgumentHelp("External id of the user.", valueName: "id"))
    var user: String?

    @Option(name: .customLong("like"), help: ArgumentHelp(
        "Instead of --user: an item the listener likes (repeat). Serves an anonymous profile, e.g. tracks that sound like these with --strategy content.",
        valueName: "item"))
    var liked: [String] = []

    // .unconditional: "-n -5" is the value -5 (then refused by validate), not a missing value.
    @Option(name: .shortAndLong, parsing: .unconditional, help: "Number of items.")
    var n: Int = 10

    @Flag(help: "Train a fresh model even if one is stored.")
    var retrain = false

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormat = .table

    func validate() throws {
        try requireInRange(n, "-n", 1...maxListLength)
        guard (user == nil) != liked.isEmpty else { throw ValidationError("give either --user or one or more --like items") }
    }

    func run() throws {
        let db = try catalog.connect()
        let history = try user.map { try db.ratings(ofUser: $0) } ?? db.likedItems(liked)
        let stored = try servingModel(db, strategy, embeddings, retrain: retrain)
        var scores: [Float] = []
        let top = stored.recommend(stored.profile(user: user, ratings: history), n: n, scores: &scores)
        let ids = top.map { stored.items[$0.item] }
        let titles = try db.titles(ofItems: ids)
        let list = top.enumerated().map { k, s in
            Recommendation(rank: k + 1, item: ids[k], title: titles[ids[k]], score: s.score)
        }
        switch format {
        case .json:
            struct Output: Encodable {
                let user: String?; let liked: [String]?; let strategy: String; let modelID: Int64; let items: [Recommendation]
            }
            try printJSON(Output(user: user, liked: liked.isEmpty ? nil : liked, strategy: stored.strategy, modelID: stored.id, items: list))
        case .csv:
            print("rank,item,title,score")
            for r in list { print("\(r.rank),\(csvField(r.item)),\(csvField(r.title ?? "")),\(r.score)") }
        case .table:
            print(renderTable(["rank", "item", "title", "score"],
                              list.map { [String($0.rank), $0.item, $0.title ?? "", String(format: "%.4f", $0.score)] },
                              rightAligned: [0, 3]))
        }
    }
}

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Compute top-N lists for every user and publish them for a downstream app.",
        discussion: """
            Writes one recommendation list (recommendation_lists + recommendation_entries) in a single \
            transaction, so readers see the whole new list or the old one. Prints the list id.
            """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var strategy: StrategyOptions
    @OptionGroup var embeddings: EmbeddingOptions

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Number of items per user.")
    var n: Int = 10

    @Flag(help: "Train a fresh model even if one is stored.")
    var retrain = false

    func validate() throws {
        try requireInRange(n, "-n", 1...maxListLength)
    }

    func run() throws {
        let db = try catalog.connect()
        let stored = try servingModel(db, strategy, embeddings, retrain: retrain)
        let snapshot = try db.loadConsistentSnapshot()
        let ratings = snapshot.ratings
        let start = Date()
        let progress = ProgressReporter("recommending", total: ratings.userCount, unit: "users")
        let lists = concurrentChunks(ratings.userCount) { users -> [[ScoredItem]] in
            var scores: [Float] = []
            return users.map { u in
                let history = zip(ratings.byUser.columns(Int32(u)), ratings.byUser.values(Int32(u))).map { (ratings.items[$0], $1) }
                defer { progress.advance() }
                return stored.recommend(stored.profile(user: ratings.users[Int32(u)], ratings: history), n: n, scores: &scores)
            }
        }.flatMap { $0 }
        progress.finish()
        var itemCatalogID: [String: Int64] = [:]
        for (k, id) in snapshot.itemIDs.enumerated() { itemCatalogID[ratings.items[Int32(k)]] = id }
        let listID: Int64 = try db.transaction {
            let list = try db.query("""
                INSERT INTO recommendation_lists (strategy, model_id, list_length) VALUES ($1, $2, $3) RETURNING id
                """, [stored.strategy, String(stored.id), String(n)])
            let listID = list.string(0, 0)!
            let entries = lists.enumerated().flatMap { u, top in
                top.enumerated().compactMap { k, s in
                    itemCatalogID[stored.items[s.item]].map { [listID, String(snapshot.userIDs[u]), String(k + 1), String($0), String(s.score)] }
                }
            }
            try db.copyRows("COPY recommendation_entries (list_id, user_id, rank, item_id, score) FROM STDIN", entries) { $0 }
            return Int64(listID)!
        }
        note(String(format: "published list #%lld: top-%d for %d users in %.2f s", listID, n, ratings.userCount, Date().timeIntervalSince(start)))
        print(listID)
    }
}
