import Foundation
import TimbreCore

/// A trained model as stored in `trained_models`, with the vocabularies it was trained on, so
/// dense indices in its state map back to catalog ids whatever was imported since.
public struct StoredModel: Sendable {
    public let id: Int64
    public let strategy: String
    public let parameters: Parameters
    public let users: Vocabulary
    public let items: Vocabulary
    public let model: any TrainedModel
    public let createdAt: String
    /// The embedding model whose item vectors it was trained with (strategies that use them).
    public let embeddingModel: Int64?
    /// What it was trained on: a plays model is never served for ratings, nor the other way round.
    public let feedback: FeedbackKind
    /// The plugin whose strategy made it (nil: a built-in).
    public var plugin: PluginIdentity? = nil
}

/// A stored model's strategy comes from a plugin this run of timbre has not loaded.
public struct PluginNotLoadedError: Error, CustomStringConvertible, Equatable {
    public let strategy: String
    public let plugin: PluginIdentity
    public let model: Int64
    public var description: String {
        "strategy '\(strategy)' is not loaded: model #\(model) of it was trained by the plugin \(plugin.name) \(plugin.version); "
            + "load that plugin with --plugins DIR (or TIMBRE_PLUGIN_PATH) to serve or retrain it"
    }
}

extension Parameters {
    public var json: String { try! sortedJSON(values) }
}

extension PostgresConnection {
    /// "TMB2": vocabularies, then the model with its header (strategy, layout version).
    static let envelopeMarker: UInt32 = 0x544D_4232
    /// "TMBR": the first envelope, whose models had no header; refused with a request to retrain.
    static let headerlessEnvelopeMarker: UInt32 = 0x544D_4252

    /// Saves `model` (with the vocabularies of `ratings`) and returns its id. `embeddingModel`, the
    /// model whose item embeddings it was trained with, and `feedback` go into `trained_on`;
    /// `plugin`, the plugin the strategy came from, into its own columns.
    public func saveModel(_ model: any TrainedModel, strategy: any Strategy.Type, parameters: Parameters,
                          trainedOn ratings: RatingMatrix, feedback: FeedbackKind = .ratings,
                          embeddingModel: Int64? = nil, embeddingState: String? = nil, plugin: PluginIdentity? = nil) throws -> Int64 {
        var writer = ModelWriter()
        writer.write(Self.envelopeMarker)
        writer.write(ratings.users.ids)
        writer.write(ratings.items.ids)
        writeModel(model, of: strategy, to: &writer)
        struct TrainedOn: Encodable {
            var users: Int, items: Int, ratings: Int, feedback: FeedbackKind
            var embedding_model: Int64?, embedding_state: String?
        }
        let trainedOn = try sortedJSON(TrainedOn(users: ratings.userCount, items: ratings.itemCount, ratings: ratings.ratingCount,
                                                 feedback: feedback, embedding_model: embeddingModel, embedding_state: embeddingState))
        return try insertTrainedModel(strategy: strategy.name, parameters: parameters.json, trainedOn: trainedOn, state: writer.bytes,
                                      plugin: plugin)
    }

    /// Adds a row to trained_models (JSON texts for `parameters` and `trainedOn`) and returns its id.
    public func insertTrainedModel(strategy: String, parameters: String, trainedOn: String, state: [UInt8],
                                   plugin: PluginIdentity? = nil) throws -> Int64 {
        try query("""
            INSERT INTO trained_models (strategy, parameters, trained_on, state, code_version, plugin, plugin_version)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
            """, [strategy, PostgresJSONB(parameters), PostgresJSONB(trainedOn), state, TimbreVersion.string, plugin?.name, plugin?.version],
            purpose: "store a trained \(strategy) model").scalar(Int64.self)
    }

    /// The refusal of `strategy` when this run has not loaded it but stored models of it came
    /// from a plugin (naming the plugin of the latest), nil when none did.
    public func pluginNotLoaded(strategy: String) throws -> PluginNotLoadedError? {
        let rows = try query("""
            SELECT id, plugin, plugin_version FROM trained_models WHERE strategy = $1 AND plugin IS NOT NULL
            ORDER BY created_at DESC, id DESC LIMIT 1
            """, [strategy], purpose: "find the plugin of stored \(strategy) models")
        guard let row = rows.first else { return nil }
        return PluginNotLoadedError(strategy: strategy, plugin: PluginIdentity(name: try row.string("plugin"), version: try row.string("plugin_version")),
                                    model: try row.int64("id"))
    }

    /// Whether the server refuses writes: a hot standby (streaming replica), or read-only by default.
    public func isReadOnly() throws -> Bool {
        try query("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::boolean",
                  purpose: "check whether the server is read-only").scalar(Bool.self)
    }

    /// Fits `instance` on the catalog's current ratings or play totals (`feedback`; nil: what the
    /// catalog has) and, for a strategy that uses them, the item embeddings `embeddings` names,
    /// and stores the model. On a read-only server (a streaming replica) it fails before training,
    /// since the model could not be stored.
    /// With `storeFactors`, a model with item factors (`ItemFactorModel`: ials, bpr) also stores
    /// them as an embedding set of kind cf-factors under its own id, for items with interactions.
    /// `plugin`: the plugin the strategy came from (its model records it).
    public func trainAndSave(_ instance: any Strategy, parameters: Parameters, embeddings: EmbeddingChoice = .latest,
                             feedback: FeedbackKind? = nil, storeFactors: Bool = false, plugin: PluginIdentity? = nil) throws -> StoredModel {
        let type = type(of: instance)
        guard try !isReadOnly() else {
            throw DatabaseError("""
                \(target) is read-only (a replica): a \(type.name) model cannot be stored there; train it on the primary \
                (`timbre train --strategy '\(StrategySpec(name: type.name, parameters: parameters))'`) and it is served here once replicated
                """)
        }
        let (snapshot, data, embeddingModel, embeddingState) = try loadTrainingData(
            embeddings: instance.usesItemEmbeddings ? embeddings : .none,
            for: EmbeddingUse(strategy: type.name, parameters: parameters), feedback: feedback, times: false)
        let model = try instance.fitAny(data)
        if storeFactors, !(model is any ItemFactorModel) {
            throw ParameterError("\(type.name) has no item factors to store (--store-factors: ials, bpr)")
        }
        let id = try transaction { () throws -> Int64 in
            let id = try saveModel(model, strategy: type, parameters: parameters, trainedOn: snapshot.ratings, feedback: data.feedback,
                                   embeddingModel: embeddingModel, embeddingState: embeddingState, plugin: plugin)
            if storeFactors, let factors = model as? any ItemFactorModel {
                try EmbeddingSetStore(self).storeFactors(factors, ofModel: id, strategy: type.name, items: snapshot.itemIDs,
                                                         interacted: snapshot.ratings.byItem)
            }
            return id
        }
        return StoredModel(id: id, strategy: type.name, parameters: parameters, users: snapshot.ratings.users,
                           items: snapshot.ratings.items, model: model, createdAt: "now", embeddingModel: embeddingModel,
                           feedback: data.feedback, plugin: plugin)
    }

    /// The newest model of `strategy` trained with exactly `parameters`, on `feedback` (models
    /// stored before plays existed were trained on ratings) and with the item embeddings of
    /// `embeddingModel` (nil: none, as for every strategy that does not use them), or nil; so new
    /// embeddings are not served from a model trained on older ones. `registry` decodes it
    /// (composed strategies decode their components through it). Only a model made by the plugin
    /// `registry` has the strategy from (by name; nil: built in) qualifies: a strategy of the same
    /// name from other code is not the same model.
    public func latestModel(strategy: any Strategy.Type, parameters: Parameters, feedback: FeedbackKind = .ratings,
                            embeddingModel: Int64? = nil, registry: StrategyRegistry) throws -> StoredModel? {
        let plugin = registry.plugin(of: strategy.name)
        let result = try query("""
            SELECT id, state, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') AS created,
                   (trained_on->>'embedding_model')::bigint AS embedding_model, plugin_version
            FROM trained_models
            WHERE strategy = $1 AND parameters = $2 AND (trained_on->>'embedding_model')::bigint IS NOT DISTINCT FROM $3
              AND ($3 IS NULL OR trained_on->>'embedding_state' = \(Self.embeddingStateSQL.replacingOccurrences(of: "$1", with: "$3")))
              AND coalesce(trained_on->>'feedback', 'ratings') = $4 AND plugin IS NOT DISTINCT FROM $5
            ORDER BY created_at DESC, id DESC LIMIT 1
            """, [strategy.name, PostgresJSONB(parameters.json), embeddingModel, feedback.rawValue, plugin?.name],
            purpose: "find the newest stored \(strategy.name) model")
        guard let row = result.first else { return nil }
        let id = try row.int64("id")
        let created = try row.string("created")
        let embeddingModel = try row.optionalInt64("embedding_model")
        let storedVersion = try row.optionalString("plugin_version")
        let storedPlugin = plugin.flatMap { p in storedVersion.map { PluginIdentity(name: p.name, version: $0) } }
        var reader = ModelReader(try row.bytes("state"))
        do {
            switch try reader.read(UInt32.self) {
            case Self.envelopeMarker: break
            case Self.headerlessEnvelopeMarker:
                throw ModelDecodingError(description: "it was stored by an earlier Timbre, before models carried their format version")
            default: throw ModelDecodingError(description: "not a Timbre model envelope")
            }
            let users = Vocabulary(try reader.read([String].self))
            let items = Vocabulary(try reader.read([String].self))
            let model = try registry.decodeModel(of: strategy, from: &reader)
            try reader.expectEnd()
            return StoredModel(id: id, strategy: strategy.name, parameters: parameters, users: users, items: items,
                               model: model, createdAt: created, embeddingModel: embeddingModel, feedback: feedback, plugin: storedPlugin)
        } catch {
            throw DatabaseError("trained model #\(id) (\(strategy.name)) in \(target) cannot be read: \(error); retrain it with `timbre train --strategy \(strategy.name)`")
        }
    }
}
