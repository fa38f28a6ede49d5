import Foundation
import Testing
import TimbreCore
import TimbreStrategies
import TimbreTestSupport
@testable import TimbreCatalog
import TimbreInterchange

/// Ratings a: x 5, y 1; b: x 4, z 5; c: z 4. Items `cold` (nobody rated it) and `bare` (no
/// embedding anywhere) exist without ratings. Two embedding models: `old` has x and y, `new`
/// (the newest) has x, z and cold; y has no vector in it.
private func catalogWithTwoEmbeddingModels() throws -> (catalog: TestCatalog, old: Int64, new: Int64) {
    let catalog = try TestCatalog()
    let ratings = try TestData.file("r.csv", "user,item,rating\na,x,5\na,y,1\nb,x,4\nb,z,5\nc,z,4\n")
    _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
    try catalog.db.execute("INSERT INTO items (external_id) VALUES ('cold'), ('bare')")
    let old = try catalog.storeEmbeddings(["x": [1, 0, 0], "y": [0, 1, 0]])
    let new = try catalog.storeEmbeddings(["x": [1, 2, 3], "z": [0, 0, 1], "cold": [1, 2, 2.5]])
    return (catalog, old, new)
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct EmbeddingCatalogTests {
    @Test func trainingDataCarriesTheChosenModelsEmbeddingsAlignedWithTheItems() throws {
        let (catalog, old, new) = try catalogWithTwoEmbeddingModels()
        defer { withExtendedLifetime(catalog) {} }
        let latest = try catalog.db.loadTrainingData(embeddings: .latest)
        #expect(latest.embeddingModel == new)
        let items = latest.data.ratings.items
        #expect(items.count == 5)
        let table = try #require(latest.data.itemEmbeddings)
        func vector(_ t: EmbeddingTable, _ id: String) -> [Float]? { t.vector(items.index(of: id)!).map(Array.init) }
        #expect(table.dimension == 3)
        #expect(vector(table, "x") == [1, 2, 3] && vector(table, "z") == [0, 0, 1] && vector(table, "cold") == [1, 2, 2.5])
        #expect(vector(table, "y") == nil && vector(table, "bare") == nil)

        let older = try catalog.db.loadTrainingData(embeddings: .model(old))
        #expect(older.embeddingModel == old)
        let oldTable = try #require(older.data.itemEmbeddings)
        #expect(vector(oldTable, "y") == [0, 1, 0] && vector(oldTable, "z") == nil)

        let none = try catalog.db.loadTrainingData(embeddings: .none)
        #expect(none.embeddingModel == nil && none.data.itemEmbeddings == nil)
        #expect(throws: DatabaseError.self) { try catalog.db.loadTrainingData(embeddings: .model(new + 1000)) }
        #expect(EmbeddingChoice("latest") == .latest && EmbeddingChoice("none") == EmbeddingChoice.none)
        #expect(EmbeddingChoice("12") == .model(12) && EmbeddingChoice("0") == nil && EmbeddingChoice("genres") == .named("genres"))
        #expect(EmbeddingChoice("latest:metadata") == .latestOfKind(.metadata) && EmbeddingChoice("latest:bogus") == nil)
        #expect(EmbeddingChoice("") == nil && EmbeddingChoice("two words") == nil)
    }

    @Test func storedContentModelRemembersItsEmbeddingModel() throws {
        let (catalog, old, new) = try catalogWithTwoEmbeddingModels()
        defer { withExtendedLifetime(catalog) {} }
        let (content, parameters) = try registeredStrategies.make("content")
        let contentType = type(of: content)
        let trained = try catalog.db.trainAndSave(content, parameters: parameters)
        #expect(trained.embeddingModel == new)
        let recorded = try catalog.db.query("SELECT (trained_on->>'embedding_model')::bigint FROM trained_models WHERE id = $1", [trained.id])
        #expect(try recorded.scalar(Int64?.self) == new)
        let served = try #require(try catalog.db.latestModel(strategy: contentType, parameters: parameters, embeddingModel: new, registry: registeredStrategies))
        #expect(served.id == trained.id && served.embeddingModel == new)
        // Asked for other embeddings (or none), the stored model does not qualify.
        #expect(try catalog.db.latestModel(strategy: contentType, parameters: parameters, embeddingModel: old, registry: registeredStrategies) == nil)
        #expect(try catalog.db.latestModel(strategy: contentType, parameters: parameters, embeddingModel: nil, registry: registeredStrategies) == nil)

        // A vector added to the same embedding model (a newly embedded track) makes the stored
        // model stale: it holds its own copy of the vectors and would never recommend the new item.
        try catalog.db.query("""
            INSERT INTO item_embeddings (model_id, item_id, vector) SELECT $1, id, '{0,1,1}' FROM items WHERE external_id = 'bare'
            """, [new])
        #expect(try catalog.db.latestModel(strategy: contentType, parameters: parameters, embeddingModel: new, registry: registeredStrategies) == nil)
        let retrained = try catalog.db.trainAndSave(content, parameters: parameters)
        #expect(try catalog.db.latestModel(strategy: contentType, parameters: parameters, embeddingModel: new, registry: registeredStrategies)?.id == retrained.id)

        // A strategy that does not use embeddings is not given any, so its stored models record none
        // and are found as they always were.
        let (popularity, popularityParameters) = try registeredStrategies.make("popularity")
        #expect(content.usesItemEmbeddings && !popularity.usesItemEmbeddings)
        let counted = try catalog.db.trainAndSave(popularity, parameters: popularityParameters)
        #expect(counted.embeddingModel == nil)
        #expect(try !catalog.db.query("SELECT trained_on ? 'embedding_model' FROM trained_models WHERE id = $1", [counted.id]).scalar(Bool.self))
        #expect(try catalog.db.latestModel(strategy: type(of: popularity), parameters: popularityParameters, registry: registeredStrategies)?.id == counted.id)
    }

    /// The host gives embeddings to whatever strategy asks: a hybrid asks when a component is content.
    @Test func hybridWithAContentComponentIsTrainedWithTheEmbeddings() throws {
        let (catalog, _, new) = try catalogWithTwoEmbeddingModels()
        defer { withExtendedLifetime(catalog) {} }
        let (plain, _) = try registeredStrategies.make("hybrid")
        #expect(!plain.usesItemEmbeddings, "the default hybrid has no content component")
        let (blend, parameters) = try registeredStrategies.make("hybrid", overrides: ["first": "content", "second": "popularity", "weight": "0.5"])
        #expect(blend.usesItemEmbeddings)
        let trained = try catalog.db.trainAndSave(blend, parameters: parameters)
        #expect(trained.embeddingModel == new)
        let loaded = try #require(try catalog.db.latestModel(strategy: type(of: blend), parameters: parameters, embeddingModel: new,
                                                             registry: registeredStrategies))
        var scores: [Float] = []
        let top = loaded.recommend(loaded.profile(user: "a", ratings: try catalog.db.ratings(ofUser: "a")), n: 5, scores: &scores)
        // a can get z, cold and bare. cold (no rating, popularity 0) is lifted by its embedding; bare
        // has none, so content gives it its lowest score and it comes last.
        #expect(top.map { loaded.items[$0.item] }.contains("cold"))
        #expect(top.map { loaded.items[$0.item] }.last == "bare")
    }

    @Test func recommendServesColdItemsAndFollowsTheEmbeddingOption() throws {
        let (catalog, old, _) = try catalogWithTwoEmbeddingModels()
        defer { withExtendedLifetime(catalog) {} }
        struct Output: Decodable { let items: [Recommendation] }
        func recommend(_ extra: [String]) throws -> (status: Int32, items: [String], err: String) {
            let r = try TestData.runTimbre(["recommend", "--database", catalog.url, "--user", "a", "--strategy", "content",
                                            "--format", "json"] + extra)
            guard r.status == 0 else { return (r.status, [], r.err) }
            return (0, try JSONDecoder().decode(Output.self, from: Data(r.out.utf8)).items.map(\.item), r.err)
        }
        // a rated x and y; with the newest embeddings y has none, so the profile is x = (1, 2, 3):
        // cold (1, 2, 2.5) is closer than z (0, 0, 1); bare has no embedding and is never listed.
        let first = try recommend([])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.items == ["cold", "z"])
        #expect(first.err.contains("training one"))
        let again = try recommend([])
        #expect(again.items == first.items && !again.err.contains("training one"), "the stored model is reused")
        // The old embeddings know neither z nor cold: nothing to recommend, and a model of its own.
        let older = try recommend(["--embedding-model", String(old)])
        #expect(older.status == 0 && older.items.isEmpty && older.err.contains("training one"), "\(older.err)")
        let none = try recommend(["--embedding-model", "none"])
        #expect(none.status != 0 && none.err.contains("content needs item embeddings"), "\(none.err)")
        let bad = try recommend(["--embedding-model", "newest"])
        #expect(bad.status != 0 && bad.err.contains("--embedding-model"), "\(bad.err)")
    }

    /// `--like`: an anonymous listener who likes some items, e.g. "tracks that sound like this one".
    @Test func recommendForLikedItemsWithoutAUser() throws {
        let (catalog, _, _) = try catalogWithTwoEmbeddingModels()
        defer { withExtendedLifetime(catalog) {} }
        struct Output: Decodable { let user: String?; let liked: [String]?; let items: [Recommendation] }
        func recommend(_ arguments: [String]) throws -> (status: Int32, output: Output?, err: String) {
            let r = try TestData.runTimbre(["recommend", "--database", catalog.url, "--format", "json"] + arguments)
            return (r.status, r.status == 0 ? try JSONDecoder().decode(Output.self, from: Data(r.out.utf8)) : nil, r.err)
        }
        // Liking z = (0, 0, 1): cosines cold 2.5/√17.25 = 0.602, x 3/√14 = 0.802; z itself is not listed.
        let z = try recommend(["--strategy", "content", "--like", "z"])
        #expect(z.status == 0, "\(z.err)")
        #expect(z.output?.items.map(\.item) == ["x", "cold"] && z.output?.user == nil && z.output?.liked == ["z"])
        #expect(abs((z.output?.items.first?.score ?? 0) - 0.801784) < 1e-5)
        // Any strategy serves the profile: popularity lists what the likes leave.
        let popular = try recommend(["--strategy", "popularity", "--like", "x", "--like", "z", "-n", "1"])
        #expect(popular.status == 0 && popular.output?.items.map(\.item) == ["y"], "\(popular.err)")
        let unknown = try recommend(["--strategy", "content", "--like", "z", "--like", "nowhere"])
        #expect(unknown.status != 0 && unknown.err.contains("'nowhere'"), "\(unknown.err)")
        let both = try recommend(["--strategy", "content", "--like", "z", "--user", "a"])
        #expect(both.status != 0 && both.err.contains("either --user or"), "\(both.err)")
    }

    @Test func evaluateGivesFoldsTheEmbeddingsAndLeavesContentOutWithoutThem() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        // 12 users, 10 items in two groups; each user rates 4 items of one group.
        var lines = ["user,item,rating"]
        for u in 0..<12 { for k in 0..<4 { lines.append("u\(u),i\((u % 2) * 5 + (u + k) % 5),\(1 + (u + k) % 5)") } }
        _ = try CatalogImporter(ratingsFile: try TestData.file("r.csv", lines.joined(separator: "\n") + "\n")).run(catalog.db)
        let base = ["evaluate", "--database", catalog.url, "--split", "holdout", "--folds", "2", "--format", "json"]
        let without = try TestData.runTimbre(base + ["--no-save"])
        #expect(without.status == 0, "\(without.err)")
        #expect(without.err.contains("leaving out content"), "\(without.err)")
        #expect(!without.out.contains("\"content\""))

        let model = try catalog.storeEmbeddings(Dictionary(uniqueKeysWithValues: (0..<10).map { i in
            ("i\(i)", i < 5 ? [1, Float(i) / 10] : [Float(i) / 10, 1])
        }))
        let with = try TestData.runTimbre(base + ["--strategy", "popularity", "--strategy", "content"])
        #expect(with.status == 0, "\(with.err)")
        let report = try JSONSerialization.jsonObject(with: Data(with.out.utf8)) as! [String: Any]
        #expect(report["embeddingModel"] as? Int == Int(model))
        #expect((report["strategies"] as? [[String: Any]])?.map { $0["name"] as? String } == ["popularity", "content"])
        // The stored run remembers which embeddings were used.
        let settings = try catalog.db.query("SELECT (settings->>'embeddingModel')::bigint FROM evaluation_runs").scalar(Int64?.self)
        #expect(settings == model)
        let refused = try TestData.runTimbre(["evaluate", "--ratings", try TestData.file("r.csv", lines.joined(separator: "\n") + "\n"),
                                              "--embedding-model", "latest", "--strategy", "content"])
        #expect(refused.status != 0 && refused.err.contains("--embedding-model"), "\(refused.err)")
    }

    /// The defect `latest` had: it took the highest id of any kind, so storing genre vectors after
    /// audio embeddings moved `content` (and every hybrid using it) off the audio.
    @Test func contentKeepsItsEmbeddingSetWhenVectorsOfAnotherKindAreAdded() throws {
        let (catalog, _, audio) = try catalogWithTwoEmbeddingModels()
        defer { withExtendedLifetime(catalog) {} }
        let (content, parameters) = try registeredStrategies.make("content")
        let use = EmbeddingUse(strategy: "content", parameters: parameters)
        let trained = try catalog.db.trainAndSave(content, parameters: parameters)
        #expect(trained.embeddingModel == audio)

        let genres = try catalog.storeEmbeddings(["x": [1, 0], "y": [0, 1], "z": [1, 1]], kind: .metadata, name: "genres")
        #expect(genres > audio)
        // The strategy that chose audio stays with audio; a retrain too.
        #expect(try catalog.db.embeddingModel(.latest, for: use) == audio)
        #expect(try catalog.db.trainAndSave(content, parameters: parameters).embeddingModel == audio)
        // Without a previous choice, latest cannot guess between the kinds: it names them.
        let error = #expect(throws: AmbiguousEmbeddingsError.self) { try catalog.db.embeddingModel(.latest) }
        #expect(error?.newestByKind.map(\.id) == [genres, audio])
        #expect(error?.description.contains("metadata: newest #\(genres) 'genres' (2-d, 3 items)") == true)
        #expect(error?.description.contains("latest:KIND") == true)
        let (other, otherParameters) = try registeredStrategies.make("content", overrides: ["k": "5"])
        #expect(throws: AmbiguousEmbeddingsError.self) { try catalog.db.trainAndSave(other, parameters: otherParameters) }
        // Asked by kind or name, each resolves to its own set.
        #expect(try catalog.db.embeddingModel(.latestOfKind(.metadata)) == genres)
        #expect(try catalog.db.embeddingModel(.latestOfKind(.audioModel)) == audio)
        #expect(try catalog.db.embeddingModel(.named("genres")) == genres)
        #expect(throws: DatabaseError.self) { try catalog.db.embeddingModel(.latestOfKind(.cfFactors)) }
        // A new audio set is taken up by the strategy that uses audio.
        let audio2 = try catalog.storeEmbeddings(["x": [3, 2, 1], "z": [1, 0, 0]])
        #expect(try catalog.db.embeddingModel(.latest, for: use) == audio2)
    }

    @Test func embeddingsImportFromCSVAndNumPyIsCheckedAndIdempotent() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        _ = try CatalogImporter(ratingsFile: try TestData.file("r.csv", "user,item,rating\na,1,5\na,2,1\nb,3,4\n")).run(catalog.db)
        let store = EmbeddingSetStore(catalog.db)
        let csv = try TestData.file("v.csv", "item,d0,d1\n1,0.5,1\n2,-1,2e-1\n3,0,0.25\n")
        let first = try store.importVectors(path: csv, name: "outside")
        #expect(first.created && first.items == 3 && first.dimension == 2)
        let again = try store.importVectors(path: csv, name: "outside")
        #expect(!again.created && again.set == first.set && again.items == 3)
        #expect(try catalog.count("item_embeddings") == 3)
        let snapshot = try catalog.db.loadSnapshot()
        let table = try #require(try catalog.db.loadItemEmbeddings(model: first.set, itemIDs: snapshot.itemIDs))
        #expect(table.vector(snapshot.ratings.items.index(of: "2")!).map(Array.init) == [-1, 0.2])
        let listed = try store.list()
        #expect(listed.map(\.kind) == [.imported] && listed[0].name == "outside" && listed[0].items == 3)
        #expect(try catalog.db.embeddingModel(.named("outside")) == first.set)

        // .npy: column 0 is the item id.
        let npy = FileManager.default.temporaryDirectory.appendingPathComponent("v-\(UUID().uuidString).npy").path
        try NumPyArray.encode([1, 9, 8, 7, 3, 6, 5, 4] as [Float], shape: [2, 4]).write(to: URL(fileURLWithPath: npy))
        let fromNumPy = try store.importVectors(path: npy, name: "outside-npy")
        #expect(fromNumPy.created && fromNumPy.items == 2 && fromNumPy.dimension == 3)

        // Every bad row is named and nothing is written.
        let before = try catalog.count("item_embeddings")
        func refusal(_ text: String, _ name: String = "bad") throws -> InputFileError? {
            let path = try TestData.file("bad.csv", text)
            return #expect(throws: InputFileError.self) { try store.importVectors(path: path, name: name) }
        }
        #expect(try refusal("item,d0\n1,0.5\nghost,1\n")?.description.hasSuffix(":3: item 'ghost' is not in the catalog") == true)
        #expect(try refusal("item,d0,d1\n1,0.5,1\n2,1,nan\n")?.line == 3)
        #expect(try refusal("item,d0\n1,0.5\n1,1\n")?.message.contains("again (first at line 2)") == true)
        #expect(try refusal("vector,item\n1,1\n")?.line == 1)
        #expect(try catalog.count("item_embeddings") == before)
        #expect(throws: DatabaseError.self) { try store.importVectors(path: csv, name: "42") }
    }

    /// A factor model's item factors become a cf-factors set under the model's own id, for the
    /// items with interactions, equal to the model's rows; `latest:cf-factors` finds them.
    @Test func factorModelsStoreTheirItemFactorsAsACFSet() throws {
        let (catalog, _, _) = try catalogWithTwoEmbeddingModels()
        defer { withExtendedLifetime(catalog) {} }
        let (ials, parameters) = try registeredStrategies.make("ials", overrides: ["factors": "3", "iterations": "2"])
        let trained = try catalog.db.trainAndSave(ials, parameters: parameters, storeFactors: true)
        let set = try #require(try EmbeddingSetStore(catalog.db).list().first { $0.kind == .cfFactors })
        #expect(set.id == trained.id && set.dimension == 3 && set.items == 3, "x, y, z have ratings; cold and bare none")
        let factors = try #require(trained.model as? any ItemFactorModel)
        let snapshot = try catalog.db.loadSnapshot()
        let table = try #require(try catalog.db.loadItemEmbeddings(model: set.id, itemIDs: snapshot.itemIDs))
        for id in ["x", "y", "z"] {
            let k = Int(trained.items.index(of: id)!)
            #expect(table.vector(snapshot.ratings.items.index(of: id)!).map(Array.init) == Array(factors.itemFactorRows[k * 3..<(k + 1) * 3]))
        }
        #expect(table.vector(snapshot.ratings.items.index(of: "cold")!) == nil)
        #expect(try catalog.db.embeddingModel(.latestOfKind(.cfFactors)) == trained.id)
        let (popularity, p) = try registeredStrategies.make("popularity")
        #expect(throws: ParameterError.self) { try catalog.db.trainAndSave(popularity, parameters: p, storeFactors: true) }
    }
}

