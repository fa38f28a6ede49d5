import Foundation
import TimbreCatalog
import TimbreEvaluation

/// A private schema in the test server started by scripts/test (PGHOST etc. in the environment),
/// migrated and dropped again when this object goes, so tests running in parallel never see each
/// other's rows. Keep it alive for the whole test (`defer { withExtendedLifetime(catalog) {} }`
/// where only its `url` is used).
public final class TestCatalog {
    /// Catalog suites run unless TIMBRE_SKIP_DATABASE_TESTS=1 says to skip them; without the server
    /// scripts/test starts (TIMBRE_TEST_DATABASE unset) they fail with `NoTestServer`, never pass
    /// silently by being skipped.
    public static var available: Bool { ProcessInfo.processInfo.environment["TIMBRE_SKIP_DATABASE_TESTS"] != "1" }

    public struct NoTestServer: Error, CustomStringConvertible {
        public var description: String {
            "catalog tests need the PostgreSQL server that ./scripts/test starts (TIMBRE_TEST_DATABASE is not set); "
                + "run ./scripts/test, or set TIMBRE_SKIP_DATABASE_TESTS=1 to skip these suites"
        }
    }

    public let schema: String
    public let db: PostgresConnection
    /// Connection URL for the same schema, for the CLI.
    public let url: String

    public init(migrate: Bool = true) throws {
        guard ProcessInfo.processInfo.environment["TIMBRE_TEST_DATABASE"] != nil else { throw NoTestServer() }
        schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let database = ProcessInfo.processInfo.environment["PGDATABASE"] ?? "postgres"
        url = "postgresql:///\(database)?options=-csearch_path%3D\(schema)"
        let admin = try PostgresConnection(url: nil)
        try admin.execute("CREATE SCHEMA \(schema)")
        db = try PostgresConnection(url: url)
        if migrate { try Migrator.bundled().migrate(db) }
    }

    deinit {
        _ = try? db.execute("DROP SCHEMA \(schema) CASCADE")
    }

    public func count(_ table: String) throws -> Int {
        try db.query("SELECT count(*) FROM \(table)").scalar(Int.self)
    }

    public func counts() throws -> [Int] { try ["users", "items", "ratings"].map(count) }

    /// Stores item embeddings (by item external id) under a new trained_models row standing for the
    /// model that made them (e.g. the audio LSTM) and returns that model's id.
    @discardableResult
    public func storeEmbeddings(_ vectors: [String: [Float]], kind: EmbeddingKind = .audioModel, name: String? = nil) throws -> Int64 {
        try db.transaction {
            let model = try db.query("""
                INSERT INTO trained_models (strategy, parameters, state, code_version)
                VALUES ('test-embedder', '{}', '\\x00', 'test') RETURNING id
                """).scalar(Int64.self)
            for (item, vector) in vectors {
                let inserted = try db.query("""
                    INSERT INTO item_embeddings (model_id, item_id, vector) SELECT $1, id, $2 FROM items WHERE external_id = $3
                    """, [model, vector, item])
                precondition(inserted.affectedRows == 1, "no item '\(item)'")
            }
            try EmbeddingSetStore(db).register(model: model, name: name ?? "test-\(model)", kind: kind,
                                               dimension: vectors.values.first?.count ?? 1)
            return model
        }
    }
}

extension PostgresConnection {
    /// A test's own statement (setup or a check), labelled as such in errors.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws -> QueryResult {
        try query(sql, parameters, purpose: "a test's own statement")
    }

    @discardableResult
    public func execute(_ sql: String) throws -> QueryResult {
        try execute(sql, purpose: "a test's own statements")
    }
}

public enum TestData {
    /// MovieLens-100K as fetched by scripts/fetch-movielens.
    public static var movieLensDirectory: String {
        get throws { try fetched(MovieLensFixture.directory, holding: "ml-100k.inter", what: "MovieLens-100K", by: "scripts/fetch-movielens") }
    }

    /// `directory` once `script` has put `file` in it (data too large to commit: MovieLens, the
    /// musicnn checkpoints); otherwise an error saying what to run.
    public static func fetched(_ directory: String, holding file: String, what: String, by script: String) throws -> String {
        guard FileManager.default.fileExists(atPath: directory + "/" + file) else {
            throw TestDataMissing(description: "\(what) not found in \(directory): run \(script) (scripts/test does)")
        }
        return directory
    }

    /// The committed audio clips (Tests/TimbreAudioTests/Fixtures) that decoding, ingest and
    /// embedding tests share.
    public static let audioFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("TimbreAudioTests/Fixtures")

    public struct TestDataMissing: Error, CustomStringConvertible { public let description: String }

    /// A new empty folder in the temporary directory (scripts/test points TMPDIR into its
    /// throw-away cluster's folder), named `prefix`-UUID.
    public static func folder(_ prefix: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Writes `text` to a new temporary file and returns its path.
    public static func file(_ name: String, _ text: String) throws -> String {
        let path = try folder("timbre-tests").appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs the built `timbre` binary (with `input` as its standard input, if given); returns exit
    /// status, stdout and stderr.
    public static func runTimbre(_ arguments: [String], input: String? = nil,
                                 environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let run = try TimbreProcess(arguments, input: input, environment: environment).wait()
        return (run.status, run.out, run.err)
    }
}
