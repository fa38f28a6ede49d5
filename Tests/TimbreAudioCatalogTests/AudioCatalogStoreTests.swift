import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreTestSupport

/// Runs against the throw-away PostgreSQL server that scripts/test starts, each test in its own
/// migrated schema.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct AudioCatalogStoreTests {
    @Test func ingestStoresEachTrackOnceWithItsFacts() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let url = catalog.url
        let files = IngestPipeline.files(in: [TestData.audioFixtures.path])
        let pipeline = IngestPipeline(workerCount: 2)
        let first = try pipeline.run(files: files, makeStore: { AudioCatalogStore(db: try PostgresConnection(url: url)) })
        #expect(first.stored == 5 && first.failures.count == 5)
        let again = try pipeline.run(files: files, makeStore: { AudioCatalogStore(db: try PostgresConnection(url: url)) })
        #expect(again.stored == 0 && again.alreadyStored == 5)

        let db = try PostgresConnection(url: url)
        let row = try db.query("""
            SELECT a.format, a.sample_rate, a.channels, a.n_coefficients, a.n_frames, octet_length(a.mfcc) AS bytes, i.external_id
            FROM audio_features a JOIN items i ON i.id = a.item_id WHERE a.source_path LIKE $1
            """, ["%wesnoth-battle.ogg"]).one()
        #expect(try row.string("format") == "ogg/vorbis" && row.int("sample_rate") == 44_100 && row.int("channels") == 2)
        #expect(try row.int("n_coefficients") == 20 && row.int("n_frames") == 173 && row.int("bytes") == 4 * 20 * 173)
        #expect(try row.string("external_id").hasPrefix("audio:sha256:"))
        #expect(try db.query("SELECT count(*) FROM items").scalar(Int.self) == 5)
    }

    /// Two stores racing on the same content: one row survives, neither fails.
    @Test func concurrentStoresOfOneTrackKeepOneRow() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let url = catalog.url
        let path = TestData.audioFixtures.appendingPathComponent("wesnoth-knolls.mp3").path
        let track = try TrackAnalyser().analyse(path: path)
        let first = AudioCatalogStore(db: try PostgresConnection(url: url))
        let second = AudioCatalogStore(db: try PostgresConnection(url: url))
        #expect(try first.store(track) == true)
        #expect(try second.store(track) == false)
        #expect(try second.contains(contentSHA256: track.contentSHA256))
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct StoredSequenceTests {
    /// Training windows come from the stored sequence: it reads back bit-exact, and its 3 s windows
    /// are the extractor's own output, sliced.
    @Test func storedSequenceReadsBackAndSegmentsWithoutDecoding() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let url = catalog.url
        let path = TestData.audioFixtures.appendingPathComponent("wesnoth-battle.ogg").path
        let track = try TrackAnalyser().analyse(path: path)
        let store = AudioCatalogStore(db: try PostgresConnection(url: url))
        #expect(try store.store(track))
        let stored = try #require(try store.mfcc(ofItem: "audio:sha256:" + track.contentSHA256.hexString))
        #expect(stored == track.mfcc)
        #expect(try store.mfcc(ofItem: "no-such-item") == nil)
        #expect(try store.mfcc(ofContent: track.contentSHA256) == stored)
        #expect(try store.mfcc(ofContent: [UInt8](repeating: 0, count: 32)) == nil)

        let windows = stored.segments(seconds: 3)
        // 130 frames per 3 s window, a new window every 129 frames, no incomplete tail.
        #expect(windows.count == (stored.columnCount - 130) / 129 + 1)
        for (k, w) in windows.enumerated() {
            #expect(w.rowCount == 20 && w.columnCount == 130)
            #expect(w[3, 0] == stored[3, 129 * k] && w[19, 129] == stored[19, 129 * k + 129])
        }
    }

    @Test func thirtySecondsGiveTenWindows() {
        let thirty = FeatureMatrix(rowCount: 20, columnCount: 1 + 30 * 22_050 / 512, values: .init(repeating: 0, count: 20 * 1292))
        #expect(thirty.segments(seconds: 3).count == 10)
        #expect(thirty.segments(seconds: 60).isEmpty)
    }
}
