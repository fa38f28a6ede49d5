import Foundation
import Testing
import TimbreCatalog
import TimbreTestSupport

/// `timbre content train --from-catalog` end to end: audio ingested once, then trained on the
/// stored sequences without decoding, with the same result as decoding.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct ContentFromCatalogTests {
    @Test func trainsOnStoredSequencesLikeOnDecodedFiles() throws {
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
        let ingest = try TestData.runTimbre(["audio", "ingest", "--database", catalog.url, folder.path])
        #expect(ingest.status == 0, "\(ingest.err)")
        #expect(try catalog.count("audio_features") == 6)

        let arguments = ["content", "train", folder.path, "--epochs", "1", "--seed", "3", "--format", "json"]
        let stored = try TestData.runTimbre(arguments + ["--from-catalog", "--store", "--database", catalog.url])
        #expect(stored.status == 0, "\(stored.err)")
        #expect(stored.err.contains("6 of 6 tracks read from the catalog"), "\(stored.err)")
        let decoded = try TestData.runTimbre(arguments)
        #expect(decoded.status == 0, "\(decoded.err)")

        func test(_ json: String) throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            return try #require(object?["test"] as? [String: Any])
        }
        let fromCatalog = try test(stored.out), fromFiles = try test(decoded.out)
        #expect(fromCatalog["segmentAccuracy"] as? Double == fromFiles["segmentAccuracy"] as? Double)
        #expect(fromCatalog["clipAccuracy"] as? Double == fromFiles["clipAccuracy"] as? Double)
        #expect(fromCatalog["segmentAccuracy"] != nil)

        // The stored model embeds and labels every ingested track.
        let modelID = try #require((try JSONSerialization.jsonObject(with: Data(stored.out.utf8)) as? [String: Any])?["storedModel"] as? Int)
        let embed = try TestData.runTimbre(["content", "embed", "--format", "json", "--database", catalog.url])
        #expect(embed.status == 0, "\(embed.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(embed.out.utf8)) as? [String: Any])
        #expect(report["model"] as? Int == modelID)
        #expect(report["embedded"] as? Int == 6)
        let labels = try #require(report["labels"] as? [String: Int])
        #expect(Set(labels.keys).isSubset(of: ["high", "low"]) && labels.values.reduce(0, +) == 6)
        #expect(try catalog.count("item_embeddings") == 6)

        // `content classify` gives a file the label `embed` stored for its track; an unreadable file is named.
        let track = folder.appendingPathComponent("low/piece1.wav").path
        let missing = folder.appendingPathComponent("nowhere.wav").path
        let classify = try TestData.runTimbre(["content", "classify", "--format", "json", "--database", catalog.url, track, missing])
        #expect(classify.status == 1)
        #expect(classify.err.contains(missing), "\(classify.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(classify.out.utf8)) as? [[String: Any]])
        #expect(rows.count == 1 && rows.first?["segments"] as? Int == 10)
        let storedLabel = try catalog.db.query("""
            SELECT e.label FROM item_embeddings e JOIN audio_features a ON a.item_id = e.item_id WHERE a.source_path LIKE '%/low/piece1.wav'
            """).scalar(String?.self)
        #expect(storedLabel != nil && rows.first?["style"] as? String == storedLabel)
    }
}
