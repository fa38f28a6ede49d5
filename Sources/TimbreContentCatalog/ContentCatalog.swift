import Foundation
import TimbreAudio
import TimbreCatalog
import TimbreContent
import TimbreCore

/// A content model as stored in `trained_models` (strategy `content-lstm`).
public struct StoredContentModel: Sendable {
    public let id: Int64
    public let model: ContentModel
}

/// What one embedding worker (or all of them) did.
public struct EmbeddingTally: Sendable {
    public var embedded = 0
    /// Items the model cannot read (see `ContentCatalog.embed`), once each, by item id; they stay
    /// without an embedding.
    public var skipped: [(item: Int64, reason: String)] = []

    public init() {}

    /// Adds another worker's tally; an item several workers skipped is listed once.
    public mutating func add(_ other: EmbeddingTally) {
        embedded += other.embedded
        let known = Set(skipped.map(\.item))
        skipped += other.skipped.filter { !known.contains($0.item) }
    }
}

/// The catalog side of the content model: storing trained models and filling `item_embeddings`
/// (with each item's style label) from the MFCC sequences that `audio ingest` stored.
public struct ContentCatalog {
    public static let strategyName = "content-lstm"
    private let db: PostgresConnection

    public init(db: PostgresConnection) { self.db = db }

    /// Stores `model` and returns its id. `parameters` and `trainedOn` are JSON objects describing
    /// how it was trained (shown by `timbre models list`).
    public func save(_ model: ContentModel, parameters: String, trainedOn: String) throws -> Int64 {
        try db.insertTrainedModel(strategy: Self.strategyName, parameters: parameters, trainedOn: trainedOn, state: model.encode())
    }

    /// Model `id`, or the newest content model when `id` is nil.
    public func model(id: Int64? = nil) throws -> StoredContentModel {
        let (found, model) = try storedModel(strategy: Self.strategyName, id: id, what: "content model",
                                             howToMake: "train one with `timbre content train DIR --store`",
                                             decode: ContentModel.init(decoding:))
        return StoredContentModel(id: found, model: model)
    }

    /// Model `id` of `strategy`, or its newest, decoded; a missing or unreadable one is an error
    /// naming the catalog, the model and (when there is none) how to make one.
    func storedModel<Model>(strategy: String, id: Int64?, what: String, howToMake: String,
                            decode: ([UInt8]) throws -> Model) throws -> (Int64, Model) {
        let result = try db.query("""
            SELECT id, state FROM trained_models
            WHERE strategy = $1 AND ($2 IS NULL OR id = $2)
            ORDER BY created_at DESC, id DESC LIMIT 1
            """, [strategy, id], purpose: "load \(what) \(id.map { "#\($0)" } ?? "(the newest)")")
        guard let row = result.first else {
            throw DatabaseError(id.map { "\(db.target) has no \(what) #\($0) (see `timbre models list`)" }
                                ?? "\(db.target) has no \(what) yet: \(howToMake)")
        }
        let found = try row.int64("id")
        let state = try row.bytes("state")
        do {
            return (found, try decode(state))
        } catch {
            throw DatabaseError("\(what) #\(found) in \(db.target) cannot be read: \(error)")
        }
    }

    /// Queues (in `WorkQueue.embedding(model:)`) every item that has a stored MFCC sequence but no
    /// embedding from model `id`, for `embed` to claim; returns how many are queued for it now.
    @discardableResult
    public func enqueueMissing(model id: Int64) throws -> Int {
        let missing = try db.query("""
            SELECT a.item_id::text AS item FROM audio_features a
            WHERE NOT EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = $1 AND e.item_id = a.item_id)
            """, [id], purpose: "find the items embedding set #\(id) lacks")
        return try WorkQueue.enqueue(try missing.map { try $0.string("item") }, queue: WorkQueue.embedding(model: id), in: db)
    }

    /// Embeds queued tracks (see `enqueueMissing`) in batches until none is left, through the
    /// shared `EmbeddingWorker` loop: each claimed track's stored sequence described, its
    /// embedding and style label stored and its key finished in the claiming transaction. Items the
    /// model cannot read (another extractor setting or coefficient count, shorter than one segment,
    /// unreadable bytes, a failed insert) are skipped with their reason, which the queue keeps; a
    /// rerun queues them again (they still have no embedding) and reports them again.
    public func embed(with stored: StoredContentModel, batchSize: Int = 16, progress: (Int) -> Void = { _ in }) throws -> EmbeddingTally {
        let model = stored.model
        try EmbeddingSetStore(db).register(model: stored.id, name: "\(Self.strategyName)-\(stored.id)", kind: .audioModel,
                                           dimension: model.classifier.embeddingSize,
                                           source: try sortedJSON(["producer": Self.strategyName, "classes": model.classNames.joined(separator: ",")]))
        return try embedQueued(model: stored.id, batchSize: batchSize, progress: progress) { mfcc, configuration in
            guard let description = model.describe(mfcc, configuration: configuration) else {
                return .skip(model.reasonNotDescribed(mfcc, configuration: configuration) ?? "not describable")
            }
            let label = description.label
            return .store(vector: description.embedding, label: (model.classNames[label], description.probabilities[label]))
        }
    }

    /// The `EmbeddingWorker` loop for any model that describes a track from its stored MFCC
    /// sequence (the style LSTM, the factor LSTM): each claimed item's sequence is loaded and
    /// checked (same extractor settings, readable bytes) before `describe` sees it.
    func embedQueued(model modelID: Int64, batchSize: Int, progress: (Int) -> Void,
                     describe: (FeatureMatrix, MFCCConfiguration) -> EmbeddingOutcome) throws -> EmbeddingTally {
        let configuration = MFCCConfiguration()
        let extractor = String(decoding: try JSONEncoder().encode(configuration.catalogDescription), as: UTF8.self)
        return try EmbeddingWorker(db: db, model: modelID).run(batchSize: batchSize, progress: progress) { item in
            let found = try db.query("""
                SELECT a.n_coefficients, a.n_frames, a.mfcc, a.extractor = $3 AS same_extractor,
                       EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = $1 AND e.item_id = a.item_id) AS embedded
                FROM audio_features a WHERE a.item_id = $2
                """, [modelID, item, PostgresJSONB(extractor)], purpose: "load the MFCC sequence of item \(item)")
            // Gone since it was queued, or embedded already (by an earlier run).
            guard let track = found.first, try !track.bool("embedded") else { return .nothingToDo }
            guard try track.bool("same_extractor") else {
                return .skip("analysed with other MFCC settings than the model's (\(extractor)): ingest it again with the defaults")
            }
            let mfcc: FeatureMatrix
            do {
                mfcc = try FeatureMatrix(littleEndianBytes: try track.bytes("mfcc"), rowCount: try track.int("n_coefficients"),
                                         columnCount: try track.int("n_frames"))
            } catch {
                return .skip("stored sequence unreadable: \(error)")
            }
            return describe(mfcc, configuration)
        }
    }

    /// How many of model `id`'s embedded items carry each style label ("(none)": no label).
    public func labelCounts(model id: Int64) throws -> [String: Int] {
        var labels: [String: Int] = [:]
        for row in try db.query("SELECT label, count(*) AS items FROM item_embeddings WHERE model_id = $1 GROUP BY label", [id],
                                purpose: "count the style labels of embedding set #\(id)") {
            labels[try row.optionalString("label") ?? "(none)"] = try row.int("items")
        }
        return labels
    }
}
