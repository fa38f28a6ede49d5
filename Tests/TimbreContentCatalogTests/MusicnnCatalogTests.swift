import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreContentCatalog
import TimbreCore
import TimbreMusicnn
import TimbreTestSupport
import TimbreInterchange

/// `content embed --model musicnn-…`: each ingested track's stored vector and tags are the
/// embedder's output for its file, reruns do nothing, a track whose file went is reported and the
/// rest go on, and the `content` strategy serves "more like this" from the set.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct MusicnnCatalogTests {
    static func weightsDirectory() throws -> String {
        try TestData.fetched(MusicnnEmbedder.defaultWeightsDirectory, holding: "MTT_musicnn/.index", what: "musicnn checkpoints",
                             by: "scripts/fetch-musicnn")
    }

    /// Three real clips (Ogg Vorbis, Opus, MP3) and a 2 s tone, ingested; then one clip's file removed.
    static func ingested() throws -> (catalog: TestCatalog, folder: URL, kept: [String], gone: String) {
        let catalog = try TestCatalog()
        let folder = try TestData.folder("timbre-musicnn")
        let clips = ["wesnoth-battle.ogg", "warzone-track1.opus", "wesnoth-knolls.mp3", "wesnoth-elvish-22k-mono.flac"]
        for clip in clips {
            try FileManager.default.copyItem(at: TestData.audioFixtures.appendingPathComponent(clip), to: folder.appendingPathComponent(clip))
        }
        try TestData.writeWAV(TestData.tone(hertz: 440, seconds: 2), rate: 22_050, to: folder.appendingPathComponent("short.wav").path)
        let ingest = try TestData.runTimbre(["audio", "ingest", "--database", catalog.url, folder.path])
        #expect(ingest.status == 0, "\(ingest.err)")
        #expect(try catalog.count("audio_features") == 5)
        let gone = folder.appendingPathComponent("wesnoth-elvish-22k-mono.flac").path
        try FileManager.default.removeItem(atPath: gone)
        return (catalog, folder, clips.dropLast().map { folder.appendingPathComponent($0).path }, gone)
    }

    static func itemID(_ catalog: TestCatalog, path: String) throws -> Int64 {
        try catalog.db.query("SELECT item_id FROM audio_features WHERE source_path = $1", [path]).scalar(Int64.self)
    }

    @Test func storesTheEmbeddersVectorsAndTagsOnceAndReportsAGoneFile() throws {
        let (catalog, folder, kept, gone) = try Self.ingested()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try Self.weightsDirectory()
        let url = catalog.url
        let run = try MusicnnCatalog.run(model: .mtt, layer: .penultimate, weightsDirectory: weights, jobs: 2, batchSize: 1,
                                         connect: { try PostgresConnection(url: url) })
        #expect(run.set.name == "musicnn-mtt")
        #expect(run.tally.embedded == 3)
        // The gone file and the short one are reported once each, by item, naming the file.
        let reasons = Dictionary(uniqueKeysWithValues: run.tally.skipped.map { ($0.item, $0.reason) })
        #expect(reasons.count == 2)
        let goneReason = try #require(reasons[try Self.itemID(catalog, path: gone)])
        #expect(goneReason.contains(gone) && goneReason.contains("gone") && goneReason.contains("MFCC sequence is stored"), "\(goneReason)")
        let shortPath = folder.appendingPathComponent("short.wav").path
        let shortReason = try #require(reasons[try Self.itemID(catalog, path: shortPath)])
        #expect(shortReason.contains("short.wav") && shortReason.contains("3 s patch"), "\(shortReason)")

        // The set is registered as audio-model, 200-d, with the three vectors.
        let sets = try EmbeddingSetStore(catalog.db).list()
        #expect(sets.count == 1)
        let set = try #require(sets.first)
        #expect(set.id == run.set.id && set.kind == .audioModel && set.dimension == 200 && set.items == 3 && set.name == "musicnn-mtt")

        // Every stored vector and tag list is the embedder's output for the file.
        let embedder = try MusicnnEmbedder(model: .mtt, weightsDirectory: weights)
        for path in kept {
            let expected = try embedder.embed(path: path, workers: 1)
            let item = try Self.itemID(catalog, path: path)
            let row = try catalog.db.query("""
                SELECT e.vector, (i.metadata -> 'musicnn_mtt_tags')::text AS tags,
                       (i.metadata -> 'musicnn_mtt_tag_probabilities')::text AS probabilities
                FROM item_embeddings e JOIN items i ON i.id = e.item_id WHERE e.model_id = $1 AND e.item_id = $2
                """, [set.id, item]).one()
            // Equal up to float32 rounding: sgemm calls made while other workers' run may be split
            // (and summed) differently by OpenBLAS.
            func close(_ a: Float, _ b: Float) -> Bool { abs(a - b) <= 1e-5 * max(1, abs(b)) }
            let vector = try row.decode([Float].self, "vector"), mean = expected.mean(.penultimate)
            #expect(vector.count == mean.count && zip(vector, mean).allSatisfy(close), "\(path)")
            let tags = expected.mean(.tags)
            let order = tags.indices.sorted { tags[$0] > tags[$1] }
            let top = try JSONDecoder().decode([String].self, from: Data(try row.string("tags").utf8))
            #expect(top == order.prefix(5).map { MusicnnModelName.mtt.tags[$0] }, "\(path)")
            let probabilities = try JSONDecoder().decode([String: Float].self, from: Data(try row.string("probabilities").utf8))
            #expect(probabilities.count == 50)
            for (k, name) in MusicnnModelName.mtt.tags.enumerated() { #expect(probabilities[name].map { close($0, tags[k]) } == true, "\(path) \(name)") }
        }
        // The ingest metadata stays beside the tags.
        #expect(try catalog.db.query("SELECT count(*) FROM items WHERE metadata ->> 'source' = 'audio ingest'").scalar(Int.self) == 5)

        // A rerun uses the same set, embeds nothing, and reports the two tracks again.
        let again = try MusicnnCatalog.run(model: .mtt, layer: .penultimate, weightsDirectory: weights, jobs: 1, batchSize: 4,
                                           connect: { try PostgresConnection(url: url) })
        #expect(again.set == run.set && again.tally.embedded == 0 && again.tally.skipped.count == 2)
        #expect(try catalog.count("item_embeddings") == 3)
        #expect(try catalog.count("trained_models") == 1)
        // Another layer is a set of its own.
        let maxPool = try MusicnnCatalog(db: catalog.db).set(model: .mtt, layer: .maxPool)
        #expect(maxPool.id != run.set.id && maxPool.name == "musicnn-mtt-max_pool")
    }

    @Test func contentStrategyServesMoreLikeThisFromTheSet() throws {
        let (catalog, folder, kept, _) = try Self.ingested()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try Self.weightsDirectory()
        // The CLI end to end, JSON report.
        let embed = try TestData.runTimbre(["content", "embed", "--model", "musicnn-msd", "--weights", weights, "--format", "json",
                                            "--database", catalog.url])
        #expect(embed.status == 0, "\(embed.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(embed.out.utf8)) as? [String: Any])
        #expect(report["embedded"] as? Int == 3 && report["name"] as? String == "musicnn-msd")
        #expect((report["skipped"] as? [Any])?.count == 2)
        let bad = try TestData.runTimbre(["content", "embed", "--model", "musicnn-big", "--database", catalog.url])
        #expect(bad.status != 0 && bad.err.contains("musicnn-msd, musicnn-mtt"), "\(bad.err)")

        // Someone rated the three tracks; "more like" the first ranks the other two by cosine.
        let ids = try kept.map { path in
            try catalog.db.query("""
                SELECT i.external_id FROM items i JOIN audio_features a ON a.item_id = i.id WHERE a.source_path = $1
                """, [path]).scalar(String.self)
        }
        let ratings = try TestData.file("r.csv", "user,item,rating\n" + ids.map { "u,\($0),4\n" }.joined())
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let setID = try #require(report["set"] as? Int)
        func vector(_ external: String) throws -> [Double] {
            try catalog.db.query("""
                SELECT e.vector FROM item_embeddings e JOIN items i ON i.id = e.item_id WHERE i.external_id = $1 AND e.model_id = $2
                """, [external, Int64(setID)]).scalar([Float].self).map(Double.init)
        }
        func cosine(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).map { $0 * $1 }.reduce(0, +) / (zip(a, a).map { $0 * $1 }.reduce(0, +).squareRoot() * zip(b, b).map { $0 * $1 }.reduce(0, +).squareRoot())
        }
        let seed = try vector(ids[0])
        let expected = try ids.dropFirst().map { ($0, cosine(seed, try vector($0))) }.sorted { $0.1 > $1.1 }
        struct Output: Decodable { let items: [Recommendation] }
        let like = try TestData.runTimbre(["recommend", "--database", catalog.url, "--strategy", "content", "--like", ids[0],
                                           "--embedding-model", "musicnn-msd", "--format", "json"])
        #expect(like.status == 0, "\(like.err)")
        let items = try JSONDecoder().decode(Output.self, from: Data(like.out.utf8)).items
        #expect(items.map(\.item) == expected.map(\.0))
        for (got, want) in zip(items, expected) { #expect(abs(Double(got.score) - want.1) < 1e-5, "\(got.item)") }
    }
}
