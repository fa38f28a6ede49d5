import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreContent
import TimbreCore
import TimbreTestSupport

/// `content train --target factors` and `content embed` of the model it stores: targets come
/// from a cf-factors set by content hash, tracks without factors are left out of training, and
/// every ingested track gets its predicted factors as a predicted-factors set.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct FactorContentCatalogTests {
    @Test func trainsOnFactorsAndStoresPredictedFactors() throws {
        let catalog = try TestCatalog()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-factors-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var paths: [String] = []
        for (k, hertz) in [220.0, 330.0, 440.0, 1_760.0, 2_640.0, 3_520.0].enumerated() {
            let folder = root.appendingPathComponent(k < 3 ? "low" : "high")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let path = folder.appendingPathComponent("tone\(k).wav").path
            try TestData.writeWAV(TestData.tone(hertz: hertz, seconds: 7, seed: UInt32(k + 1)), rate: 22_050, to: path)
            paths.append(path)
        }
        let ingest = try TestData.runTimbre(["audio", "ingest", "--database", catalog.url, root.path])
        #expect(ingest.status == 0, "\(ingest.err)")
        // Factor rows for five tracks; tone5 has no plays, so no row.
        var rows: [String: [Float]] = [:]
        for (k, path) in paths.enumerated().dropLast() {
            let id = try #require(try catalog.db.query("""
                SELECT i.external_id FROM items i JOIN audio_features a ON a.item_id = i.id WHERE a.source_path = $1
                """, [path]).first).string("external_id")
            rows[id] = [Float(k), -Float(k) / 2, 1]
        }
        let factorSet = try catalog.storeEmbeddings(rows, kind: .cfFactors)

        let set = try LabelledSet.scan(root.path)
        var training = FactorTraining(epochs: 2, seed: 3)
        training.segmentsPerTrack = 2
        let contents = FactorContentCatalog(db: catalog.db)
        let (model, report) = try contents.train(set, factors: .latestOfKind(.cfFactors), training: training, weightByPlays: false, store: true)
        #expect(report.factorSet == factorSet && report.factorDimension == 3)
        #expect(report.trainingTracks + report.validationTracks == 5)
        #expect(report.validationTracks >= 1)
        #expect(report.withoutFactors == 1 && report.notIngested.isEmpty)
        let id = try #require(report.storedModel)
        #expect(try contents.contentModelStrategy(id: nil) == FactorContentCatalog.strategyName)
        #expect(try contents.model().model == model)

        // `content embed` finds the newest content model is a factor model and stores its predictions.
        let embed = try TestData.runTimbre(["content", "embed", "--database", catalog.url, "--format", "json"])
        #expect(embed.status == 0, "\(embed.err)")
        #expect(embed.out.contains("\"embedded\" : 6") || embed.out.contains("\"embedded\":6"), "\(embed.out)")
        let sets = try EmbeddingSetStore(catalog.db).list()
        let predicted = try #require(sets.first { $0.id == id })
        #expect(predicted.kind == .predictedFactors && predicted.dimension == 3 && predicted.items == 6)
        let store = AudioCatalogStore(db: catalog.db)
        let stored = try catalog.db.query("""
            SELECT i.external_id, e.vector, e.label IS NULL AS unlabelled FROM item_embeddings e JOIN items i ON i.id = e.item_id
            WHERE e.model_id = $1 ORDER BY i.id
            """, [id])
        #expect(stored.rowCount == 6)
        for row in stored {
            let mfcc = try #require(try store.mfcc(ofItem: try row.string("external_id")))
            let expected = try #require(model.describe(mfcc)).factors
            #expect(try row.decode([Float].self, "vector") == expected)
            #expect(try row.bool("unlabelled"))
        }

        // A set of another kind is refused by name, before any training.
        let audioSet = try catalog.storeEmbeddings(rows, kind: .audioModel)
        #expect(throws: DatabaseError.self) {
            try contents.train(set, factors: .model(audioSet), training: training, weightByPlays: false, store: false)
        }
    }
}
