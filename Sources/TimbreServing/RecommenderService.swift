import Foundation
import TimbreCatalog
import TimbreCore
import TimbreStrategies
import TimbreInterchange
import TimbreTerminal

/// What to serve: a known user's list, or an anonymous profile of liked items (external ids or
/// exact titles), under rules.
public struct RecommendationRequest: Sendable {
    public var user: String?
    public var liked: [String]
    public var n: Int
    /// nil: the service's default strategy.
    public var strategy: StrategyChoice?
    public var rules: RecommendationRules
    /// How many contributing items to give per entry (0: no explanations).
    public var explain: Int

    public init(user: String? = nil, liked: [String] = [], n: Int = 10, strategy: StrategyChoice? = nil,
                rules: RecommendationRules = RecommendationRules(), explain: Int = 0) {
        self.user = user
        self.liked = liked
        self.n = n
        self.strategy = strategy
        self.rules = rules
        self.explain = explain
    }
}

/// A served list as `recommend --format json` prints it and `serve` answers.
public struct RecommendationList: Sendable, Codable, Equatable {
    public var user: String?
    /// The liked items as external ids (titles resolved).
    public var liked: [String]?
    /// The strategy's resolved spec.
    public var strategy: String
    public var modelID: Int64
    /// What the model was trained on and the history read: ratings or plays.
    public var feedback: FeedbackKind
    public var items: [Recommendation]
    public var removedByRules: RuleCounts
}

public struct ServingRequestError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A model ready to serve: the stored model, its items' places in the catalog's item directory
/// and the catalog's exclusions compiled against it.
public final class LoadedModel: Sendable {
    public let stored: StoredModel
    /// The resolved spec (every parameter spelled out).
    public let spec: String
    /// Model item → directory index (-1: no longer in the catalog).
    let directoryIndex: [Int32]
    /// Directory index → model item (-1: the model never saw it).
    let modelIndex: [Int32]
    /// The catalog's exclusions for everyone and no request rules: what plain requests use.
    let baseRules: CompiledRules
    let alwaysExcluded: Set<Int32>

    init(_ stored: StoredModel, spec: String, directory: ItemDirectory, exclusions: CatalogExclusions) {
        self.stored = stored
        self.spec = spec
        directoryIndex = stored.items.ids.map { directory.ids.index(of: $0) ?? -1 }
        var modelIndex = [Int32](repeating: -1, count: directory.count)
        for (m, d) in directoryIndex.enumerated() where d >= 0 { modelIndex[Int(d)] = Int32(m) }
        self.modelIndex = modelIndex
        alwaysExcluded = Set(exclusions.everyone.compactMap { directory.ids.index(of: $0) })
        baseRules = CompiledRules(RecommendationRules(), directory: directory, directoryIndex: directoryIndex, alwaysExcluded: alwaysExcluded)
    }
}

/// Serves top-N lists from stored models: the get-or-train policy (the newest stored model of the
/// strategy with the same resolved parameters and embeddings, training and storing one when there
/// is none), one user, an anonymous profile of liked items, or a batch on all cores. Each model is
/// loaded once per service and reused; requests may run concurrently from any thread.
///
/// With `ratings: true` the service holds the catalog's ratings as of its start (batches, the
/// stream mode, publishing: no database round trip per request); otherwise each request reads
/// its user's current ratings from the catalog (one-off `recommend`).
public final class RecommenderService: @unchecked Sendable {
    public let directory: ItemDirectory
    public let state: ServingState
    public let defaultStrategy: StrategyChoice?
    let registry: StrategyRegistry
    let log: @Sendable (String) -> Void
    /// Guards `db` (one connection: model lookups, training and live reads). Training can take
    /// seconds; requests for models already loaded never wait for it, as they only take `cacheLock`.
    private let dbLock = NSLock()
    private let db: PostgresConnection
    /// Guards the two caches (held for lookups and inserts only).
    private let cacheLock = NSLock()
    private var models: [String: LoadedModel] = [:]
    private var byResolvedSpec: [String: LoadedModel] = [:]

    /// `feedback`: ratings or plays (nil: what the catalog has; a catalog with both needs it).
    public init(db: PostgresConnection, ratings: Bool, feedback: FeedbackKind? = nil, defaultStrategy: StrategyChoice? = nil,
                registry: StrategyRegistry = registeredStrategies, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.db = db
        state = try db.loadServingState(ratings: ratings, feedback: feedback)
        directory = try ItemDirectory(state.items)
        if let snapshot = state.snapshot { precondition(snapshot.ratings.items.ids == directory.ids.ids, "items and ratings read apart") }
        self.defaultStrategy = defaultStrategy
        self.registry = registry
        self.log = log
    }

    /// The model serving `choice` (loaded or trained once, then reused); `retrain` trains a new
    /// one even if one is stored.
    public func model(_ choice: StrategyChoice, retrain: Bool = false) throws -> LoadedModel {
        if !retrain, let loaded = cacheLock.withLock({ models[choice.key] }) { return loaded }
        dbLock.lock()
        defer { dbLock.unlock() }
        // Another request may have loaded it while this one waited for the connection.
        if !retrain, let loaded = cacheLock.withLock({ models[choice.key] }) { return loaded }
        let s = try choice.resolve(registry, catalog: db)
        let embeddingModel = s.instance.usesItemEmbeddings ? try db.embeddingModel(choice.embeddings, for: EmbeddingUse(strategy: s.type.name, parameters: s.parameters)) : nil
        let resolved = StrategySpec(name: s.type.name, parameters: s.parameters).description + "\u{1}" + (embeddingModel.map(String.init) ?? "")
        if !retrain, let loaded = cacheLock.withLock({ byResolvedSpec[resolved] }) {
            cacheLock.withLock { models[choice.key] = loaded }
            return loaded
        }
        var stored = retrain ? nil : try db.latestModel(strategy: s.type, parameters: s.parameters, feedback: state.feedback,
                                                        embeddingModel: embeddingModel, registry: registry)
        if stored == nil {
            if !retrain {
                let with = s.instance.usesItemEmbeddings ? embeddingModel.map { " and the item embeddings of model #\($0)" } ?? " and no item embeddings" : ""
                log("no stored \(s.type.name) model on \(state.feedback) with these parameters\(with); training one")
            }
            let start = Date()
            let trained = try db.trainAndSave(s.instance, parameters: s.parameters,
                                              embeddings: embeddingModel.map(EmbeddingChoice.model) ?? EmbeddingChoice.none, feedback: state.feedback,
                                              plugin: registry.plugin(of: s.type.name))
            let with = trained.embeddingModel.map { " with the item embeddings of model #\($0)" } ?? ""
            log(String(format: "trained %@%@ in %.2f s; saved as model #%lld", s.type.name, with, Date().timeIntervalSince(start), trained.id))
            stored = trained
        }
        let loaded = LoadedModel(stored!, spec: StrategySpec(name: s.type.name, parameters: s.parameters).description,
                                 directory: directory, exclusions: state.exclusions)
        cacheLock.withLock {
            models[choice.key] = loaded
            byResolvedSpec[resolved] = loaded
        }
        return loaded
    }

    /// The listener's history in directory indices: a known user's ratings, or the liked items
    /// (each at the catalog's highest rating value, so explicit strategies read them as liked and
    /// implicit ones as consumed).
    func history(_ request: RecommendationRequest) throws -> (pairs: [(item: Int32, value: Float)], liked: [String]?) {
        if let user = request.user {
            if let snapshot = state.snapshot {
                guard let u = snapshot.ratings.users.index(of: user) else { throw UnknownUserError(user: user, target: "as this service loaded it") }
                return (zip(snapshot.ratings.byUser.columns(u), snapshot.ratings.byUser.values(u)).map { ($0, $1) }, nil)
            }
            let ratings = try locked { try db.history(ofUser: user, feedback: state.feedback) }
            return (ratings.compactMap { r in directory.ids.index(of: r.item).map { ($0, r.value) } }, nil)
        }
        var found: [Int32] = [], missing: [String] = []
        for text in request.liked {
            if let k = try directory.resolve(text) { found.append(k) } else { missing.append(text) }
        }
        guard missing.isEmpty else { throw UnknownItemsError(items: missing, target: "by id or exact title; see `timbre items search`") }
        let unique = Array(Set(found)).sorted()
        return (unique.map { ($0, state.highestRating) }, unique.map { directory.ids[$0] })
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        dbLock.lock()
        defer { dbLock.unlock() }
        return try body()
    }

    public func recommend(_ request: RecommendationRequest) throws -> RecommendationList {
        // Ids are compared in NFC form (see ExternalID): normalise what the request brings in.
        var request = request
        request.user = request.user.map(ExternalID.normalised)
        request.liked = request.liked.map(ExternalID.normalised)
        request.rules.excludedItems = request.rules.excludedItems.map(ExternalID.normalised)
        guard request.n >= 1, request.n <= 10_000 else { throw ServingRequestError("n must be 1 to 10000, not \(request.n)") }
        guard (request.user == nil) != request.liked.isEmpty else { throw ServingRequestError("give either a user or one or more liked items") }
        guard let choice = request.strategy ?? defaultStrategy else { throw ServingRequestError("no strategy given (and the service has no default)") }
        let unknownExcluded = request.rules.excludedItems.filter { directory.ids.index(of: $0) == nil }
        guard unknownExcluded.isEmpty else { throw UnknownItemsError(items: unknownExcluded, target: "items to exclude") }
        let loaded = try model(choice)
        let (history, liked) = try self.history(request)
        let pairs = history.compactMap { h -> (Int32, Float)? in
            let m = loaded.modelIndex[Int(h.item)]
            return m >= 0 ? (m, h.value) : nil
        }.sorted { $0.0 < $1.0 }
        let profile = UserProfile(user: request.user.flatMap(loaded.stored.users.index(of:)), items: pairs.map(\.0), ratings: pairs.map(\.1))
        var scores = [Float](repeating: -.infinity, count: loaded.stored.items.count)
        loaded.stored.model.score(profile, into: &scores)
        let rules = request.rules.isEmpty ? loaded.baseRules
            : CompiledRules(request.rules, directory: directory, directoryIndex: loaded.directoryIndex, alwaysExcluded: loaded.alwaysExcluded)
        let userExcluded = request.user.flatMap { state.exclusions.byUser[$0] }.map { ids in
            Set(ids.compactMap { directory.ids.index(of: $0) }.map { loaded.modelIndex[Int($0)] }.filter { $0 >= 0 })
        } ?? Set<Int32>()
        let (top, removed) = rules.rank(scores, rated: profile.items, n: request.n, userExcluded: userExcluded)
        if top.isEmpty, removed.total == 0, request.user == nil {
            throw ServingRequestError("""
                \(loaded.stored.strategy) scores no item for the liked items \(liked ?? []) (it cannot use this profile, \
                e.g. none of them has an embedding or a neighbour): try --strategy item-knn:mode=implicit, or content for items with embeddings
                """)
        }
        // A score that is a rating estimate is shown held to the catalog's scale (ranked unclipped,
        // so items past the top of the scale keep their order).
        let shownScale = loaded.stored.model.scoresAreRatings ? state.ratingScale : nil
        let items = top.enumerated().map { k, s in
            let d = Int(loaded.directoryIndex[Int(s.item)])
            let explanation = request.explain > 0
                ? loaded.stored.model.explain(profile, item: s.item, limit: request.explain).map { contributions in
                    contributions.map { c in
                        let j = loaded.directoryIndex[Int(c.item)]
                        return ExplanationEntry(item: loaded.stored.items[c.item], title: j >= 0 ? directory.titles[Int(j)] : nil, share: c.share)
                    }
                } : nil
            return Recommendation(rank: k + 1, item: directory.ids[Int32(d)], title: directory.titles[d], score: shownScale.map { $0.clamp(s.score) } ?? s.score, explanation: explanation)
        }
        return RecommendationList(user: request.user, liked: liked, strategy: loaded.spec, modelID: loaded.stored.id,
                                  feedback: loaded.stored.feedback, items: items, removedByRules: removed)
    }

    /// Many requests on all cores, answers in request order.
    public func recommendAll(_ requests: [RecommendationRequest], progress: ProgressReporter? = nil) -> [Result<RecommendationList, any Error>] {
        concurrentChunks(requests.count) { range in
            range.map { k in
                defer { progress?.advance() }
                return Result { try self.recommend(requests[k]) }
            }
        }.flatMap { $0 }
    }
}
