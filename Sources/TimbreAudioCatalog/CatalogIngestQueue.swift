import Foundation
import TimbreAudio
import TimbreCatalog

/// The ingest work list in PostgreSQL (`audio_ingest_queue`), so that every worker thread of every
/// `timbre audio ingest` process, on any machine sharing the catalog, takes distinct files.
/// A worker claims a file with `FOR UPDATE SKIP LOCKED` and keeps the row locked (its transaction
/// open) while it analyses; `done` marks it finished and commits. A killed worker's transaction
/// rolls back with its connection, so its file is simply claimed by the next worker.
public struct CatalogIngestQueue: IngestQueue {
    private let db: PostgresConnection

    /// Adds `files` to the queue (marking them to do again if an earlier run finished them: the
    /// content hash then decides quickly whether there is anything to analyse).
    public static func enqueue(_ files: [String], in db: PostgresConnection) throws {
        try db.transaction {
            try db.execute("CREATE TEMP TABLE ingest_batch (path text PRIMARY KEY) ON COMMIT DROP", purpose: "stage files to ingest")
            try db.copyRows("COPY ingest_batch FROM STDIN", Array(Set(files)), purpose: "stage files to ingest") { [$0] }
            // In path order: two runs enqueueing the same files at once then lock the rows in one
            // order and one waits for the other. In each run's own order they deadlocked
            // (KilledWorkerTests starts two ingests together).
            try db.execute("""
                INSERT INTO audio_ingest_queue (path) SELECT path FROM ingest_batch ORDER BY path COLLATE "C"
                ON CONFLICT (path) DO UPDATE SET finished_at = NULL, error = NULL, enqueued_at = now()
                """, purpose: "queue files to ingest")
        }
    }

    /// One worker's view of the queue, restricted to `files` (this run's batch): its own
    /// connection, holding the batch in a temporary table for the claim query.
    public init(db: PostgresConnection, files: [String]) throws {
        self.db = db
        try db.execute("CREATE TEMP TABLE IF NOT EXISTS my_batch (path text PRIMARY KEY)", purpose: "hold this run's files")
        try db.copyRows("COPY my_batch FROM STDIN", Array(Set(files)), purpose: "hold this run's files") { [$0] }
    }

    public mutating func next() throws -> String? {
        try db.execute("BEGIN", purpose: "begin claiming a file to ingest")
        let claimed = try db.query("""
            SELECT q.path FROM audio_ingest_queue q JOIN my_batch b ON b.path = q.path
            WHERE q.finished_at IS NULL ORDER BY q.path LIMIT 1 FOR UPDATE OF q SKIP LOCKED
            """, purpose: "claim a file to ingest")
        guard let row = claimed.first else {
            try db.execute("COMMIT", purpose: "finish claiming files to ingest")
            return nil
        }
        return try row.string("path")
    }

    public mutating func done(_ path: String, failure: String?) throws {
        try db.query("UPDATE audio_ingest_queue SET finished_at = now(), error = $2 WHERE path = $1", [path, failure],
                     purpose: "mark \(path) ingested")
        try db.execute("COMMIT", purpose: "finish ingesting \(path)")
    }
}
