import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreContent
import TimbreContentCatalog
import TimbreTestSupport

/// The content services in-process: audio ingested once, `ContentTrainer` on the stored sequences
/// without decoding (the same result as decoding) and storing the model, `ContentEmbedder`
/// embedding every track with it, and classification agreeing with the stored labels.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct ContentFromCatalogTests {
    @Test func trainsOnStoredSequencesLikeOnDecodedFilesThenEmbedsAndClassifies() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-content-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Two classes (low and high tones), three pieces each: one 30 s clip per part per class.
        for (name, base) in [("low", 220.0), ("high", 1_760.0)] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
            for piece in 0..<3 {
                try TestData.writeWAV(TestData.tone(hertz: base * (1 + 0.1 * Double(piece)), seconds: 31, seed: UInt32(piece + 1)),
                                      rate: 22_050, to: folder.appendingPathComponent("\(name)/piece\(piece).wav").path)
            }
        }
        let files = IngestPipeline.files(in: [folder.path])
        let url = catalog.url
        let ingested = try IngestPipeline(workerCount: 2).run(files: files, makeStore: { AudioCatalogStore(db: try PostgresConnection(url: url)) })
        #expect(ingested.stored == 6 && ingested.failures.isEmpty)

        let trainer = ContentTrainer(connect: { try PostgresConnection(url: url) })
        var request = ContentTrainingRequest(directory: folder.path)
        request.epochs = 1
        request.seed = 3
        let decoded = try trainer.train(request)
        request.fromCatalog = true
        request.store = true
        let stored = try trainer.train(request)
        #expect(stored.tracksFromCatalog == 6 && decoded.tracksFromCatalog == nil)
        // The stored sequences are what decoding gives, so the same seed trains the same model.
        #expect(stored.test.segmentAccuracy == decoded.test.segmentAccuracy)
        #expect(stored.test.clipAccuracy == decoded.test.clipAccuracy)
        #expect(stored.epochs.map(\.loss) == decoded.epochs.map(\.loss))
        let modelID = try #require(stored.storedModel)
        #expect(decoded.storedModel == nil)
        let model = try ContentCatalog(db: catalog.db).model()
        #expect(model.id == modelID && model.model.classNames == ["high", "low"])

        // The stored model embeds and labels every ingested track.
        let report = try ContentEmbedder(connect: { try PostgresConnection(url: url) }).embed(jobs: 2, batchSize: 2)
        #expect(report.model == modelID && report.embedded == 6 && report.skipped.isEmpty)
        #expect(Set(report.labels.keys).isSubset(of: ["high", "low"]) && report.labels.values.reduce(0, +) == 6)
        #expect(try catalog.count("item_embeddings") == 6)
        // A rerun has nothing to do and reports the same labels.
        let again = try ContentEmbedder(connect: { try PostgresConnection(url: url) }).embed(model: modelID)
        #expect(again.embedded == 0 && again.labels == report.labels)

        // Classifying a file gives the label `embed` stored for its track; an unreadable file is named.
        let track = folder.appendingPathComponent("low/piece1.wav").path
        let missing = folder.appendingPathComponent("nowhere.wav").path
        let (rows, failures) = try model.model.classify(files: [track, missing])
        #expect(failures.count == 1 && failures.first?.contains(missing) == true)
        #expect(rows.count == 1 && rows.first?.segments == 10)
        let storedLabel = try catalog.db.query("""
            SELECT e.label FROM item_embeddings e JOIN audio_features a ON a.item_id = e.item_id WHERE a.source_path LIKE '%/low/piece1.wav'
            """).scalar(String?.self)
        #expect(storedLabel != nil && rows.first?.style == storedLabel)
    }

    @Test func aModelFileThatIsNotAContentModelIsNamed() throws {
        let path = try TestData.file("not.model", "hello")
        let error = #expect(throws: ContentError.self) { try ContentModel(file: path) }
        #expect(error?.description.contains(path) == true)
    }
}
