import Synchronization

/// The catalog's one work queue (`work_queue`, migration 009): any job whose items several workers
/// (threads, processes, machines sharing the catalog) split between them. Audio ingest queues file
/// paths, embedding queues item ids; each job is one named queue.
///
/// A worker claims keys with `FOR UPDATE SKIP LOCKED` in a transaction of its own connection and
/// keeps the rows locked while it works, so other workers pass over them; it marks each key
/// finished (with the failure, if any) and commits together with its results. A killed worker's
/// transaction rolls back with its connection, so its keys are simply claimed by the next worker,
/// then or in a rerun. Finished keys stay (with their failures) until they are enqueued again.
///
/// Not shared between threads: one instance per worker, on that worker's connection.
public final class WorkQueue {
    public let name: String
    private let db: PostgresConnection
    /// The temporary table holding the keys this worker may claim, when restricted to a batch.
    private let batchTable: String?
    /// True between a claim that returned keys and its `commit` or `rollback`.
    public private(set) var holdsClaim = false

    /// The queue of `timbre audio ingest` (keys: absolute file paths).
    public static let audioIngest = "audio-ingest"
    /// The queue of items still to embed with trained model `model` (keys: item ids).
    public static func embedding(model: Int64) -> String { "embed:\(model)" }

    /// Adds `keys` to queue `name`, opening again any an earlier run finished (so a rerun retries
    /// what failed; the job itself decides quickly when a key has nothing left to do). Returns how
    /// many keys of the queue are now unfinished.
    @discardableResult
    public static func enqueue(_ keys: [String], queue name: String, in db: PostgresConnection) throws -> Int {
        try db.transaction {
            try db.execute("CREATE TEMP TABLE work_queue_enqueue (key text PRIMARY KEY) ON COMMIT DROP", purpose: "stage keys for queue \(name)")
            try db.copyRows("COPY work_queue_enqueue FROM STDIN", Array(Set(keys)), purpose: "stage keys for queue \(name)") { [$0] }
            // In key order: two runs enqueueing the same keys at once then lock the rows in one
            // order and one waits for the other. In each run's own order they deadlocked
            // (KilledWorkerTests starts two ingests together).
            try db.query("""
                INSERT INTO work_queue (queue, key) SELECT $1, key FROM work_queue_enqueue ORDER BY key COLLATE "C"
                ON CONFLICT (queue, key) DO UPDATE SET finished_at = NULL, error = NULL, enqueued_at = now()
                """, [name], purpose: "queue keys in \(name)")
            return try unfinishedCount(name, in: db)
        }
    }

    /// Keys of queue `name` not finished yet (claimed or not).
    public static func unfinishedCount(_ name: String, in db: PostgresConnection) throws -> Int {
        try db.query("SELECT count(*) FROM work_queue WHERE queue = $1 AND finished_at IS NULL", [name],
                     purpose: "count the unfinished keys of queue \(name)").scalar(Int.self)
    }

    /// Finished keys of queue `name` that failed, with the reason, in key order.
    public static func failures(_ name: String, in db: PostgresConnection) throws -> [(key: String, error: String)] {
        try db.query("SELECT key, error FROM work_queue WHERE queue = $1 AND error IS NOT NULL ORDER BY key", [name],
                     purpose: "read the failures of queue \(name)").map { (try $0.string("key"), try $0.string("error")) }
    }

    /// One worker's view of queue `name` on its own connection `db`; with `keys`, it claims only
    /// those (this run's batch, when other runs share the queue with other keys).
    public init(_ name: String, db: PostgresConnection, within keys: [String]? = nil) throws {
        self.name = name
        self.db = db
        if let keys {
            let table = "work_batch_\(Self.batchTables.add(1, ordering: .relaxed).oldValue)"
            try db.execute("CREATE TEMP TABLE \(table) (key text PRIMARY KEY)", purpose: "hold this worker's keys of queue \(name)")
            try db.copyRows("COPY \(table) FROM STDIN", Array(Set(keys)), purpose: "hold this worker's keys of queue \(name)") { [$0] }
            batchTable = table
        } else {
            batchTable = nil
        }
    }

    deinit {
        if let batchTable { _ = try? db.execute("DROP TABLE IF EXISTS \(batchTable)", purpose: "drop this worker's keys of queue \(name)") }
    }

    /// Numbers the batch tables of this process: several queues may share a connection.
    private static let batchTables = Atomic<Int>(0)

    /// Opens a transaction and claims up to `limit` unfinished keys that no other worker holds, in
    /// key order. With keys, the transaction stays open (the rows locked) until `commit` or
    /// `rollback`; with none (nothing left for this worker) it is closed again.
    public func claim(limit: Int = 1) throws -> [String] {
        precondition(!holdsClaim, "claim while holding a claim: commit or roll back first")
        precondition(limit >= 1)
        try db.execute("BEGIN", purpose: "begin a claim from queue \(name)")
        let claimed: QueryResult
        do {
            claimed = try db.query("""
                SELECT q.key FROM work_queue q \(batchTable.map { "JOIN \($0) b ON b.key = q.key" } ?? "")
                WHERE q.queue = $1 AND q.finished_at IS NULL ORDER BY q.key LIMIT $2
                FOR UPDATE OF q SKIP LOCKED
                """, [name, limit], purpose: "claim up to \(limit) keys from queue \(name)")
        } catch {
            _ = try? db.execute("ROLLBACK", purpose: "give up a claim from queue \(name)")
            throw error
        }
        guard claimed.rowCount > 0 else {
            try db.execute("COMMIT", purpose: "end an empty claim from queue \(name)")
            return []
        }
        holdsClaim = true
        return try claimed.map { try $0.string("key") }
    }

    /// Marks a claimed key finished, failed with `error` if given; takes effect with `commit`.
    public func finish(_ key: String, error: String? = nil) throws {
        precondition(holdsClaim, "finish without a claim")
        try db.query("UPDATE work_queue SET finished_at = now(), error = $3 WHERE queue = $1 AND key = $2", [name, key, error],
                     purpose: "finish \(key) in queue \(name)")
    }

    /// Commits the claim's transaction: the finished keys and whatever the worker wrote with them.
    public func commit() throws {
        precondition(holdsClaim, "commit without a claim")
        holdsClaim = false
        try db.execute("COMMIT", purpose: "commit a claim from queue \(name)")
    }

    /// Gives the claimed keys back unfinished, undoing what the worker wrote in the transaction.
    public func rollback() throws {
        guard holdsClaim else { return }
        holdsClaim = false
        try db.execute("ROLLBACK", purpose: "give back a claim from queue \(name)")
    }

    /// Claims up to `limit` keys, runs `work` on them in the claiming transaction and commits;
    /// if `work` throws, everything is rolled back and the keys stay unfinished. Returns nil when
    /// nothing was left to claim.
    public func withClaim<T>(limit: Int, _ work: ([String]) throws -> T) throws -> T? {
        let keys = try claim(limit: limit)
        guard !keys.isEmpty else { return nil }
        do {
            let value = try work(keys)
            try commit()
            return value
        } catch {
            try? rollback()
            throw error
        }
    }
}
