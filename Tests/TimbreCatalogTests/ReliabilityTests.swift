import Foundation
import Testing
import TimbreCore
import TimbreEvaluation
import TimbreStrategies
import TimbreTestSupport
@testable import TimbreCatalog
import TimbreInterchange

private let nfc = "caf\u{E9}"
private let nfd = "cafe\u{301}"

/// Issue 17's cases that need the catalog: one identity rule for ids, concurrent imports,
/// analysed staging tables, errors that say where.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct CatalogReliabilityTests {
    @Test func idsWrittenInNFDAreOneUserInNFCAndListsGoToTheRightUsers() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        // "cafe" (plain) sorts between the two spellings' byte forms, so a merged key would shift
        // every later user's list by one.
        let ratings = try TestData.file("r.csv", "user,item,rating\n\(nfd),x,5\n\(nfd),y,1\ncafe,x,4\ncafe,z,5\nzoe,z,4\nzoe,w,2\n\(nfc)x,x,3\n\(nfc)x,y,4\n")
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let stored = try catalog.db.query("SELECT external_id FROM users ORDER BY id")
        #expect(Set(try stored.map { Array(try $0.string("external_id").utf8) }) == Set([nfc, "cafe", "zoe", nfc + "x"].map { Array($0.utf8) }))
        // Both spellings on the command line find the user.
        for spelling in [nfc, nfd] {
            let result = try TestData.runTimbre(["recommend", "--database", catalog.url, "--strategy", "popularity", "--user", spelling, "--format", "csv"])
            #expect(result.status == 0, "\(result.err)")
            #expect(result.out.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] } == ["z", "w"])
        }
        let published = try TestData.runTimbre(["publish", "--database", catalog.url, "--strategy", "popularity", "-n", "2"])
        #expect(published.status == 0, "\(published.err)")
        let list = try catalog.db.query("""
            SELECT u.external_id AS user, i.external_id AS item FROM recommendation_entries e
            JOIN users u ON u.id = e.user_id JOIN items i ON i.id = e.item_id WHERE e.list_id = $1 ORDER BY u.id, e.rank
            """, [try #require(Int64(published.out.trimmingCharacters(in: .whitespacesAndNewlines)))])
        var got: [[UInt8]: [String]] = [:]
        for row in list { got[Array(try row.string("user").utf8), default: []].append(try row.string("item")) }
        #expect(got == [Array(nfc.utf8): ["z", "w"], Array("cafe".utf8): ["y", "w"], Array("zoe".utf8): ["x", "y"],
                        Array((nfc + "x").utf8): ["z", "w"]])
    }

    @Test func twoSpellingsInOneFileAreRefusedAndNothingIsWritten() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let path = try TestData.file("r.csv", "user,item,rating\n\(nfc),x,5\nbob,x,3\n\(nfd),y,1\n")
        do {
            _ = try CatalogImporter(ratingsFile: path).run(catalog.db)
            Issue.record("import should have failed")
        } catch let error as InputFileError {
            #expect(error.file == path && error.line == 4 && error.message.contains("line 2"), "\(error)")
        }
        #expect(try catalog.counts() == [0, 0, 0])
    }

    @Test func migrationNormalisesStoredIdsAndRefusesIdsThatWouldMerge() throws {
        let before8 = try Migrator(migrations: Migrator.bundled().migrations.filter { $0.version < 8 })
        let clean = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(clean) {} }
        try before8.migrate(clean.db)
        try clean.db.query("INSERT INTO users (external_id) VALUES ($1), ('bob')", [nfd])
        try Migrator.bundled().migrate(clean.db)
        #expect(try Array(clean.db.query("SELECT external_id FROM users ORDER BY id")[0].string("external_id").utf8) == Array(nfc.utf8))
        #expect(throws: DatabaseError.self) { try clean.db.query("INSERT INTO users (external_id) VALUES ($1)", [nfd + "2"]) }

        let clashing = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(clashing) {} }
        try before8.migrate(clashing.db)
        try clashing.db.query("INSERT INTO items (external_id) VALUES ($1), ($2)", [nfc, nfd])
        do {
            try Migrator.bundled().migrate(clashing.db)
            Issue.record("migration 008 should refuse ids that become one")
        } catch let error as DatabaseError {
            #expect(error.description.contains("items") && error.description.contains(nfc) && error.description.contains("id 2"), "\(error)")
        }
        #expect(try clashing.count("items") == 2)
    }

    @Test func snapshotRefusesCatalogIdsThatSwiftWouldMerge() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        // A catalog written around migration 008's check.
        try catalog.db.execute("ALTER TABLE users DROP CONSTRAINT users_external_id_nfc")
        try catalog.db.query("INSERT INTO users (external_id) VALUES ($1), ('bob'), ($2)", [nfc, nfd])
        do {
            _ = try catalog.db.loadConsistentSnapshot()
            Issue.record("the snapshot merged two catalog users")
        } catch let error as DatabaseError {
            #expect(error.description.contains("NFC") && error.description.contains("U+0301"), "\(error)")
        }
    }

    @Test func inputErrorsNameFileLineAndAShortValue() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let nul = try TestData.file("nul.inter", "user_id:token\titem_id:token\trating:float\n1\t10\t4\n2\t1\u{0}1\t3\n")
        let long = try TestData.file("long.inter", "user_id:token\titem_id:token\trating:float\n1\t10\t4\n\(String(repeating: "9", count: 10_000))\t11\t3\n")
        for (path, message) in [(nul, "NUL byte"), (long, "at most 256")] {
            do {
                _ = try CatalogImporter(ratingsFile: path).run(catalog.db)
                Issue.record("\(path) should fail")
            } catch let error as InputFileError {
                #expect(error.file == path && error.line == 3 && error.message.contains(message), "\(error)")
                #expect(error.description.count < path.count + 200)
            }
        }
        #expect(try catalog.counts() == [0, 0, 0])
    }

    @Test func stagedRowsAreAnalysedBeforeTheyAreMerged() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        // A fresh temporary table has no statistics (reltuples -1) until ANALYZE; autovacuum never
        // analyses temporary tables, so the importer must.
        let tuples = try catalog.db.transaction {
            try catalog.db.stage("stage_probe", "(id text)", ["a", "b", "c", "d", "e"]) { [$0] }
            return try catalog.db.query("SELECT reltuples::bigint FROM pg_class WHERE oid = 'stage_probe'::regclass").scalar(Int64.self)
        }
        #expect(tuples == 5)
    }

    @Test func concurrentImportsThatShareNewUsersAndItemsBothSucceed() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let count = 3_000
        for round in 0..<6 {
            let users = (0..<count).map { "u\(round)-\($0)" }, items = (0..<count).map { "i\(round)-\($0)" }
            // One import writes items first and then the users its ratings name; the other writes
            // those users first and then the same items: without one order they wait on each other.
            let first = CatalogImporter(
                ratingsFile: try TestData.file("r.csv", "user,item,rating\n" + zip(users, items).map { "\($0),\($1),4\n" }.joined()),
                itemsFile: try TestData.file("i.csv", "item_id,title\n" + items.map { "\($0),t\n" }.joined()))
            let second = CatalogImporter(
                itemsFile: try TestData.file("i.csv", "item_id,title\n" + items.reversed().map { "\($0),t\n" }.joined()),
                usersFile: try TestData.file("u.csv", "user_id,age\n" + users.reversed().map { "\($0),30\n" }.joined()))
            let url = catalog.url
            let outcomes = onThreads(2) { k -> String? in
                do {
                    let db = try PostgresConnection(url: url)
                    _ = try (k == 0 ? first : second).run(db)
                    return nil
                } catch { return "\(error)" }
            }
            #expect(outcomes == [nil, nil], "round \(round)")
        }
        #expect(try catalog.counts() == [6 * count, 6 * count, 6 * count])
    }
}

/// Options and connection strings: refused with the option and its range, never echoing a secret.
struct OptionAndSecretTests {
    @Test(arguments: [
        (["recommend", "--strategy", "popularity", "--user", "a", "-n", "-5"], "-n must be 1 to 10000, got -5"),
        (["publish", "--strategy", "popularity", "-n", "9223372036854775807"], "-n must be 1 to 10000, got 9223372036854775807"),
        (["evaluate", "--ratings", "x.csv", "--folds", "100000"], "--folds must be 2 to 100, got 100000"),
        (["evaluate", "--ratings", "x.csv", "--relevant-at-least", "nan"], "--relevant-at-least must be a finite rating"),
        (["audio", "plot", "x.wav", "--out", "x.png", "--width", "100000000"], "--width must be 300 to 20000"),
    ])
    func oversizedOptionsAreRefusedWithTheirRange(_ arguments: [String], _ message: String) throws {
        let result = try TestData.runTimbre(arguments)
        #expect(result.status != 0)
        #expect(result.err.contains(message), "\(result.err)")
    }

    @Test(arguments: [
        // (connection string, password, text the message must keep)
        ("postgresql://alice:a@[::1/db", "a", "alice:********@[::1/db"),
        ("postgress://alice:postgres@localhost/postgres", "postgres", "alice:********@localhost/postgres"),
        ("postgresql://alice:pw%zz@localhost/db", "pw%zz", "percent-encoded"),
        ("host=localhost password=sec ret port=1", "sec ret", "missing \"=\""),
        ("host=localhost password=hunter2 port=abc", "hunter2", "\"abc\""),
    ])
    func malformedConnectionStringsNeverShowThePassword(_ url: String, _ password: String, _ kept: String) throws {
        do {
            _ = try PostgresConnection(url: url)
            Issue.record("connected with \(url)?")
        } catch {
            let text = "\(error)"
            #expect(text.contains(kept), "\(text)")
            #expect(!text.contains(url), "\(text)")
            for piece in password.split(separator: " ") {
                #expect(!text.contains("\"\(piece)\"") && !text.contains(":\(piece)@"), "\(text)")
            }
        }
    }

    @Test func redactionReplacesOnlyThePasswordSpan() {
        let secret = ConnectionSecret("postgresql://a:a@host/a?password=a&sslmode=disable")
        #expect(secret.redactedInfo == "postgresql://a:********@host/a?password=********&sslmode=disable")
        #expect(secret.redact("bad \"postgresql://a:a@host/a?password=a&sslmode=disable\" at a") == "bad \"\(secret.redactedInfo)\" at a")
        #expect(ConnectionSecret("dbname=x password='it\\'s a secret' host=h").redactedInfo == "dbname=x password=******** host=h")
    }
}

struct SizeBoundTests {
    @Test func aListLongerThanTheItemsHoldsEveryItemOnce() {
        let scores: [Float] = [0.5, 2, 1, -.infinity]
        #expect(topN(scores, n: Int.max).map(\.item) == [1, 2, 0])
        #expect(topN(scores, n: 1 << 40, excluding: [1]).map(\.item) == [2, 0])
    }

    @Test func moreFoldsThanRatingsAreRefused() throws {
        let m = try RatingMatrix(users: Vocabulary(["a", "b"]), items: Vocabulary(["x", "y"]),
                                 ratings: [RatingTriple(user: 0, item: 0, value: 4, timestamp: 0), RatingTriple(user: 1, item: 1, value: 3, timestamp: 0),
                                           RatingTriple(user: 0, item: 1, value: 2, timestamp: 0)])
        #expect(throws: EvaluationError.self) { try SplitSpec(.randomKFold(folds: 4)).splits(of: m) }
        #expect(throws: EvaluationError.self) { try SplitSpec(.userHoldout(folds: 3, fraction: 0.5)).splits(of: m) }
        #expect(throws: EvaluationError.self) { try SplitSpec(.randomKFold(folds: Int.max)).splits(of: m) }
        #expect(try SplitSpec(.randomKFold(folds: 3)).splits(of: m).count == 3)
    }

    @Test func strategyParametersOutsideTheirRangeAreRefused() throws {
        #expect(throws: ParameterError.self) { try registeredStrategies.make(StrategySpec.parse("bias:iterations=1000000000")) }
        #expect(throws: ParameterError.self) { try registeredStrategies.make(StrategySpec.parse("item-knn:k=0")) }
        do { _ = try registeredStrategies.make(StrategySpec.parse("bias:iterations=1000000000")) } catch {
            #expect("\(error)".contains("iterations") && "\(error)".contains("1…1000"), "\(error)")
        }
        // kept applies to explicit mode only: implicit item-knn with k above kept is fine.
        _ = try registeredStrategies.make(StrategySpec.parse("item-knn:mode=implicit,k=500,kept=300"))
        #expect(throws: ParameterError.self) { try registeredStrategies.make(StrategySpec.parse("item-knn:mode=explicit,k=500,kept=300")) }
    }
}
