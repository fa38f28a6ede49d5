import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreContentCatalog
import TimbreCatalog
import TimbreContent
import TimbreCore
import TimbreNeural
import TimbreTestSupport

/// `ContentCatalog.embed`: every ingested track gets the model's description of its stored
/// sequence, work is split between workers with SKIP LOCKED, reruns do nothing, short tracks are
/// reported once, and the embeddings read back aligned with a catalog snapshot.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct ContentEmbeddingTests {
    /// Four 7 s tones (two segments each) and one 2 s tone (no whole segment), ingested.
    static func ingestedCatalog() throws -> (TestCatalog, URL) {
        let catalog = try TestCatalog()
        let folder = try TestData.folder("timbre-embed")
        for (k, hertz) in [220.0, 330.0, 1_760.0, 2_640.0].enumerated() {
            try TestData.writeWAV(TestData.tone(hertz: hertz, seconds: 7, seed: UInt32(k + 1)), rate: 22_050,
                                  to: folder.appendingPathComponent("tone\(k).wav").path)
        }
        try TestData.writeWAV(TestData.tone(hertz: 440, seconds: 2), rate: 22_050, to: folder.appendingPathComponent("short.wav").path)
        let ingest = try TestData.runTimbre(["audio", "ingest", "--database", catalog.url, folder.path])
        #expect(ingest.status == 0, "\(ingest.err)")
        #expect(try catalog.count("audio_features") == 5)
        return (catalog, folder)
    }

    /// An untrained but fixed model: the test checks plumbing and arithmetic, not accuracy.
    static func model() -> ContentModel {
        ContentModel(classifier: .contentModel(classCount: 2, seed: 7),
                     standardisation: Standardisation(mean: [Float](repeating: -20, count: 20), deviation: [Float](repeating: 40, count: 20)),
                     classNames: ["high", "low"])
    }

    @Test func embedsEveryReadableTrackOnceWithItsDescription() throws {
        let (catalog, folder) = try Self.ingestedCatalog()
        defer { try? FileManager.default.removeItem(at: folder) }
        let contents = ContentCatalog(db: catalog.db)
        let id = try contents.save(Self.model(), parameters: "{}", trainedOn: "{}")
        let stored = try contents.model()
        #expect(stored.id == id && stored.model == Self.model())
        #expect(try contents.enqueueMissing(model: id) == 5)

        // Two workers, one track per claim, on their own connections.
        let url = catalog.url
        let tallies = try onThreads(2) { _ in
            Result { try ContentCatalog(db: try PostgresConnection(url: url)).embed(with: stored, batchSize: 1) }
        }.map { try $0.get() }
        var total = EmbeddingTally()
        for t in tallies { total.add(t) }
        #expect(total.embedded == 4)
        #expect(try catalog.count("item_embeddings") == 4)
        // The short track is reported once however many workers met it; it is never embedded.
        #expect(total.skipped.count == 1)
        #expect(total.skipped.allSatisfy { $0.reason.contains("shorter than one 3 s segment") })

        // Stored vectors and labels are the model's description of the stored sequence.
        let store = AudioCatalogStore(db: catalog.db)
        let rows = try catalog.db.query("""
            SELECT i.external_id, e.vector, e.label, e.label_probability FROM item_embeddings e
            JOIN items i ON i.id = e.item_id ORDER BY i.id
            """)
        #expect(rows.rowCount == 4)
        for row in rows {
            let mfcc = try #require(try store.mfcc(ofItem: row.string("external_id")))
            let expected = try #require(Self.model().describe(mfcc))
            #expect(expected.segmentCount == 2)
            // Equal up to float32 rounding, not bit for bit: the workers' sgemm calls run while
            // others do, and OpenBLAS may then split (and so sum) a product differently.
            let vector = try row.decode([Float].self, "vector")
            #expect(vector.count == expected.embedding.count)
            #expect(zip(vector, expected.embedding).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "\(vector) vs \(expected.embedding)")
            #expect(try row.string("label") == Self.model().classNames[expected.label])
            #expect(abs(try row.float("label_probability") - expected.probabilities[expected.label]) <= 1e-5)
        }

        // Nothing is left unfinished; only the short track failed, with its reason. A rerun queues
        // it again, reports it again and stores nothing.
        let queue = WorkQueue.embedding(model: id)
        #expect(try WorkQueue.unfinishedCount(queue, in: catalog.db) == 0)
        let failed = try WorkQueue.failures(queue, in: catalog.db)
        #expect(failed.map(\.key) == total.skipped.map { String($0.item) } && failed.map(\.error) == total.skipped.map(\.reason))
        #expect(try contents.enqueueMissing(model: id) == 1)
        let again = try contents.embed(with: stored)
        #expect(again.embedded == 0 && again.skipped.count == 1)
        #expect(try catalog.count("item_embeddings") == 4)

        // Read back aligned with a snapshot's dense item indices.
        let snapshot = try catalog.db.loadSnapshot()
        #expect(try catalog.db.embeddingModel(.latest) == id)
        let set = try #require(try EmbeddingSetStore(catalog.db).list().first)
        #expect(set.id == id && set.kind == .audioModel && set.dimension == 64 && set.items == 4)
        let table = try #require(try catalog.db.loadItemEmbeddings(model: id, itemIDs: snapshot.itemIDs))
        #expect(table.dimension == 64)
        #expect(table.present.filter { $0 }.count == 4)
        for (dense, external) in snapshot.ratings.items.ids.enumerated() {
            guard let mfcc = try store.mfcc(ofItem: external) else { continue }
            let expected = Self.model().describe(mfcc)
            #expect(table.vector(Int32(dense)).map(Array.init) == expected?.embedding)
        }
    }

    @Test func lockedTracksAreLeftToTheirWorkerAndTakenAfterARollback() throws {
        let (catalog, folder) = try Self.ingestedCatalog()
        defer { try? FileManager.default.removeItem(at: folder) }
        let contents = ContentCatalog(db: catalog.db)
        _ = try contents.save(Self.model(), parameters: "{}", trainedOn: "{}")
        let stored = try contents.model()
        try contents.enqueueMissing(model: stored.id)

        // Another worker holds two long tracks' keys (as a worker in the middle of its batch does).
        let heldIDs = Set(try catalog.db.query("SELECT item_id::text AS item FROM audio_features WHERE n_frames > 200 ORDER BY item_id LIMIT 2")
            .map { try $0.string("item") })
        let holder = try WorkQueue(WorkQueue.embedding(model: stored.id), db: try PostgresConnection(url: catalog.url), within: Array(heldIDs))
        #expect(Set(try holder.claim(limit: 5)) == heldIDs && heldIDs.count == 2)
        let first = try ContentCatalog(db: try PostgresConnection(url: catalog.url)).embed(with: stored)
        #expect(first.embedded == 2)
        let embedded = try catalog.db.query("SELECT item_id::text AS item FROM item_embeddings ORDER BY item_id").map { try $0.string("item") }
        #expect(embedded.allSatisfy { !heldIDs.contains($0) })

        // The holder dies without writing: its tracks are free again.
        try holder.rollback()
        let second = try contents.embed(with: stored)
        #expect(second.embedded == 2)
        #expect(try catalog.count("item_embeddings") == 4)
    }

    @Test func missingModelIsAClearError() throws {
        let catalog = try TestCatalog()
        #expect(throws: DatabaseError.self) { try ContentCatalog(db: catalog.db).model() }
        let error = #expect(throws: DatabaseError.self) { try ContentCatalog(db: catalog.db).model(id: 42) }
        #expect(error?.description.contains("no content model #42") == true)
    }
}
