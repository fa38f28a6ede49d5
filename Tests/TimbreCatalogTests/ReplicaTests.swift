import Foundation
import Testing
import TimbreCatalog
import TimbreTestSupport
import TimbreInterchange

/// Past one machine: scripts/test starts a streaming hot-standby replica of the test server
/// (pg_basebackup -R, scripts/lib/common.sh `pg_start_replica`) and names its socket in
/// TIMBRE_TEST_REPLICA_HOST. Lists published on the primary are read on the replica once it has
/// replayed them (the table, the `published_recommendations` view and `lists show`), `recommend`
/// serves there from the replicated model, and a read-only command that
/// would have to store something fails clearly instead of training in vain.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"),
       .enabled(if: ProcessInfo.processInfo.environment["TIMBRE_SKIP_REPLICA_TESTS"] != "1", "TIMBRE_SKIP_REPLICA_TESTS=1"))
struct ReplicaTests {
    struct ReplicaMissing: Error, CustomStringConvertible {
        var description: String {
            "TIMBRE_TEST_REPLICA_HOST is not set: run the tests with scripts/test (it starts the replica), or set TIMBRE_SKIP_REPLICA_TESTS=1 to skip them"
        }
    }

    struct NotReplayed: Error, CustomStringConvertible { let description: String }

    /// The URL of `catalog`'s schema on the replica.
    static func replicaURL(_ catalog: TestCatalog) throws -> String {
        guard let host = ProcessInfo.processInfo.environment["TIMBRE_TEST_REPLICA_HOST"], !host.isEmpty else { throw ReplicaMissing() }
        return catalog.url + "&host=" + host
    }

    /// Waits until the replica has replayed everything the primary has written so far.
    static func waitForReplay(of primary: PostgresConnection, on replica: PostgresConnection) throws {
        let lsn = try primary.query("SELECT pg_current_wal_lsn()::text").scalar(String.self)
        for _ in 0..<600 {
            if try replica.query("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", [lsn]).scalar(Bool.self) { return }
            usleep(50_000)
        }
        throw NotReplayed(description: "the replica did not replay the primary's WAL up to \(lsn) within 30 s")
    }

    @Test func listsPublishedOnThePrimaryAreServedByTheReplica() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let replicaURL = try Self.replicaURL(catalog)
        // Rating counts x 3, y 2, z 2, w 1 (as in CommandLineTests): no two items a user could get tie.
        let ratings = try TestData.file("r.csv", "user,item,rating\na,x,5\na,y,1\nb,x,4\nb,z,5\nc,z,4\nc,w,2\nd,x,3\nd,y,4\n")
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let published = try TestData.runTimbre(["publish", "--database", catalog.url, "--strategy", "popularity", "-n", "2",
                                                "--name", "home"])
        #expect(published.status == 0, "\(published.err)")
        let listID = published.out.trimmingCharacters(in: .whitespacesAndNewlines)

        let replica = try PostgresConnection(url: replicaURL)
        #expect(try replica.query("SELECT pg_is_in_recovery()").scalar(Bool.self), "not a standby: the test would prove nothing")
        try Self.waitForReplay(of: catalog.db, on: replica)

        // The whole list, as the primary wrote it.
        let expected = ["a": ["z", "w"], "b": ["y", "w"], "c": ["x", "y"], "d": ["z", "w"]]
        #expect(try publishedList(listID, in: replica) == expected)
        // The app's contract: the view, and `lists show`, on the replica.
        let view = try replica.query("""
            SELECT user_id, item_id, list_id FROM published_recommendations WHERE list_name = 'home' ORDER BY user_id, rank
            """)
        var viewed: [String: [String]] = [:]
        for row in view {
            viewed[try row.string("user_id"), default: []].append(try row.string("item_id"))
            #expect(try String(row.int64("list_id")) == listID)
        }
        #expect(viewed == expected)
        let shown = try TestData.runTimbre(["lists", "show", "home", "--user", "c", "--format", "json", "--database", replicaURL])
        #expect(shown.status == 0, "\(shown.err)")
        struct Shown: Decodable { struct Entry: Decodable { let item: String }; let listID: Int64; let items: [Entry] }
        let list = try JSONDecoder().decode(Shown.self, from: Data(shown.out.utf8))
        #expect(list.items.map(\.item) == ["x", "y"] && String(list.listID) == listID)

        // recommend on the replica serves the model publish stored on the primary.
        let model = try catalog.db.query("SELECT id FROM trained_models WHERE strategy = 'popularity'")
        #expect(model.rowCount == 1)
        let served = try TestData.runTimbre(["recommend", "--database", replicaURL, "--user", "a", "--strategy", "popularity",
                                             "-n", "2", "--format", "json"])
        #expect(served.status == 0, "\(served.err)")
        struct Output: Decodable { let modelID: Int64; let items: [Recommendation] }
        let output = try JSONDecoder().decode(Output.self, from: Data(served.out.utf8))
        #expect(output.items.map(\.item) == ["z", "w"])
        #expect(try output.modelID == model.scalar(Int64.self))
    }

    /// recommend trains and stores a model when none is stored; a replica cannot store one, so it
    /// must say so before training, not after.
    @Test func recommendWithoutAStoredModelFailsClearlyOnTheReplica() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let replicaURL = try Self.replicaURL(catalog)
        let ratings = try TestData.file("r.csv", "user,item,rating\na,x,5\na,y,1\nb,x,4\nb,z,5\n")
        _ = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        let replica = try PostgresConnection(url: replicaURL)
        try Self.waitForReplay(of: catalog.db, on: replica)

        let result = try TestData.runTimbre(["recommend", "--database", replicaURL, "--user", "a", "--strategy", "bias"])
        #expect(result.status != 0)
        #expect(result.out.isEmpty)
        #expect(result.err.contains("read-only") && result.err.contains("train it on the primary"), "\(result.err)")
        #expect(!result.err.contains("INSERT"), "failed at the write, after training: \(result.err)")
        #expect(try catalog.count("trained_models") == 0)
    }
}

/// A published list as user → items in rank order (external ids), read through `db`.
func publishedList(_ listID: String, in db: PostgresConnection) throws -> [String: [String]] {
    let list = try db.query("""
        SELECT u.external_id AS user, e.rank, i.external_id AS item FROM recommendation_entries e
        JOIN users u ON u.id = e.user_id JOIN items i ON i.id = e.item_id
        WHERE e.list_id = $1 ORDER BY 1, 2
        """, [try #require(Int64(listID))])
    var users: [String: [String]] = [:]
    for row in list { users[try row.string("user"), default: []].append(try row.string("item")) }
    return users
}
