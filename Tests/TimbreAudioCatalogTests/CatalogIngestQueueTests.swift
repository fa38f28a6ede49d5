import Foundation
import Synchronization
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreTestSupport

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct CatalogIngestQueueTests {
    @Test func twoConcurrentRunsSplitTheBatchAndAnalyseEachFileOnce() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let url = catalog.url
        let files = IngestPipeline.files(in: [AudioCatalogStoreTests.fixtures.path])
        try CatalogIngestQueue.enqueue(files, in: try PostgresConnection(url: url))
        // Two "processes", each with two workers, started together over the same files.
        let runs = Mutex<[Int: IngestSummary]>([:])
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            let summary = try? IngestPipeline(workerCount: 2).run(
                files: files, makeStore: { AudioCatalogStore(db: try PostgresConnection(url: url)) },
                makeQueue: { try CatalogIngestQueue(db: try PostgresConnection(url: url), files: files) })
            runs.withLock { $0[k] = summary }
        }
        let a = try #require(runs.withLock { $0[0] }), b = try #require(runs.withLock { $0[1] })
        // Every file went to exactly one run: nothing analysed twice, nothing skipped.
        #expect(a.finished + b.finished == files.count)
        #expect(a.stored + b.stored == 5 && a.alreadyStored + b.alreadyStored == 0)
        #expect(a.failures.count + b.failures.count == 5)
        let db = try PostgresConnection(url: url)
        #expect(try db.query("SELECT count(*) FROM audio_ingest_queue WHERE finished_at IS NULL").scalar(Int.self) == 0)
        #expect(try db.query("SELECT count(*) FROM audio_ingest_queue WHERE error IS NOT NULL").scalar(Int.self) == 5)
        #expect(try db.query("SELECT count(*) FROM audio_features").scalar(Int.self) == 5)
    }

    @Test func aClaimedFileIsSkippedByOthersAndFreedWhenItsWorkerDies() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let url = catalog.url
        let files = ["/music/a.ogg", "/music/b.ogg"]
        try CatalogIngestQueue.enqueue(files, in: try PostgresConnection(url: url))
        var other = try CatalogIngestQueue(db: try PostgresConnection(url: url), files: files)
        do {
            var dying = try CatalogIngestQueue(db: try PostgresConnection(url: url), files: files)
            #expect(try dying.next() == "/music/a.ogg")
            // While a.ogg is held, the other worker gets b.ogg, then nothing.
            #expect(try other.next() == "/music/b.ogg")
            try other.done("/music/b.ogg", failure: nil)
            #expect(try other.next() == nil)
        } // the dying worker's connection closes without `done`
        // The server rolls the dead session back asynchronously: allow it a moment.
        var freed: String?
        for _ in 0..<50 {
            freed = try other.next()
            if freed != nil { break }
            usleep(100_000)
        }
        #expect(freed == "/music/a.ogg")
        try other.done("/music/a.ogg", failure: "silent")
        #expect(try other.next() == nil)
    }
}
