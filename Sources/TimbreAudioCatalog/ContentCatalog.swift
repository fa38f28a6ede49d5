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

    /// How many of model `id`'s embedded items carry each style label ("(none)": no label).
    public func labelCounts(model id: Int64) throws -> [String: Int] {
        var labels: [String: Int] = [:]
        for row in try db.query("SELECT label, count(*) AS items FROM item_embeddings WHERE model_id = $1 GROUP BY label", [id],
                                purpose: "count the style labels of content model #\(id)") {
            labels[try row.optionalString("label") ?? "(none)"] = try row.int("items")
        }
        return labels
    }

    /// Queues every item that has a stored MFCC sequence but no embedding from model `id`, for
    /// `embed` to claim; returns how many are queued for it now.
    @discardableResult
    public func enqueueMissing(model id: Int64) throws -> Int {
        try db.transaction {
            try db.query("""
                INSERT INTO embedding_queue (model_id, item_id)
                SELECT $1, a.item_id FROM audio_features a
                WHERE NOT EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = $1 AND e.item_id = a.item_id)
                ON CONFLICT DO NOTHING
                """, [id], purpose: "queue the items content model #\(id) has not embedded")
            return try db.query("SELECT count(*) FROM embedding_queue WHERE model_id = $1", [id],
                                purpose: "count the items queued for content model #\(id)").scalar(Int.self)
        }
    }

    /// Embeds queued tracks (see `enqueueMissing`) in batches until none is left: a batch of queue
    /// rows is claimed with FOR UPDATE SKIP LOCKED (so any number of workers, threads or processes
    /// on any machine, take distinct items), each track described, its embedding stored and its
    /// queue row deleted in the claiming transaction. A killed worker's batch rolls back and stays
    /// queued for a worker running then or later. A worker stops when nothing unclaimed is left, so
    /// items another worker holds at that moment are left to it. Items the model cannot read
    /// (another extractor setting or coefficient count, shorter than one segment, unreadable
    /// bytes, a failed insert) are skipped with their reason, stay queued (a rerun reports them
    /// again) and are not claimed again by this worker.
    public func embed(with stored: StoredContentModel, batchSize: Int = 16, progress: (Int) -> Void = { _ in }) throws -> EmbeddingTally {
        let model = stored.model
        try EmbeddingSetStore(db).register(model: stored.id, name: "\(Self.strategyName)-\(stored.id)", kind: .audioModel,
                                           dimension: model.classifier.embeddingSize,
                                           source: try sortedJSON(["producer": Self.strategyName, "classes": model.classNames.joined(separator: ",")]))
        return try embedQueued(model: stored.id, batchSize: batchSize, progress: progress) { mfcc, configuration in
            guard let description = model.describe(mfcc, configuration: configuration) else {
                return .failure(.init(model.reasonNotDescribed(mfcc, configuration: configuration) ?? "not describable"))
            }
            let label = description.label
            return .success(QueuedVector(vector: description.embedding, label: model.classNames[label],
                                         probability: description.probabilities[label]))
        }
    }

    /// What an audio model makes of one queued track: the vector stored in item_embeddings, with
    /// a label and its probability where the model names one.
    struct QueuedVector {
        var vector: [Float]
        var label: String?
        var probability: Float?
    }

    /// Why a queued track gets no vector (shown with its item id).
    struct NotDescribed: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The claiming loop of `embed` for any audio model whose queue rows are under `id`:
    /// `describe` turns a stored MFCC sequence into the item's vector, or the reason it cannot.
    func embedQueued(model id: Int64, batchSize: Int, progress: (Int) -> Void,
                     describe: (FeatureMatrix, MFCCConfiguration) -> Result<QueuedVector, NotDescribed>) throws -> EmbeddingTally {
        precondition(batchSize >= 1)
        var tally = EmbeddingTally()
        var passedOver: [Int64] = []
        let configuration = MFCCConfiguration()
        let extractor = String(decoding: try JSONEncoder().encode(configuration.catalogDescription), as: UTF8.self)
        let modelID = id
        while true {
            let done = try db.transaction { () throws -> Int in
                let claimed = try db.query("""
                    SELECT item_id FROM embedding_queue
                    WHERE model_id = $1 AND item_id <> ALL ($2)
                    ORDER BY item_id LIMIT $3
                    FOR UPDATE SKIP LOCKED
                    """, [modelID, passedOver, batchSize], purpose: "claim items to embed with model #\(modelID)")
                for claim in claimed {
                    let item = try claim.int64("item_id")
                    func skip(_ reason: String) {
                        tally.skipped.append((item, reason))
                        passedOver.append(item)
                    }
                    func dequeue() throws {
                        try db.query("DELETE FROM embedding_queue WHERE model_id = $1 AND item_id = $2", [modelID, item],
                                     purpose: "dequeue item \(item) of model #\(modelID)")
                    }
                    let found = try db.query("""
                        SELECT a.n_coefficients, a.n_frames, a.mfcc, a.extractor = $3 AS same_extractor,
                               EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = $1 AND e.item_id = a.item_id) AS embedded
                        FROM audio_features a WHERE a.item_id = $2
                        """, [modelID, item, PostgresJSONB(extractor)], purpose: "load the MFCC sequence of item \(item)")
                    // Gone since it was queued, or embedded already (by an earlier run): nothing to do.
                    guard let track = found.first, try !track.bool("embedded") else { try dequeue(); continue }
                    guard try track.bool("same_extractor") else {
                        skip("analysed with other MFCC settings than the content model's (\(extractor)): ingest it again with the defaults")
                        continue
                    }
                    let mfcc: FeatureMatrix
                    do {
                        mfcc = try FeatureMatrix(littleEndianBytes: try track.bytes("mfcc"), rowCount: try track.int("n_coefficients"),
                                                 columnCount: try track.int("n_frames"))
                    } catch {
                        skip("stored sequence unreadable: \(error)")
                        continue
                    }
                    let described: QueuedVector
                    switch describe(mfcc, configuration) {
                    case .success(let value): described = value
                    case .failure(let failure): skip(failure.reason); continue
                    }
                    // A failed insert spoils only this item, not the batch.
                    try db.execute("SAVEPOINT item", purpose: "begin storing item \(item)")
                    do {
                        tally.embedded += try db.query("""
                            INSERT INTO item_embeddings (model_id, item_id, vector, label, label_probability)
                            VALUES ($1, $2, $3, $4, $5)
                            ON CONFLICT (model_id, item_id) DO NOTHING
                            """, [modelID, item, described.vector, described.label, described.probability],
                            purpose: "store the embedding of item \(item)").affectedRows
                        try dequeue()
                        try db.execute("RELEASE SAVEPOINT item", purpose: "finish storing item \(item)")
                    } catch {
                        try db.execute("ROLLBACK TO SAVEPOINT item", purpose: "undo storing item \(item)")
                        skip("cannot store its embedding: \(error)")
                    }
                }
                return claimed.rowCount
            }
            if done == 0 { return tally }
            progress(done)
        }
    }
}
