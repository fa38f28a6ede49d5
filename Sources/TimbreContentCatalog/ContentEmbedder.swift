import Foundation
import TimbreCatalog
import TimbreCore
import TimbreTerminal

/// What `timbre content embed` did (its --format json).
public struct ContentEmbeddingReport: Encodable, Sendable {
    public struct Skipped: Encodable, Sendable { public var item: Int64; public var reason: String }
    public var model: Int64
    /// The model's strategy: `content-lstm` (style embeddings, kind audio-model) or
    /// `content-lstm-factors` (predicted factors, kind predicted-factors; no labels).
    public var strategy: String
    public var embedded: Int
    public var skipped: [Skipped]
    public var seconds: Double
    /// Style labels of all the model's embedded items (not only this run's), with their counts.
    public var labels: [String: Int]
}

/// Fills an audio content model's embedding set from the stored MFCC sequences (`timbre content
/// embed`): a style model's embeddings and labels (`ContentCatalog.embed`) or a factor model's
/// predicted factors (`FactorContentCatalog.embed`). It queues what lacks an embedding, then
/// `jobs` workers, each on a thread and connection of its own, claim and embed batches from the
/// work queue.
public struct ContentEmbedder: Sendable {
    /// Opens a connection to the catalog: once for the run, once per worker.
    private let connect: @Sendable () throws -> PostgresConnection

    public init(connect: @escaping @Sendable () throws -> PostgresConnection) { self.connect = connect }

    /// Embeds with model `model` (the newest style or factor content model when nil).
    public func embed(model: Int64? = nil, jobs: Int = 1, batchSize: Int = 16) throws -> ContentEmbeddingReport {
        precondition(jobs >= 1 && batchSize >= 1)
        let db = try connect()
        let catalog = ContentCatalog(db: db)
        let factors = try FactorContentCatalog(db: db).contentModelStrategy(id: model) == FactorContentCatalog.strategyName
        let id: Int64, run: @Sendable (PostgresConnection, @escaping (Int) -> Void) throws -> EmbeddingTally
        if factors {
            let stored = try FactorContentCatalog(db: db).model(id: model)
            id = stored.id
            run = { db, progress in try FactorContentCatalog(db: db).embed(model: stored.id, stored.model, batchSize: batchSize, progress: progress) }
        } else {
            let stored = try catalog.model(id: model)
            id = stored.id
            run = { db, progress in try ContentCatalog(db: db).embed(with: stored, batchSize: batchSize, progress: progress) }
        }
        let pending = try catalog.enqueueMissing(model: id)
        let progress = ProgressReporter("embed", total: pending, unit: "tracks")
        let started = Date()
        let connect = connect
        let tallies = onThreads(jobs) { _ in
            Result { try run(try connect()) { progress.advance(by: $0) } }
        }
        progress.finish()
        var tally = EmbeddingTally()
        for t in tallies { tally.add(try t.get()) }
        return ContentEmbeddingReport(model: id, strategy: factors ? FactorContentCatalog.strategyName : ContentCatalog.strategyName,
                                      embedded: tally.embedded,
                                      skipped: tally.skipped.map { ContentEmbeddingReport.Skipped(item: $0.item, reason: $0.reason) },
                                      seconds: Date().timeIntervalSince(started), labels: factors ? [:] : try catalog.labelCounts(model: id))
    }
}
