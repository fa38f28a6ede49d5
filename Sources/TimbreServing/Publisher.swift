import Foundation
import TimbreCatalog
import TimbreCore
import TimbreTerminal

/// What `publish` did.
public struct PublishReport: Sendable, Codable, Equatable {
    public let listID: Int64
    public let name: String
    public let strategy: String
    public let modelID: Int64
    public let users: Int
    public let entries: Int
    /// Summed over every user's list.
    public let removedByRules: RuleCounts
}

/// Computes a top-N list for every catalog user (through the recommender service, so under the
/// same rules and explanations as `recommend` and `serve`) and writes it as one named list in one
/// transaction: readers of `published_recommendations` switch from the old list to the new one
/// at the commit, never seeing a mix.
public struct Publisher {
    public let db: PostgresConnection
    public let service: RecommenderService

    /// `service` must hold the ratings (`ratings: true`) and should be made on `db`.
    public init(db: PostgresConnection, service: RecommenderService) {
        precondition(service.state.snapshot != nil, "publishing needs the service to hold the catalog's ratings")
        self.db = db
        self.service = service
    }

    /// `name` nil: the strategy spec as given (`StrategyChoice.name`).
    public func publish(_ strategy: StrategyChoice, name: String? = nil, n: Int, rules: RecommendationRules = RecommendationRules(),
                        explain: Int = 0, retrain: Bool = false, progress: ProgressReporter? = nil) throws -> PublishReport {
        let name = name ?? strategy.name
        guard !name.isEmpty else { throw ServingRequestError("a list name cannot be empty") }
        let snapshot = service.state.snapshot!
        let loaded = try service.model(strategy, retrain: retrain)
        let users = snapshot.ratings.users.ids
        let requests = users.map { RecommendationRequest(user: $0, n: n, strategy: strategy, rules: rules, explain: explain) }
        let lists = try service.recommendAll(requests, progress: progress).map { try $0.get() }
        progress?.finish()
        var removed = RuleCounts()
        var entries: [PublishedEntry] = []
        for (u, list) in lists.enumerated() {
            removed.excluded += list.removedByRules.excluded
            removed.where += list.removedByRules.where
            removed.minDuration += list.removedByRules.minDuration
            removed.maxPer += list.removedByRules.maxPer
            for r in list.items {
                let explanation = try r.explanation.map { try sortedJSON($0) }
                entries.append(PublishedEntry(userID: snapshot.userIDs[u], rank: r.rank,
                                              itemID: service.directory.catalogIDs[Int(service.directory.ids.index(of: r.item)!)],
                                              score: r.score, explanationJSON: explanation))
            }
        }
        let listID = try db.insertPublishedList(name: name, strategy: loaded.spec, modelID: loaded.stored.id, listLength: n,
                                                rulesJSON: try sortedJSON(rules), entries: entries)
        return PublishReport(listID: listID, name: name, strategy: loaded.spec, modelID: loaded.stored.id, users: users.count,
                             entries: entries.count, removedByRules: removed)
    }
}
