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
public struct EmbeddingTally: Sendable, Equatable {
    public var embedded = 0
    /// Items whose stored sequence the model cannot read: shorter than one 3 s segment, or with
    /// another number of coefficients. Listed once each; they stay without an embedding.
    public var skipped: [(item: Int64, reason: String)] = []

    public init() {}

    public static func == (a: EmbeddingTally, b: EmbeddingTally) -> Bool {
        a.embedded == b.embedded && a.skipped.map(\.item) == b.skipped.map(\.item)
    }

    public mutating func add(_ other: EmbeddingTally) {
        embedded += other.embedded
        skipped += other.skipped
    }
}

/// The catalog side of the content model: storing trained models and filling `item_embeddings`
/// (with each item's style label) from the MFCC sequences that `audio ingest` stored.
public struct ContentCatalog {
    public static let strategyName = "content-lstm"
    private let db: PostgresConnection

    public init(db: PostgresConnection) { self.db = db }

    /// Stores `model` and returns its id. `parameters` and `trainedOn` are JSON objects describing
    /// how it was trained (shown by `content models`).
    public func save(_ model: ContentModel, parameters: String, trainedOn: String) throws -> Int64 {
        let result = try db.query("""
            INSERT INTO trained_models (strategy, parameters, trained_on, state, code_version)
            VALUES ($1, $2::text::jsonb, $3::text::jsonb, $4, $5) RETURNING id::text
            """, binary: [Array(Self.strategyName.utf8), Array(parameters.utf8), Array(trainedOn.utf8), model.encode(),
                          Array(TimbreVersion.string.utf8)])
        return Int64(result.string(0, 0)!)!
    }

    /// Model `id`, or the newest content model when `id` is nil.
    public func model(id: Int64? = nil) throws -> StoredContentModel {
        let result = try db.query("""
            SELECT id, state FROM trained_models
            WHERE strategy = $1 AND ($2::text IS NULL OR id = $2::text::bigint)
            ORDER BY created_at DESC, id DESC LIMIT 1
            """, binary: [Array(Self.strategyName.utf8), id.map { Array(String($0).utf8) }], resultsBinary: true)
        guard result.rowCount == 1 else {
            throw DatabaseError(id.map { "\(db.target) has no content model #\($0) (see `timbre content models`)" }
                                ?? "\(db.target) has no content model yet: train one with `timbre content train DIR --store`")
        }
        let found = result.binaryInteger(0, 0)!
        do {
            return StoredContentModel(id: found, model: try ContentModel(decoding: result.bytes(0, 1)!))
        } catch {
            throw DatabaseError("content model #\(found) in \(db.target) cannot be read: \(error)")
        }
    }

    /// Embeds tracks in batches until none is left: each batch of items that have a stored MFCC
    /// sequence but no embedding from `model` is claimed with FOR UPDATE SKIP LOCKED (so any number
    /// of workers, threads or processes on any machine, take distinct items), described, and
    /// written in the claiming transaction. A killed worker's batch rolls back and is claimed again.
    /// Items the model cannot read are skipped and reported, and not claimed again by this worker.
    public func embed(with stored: StoredContentModel, batchSize: Int = 16, progress: (Int) -> Void = { _ in }) throws -> EmbeddingTally {
        precondition(batchSize >= 1)
        var tally = EmbeddingTally()
        var passedOver: [Int64] = []
        let model = stored.model
        let configuration = MFCCConfiguration()
        while true {
            let done = try db.transaction { () throws -> Int in
                let claimed = try db.query("""
                    SELECT a.item_id, a.n_coefficients, a.n_frames, a.mfcc FROM audio_features a
                    WHERE NOT EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = $1::text::bigint AND e.item_id = a.item_id)
                      AND a.item_id <> ALL ($2::text::bigint[])
                    ORDER BY a.item_id LIMIT $3::text::integer
                    FOR UPDATE OF a SKIP LOCKED
                    """, binary: [Array(String(stored.id).utf8), Array(("{" + passedOver.map(String.init).joined(separator: ",") + "}").utf8),
                                  Array(String(batchSize).utf8)], resultsBinary: true)
                for row in 0..<claimed.rowCount {
                    let item = claimed.binaryInteger(row, 0)!
                    let mfcc = try FeatureMatrix(littleEndianBytes: claimed.bytes(row, 3)!, rowCount: Int(claimed.binaryInteger(row, 1)!),
                                                 columnCount: Int(claimed.binaryInteger(row, 2)!))
                    guard let description = model.describe(mfcc, configuration: configuration) else {
                        let reason = mfcc.rowCount != model.classifier.inputSize
                            ? "stored with \(mfcc.rowCount) coefficients, the model reads \(model.classifier.inputSize)"
                            : "shorter than one \(Int(TrackFeatures.segmentSeconds)) s segment (\(mfcc.columnCount) frames)"
                        tally.skipped.append((item, reason))
                        passedOver.append(item)
                        continue
                    }
                    let label = description.label
                    try db.query("""
                        INSERT INTO item_embeddings (model_id, item_id, vector, label, label_probability)
                        VALUES ($1::text::bigint, $2::text::bigint, $3::text::real[], $4::text, $5::text::real)
                        ON CONFLICT (model_id, item_id) DO NOTHING
                        """, binary: [Array(String(stored.id).utf8), Array(String(item).utf8),
                                      Array(("{" + description.embedding.map { "\($0)" }.joined(separator: ",") + "}").utf8),
                                      Array(model.classNames[label].utf8), Array("\(description.probabilities[label])".utf8)])
                    tally.embedded += 1
                }
                return claimed.rowCount
            }
            if done == 0 { return tally }
            progress(done)
        }
    }

}
