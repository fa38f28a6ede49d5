import Foundation
import TimbreAudio
import TimbreCatalog

/// The ingest work list in the catalog's `WorkQueue` (queue `audio-ingest`, keyed by absolute
/// path), so that every worker thread of every `timbre audio ingest` process, on any machine
/// sharing the catalog, takes distinct files. A worker claims one file at a time and keeps it
/// locked while it analyses; `done` marks it finished (with the failure, if any) and commits. A
/// killed worker's claim rolls back with its connection, so its file goes to the next worker.
public struct CatalogIngestQueue: IngestQueue {
    private let queue: WorkQueue

    /// Adds `files` to the queue (marking them to do again if an earlier run finished them: the
    /// content hash then decides quickly whether there is anything to analyse).
    public static func enqueue(_ files: [String], in db: PostgresConnection) throws {
        try WorkQueue.enqueue(files, queue: WorkQueue.audioIngest, in: db)
    }

    /// The files among `files` whose last ingest failed, with that run's reason. Read before
    /// `enqueue` (which clears the reasons): a rerun that fails them again reports them as known,
    /// not as new failures.
    public static func knownFailures(_ files: [String], in db: PostgresConnection) throws -> [String: String] {
        // Every failure of the queue, filtered here: failures are few, the batch may be large.
        let batch = Set(files)
        var known: [String: String] = [:]
        for (path, error) in try WorkQueue.failures(WorkQueue.audioIngest, in: db) where batch.contains(path) { known[path] = error }
        return known
    }

    /// One worker's view of the queue on its own connection, restricted to `files` (this run's
    /// batch: other runs may be ingesting other folders).
    public init(db: PostgresConnection, files: [String]) throws {
        queue = try WorkQueue(WorkQueue.audioIngest, db: db, within: files)
    }

    public mutating func next() throws -> String? {
        try queue.claim(limit: 1).first
    }

    public mutating func done(_ path: String, failure: String?) throws {
        try queue.finish(path, error: failure)
        try queue.commit()
    }
}
