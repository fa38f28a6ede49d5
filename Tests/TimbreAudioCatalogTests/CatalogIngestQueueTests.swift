import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreCore
import TimbreTestSupport

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct CatalogIngestQueueTests {
    @Test func twoConcurrentRunsSplitTheBatchAndAnalyseEachFileOnce() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let url = catalog.url
        let files = IngestPipeline.files(in: [TestData.audioFixtures.path])
        // Two "processes" (the service `timbre audio ingest` runs), each with two workers, started
        // together over the same files. A run connects once to queue the batch, then once per
        // store and queue of its workers; those later connections wait until both runs have
        // queued, so neither analyses a file before both batches are queued (a run that finished
        // the ten small files before the other queued them would leave it nothing to split). A run
        // that fails before its workers start opens the gate as it ends, so the other never hangs.
        let gate = BothQueued()
        let runs = try onThreads(2) { run in
            defer { gate.arrive(run: run) }
            let connections = Counter()
            let ingest = CatalogIngest(pipeline: IngestPipeline(workerCount: 2), connect: {
                if connections.next() > 1 { gate.arriveAndWait(run: run) }
                return try PostgresConnection(url: url)
            })
            return Result { try ingest.run(paths: [TestData.audioFixtures.path]) }
        }.map { try $0.get() }
        let ingest = CatalogIngest(pipeline: IngestPipeline(workerCount: 2), connect: { try PostgresConnection(url: url) })
        let a = runs[0], b = runs[1]
        #expect(a.total == files.count && b.total == files.count)
        // Every file went to exactly one run: nothing analysed twice, nothing skipped.
        #expect(a.finished + b.finished == files.count)
        #expect(a.stored + b.stored == 5 && a.alreadyStored + b.alreadyStored == 0)
        #expect(a.failures.count + b.failures.count == 5)
        let db = try PostgresConnection(url: url)
        #expect(try WorkQueue.unfinishedCount(WorkQueue.audioIngest, in: db) == 0)
        #expect(try WorkQueue.failures(WorkQueue.audioIngest, in: db).count == 5)
        #expect(try db.query("SELECT count(*) FROM audio_features").scalar(Int.self) == 5)

        // A rerun analyses nothing new and reports the same bad files again.
        let again = try ingest.run(paths: [TestData.audioFixtures.path])
        #expect(again.stored == 0 && again.alreadyStored == 5 && again.failures.count == 5)
        #expect(Set(again.failures.map(\.path)) == Set((a.failures + b.failures).map(\.path)))

        // Nothing to ingest is an error naming the paths, before anything is queued.
        let empty = try TestData.folder("timbre-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        let error = #expect(throws: AudioError.self) { try ingest.run(paths: [empty.path]) }
        #expect(error?.description.contains(empty.path) == true)
        #expect(try catalog.count("work_queue") == files.count)
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

/// Opens once both runs (0 and 1) have arrived; stays open.
private final class BothQueued: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived: Set<Int> = []

    func arriveAndWait(run: Int) {
        condition.lock()
        defer { condition.unlock() }
        arrived.insert(run)
        condition.broadcast()
        while arrived.count < 2 { condition.wait() }
    }

    func arrive(run: Int) {
        condition.lock()
        defer { condition.unlock() }
        arrived.insert(run)
        condition.broadcast()
    }
}

/// Counts calls from any thread: 1, 2, 3, …
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func next() -> Int {
        lock.withLock {
            count += 1
            return count
        }
    }
}
