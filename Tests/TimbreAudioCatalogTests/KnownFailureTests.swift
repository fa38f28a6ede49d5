import Foundation
import Testing
import TimbreAudioCatalog
import TimbreCatalog
import TimbreTestSupport

/// Issue 12: rerunning `audio ingest` on a folder whose only failure is a file that already failed
/// exited 1 every time. The exit status now reflects this run's new failures; known ones are listed.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct KnownFailureTests {
    @Test func theQueueKnowsTheFilesWhoseLastRunFailed() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let files = ["/music/bad.ogg", "/music/good.ogg"]
        try CatalogIngestQueue.enqueue(files, in: catalog.db)
        #expect(try CatalogIngestQueue.knownFailures(files, in: catalog.db).isEmpty)
        var queue = try CatalogIngestQueue(db: try PostgresConnection(url: catalog.url), files: files)
        while let path = try queue.next() { try queue.done(path, failure: path.hasSuffix("bad.ogg") ? "corrupt" : nil) }
        #expect(try CatalogIngestQueue.knownFailures(files, in: catalog.db) == ["/music/bad.ogg": "corrupt"])
        // Only this batch's files count.
        #expect(try CatalogIngestQueue.knownFailures(["/music/good.ogg"], in: catalog.db).isEmpty)
        // Enqueued again, nothing has finished: nothing is known to fail until the rerun ends.
        try CatalogIngestQueue.enqueue(files, in: catalog.db)
        #expect(try CatalogIngestQueue.knownFailures(files, in: catalog.db).isEmpty)
    }

    @Test func aRerunFailingOnlyAKnownBadFileExitsZeroAndListsIt() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let folder = try TestData.folder("timbre-known")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TestData.writeWAV(TestData.tone(hertz: 440, seconds: 3), rate: 22_050, to: folder.appendingPathComponent("good.wav").path)
        let bad = folder.appendingPathComponent("bad.wav").path
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: bad))
        let ingest = ["audio", "ingest", "--database", catalog.url, "--jobs", "1", folder.path]
        let first = try TestData.runTimbre(ingest)
        #expect(first.status == 1 && first.err.contains("failed: ") && first.err.contains(bad), "\(first.err)")
        let second = try TestData.runTimbre(ingest)
        #expect(second.status == 0, "\(second.out)\n\(second.err)")
        #expect(second.err.contains("failed again (known from an earlier run)") && second.err.contains(bad), "\(second.err)")
        #expect(second.out.contains("1 already in the catalog, 0 failed, 1 known to fail"), "\(second.out)")
        // A new bad file fails the run again, the known one is still only listed.
        let worse = folder.appendingPathComponent("worse.wav").path
        try Data("neither".utf8).write(to: URL(fileURLWithPath: worse))
        let third = try TestData.runTimbre(ingest)
        #expect(third.status == 1 && third.out.contains("1 failed, 1 known to fail"), "\(third.out)")
    }
}
