import Foundation
import Testing
import TimbreCore
import TimbreTestSupport
@testable import TimbreCatalog

/// The one work queue (migration 009) that audio ingest and embedding share: claims skip what
/// another worker holds, a claim ends finished only with its commit, queues and batches keep to
/// their keys, and the rows of the two tables it replaced are carried over.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct WorkQueueTests {
    struct Failed: Error {}

    @Test func workersTakeDistinctKeysAndOnlyACommitFinishesThem() throws {
        let catalog = try TestCatalog()
        let db = catalog.db
        #expect(try WorkQueue.enqueue(["c", "a", "b", "a"], queue: "job", in: db) == 3)
        try WorkQueue.enqueue(["a"], queue: "other job", in: db)

        let first = try WorkQueue("job", db: try PostgresConnection(url: catalog.url))
        let second = try WorkQueue("job", db: try PostgresConnection(url: catalog.url))
        #expect(try first.claim(limit: 2) == ["a", "b"])
        // The held keys are passed over, the other queue's "a" is not this queue's.
        #expect(try second.claim(limit: 2) == ["c"])
        try second.finish("c", error: "bad input")
        try second.commit()
        #expect(try second.claim(limit: 2) == [])
        try first.rollback()

        // A worker whose work throws gives its keys back unfinished.
        #expect(throws: Failed.self) {
            try first.withClaim(limit: 1) { _ in throw Failed() }
        }
        #expect(first.holdsClaim == false)
        #expect(try WorkQueue.unfinishedCount("job", in: db) == 2)
        let done = try second.withClaim(limit: 5) { keys in
            for key in keys { try second.finish(key) }
            return keys
        }
        #expect(done == ["a", "b"])
        #expect(try WorkQueue.unfinishedCount("job", in: db) == 0)
        #expect(try WorkQueue.unfinishedCount("other job", in: db) == 1)
        #expect(try WorkQueue.failures("job", in: db).map(\.key) == ["c"])
        #expect(try WorkQueue.failures("job", in: db).map(\.error) == ["bad input"])

        // Enqueueing a finished key opens it again, failure forgotten.
        #expect(try WorkQueue.enqueue(["c"], queue: "job", in: db) == 1)
        #expect(try WorkQueue.failures("job", in: db).isEmpty)
    }

    @Test func aBatchClaimsOnlyItsKeysAndADeadWorkersClaimIsFreed() throws {
        let catalog = try TestCatalog()
        try WorkQueue.enqueue(["x", "y", "z"], queue: "job", in: catalog.db)
        let batch = try WorkQueue("job", db: try PostgresConnection(url: catalog.url), within: ["y", "z", "not queued"])
        do {
            let dying = try WorkQueue("job", db: try PostgresConnection(url: catalog.url))
            #expect(try dying.claim(limit: 1) == ["x"])
            #expect(try batch.claim(limit: 5) == ["y", "z"])
            try batch.commit() // nothing finished: both stay to do
        } // the dying worker's connection closes without a commit
        // The server rolls the dead session back asynchronously: allow it a moment.
        let anyone = try WorkQueue("job", db: try PostgresConnection(url: catalog.url))
        var freed: [String] = []
        for _ in 0..<50 {
            freed = try anyone.claim(limit: 1)
            if !freed.isEmpty { break }
            usleep(100_000)
        }
        #expect(freed == ["x"])
        try anyone.rollback()
        #expect(try batch.claim(limit: 5) == ["y", "z"])
        try batch.rollback()
    }

    @Test func migrationCarriesOverTheRowsOfBothOldQueues() throws {
        let catalog = try TestCatalog(migrate: false)
        let all = try Migrator.bundled()
        try Migrator(migrations: all.migrations.filter { $0.version < 9 }).migrate(catalog.db)
        try catalog.db.execute("""
            INSERT INTO audio_ingest_queue (path) VALUES ('/music/new.ogg');
            INSERT INTO audio_ingest_queue (path, finished_at, error) VALUES ('/music/bad.ogg', now(), 'silent'), ('/music/ok.ogg', now(), NULL);
            INSERT INTO embedding_queue (model_id, item_id) VALUES (7, 12), (7, 3), (8, 3);
            """)
        #expect(try Migrator(migrations: all.migrations.filter { $0.version <= 9 }).migrate(catalog.db).map(\.version) == [9])
        #expect(try catalog.db.query("SELECT to_regclass('audio_ingest_queue') IS NULL AND to_regclass('embedding_queue') IS NULL").scalar(Bool.self))
        #expect(try WorkQueue.unfinishedCount(WorkQueue.audioIngest, in: catalog.db) == 1)
        #expect(try WorkQueue.failures(WorkQueue.audioIngest, in: catalog.db).map(\.key) == ["/music/bad.ogg"])
        #expect(try catalog.count("work_queue") == 6)
        let seven = try WorkQueue(WorkQueue.embedding(model: 7), db: catalog.db)
        #expect(Set(try seven.claim(limit: 5)) == ["12", "3"])
        try seven.rollback()
        #expect(try WorkQueue.unfinishedCount(WorkQueue.embedding(model: 8), in: catalog.db) == 1)
    }
}
