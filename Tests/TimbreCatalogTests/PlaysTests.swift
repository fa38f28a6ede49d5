import Foundation
import Testing
import TimbreCore
import TimbreStrategies
import TimbreTestSupport
@testable import TimbreCatalog
import TimbreInterchange

/// Per-pair totals and first play times straight from the table, by external ids.
private func totals(_ catalog: TestCatalog) throws -> [String: (plays: Int, first: Int64?)] {
    let rows = try catalog.db.query("""
        SELECT u.external_id || '/' || i.external_id AS pair, p.plays, extract(epoch FROM p.first_played_at)::bigint AS first
        FROM play_totals p JOIN users u ON u.id = p.user_id JOIN items i ON i.id = p.item_id
        """)
    var out: [String: (plays: Int, first: Int64?)] = [:]
    for row in rows { out[try row.string("pair")] = (try row.int("plays"), try row.optionalInt64("first")) }
    return out
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct PlaysImportTests {
    @Test func playLogAndCountFileAddUp() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        // A play log (one line per play, a pair on several lines) and a count file (TSV).
        let log = try TestData.file("plays.csv", "user_id,track_id,timestamp\na,x,200\na,x,100\na,y,150\nb,x,50\n")
        let counts = try TestData.file("counts.tsv", "user\titem\tcount\na\tx\t3\nb\tz\t2\n")
        let first = try CatalogImporter(playsFile: log).run(catalog.db)
        #expect(first.playRowsAdded == 4 && first.playsAdded == 4)
        #expect(first.playPairsAdded == 3 && first.playPairsUpdated == 0)
        #expect(first.usersAdded == 2 && first.itemsAdded == 2)
        let second = try CatalogImporter(playsFile: counts).run(catalog.db)
        #expect(second.playRowsAdded == 2 && second.playsAdded == 5)
        #expect(second.playPairsAdded == 1 && second.playPairsUpdated == 1) // b/z new, a/x grows
        #expect(second.usersAdded == 0 && second.itemsAdded == 1)
        let t = try totals(catalog)
        #expect(t.count == 4)
        #expect(t["a/x"]?.plays == 5 && t["a/x"]?.first == 100)
        #expect(t["a/y"]?.plays == 1 && t["a/y"]?.first == 150)
        #expect(t["b/x"]?.plays == 1 && t["b/x"]?.first == 50)
        #expect(t["b/z"]?.plays == 2 && t["b/z"]?.first == nil)
        // Every line is kept with its time; the totals are the sums of their counts.
        #expect(try catalog.count("plays") == 6)
        let mismatched = try catalog.db.query("""
            SELECT count(*) FROM play_totals t
            WHERE t.plays <> (SELECT sum(count) FROM plays p WHERE p.user_id = t.user_id AND p.item_id = t.item_id)
            """).scalar(Int.self)
        #expect(mismatched == 0)
        #expect(try catalog.db.query("SELECT count(*) FROM plays WHERE played_at IS NOT NULL").scalar(Int.self) == 4)
        // A deleted user takes their totals (foreign key) and their plays (trigger) along.
        try catalog.db.execute("DELETE FROM users WHERE external_id = 'a'")
        #expect(try totals(catalog).keys.sorted() == ["b/x", "b/z"])
        #expect(try catalog.count("plays") == 2)
    }

    @Test func theSameFileTwiceAddsNothingAndAChangedFileAdds() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let text = "user,item,plays\na,x,2\nb,y,1\n"
        let path = try TestData.file("counts.csv", text)
        _ = try CatalogImporter(playsFile: path).run(catalog.db)
        let before = try totals(catalog)
        let again = try CatalogImporter(playsFile: path).run(catalog.db)
        #expect(again.playsAdded == 0 && again.playRowsAdded == 0 && again.playPairsAdded == 0)
        #expect(again.alreadyImported.count == 1 && again.alreadyImported[0].contains("nothing added"))
        // Recognised by content, not by name: a copy under another name is the same file.
        let copy = try TestData.file("renamed.csv", text)
        let renamed = try CatalogImporter(playsFile: copy).run(catalog.db)
        #expect(renamed.alreadyImported.count == 1 && renamed.alreadyImported[0].contains(path))
        #expect(try totals(catalog).mapValues(\.plays) == before.mapValues(\.plays))
        #expect(try catalog.count("imported_files") == 1)

        // One more line makes another file: all of its lines add.
        let changed = try TestData.file("counts.csv", text + "a,y,4\n")
        let summary = try CatalogImporter(playsFile: changed).run(catalog.db)
        #expect(summary.alreadyImported.isEmpty && summary.playsAdded == 7)
        let after = try totals(catalog)
        #expect(after["a/x"]?.plays == 4 && after["b/y"]?.plays == 2 && after["a/y"]?.plays == 4)
        #expect(try catalog.count("imported_files") == 2)
    }

    /// Each bad file fails with its line and leaves the catalog (including the list of imported
    /// files, so a fixed file of the same name is not mistaken for a rerun) exactly as before.
    @Test(arguments: [
        ("count not a number", "user,item,count\na,x,2\nb,x,two\n", 3, "play count 'two'"),
        ("zero count", "user,item,count\na,x,2\nb,x,0\n", 3, "whole number from 1"),
        ("fractional count", "user,item,count\na,x,2.5\n", 2, "whole number from 1"),
        ("empty item", "user,item\na,x\nb,\n", 3, "empty item id"),
        ("bad time", "user,item,timestamp\na,x,100\na,x,soon\n", 3, "timestamp 'soon'"),
        ("wrong field count", "user,item,timestamp\na,x,100\na,x\n", 3, "expected 3 fields"),
    ])
    func badLineNamesFileAndLineAndImportsNothing(_ name: String, _ text: String, _ line: Int, _ message: String) throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let ratings = try TestData.file("ratings.csv", "user,item,rating\na,x,4\n")
        let path = try TestData.file("plays.csv", text)
        do {
            // Ratings in the same import are not written either: one transaction.
            _ = try CatalogImporter(ratingsFile: ratings, playsFile: path).run(catalog.db)
            Issue.record("\(name): import should have failed")
        } catch let error as InputFileError {
            #expect(error.file == path && error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect("\(error)".hasPrefix("\(path):\(line): "))
        }
        for table in ["users", "items", "ratings", "plays", "play_totals", "imported_files"] {
            #expect(try catalog.count(table) == 0, "\(table)")
        }
    }

    @Test func recBoleAtomicPlaysWithFloatCounts() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let path = try TestData.file("lastfm.inter", "user_id:token\titem_id:token\tplay_count:float\n1\t10\t3.0\n1\t10\t2\n2\t11\t1\n")
        let summary = try CatalogImporter(playsFile: path).run(catalog.db)
        #expect(summary.playsAdded == 6 && summary.playPairsAdded == 2)
        #expect(try totals(catalog)["1/10"]?.plays == 5)
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct FeedbackTests {
    @Test func snapshotOfPlaysEqualsTheTotalsOfTheLines() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        // Two generated files (a log with times, a count file), summed here directly as the reference.
        var rng = SeededGenerator(seed: 7)
        var expected: [String: (plays: Float, first: Int64)] = [:]
        var log = "user,item,timestamp\n", counts = "user,item,count\n"
        for _ in 0..<400 {
            let (u, i, ts) = ("u\(rng.below(15))", "i\(rng.below(25))", Int64(1_000_000 + rng.below(100_000)))
            log += "\(u),\(i),\(ts)\n"
            let old = expected[u + "/" + i]
            expected[u + "/" + i] = ((old?.plays ?? 0) + 1, min(old?.first ?? .max, ts))
        }
        for _ in 0..<100 {
            let (u, i, n) = ("u\(rng.below(20))", "i\(rng.below(25))", 1 + rng.below(9))
            counts += "\(u),\(i),\(n)\n"
            let old = expected[u + "/" + i]
            expected[u + "/" + i] = ((old?.plays ?? 0) + Float(n), old?.first ?? 0)
        }
        _ = try CatalogImporter(playsFile: try TestData.file("log.csv", log)).run(catalog.db)
        _ = try CatalogImporter(playsFile: try TestData.file("counts.csv", counts)).run(catalog.db)
        let snapshot = try catalog.db.loadConsistentSnapshot()
        #expect(snapshot.feedback == .plays)
        let m = snapshot.ratings
        #expect(m.ratingCount == expected.count)
        for t in m.triples {
            let key = m.users[t.user] + "/" + m.items[t.item]
            guard let e = expected[key] else { Issue.record("unexpected pair \(key)"); continue }
            #expect(t.value == e.plays && t.timestamp == e.first, "\(key)")
        }
        let data = try catalog.db.loadTrainingData(embeddings: .none)
        #expect(data.data.feedback == .plays)
        // Without times (train, publish): the same pairs and totals, every time 0.
        let untimed = try catalog.db.loadConsistentSnapshot(times: false).ratings
        #expect(untimed.byUser.columns == m.byUser.columns && untimed.byUser.values == m.byUser.values)
        #expect(untimed.byUser.timestamps.allSatisfy { $0 == 0 } && m.byUser.timestamps.contains { $0 != 0 })
    }

    @Test func defaultFeedbackIsWhatTheCatalogHasAndBothIsRefused() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        #expect(try catalog.db.feedbackKind(nil) == .ratings) // empty
        #expect(throws: FeedbackChoiceError.self) { try catalog.db.feedbackKind(.plays) }
        _ = try CatalogImporter(playsFile: try TestData.file("p.csv", "user,item\na,x\nb,y\n")).run(catalog.db)
        #expect(try catalog.db.feedbackKind(nil) == .plays)
        #expect(throws: FeedbackChoiceError.self) { try catalog.db.feedbackKind(.ratings) }
        _ = try CatalogImporter(ratingsFile: try TestData.file("r.csv", "user,item,rating\na,y,4\n")).run(catalog.db)
        do {
            _ = try catalog.db.feedbackKind(nil)
            Issue.record("a catalog with both should need --feedback")
        } catch let error as FeedbackChoiceError {
            #expect(error.description.contains("--feedback ratings") && error.description.contains("--feedback plays"))
        }
        #expect(try catalog.db.feedbackKind(.ratings) == .ratings)
        #expect(try catalog.db.feedbackKind(.plays) == .plays)
        #expect(try catalog.db.loadConsistentSnapshot(feedback: .ratings).ratings.ratingCount == 1)
        #expect(try catalog.db.loadConsistentSnapshot(feedback: .plays).ratings.ratingCount == 2)
        #expect(throws: FeedbackChoiceError.self) { try catalog.db.loadTrainingData(embeddings: .none) }
    }

    @Test func aModelTrainedOnPlaysIsNotServedForRatings() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        _ = try CatalogImporter(ratingsFile: try TestData.file("r.csv", "user,item,rating\na,x,5\nb,x,4\nb,y,1\n")).run(catalog.db)
        _ = try CatalogImporter(playsFile: try TestData.file("p.csv", "user,item,count\na,y,9\nb,y,3\nc,z,1\n")).run(catalog.db)
        let (popularity, parameters) = try registeredStrategies.make("popularity")
        let popularityType = type(of: popularity)
        let onPlays = try catalog.db.trainAndSave(popularity, parameters: parameters, feedback: .plays)
        #expect(onPlays.feedback == .plays)
        #expect(try catalog.db.latestModel(strategy: popularityType, parameters: parameters, feedback: .ratings,
                                           registry: registeredStrategies) == nil)
        let served = try #require(try catalog.db.latestModel(strategy: popularityType, parameters: parameters, feedback: .plays,
                                                             registry: registeredStrategies))
        #expect(served.id == onPlays.id && served.feedback == .plays)
        let onRatings = try catalog.db.trainAndSave(popularity, parameters: parameters, feedback: .ratings)
        #expect(try catalog.db.latestModel(strategy: popularityType, parameters: parameters, feedback: .ratings,
                                           registry: registeredStrategies)?.id == onRatings.id)
        // The newer ratings model does not replace the plays model for plays.
        #expect(try catalog.db.latestModel(strategy: popularityType, parameters: parameters, feedback: .plays,
                                           registry: registeredStrategies)?.id == onPlays.id)
        let trainedOn = try catalog.db.query("SELECT trained_on->>'feedback' FROM trained_models WHERE id = $1", [onPlays.id])
        #expect(try trainedOn.scalar(String.self) == "plays")

        // Serving reads the user's current plays: a's history is y with 9 plays, not the rating of x.
        let history = try catalog.db.history(ofUser: "a", feedback: .plays)
        #expect(history.count == 1 && history[0].item == "y" && history[0].value == 9)
        #expect(try catalog.db.history(ofUser: "a", feedback: .ratings).map(\.item) == ["x"])
        var scores: [Float] = []
        let top = served.recommend(served.profile(user: "a", ratings: history), n: 5, scores: &scores)
        #expect(!top.map { served.items[$0.item] }.contains("y"))
    }

    @Test func cliSaysWhichFeedbackAndRefusesAnAmbiguousCatalog() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        var log = "user,item\n"
        for u in 0..<30 { for i in 0..<12 where (u + i) % 3 != 0 { log += "u\(u),i\(i)\n" } }
        let plays = try TestData.file("plays.csv", log)
        let imported = try TestData.runTimbre(["import", "--database", catalog.url, "--plays", plays])
        #expect(imported.status == 0, "\(imported.err)")
        #expect(imported.out.contains("plays added \(log.split(separator: "\n").count - 1)"))
        let rerun = try TestData.runTimbre(["import", "--database", catalog.url, "--plays", plays])
        #expect(rerun.status == 0 && rerun.out.contains("skipped") && rerun.out.contains("nothing added"))

        let evaluated = try TestData.runTimbre(["evaluate", "--database", catalog.url, "--strategy", "popularity",
                                                "--folds", "3", "--no-save"])
        #expect(evaluated.status == 0, "\(evaluated.err)")
        #expect(evaluated.out.contains("feedback    plays"))
        #expect(evaluated.out.contains("no RMSE/MAE"))
        #expect(!evaluated.out.split(separator: "\n").contains { $0.hasPrefix("RMSE") || $0.hasPrefix("MAE") })
        #expect(evaluated.out.contains("NDCG"))
        let json = try TestData.runTimbre(["evaluate", "--database", catalog.url, "--strategy", "popularity",
                                           "--folds", "3", "--format", "json"])
        #expect(json.out.contains("\"feedback\" : \"plays\""))

        _ = try CatalogImporter(ratingsFile: try TestData.file("r.csv", "user,item,rating\nu1,i1,4\n")).run(catalog.db)
        let refused = try TestData.runTimbre(["train", "--database", catalog.url, "--strategy", "popularity"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("--feedback ratings") && refused.err.contains("--feedback plays"), "\(refused.err)")
        let trained = try TestData.runTimbre(["train", "--database", catalog.url, "--strategy", "popularity", "--feedback", "plays"])
        #expect(trained.status == 0 && trained.err.contains("on plays"), "\(trained.err)")
        let recommended = try TestData.runTimbre(["recommend", "--database", catalog.url, "--strategy", "popularity",
                                                  "--feedback", "plays", "--user", "u0", "--format", "json"])
        #expect(recommended.status == 0, "\(recommended.err)")
        #expect(recommended.out.contains("\"feedback\" : \"plays\"") && !recommended.err.contains("training one"))
    }
}
