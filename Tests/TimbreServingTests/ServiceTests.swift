import Foundation
import Testing
import TimbreCatalog
import TimbreCore
import TimbreStrategies
import TimbreTestSupport
@testable import TimbreServing
import TimbreInterchange

/// Three users and six items, small enough to work lists out by hand with `popularity`:
/// ann rated 1; bob 1, 2, 4; cat 1, 2, 4, 5. Counts: 1 → 3, 2 → 2, 4 → 2, 5 → 1, 3 and 6 → 0, so
/// ann's list is 2, 4, 5, 3, 6 (ties by catalog order). Items 2 and 3 share a title; 5 is a 5 s
/// jingle, 6 has no audio; albums: 2 and 4 on A, 3 and 5 on B.
func tinyCatalog() throws -> TestCatalog {
    let catalog = try TestCatalog()
    try catalog.db.execute("""
        INSERT INTO users (external_id) VALUES ('ann'), ('bob'), ('cat');
        INSERT INTO items (external_id, title, metadata) VALUES
            ('1', 'Overworld', '{"album": "Z", "artist": "Koji Kondo"}'), ('2', 'Dungeon', '{"album": "A"}'),
            ('3', 'Dungeon', '{"album": "B"}'), ('4', 'Boss', '{"album": "A"}'), ('5', 'Jingle', '{"album": "B"}'),
            ('6', 'Credits', '{}');
        INSERT INTO audio_features (item_id, content_sha256, source_path, format, sample_rate, channels, duration_s,
                                    n_coefficients, n_frames, extractor, mfcc)
        SELECT id, sha256(convert_to(external_id, 'UTF8')), external_id || '.ogg', 'ogg', 22050, 1,
               CASE external_id WHEN '5' THEN 5 ELSE 120 END, 1, 0, '{}', ''::bytea
        FROM items WHERE external_id <> '6';
        INSERT INTO ratings (user_id, item_id, value)
        SELECT u.id, i.id, 1 FROM users u JOIN items i ON (u.external_id, i.external_id) IN
            (('ann', '1'), ('bob', '1'), ('bob', '2'), ('bob', '4'), ('cat', '1'), ('cat', '2'), ('cat', '4'), ('cat', '5'));
        """)
    return catalog
}

let popularity = try! StrategyChoice("popularity")

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct RecommenderServiceTests {
    /// A rating estimate past the catalog's scale is shown at its top (user-kNN with mean centring
    /// estimates 4.5 + 2/3 for u0's unrated i2, see NeighbourhoodTests); implicit scores are not
    /// ratings and are shown as they are.
    @Test(arguments: [true, false])
    func ratingScoresAreShownOnTheCatalogsScale(ratingsInMemory: Bool) throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        try catalog.db.execute("""
            INSERT INTO users (external_id) VALUES ('u0'), ('u1');
            INSERT INTO items (external_id, title, metadata) VALUES ('i0', 'a', '{}'), ('i1', 'b', '{}'), ('i2', 'c', '{}');
            INSERT INTO ratings (user_id, item_id, value)
            SELECT u.id, i.id, v.value FROM (VALUES ('u0', 'i0', 5), ('u0', 'i1', 4), ('u1', 'i0', 5), ('u1', 'i1', 3), ('u1', 'i2', 5))
                AS v(u, i, value) JOIN users u ON u.external_id = v.u JOIN items i ON i.external_id = v.i;
            """)
        let service = try RecommenderService(db: catalog.db, ratings: ratingsInMemory)
        let explicit = try service.recommend(RecommendationRequest(
            user: "u0", n: 1, strategy: try StrategyChoice("user-knn:k=1,similarity=cosine,centring=mean,shrinkage=0")))
        #expect(explicit.items.map(\.item) == ["i2"] && explicit.items.map(\.score) == [5])
        let implicit = try service.recommend(RecommendationRequest(
            user: "u0", n: 1, strategy: try StrategyChoice("user-knn:k=1,mode=implicit,similarity=cosine,centring=none,shrinkage=0")))
        // Binary cosine of u0 = {i0, i1} and u1 = {i0, i1, i2}: 2 / (√2·√3).
        #expect(implicit.items.map(\.item) == ["i2"] && implicit.items.map { abs($0.score - Float(2 / 6.0.squareRoot())) < 1e-5 } == [true])
    }

    @Test(arguments: [true, false])
    func servesUsersAndLikedItemsUnderRules(ratingsInMemory: Bool) throws {
        let catalog = try tinyCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let service = try RecommenderService(db: catalog.db, ratings: ratingsInMemory, defaultStrategy: popularity)
        let ann = try service.recommend(RecommendationRequest(user: "ann", n: 3))
        #expect(ann.items.map(\.item) == ["2", "4", "5"])
        #expect(ann.items.map(\.title) == ["Dungeon", "Boss", "Jingle"])
        #expect(ann.items.map(\.score) == [2, 2, 1] && ann.removedByRules.total == 0)
        // The jingle goes, and 3 moves up.
        let short = try service.recommend(RecommendationRequest(user: "ann", n: 3, rules: RecommendationRules(minDuration: 30)))
        #expect(short.items.map(\.item) == ["2", "4", "3"] && short.removedByRules == RuleCounts(minDuration: 1))
        let capped = try service.recommend(RecommendationRequest(user: "ann", n: 3, rules: try RecommendationRules(
            excludedItems: [], where: [], maxPer: ["album=1"], minDuration: nil)))
        // One per album: 2 (A) and 5 (B) stay, 4 (A) and 3 (B) go, 6 (no album) fills the list.
        #expect(capped.items.map(\.item) == ["2", "5", "6"] && capped.removedByRules == RuleCounts(maxPer: 2))
        let onlyB = try service.recommend(RecommendationRequest(user: "ann", n: 5, rules: try RecommendationRules(
            excludedItems: ["3"], where: ["album=B"], maxPer: [], minDuration: nil)))
        #expect(onlyB.items.map(\.item) == ["5"] && onlyB.removedByRules == RuleCounts(excluded: 1, where: 3))
        // Liked items by exact title or id; the profile's items are not recommended back.
        let liked = try service.recommend(RecommendationRequest(liked: ["Overworld", "4"], n: 2))
        #expect(liked.liked == ["1", "4"] && liked.items.map(\.item) == ["2", "5"])
        #expect(throws: AmbiguousTitleError(title: "Dungeon", candidates: ["2", "3"])) {
            try service.recommend(RecommendationRequest(liked: ["Dungeon"]))
        }
        #expect(throws: UnknownItemsError.self) { try service.recommend(RecommendationRequest(liked: ["Nope"])) }
        #expect(throws: UnknownUserError.self) { try service.recommend(RecommendationRequest(user: "dan")) }
        #expect(throws: UnknownItemsError.self) {
            try service.recommend(RecommendationRequest(user: "ann", rules: RecommendationRules(excludedItems: ["99"])))
        }
        #expect(throws: ServingRequestError.self) { try service.recommend(RecommendationRequest(user: "ann", liked: ["1"])) }
        // One model, trained once, served to every request.
        #expect(try catalog.count("trained_models") == 1)
    }

    @Test func catalogExclusionsApplyToEveryoneOrOneUser() throws {
        let catalog = try tinyCatalog()
        defer { withExtendedLifetime(catalog) {} }
        #expect(try catalog.db.addExclusions([(nil, "2"), ("ann", "4")], reason: "licensing") == 2)
        #expect(try catalog.db.addExclusions([(nil, "2")], reason: nil) == 0)
        // An unknown item or user refuses the whole batch.
        #expect(throws: UnknownItemsError.self) { try catalog.db.addExclusions([(nil, "3"), (nil, "99")], reason: nil) }
        #expect(throws: UnknownUserError.self) { try catalog.db.addExclusions([("dan", "3")], reason: nil) }
        #expect(try catalog.count("excluded_items") == 2)
        let service = try RecommenderService(db: catalog.db, ratings: true, defaultStrategy: popularity)
        let ann = try service.recommend(RecommendationRequest(user: "ann", n: 2))
        #expect(ann.items.map(\.item) == ["5", "3"] && ann.removedByRules == RuleCounts(excluded: 2))
        // Everyone loses 2, only ann loses 4: a liked-items profile gets 4.
        let anonymous = try service.recommend(RecommendationRequest(liked: ["Overworld"], n: 2))
        #expect(anonymous.items.map(\.item) == ["4", "5"])
    }

    /// The service serves what the stored model ranks: the same items and scores as ranking the
    /// model's scores directly, on MovieLens with item-kNN; explanations add up to at most 1.
    @Test func servesWhatTheStoredModelRanks() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        _ = try CatalogImporter(ratingsFile: try TestData.movieLensDirectory + "/ml-100k.inter").run(catalog.db)
        let choice = try StrategyChoice("item-knn:mode=implicit")
        let service = try RecommenderService(db: catalog.db, ratings: true, defaultStrategy: choice)
        let live = try RecommenderService(db: catalog.db, ratings: false, defaultStrategy: choice)
        let stored = try service.model(choice).stored
        for user in ["196", "1", "943"] {
            var scores: [Float] = []
            let direct = stored.recommend(stored.profile(user: user, ratings: try catalog.db.ratings(ofUser: user)), n: 10, scores: &scores)
            let served = try service.recommend(RecommendationRequest(user: user, n: 10, explain: 3))
            #expect(served.items.map(\.item) == direct.map { stored.items[$0.item] })
            #expect(served.items.map(\.score) == direct.map(\.score))
            #expect(try live.recommend(RecommendationRequest(user: user, n: 10)).items.map(\.item) == served.items.map(\.item))
            let rated = Set(try catalog.db.ratings(ofUser: user).map(\.item))
            for r in served.items {
                let explanation = try #require(r.explanation)
                #expect(!explanation.isEmpty && explanation.count <= 3 && explanation.allSatisfy { rated.contains($0.item) })
                #expect(explanation.reduce(0) { $0 + $1.share } <= 1.0001)
            }
        }
        // The live service found the same stored model instead of training another.
        #expect(try catalog.count("trained_models") == 1)
        let batch = service.recommendAll(["196", "1", "nobody"].map { RecommendationRequest(user: $0, n: 5) })
        #expect(try batch[0].get().items.count == 5 && (try? batch[2].get()) == nil)
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct PublisherTests {
    @Test func namedListsSwitchWholeAndPrune() throws {
        let catalog = try tinyCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let service = try RecommenderService(db: catalog.db, ratings: true)
        let publisher = Publisher(db: catalog.db, service: service)
        let first = try publisher.publish(popularity, name: "home", n: 2)
        #expect(first.users == 3 && first.entries == 2 + 2 + 2)
        #expect(try catalog.db.publishedRecommendations(list: "home", user: "ann").entries.map(\.item) == ["2", "4"])
        let second = try publisher.publish(popularity, name: "home", n: 3, rules: RecommendationRules(minDuration: 30))
        let ann = try catalog.db.publishedRecommendations(list: "home", user: "ann")
        #expect(ann.listID == second.listID && ann.entries.map(\.item) == ["2", "4", "3"] && ann.entries.map(\.title) == ["Dungeon", "Boss", "Dungeon"])
        // cat rated all but 3 and 6; bob all but 3, 5, 6 (5 is the jingle).
        #expect(try catalog.db.publishedRecommendations(list: "home", user: "cat").entries.map(\.item) == ["3", "6"])
        #expect(second.removedByRules == RuleCounts(minDuration: 2))
        let other = try publisher.publish(popularity, n: 1)
        #expect(other.name == "popularity")

        let lists = try catalog.db.publishedLists()
        #expect(lists.map(\.id) == [other.listID, second.listID, first.listID])
        #expect(lists.map(\.current) == [true, true, false])
        #expect(lists.map(\.name) == ["popularity", "home", "home"])

        // A list that fails half-way leaves the current one in place and no trace.
        #expect(throws: DatabaseError.self) {
            try catalog.db.insertPublishedList(name: "home", strategy: "popularity", modelID: second.modelID, listLength: 1, rulesJSON: "{}",
                                               entries: [PublishedEntry(userID: 1, rank: 1, itemID: 999_999, score: 1, explanationJSON: nil)])
        }
        #expect(try catalog.db.publishedRecommendations(list: "home", user: "ann").listID == second.listID)
        #expect(try catalog.db.publishedLists().count == 3)

        #expect(try catalog.db.prunePublishedLists(keep: 1) == [first.listID])
        #expect(try catalog.db.publishedLists().map(\.id) == [other.listID, second.listID])
        #expect(try catalog.db.query("SELECT count(*) FROM recommendation_entries WHERE list_id = $1", [first.listID]).scalar(Int.self) == 0)
        #expect(throws: UnknownListError.self) { try catalog.db.publishedRecommendations(list: "nope", user: "ann") }
        #expect(throws: UnknownUserError.self) { try catalog.db.publishedRecommendations(list: "home", user: "dan") }
    }

    @Test func publishedEntriesKeepTheirExplanations() throws {
        let catalog = try tinyCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let service = try RecommenderService(db: catalog.db, ratings: true)
        let choice = try StrategyChoice("item-knn:mode=implicit,k=5")
        _ = try Publisher(db: catalog.db, service: service).publish(choice, name: "because", n: 2, explain: 2)
        let served = try service.recommend(RecommendationRequest(user: "ann", n: 2, strategy: choice, explain: 2))
        let published = try catalog.db.publishedRecommendations(list: "because", user: "ann").entries
        #expect(published.map(\.item) == served.items.map(\.item) && !published.isEmpty)
        for (p, s) in zip(published, served.items) {
            let stored = try JSONDecoder().decode([ExplanationEntry].self, from: Data(try #require(p.explanationJSON).utf8))
            #expect(stored == s.explanation)
            // ann rated only item 1: it explains everything she gets.
            #expect(stored.map(\.item) == ["1"] && stored.map(\.title) == ["Overworld"])
        }
    }
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct ServeCommandTests {
    /// `serve --stdio` as an app drives it: good and bad requests, one answer line each, in order,
    /// ids echoed, and exit 0 at end of input.
    @Test func answersEveryLineInOrder() throws {
        let catalog = try tinyCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let requests = [
            #"{"id": 1, "user": "ann", "n": 2}"#,
            #"this is not JSON"#,
            #"{"id": "x", "user": "nobody"}"#,
            #"{"id": 4, "like": ["Overworld"], "n": 1, "strategy": "popularity"}"#,
            #"{"id": 5, "user": "ann", "n": 3, "min-duration": 30, "max-per": ["album=1"]}"#,
            #"{"id": 6, "user": "ann", "n": 1, "strategy": "item-knn:mode=implicit", "explain": true}"#,
            #"{"id": 7, "user": "ann", "n": 0}"#,
            #"{"id": 8, "user": "bob", "n": 1, "strategy": "ease:lambda=1", "explain": 5}"#,
        ]
        let run = try TestData.runTimbre(["serve", "--stdio", "--strategy", "popularity", "--database", catalog.url],
                                         input: requests.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "\(run.err)")
        let answers = try run.out.split(separator: "\n").map { line -> [String: JSONValue] in
            guard case let .object(fields) = try JSONValue.parse(String(line)) else { throw ServingRequestError("not an object: \(line)") }
            return fields
        }
        try #require(answers.count == requests.count)
        #expect(answers.map { $0["id"] } == [.number(1), nil, .string("x"), .number(4), .number(5), .number(6), .number(7), .number(8)])
        func items(_ k: Int) -> [String] {
            guard case let .array(entries)? = answers[k]["items"] else { return [] }
            return entries.compactMap { if case let .object(e) = $0, case let .string(id)? = e["item"] { id } else { nil } }
        }
        #expect(items(0) == ["2", "4"])
        #expect(answers[1]["error"]?.scalarText?.contains("line 2: not a JSON object") == true)
        #expect(answers[2]["error"]?.scalarText?.contains("nobody") == true)
        #expect(items(3) == ["2"])
        #expect(items(4) == ["2", "3", "6"])
        guard case let .object(removed)? = answers[4]["removedByRules"] else { Issue.record("no removedByRules"); return }
        #expect(removed["minDuration"] == .number(1) && removed["maxPer"] == .number(1))
        guard case let .array(entries)? = answers[5]["items"], case let .object(first)? = entries.first,
              case let .array(explanation)? = first["explanation"], case let .object(because)? = explanation.first else {
            Issue.record("no explanation in \(answers[5])"); return
        }
        #expect(because["item"] == .string("1") && because["share"] == .number(1))
        #expect(answers[6]["error"]?.scalarText?.contains("n' must be") == true)
        // ease explains with every term of bob's three rated items: their shares add up to 1.
        guard case let .array(easeEntries)? = answers[7]["items"], case let .object(top)? = easeEntries.first,
              case let .array(terms)? = top["explanation"] else {
            Issue.record("no ease explanation in \(answers[7])"); return
        }
        let shares = terms.compactMap { term -> (String, Double)? in
            guard case let .object(t) = term, case let .string(item)? = t["item"], case let .number(share)? = t["share"] else { return nil }
            return (item, share)
        }
        #expect(shares.count == 3 && Set(shares.map(\.0)) == ["1", "2", "4"])
        #expect(abs(shares.reduce(0) { $0 + $1.1 } - 1) < 1e-5)
    }

    @Test func recommendListsItemsAndReadsPublishedLists() throws {
        let catalog = try tinyCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let db = ["--database", catalog.url]
        let users = try TestData.file("users.txt", "# users\nann\n\nbob\n")
        let batch = try TestData.runTimbre(["recommend", "--users", users, "--strategy", "popularity", "-n", "1", "--format", "csv"] + db)
        #expect(batch.status == 0, "\(batch.err)")
        #expect(batch.out == "user,rank,item,title,score\nann,1,2,Dungeon,2.0\nbob,1,5,Jingle,1.0\n")
        let bad = try TestData.file("users.txt", "ann\nzed\n")
        let refused = try TestData.runTimbre(["recommend", "--users", bad, "--strategy", "popularity"] + db)
        #expect(refused.status != 0 && refused.err.contains("\(bad):2: no user 'zed'"))
        let excluded = try TestData.file("x.txt", "2\n")
        let ruled = try TestData.runTimbre(["recommend", "--user", "ann", "--strategy", "popularity", "-n", "1", "--exclude-items", excluded,
                                            "--format", "csv"] + db)
        #expect(ruled.out == "rank,item,title,score\n1,4,Boss,2.0\n" && ruled.err.contains("rules removed 1"))
        // A liked item nobody rated has no neighbours: item-kNN can say nothing, and says so.
        let nothing = try TestData.runTimbre(["recommend", "--like", "Credits", "--strategy", "item-knn:mode=implicit"] + db)
        #expect(nothing.status != 0 && nothing.err.contains("scores no item"))
        let ambiguous = try TestData.runTimbre(["items", "show", "Dungeon"] + db)
        #expect(ambiguous.status != 0 && ambiguous.err.contains("2, 3"))
        let search = try TestData.runTimbre(["items", "search", "kondo", "--format", "csv"] + db)
        #expect(search.out == "item,title,duration_s,metadata\n1,Overworld,120.0,\"{\"\"album\"\":\"\"Z\"\",\"\"artist\"\":\"\"Koji Kondo\"\"}\"\n")

        let published = try TestData.runTimbre(["publish", "--strategy", "popularity", "--name", "home", "-n", "2"] + db)
        #expect(published.status == 0, "\(published.err)")
        let show = try TestData.runTimbre(["lists", "show", "home", "--user", "ann", "--format", "csv"] + db)
        #expect(show.out == "rank,item,title,score\n1,2,Dungeon,2.0\n2,4,Boss,2.0\n")
        let prune = try TestData.runTimbre(["lists", "prune", "--keep", "0"] + db)
        #expect(prune.status != 0 && prune.err.contains("--keep must be at least 1"))
        // The models the commands above trained, newest first, for the hints that point here.
        let models = try catalog.db.storedModels()
        #expect(models.map(\.strategy) == ["item-knn", "popularity"] && models.allSatisfy { $0.bytes > 0 && $0.embeddingSet == nil })
        #expect(try catalog.db.storedModels(strategy: "popularity").map(\.id) == [models[1].id])
        let listed = try TestData.runTimbre(["models", "list", "--format", "csv"] + db)
        #expect(listed.status == 0 && listed.out.split(separator: "\n").count == 3 && listed.out.contains(",popularity,"))
    }
}
