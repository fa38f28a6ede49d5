import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreContentCatalog
import TimbreCatalog
import TimbreContent
import TimbreNeural
import TimbreTestSupport

/// Two `timbre` processes work through the same work queue (audio ingest, then embedding)
/// and one is killed with SIGKILL in the middle: a rerun then finishes exact. Every track is
/// stored once and whole (its stored MFCC sequence and embedding are what analysing it afresh
/// gives), and no queue row is left unfinished.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct KilledWorkerTests {
    // Enough work that the victim is still busy when it is killed, however fast the machine.
    static let trackCount = 32

    struct GaveUp: Error, CustomStringConvertible { let description: String }

    /// Waits (polling the catalog) until `ready` holds, at most 60 s.
    static func waitUntil(_ what: String, _ ready: () throws -> Bool) throws {
        for _ in 0..<30_000 {
            if try ready() { return }
            usleep(2_000)
        }
        throw GaveUp(description: "gave up waiting for \(what)")
    }

    /// Starts `arguments` twice side by side and, as soon as the first results are in, SIGKILLs the
    /// first while `pending` work is left (both start together: tracks take milliseconds, so a
    /// second process started later could find the work done). Returns how the second ended.
    static func runTwoKillingOne(_ arguments: [String], done: @escaping () throws -> Int, pending: () throws -> Int) throws
        -> (status: Int32, killedBy: Int32?, out: String, err: String) {
        let what = arguments.prefix(2).joined(separator: " ")
        let victim = try TimbreProcess(arguments)
        let survivor = try TimbreProcess(arguments)
        try waitUntil("the first results of \(what)") { try done() >= 1 }
        let left = try pending()
        victim.send(SIGKILL)
        #expect(left > 0, "all done before the kill: it tests nothing")
        let ended = try victim.wait()
        #expect(ended.killedBy == SIGKILL, "the first \(what) had ended before the kill: status \(ended.status), \(ended.err.suffix(300))")
        let survived = try survivor.wait()
        #expect(survived.status == 0, "\(survived.err)")
        return survived
    }

    @Test func ingestAndEmbedFinishExactAfterAWorkerIsKilled() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let folder = try TestData.folder("timbre-kill")
        defer { try? FileManager.default.removeItem(at: folder) }
        // 6.5 s tones: two 3 s segments each for the content model. Distinct seeds: distinct tracks.
        for k in 0..<Self.trackCount {
            try TestData.writeWAV(TestData.tone(hertz: 200 + 90 * Double(k), seconds: 6.5, seed: UInt32(k + 1)), rate: 22_050,
                                  to: folder.appendingPathComponent("tone\(k).wav").path)
        }
        let db = catalog.db

        // Ingest: two processes, one killed while files are still queued.
        let ingest = ["audio", "ingest", "--database", catalog.url, "--jobs", "1", folder.path]
        _ = try Self.runTwoKillingOne(ingest, done: { try catalog.count("audio_features") }, pending: {
            try WorkQueue.unfinishedCount(WorkQueue.audioIngest, in: db)
        })
        let rerun = try TestData.runTimbre(ingest)
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(rerun.out.contains("\(Self.trackCount) files:") && rerun.out.contains("0 failed"), "\(rerun.out)")

        #expect(try catalog.count("audio_features") == Self.trackCount)
        #expect(try catalog.count("items") == Self.trackCount)
        #expect(try WorkQueue.unfinishedCount(WorkQueue.audioIngest, in: db) == 0)
        #expect(try WorkQueue.failures(WorkQueue.audioIngest, in: db).isEmpty)
        #expect(try catalog.count("work_queue") == Self.trackCount)
        // Whole: each stored sequence is the one a fresh analysis of its file gives (to float
        // rounding: FFTW's measured plans may differ between processes).
        let store = AudioCatalogStore(db: db)
        let analyser = try TrackAnalyser()
        for k in 0..<Self.trackCount {
            let track = try analyser.analyse(path: folder.appendingPathComponent("tone\(k).wav").path)
            let stored = try #require(try store.mfcc(ofContent: track.contentSHA256), "tone\(k).wav not stored")
            #expect(stored.rowCount == track.mfcc.rowCount && stored.columnCount == track.mfcc.columnCount)
            let difference = zip(stored.values, track.mfcc.values).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-3, "tone\(k).wav: stored MFCCs differ by up to \(difference)")
        }

        // Embed: the same with `content embed`, one track per claim.
        let contents = ContentCatalog(db: db)
        // Untrained, and wide (two 128-unit LSTMs) so that embedding takes long enough to be
        // killed in the middle; the test checks plumbing, not accuracy.
        let model = ContentModel(classifier: SequenceClassifier(inputSize: 20, layerSizes: [128, 128], classCount: 2, seed: 7),
                                 standardisation: ContentEmbeddingTests.model().standardisation, classNames: ["high", "low"])
        let modelID = try contents.save(model, parameters: "{}", trainedOn: "{}")
        let embed = ["content", "embed", "--database", catalog.url, "--batch-size", "1"]
        _ = try Self.runTwoKillingOne(embed, done: { try catalog.count("item_embeddings") }, pending: {
            try WorkQueue.unfinishedCount(WorkQueue.embedding(model: modelID), in: db)
        })
        let again = try TestData.runTimbre(embed)
        #expect(again.status == 0, "\(again.err)")

        #expect(try WorkQueue.unfinishedCount(WorkQueue.embedding(model: modelID), in: db) == 0)
        #expect(try WorkQueue.failures(WorkQueue.embedding(model: modelID), in: db).isEmpty)
        let rows = try db.query("""
            SELECT i.external_id, e.vector FROM item_embeddings e JOIN items i ON i.id = e.item_id
            WHERE e.model_id = $1
            """, [modelID])
        #expect(rows.rowCount == Self.trackCount)
        #expect(Set(try rows.map { try $0.string("external_id") }).count == Self.trackCount)
        for row in rows {
            let mfcc = try #require(try store.mfcc(ofItem: row.string("external_id")))
            #expect(try row.decode([Float].self, "vector") == model.describe(mfcc)?.embedding)
        }
    }
}
