import Foundation
import Testing
import TimbreCore
import TimbreStrategies
import TimbreTestSupport
@testable import TimbreCatalog
import TimbreInterchange

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct MigrationTests {
    @Test func migrateTwiceIsANoOp() throws {
        let catalog = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(catalog) {} }
        let migrator = try Migrator.bundled()
        let first = try migrator.migrate(catalog.db)
        #expect(first.map(\.version) == migrator.migrations.map(\.version))
        #expect(try migrator.migrate(catalog.db).isEmpty)
        #expect(try migrator.status(catalog.db).allSatisfy { $0.appliedAt != nil })
        for table in ["users", "items", "ratings", "audio_features", "trained_models", "item_embeddings",
                      "evaluation_runs", "evaluation_results", "recommendation_lists", "recommendation_entries",
                      "work_queue", "play_totals", "plays", "imported_files"] {
            #expect(try catalog.count(table) == 0)
        }
    }

    /// The migrations compiled into the binary (EmbedMigrations) are the repository's sql/ files,
    /// byte for byte and all of them.
    @Test func builtInMigrationsAreTheSQLFolderExactly() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sql").standardized
        let onDisk = try Migrator(folder: folder).migrations
        let builtIn = try Migrator(files: Migrator.embeddedFiles, source: "the binary").migrations
        #expect(onDisk.count >= 8)
        #expect(builtIn.map(\.name) == onDisk.map(\.name))
        #expect(builtIn.map { Array($0.sql.utf8) } == onDisk.map { Array($0.sql.utf8) })
    }

    @Test func unmigratedCatalogIsReportedClearly() throws {
        let catalog = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(catalog) {} }
        #expect(throws: DatabaseError.self) { try Migrator.bundled().requireCurrent(catalog.db) }
        do { try Migrator.bundled().requireCurrent(catalog.db) } catch {
            #expect("\(error)".contains("timbre db migrate"))
        }
    }

    @Test func schemaRejectsBadRows() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        try catalog.db.execute("INSERT INTO users (external_id) VALUES ('u'); INSERT INTO items (external_id) VALUES ('i')")
        // NaN rating, and a rating for a user that does not exist.
        #expect(throws: DatabaseError.self) {
            try catalog.db.execute("INSERT INTO ratings SELECT u.id, i.id, 'NaN' FROM users u, items i")
        }
        do {
            try catalog.db.query("INSERT INTO ratings (user_id, item_id, value) VALUES (999999, 1, 3)")
            Issue.record("foreign key not enforced")
        } catch let error as DatabaseError {
            #expect(error.sqlState == "23503")
        }
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct ImportTests {
    @Test func realMovieLensImportsAndReimportsIdempotently() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let dir = try TestData.movieLensDirectory
        let importer = CatalogImporter(ratingsFile: dir + "/ml-100k.inter", itemsFile: dir + "/ml-100k.item",
                                       usersFile: dir + "/ml-100k.user", scale: 1...5)
        let first = try importer.run(catalog.db)
        #expect(first.usersAdded == 943 && first.itemsAdded == 1682 && first.ratingsAdded == 100_000)
        #expect(try catalog.counts() == [943, 1682, 100_000])
        let again = try importer.run(catalog.db)
        #expect(again == ImportSummary())
        #expect(try catalog.counts() == [943, 1682, 100_000])

        let title = try catalog.db.query("""
            SELECT title, metadata->>'release_year' AS year, metadata->'genres' AS genres FROM items WHERE external_id = '1'
            """).one()
        #expect(try title.string("title") == "Toy Story")
        #expect(try title.string("year") == "1995")
        #expect(try title.string("genres") == #"["Animation", "Children's", "Comedy"]"#)
        let user = try catalog.db.query("SELECT attributes->>'occupation' FROM users WHERE external_id = '1'")
        #expect(try user.scalar(String.self) == "technician")
    }

    /// Each bad file must fail with its own line number and leave the catalog exactly as before.
    @Test(arguments: [
        ("wrong field count", "user_id:token\titem_id:token\trating:float\n1\t10\t4\n2\t10\n", 3, "expected 3 fields"),
        ("not a number", "user_id:token\titem_id:token\trating:float\n1\t10\t4\n2\t11\t3\n3\t12\tfour\n", 4, "is not a number"),
        ("outside scale", "user_id:token\titem_id:token\trating:float\n1\t10\t4\n2\t11\t6\n", 3, "outside the scale"),
        ("duplicate pair", "user_id:token\titem_id:token\trating:float\n1\t10\t4\n1\t10\t5\n", 3, "already rated item 10 on line 2"),
        ("timestamp out of range", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t4\t881250949\n2\t10\t4\t1e19\n", 3, "between the years 1 and 9999"),
    ])
    func badLineIsRejectedWithItsLineNumber(_ name: String, _ text: String, _ line: Int, _ message: String) throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let good = try TestData.file("good.inter", "user_id:token\titem_id:token\trating:float\n7\t70\t3\n")
        _ = try CatalogImporter(ratingsFile: good, scale: 1...5).run(catalog.db)
        let before = try catalog.counts()
        let path = try TestData.file("bad.inter", text)
        do {
            _ = try CatalogImporter(ratingsFile: path, scale: 1...5).run(catalog.db)
            Issue.record("\(name): import should have failed")
        } catch let error as InputFileError {
            #expect(error.file == path)
            #expect(error.line == line)
            #expect(error.message.contains(message), "\(error)")
        }
        #expect(try catalog.counts() == before)
    }

    @Test func unknownItemIsRejectedWhenItemsAreGiven() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let items = try TestData.file("movies.csv", "movieId,title,genres\n1,\"Toy Story (1995)\",Animation|Comedy\n2,\"Heat, the film\",Action\n9,Untitled,(no genres listed)\n")
        let ratings = try TestData.file("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n1,2,4,964981247\n2,3,2.5,964982224\n")
        do {
            _ = try CatalogImporter(ratingsFile: ratings, itemsFile: items).run(catalog.db)
            Issue.record("import should have failed")
        } catch let error as InputFileError {
            #expect(error.line == 4)
            #expect(error.message.contains("item 3"))
        }
        #expect(try catalog.counts() == [0, 0, 0])
        // Without the bad line it goes through, quoted CSV fields intact.
        let fixed = try TestData.file("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n1,2,4,964981247\n")
        let summary = try CatalogImporter(ratingsFile: fixed, itemsFile: items).run(catalog.db)
        #expect(summary.ratingsAdded == 2 && summary.itemsAdded == 3 && summary.usersAdded == 1)
        #expect(try catalog.db.query("SELECT metadata->'genres' FROM items WHERE external_id = '9'").scalar(String.self) == "[]")
        let title = try catalog.db.query("SELECT title, metadata->'genres' AS genres FROM items WHERE external_id = '2'").one()
        #expect(try title.string("title") == "Heat, the film")
        #expect(try title.string("genres") == #"["Action"]"#)
    }

    @Test func movieLensLayoutsAreRead() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let udata = try TestData.file("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
        let dat = try TestData.file("ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
        _ = try CatalogImporter(ratingsFile: udata).run(catalog.db)
        _ = try CatalogImporter(ratingsFile: dat).run(catalog.db)
        #expect(try catalog.counts() == [3, 4, 4])
        let r = try catalog.db.query("""
            SELECT r.value, extract(epoch FROM r.rated_at)::bigint AS seconds FROM ratings r JOIN users u ON u.id = r.user_id
            JOIN items i ON i.id = r.item_id WHERE u.external_id = '1' AND i.external_id = '1193'
            """).one()
        #expect(try r.float("value") == 5)
        #expect(try r.int64("seconds") == 978_300_760)
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct SnapshotAndModelTests {
    @Test func snapshotRoundTripsIdsAndValuesExactly() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let dir = try TestData.movieLensDirectory
        _ = try CatalogImporter(ratingsFile: dir + "/ml-100k.inter", itemsFile: dir + "/ml-100k.item").run(catalog.db)
        let snapshot = try catalog.db.loadConsistentSnapshot().ratings
        #expect(snapshot.userCount == 943 && snapshot.itemCount == 1682 && snapshot.ratingCount == 100_000)

        let file = try DelimitedTable.read(path: dir + "/ml-100k.inter", kind: .ratings).ratingRecords(scale: .movieLens)
        var expected: [String: (Float, Int64?)] = [:]
        for r in file { expected[r.user + "/" + r.item] = (r.value, r.timestamp) }
        var matched = 0
        for t in snapshot.triples {
            let key = snapshot.users[t.user] + "/" + snapshot.items[t.item]
            guard let (value, timestamp) = expected[key] else { Issue.record("unexpected rating \(key)"); continue }
            #expect(value == t.value && timestamp == t.timestamp)
            matched += 1
        }
        #expect(matched == file.count)
    }

    @Test func storedModelScoresLikeTheFittedOne() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let dir = try TestData.movieLensDirectory
        _ = try CatalogImporter(ratingsFile: dir + "/ml-100k.inter").run(catalog.db)
        // Strategies that use item embeddings get 8-d ones for all but every tenth item.
        let ids = try catalog.db.query("SELECT external_id FROM items")
        let vectors = try ids.map { try $0.string("external_id") }.filter { Int($0)! % 10 != 0 }.map { id in
            (id, (1...8).map { k in Float(sin(Double(k * Int(id)!))) })
        }
        try catalog.storeEmbeddings(Dictionary(uniqueKeysWithValues: vectors))
        for name in registeredStrategies.names {
            let (strategy, parameters) = try registeredStrategies.make(name)
            let trained = try catalog.db.trainAndSave(strategy, parameters: parameters)
            let loaded = try #require(try catalog.db.latestModel(strategy: type(of: strategy), parameters: parameters,
                                                                 embeddingModel: trained.embeddingModel, registry: registeredStrategies))
            #expect(loaded.id == trained.id)
            #expect(loaded.items == trained.items && loaded.users == trained.users)
            let history = try catalog.db.ratings(ofUser: "196")
            var a: [Float] = [], b: [Float] = []
            let top1 = trained.recommend(trained.profile(user: "196", ratings: history), n: 20, scores: &a)
            let top2 = loaded.recommend(loaded.profile(user: "196", ratings: history), n: 20, scores: &b)
            #expect(top1 == top2, "\(name)")
            #expect(a == b, "\(name)")
            #expect(top1.count == 20)
            let rated = Set(history.map(\.item))
            #expect(top1.allSatisfy { !rated.contains(loaded.items[$0.item]) })
        }
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct CommandLineTests {
    @Test func recommendForUnknownUserFailsClearly() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let ratings = try TestData.file("r.csv", "user,item,rating\na,x,5\nb,y,3\n")
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let result = try TestData.runTimbre(["recommend", "--database", catalog.url, "--user", "nobody", "--strategy", "bias"])
        #expect(result.status != 0)
        #expect(result.err.contains("no user 'nobody'"), "\(result.err)")
        #expect(result.out.isEmpty)
    }

    @Test func recommendPrintsJSONForAKnownUser() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let ratings = try TestData.file("r.csv", "user,item,rating\na,x,5\na,y,1\nb,x,4\nb,z,5\nc,z,4\n")
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let result = try TestData.runTimbre(["recommend", "--database", catalog.url, "--user", "a", "--strategy", "popularity",
                                             "-n", "5", "--format", "json"])
        #expect(result.status == 0, "\(result.err)")
        struct Output: Decodable { let items: [Recommendation] }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.out.utf8))
        // a rated x and y; z is the only other item.
        #expect(output.items.map(\.item) == ["z"])
        #expect(output.items.first?.score == 2)
    }

    /// `--strategy` takes a whole spec, nested components included; `-p` says the same thing, so
    /// the second call finds the model the first stored (the hybrid's is decoded through the registry).
    @Test func recommendTakesAHybridSpecOrItsParameters() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let ratings = try TestData.file("r.csv", "user,item,rating\na,x,5\na,y,1\nb,x,4\nb,z,5\nc,z,4\nc,w,2\nd,x,3\nd,y,4\n")
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let common = ["recommend", "--database", catalog.url, "--user", "a", "-n", "2", "--format", "json"]
        let spec = try TestData.runTimbre(common + ["--strategy", "hybrid:first=item-knn(mode=implicit,k=2),second=popularity,weight=0.5"])
        #expect(spec.status == 0, "\(spec.err)")
        #expect(spec.err.contains("training one"))
        let params = try TestData.runTimbre(common + ["--strategy", "hybrid", "-p", "first=item-knn(mode=implicit,k=2)",
                                                      "-p", "second=popularity", "-p", "weight=0.5"])
        #expect(params.status == 0, "\(params.err)")
        #expect(!params.err.contains("training one"), "\(params.err)")
        #expect(params.out == spec.out)
        // A bad spec is named whole on --strategy, and by its slot when given as a parameter.
        let bad = try TestData.runTimbre(common + ["--strategy", "hybrid:first=item-knn(mode=implicit"])
        #expect(bad.status != 0)
        #expect(bad.err.contains("strategy spec 'hybrid:first=item-knn(mode=implicit': 1 '(' never closed"), "\(bad.err)")
        let badParameter = try TestData.runTimbre(common + ["--strategy", "hybrid", "-p", "first=item-knn(mode=implicit"])
        #expect(badParameter.status != 0)
        #expect(badParameter.err.contains("hybrid: first: strategy spec 'item-knn(mode=implicit': 1 '(' never closed"),
                "\(badParameter.err)")
    }

    @Test func publishWritesTopNForEveryUserAndNothingTheyRated() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        // Rating counts x 3, y 2, z 2, w 1: no two items a user could get tie.
        let ratings = try TestData.file("r.csv", "user,item,rating\na,x,5\na,y,1\nb,x,4\nb,z,5\nc,z,4\nc,w,2\nd,x,3\nd,y,4\n")
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let result = try TestData.runTimbre(["publish", "--database", catalog.url, "--strategy", "popularity", "-n", "2"])
        #expect(result.status == 0, "\(result.err)")
        let got = try publishedList(result.out.trimmingCharacters(in: .whitespacesAndNewlines), in: catalog.db)
        #expect(got == ["a": ["z", "w"], "b": ["y", "w"], "c": ["x", "y"], "d": ["z", "w"]])
    }

    @Test func connectionErrorsNameTheServerButNotThePassword() throws {
        do {
            _ = try PostgresConnection(url: "postgresql://someone:hunter2secret@127.0.0.1:1/somedb?connect_timeout=2")
            Issue.record("connected to port 1?")
        } catch {
            let text = "\(error)"
            #expect(text.contains("somedb") && text.contains("127.0.0.1:1"), "\(text)")
            #expect(!text.contains("hunter2secret"))
        }
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct EvaluationRunTests {
    @Test func evaluateStoresARunThatShowsTheSameFigures() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let dir = try TestData.movieLensDirectory
        _ = try CatalogImporter(ratingsFile: dir + "/ml-100k.inter").run(catalog.db)
        let evaluated = try TestData.runTimbre(["evaluate", "--database", catalog.url, "--split", "kfold", "--folds", "3",
                                                "--strategy", "bias", "--strategy", "popularity", "--format", "json"])
        #expect(evaluated.status == 0, "\(evaluated.err)")
        #expect(evaluated.err.contains("stored as evaluation run #"))
        let list = try TestData.runTimbre(["runs", "list", "--database", catalog.url])
        #expect(list.out.contains("bias, popularity"), "\(list.out)")
        let id = String(try catalog.db.query("SELECT id FROM evaluation_runs").scalar(Int64.self))
        let shown = try TestData.runTimbre(["runs", "show", id, "--database", catalog.url, "--format", "json"])
        #expect(shown.status == 0, "\(shown.err)")
        // The stored run reads back as the same report that evaluate printed.
        let a = try JSONSerialization.jsonObject(with: Data(evaluated.out.utf8)) as! NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(shown.out.utf8)) as! NSDictionary
        #expect(a == b)
        let rmse = try catalog.db.query("""
            SELECT (m->>'value')::float8 FROM evaluation_results r, jsonb_array_elements(r.metrics->'metrics') m
            WHERE r.strategy = 'bias' AND m->>'name' = 'RMSE'
            """).scalar(Double?.self)
        #expect(rmse.map { $0 > 0.90 && $0 < 0.96 } == true, "bias RMSE \(String(describing: rmse))")
        let missing = try TestData.runTimbre(["runs", "show", "999999", "--database", catalog.url])
        #expect(missing.status != 0 && missing.err.contains("no evaluation run #999999"))
    }
}
