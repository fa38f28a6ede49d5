import Foundation

public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
}

public struct MigrationStatus: Sendable {
    public let migration: Migration
    public let appliedAt: String?
}

/// Applies the numbered SQL files of `sql/` in order, each in its own transaction, recording
/// them in `schema_migrations` (in the current schema). Already-applied files are skipped, so
/// running twice is a no-op. Reading the status writes nothing, so read-only roles and replicas
/// can serve.
public struct Migrator {
    public let migrations: [Migration]

    public init(migrations: [Migration]) { self.migrations = migrations.sorted { $0.version < $1.version } }

    /// The migrations shipped with Timbre: `$TIMBRE_SQL_DIR` when set (a folder of .sql files, e.g.
    /// a checkout's sql/ to try a migration without rebuilding), else the sql/ folder as it was at
    /// build time, compiled into the binary (the EmbedMigrations build-tool plugin), so a copied
    /// `timbre` binary needs nothing beside it.
    public static func bundled() throws -> Migrator {
        if let dir = ProcessInfo.processInfo.environment["TIMBRE_SQL_DIR"] {
            return try Migrator(folder: URL(fileURLWithPath: dir))
        }
        return try Migrator(files: embeddedFiles, source: "the migrations built into this binary")
    }

    public init(folder: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
        let files = try names.map { (file: $0, sql: try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8)) }
        try self.init(files: files, source: folder.path)
    }

    /// Migrations from (file name, SQL) pairs; a name starts with its version (`001_name.sql`).
    init(files: [(file: String, sql: String)], source: String) throws {
        var migrations: [Migration] = []
        for (file, sql) in files {
            guard let version = Int(file.prefix { $0.isNumber }), file.first?.isNumber == true else {
                throw DatabaseError("migration file \(file) in \(source) does not start with a version number (e.g. 001_name.sql)")
            }
            migrations.append(Migration(version: version, name: String(file.dropLast(4)), sql: sql))
        }
        let versions = migrations.map(\.version)
        if Set(versions).count != versions.count { throw DatabaseError("two migration files share a version number in \(source)") }
        self.init(migrations: migrations)
    }

    private func ensureTable(_ db: PostgresConnection) throws {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, purpose: "create the migrations table")
    }

    public func status(_ db: PostgresConnection) throws -> [MigrationStatus] {
        guard try db.query("SELECT to_regclass('schema_migrations') IS NOT NULL", purpose: "look for the migrations table").scalar(Bool.self) else {
            return migrations.map { MigrationStatus(migration: $0, appliedAt: nil) }
        }
        let rows = try db.query("SELECT version, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS') AS applied FROM schema_migrations",
                                purpose: "read the applied migrations")
        var applied: [Int: String] = [:]
        for row in rows { applied[try row.int("version")] = try row.string("applied") }
        return migrations.map { MigrationStatus(migration: $0, appliedAt: applied[$0.version]) }
    }

    /// Applies what is pending; returns the migrations it applied.
    @discardableResult
    public func migrate(_ db: PostgresConnection) throws -> [Migration] {
        var done: [Migration] = []
        try db.transaction {
            // Several workers may start at once: one creates the table, the others wait.
            try db.execute("SELECT pg_advisory_xact_lock(7466348)", purpose: "lock the migrations")
            try ensureTable(db)
        }
        for entry in try status(db) where entry.appliedAt == nil {
            let m = entry.migration
            try db.transaction {
                try db.execute("SELECT pg_advisory_xact_lock(7466348)", purpose: "lock the migrations")
                let already = try db.query("SELECT 1 FROM schema_migrations WHERE version = $1", [m.version],
                                           purpose: "check whether migration \(m.name) is applied")
                guard already.rowCount == 0 else { return }
                try db.execute(m.sql, purpose: "apply migration \(m.name) (rolled back: nothing of it was applied)")
                try db.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name],
                             purpose: "record migration \(m.name)")
                done.append(m)
            }
        }
        return done
    }

    /// Throws a clear error when the catalog is not fully migrated.
    public func requireCurrent(_ db: PostgresConnection) throws {
        let pending = try status(db).filter { $0.appliedAt == nil }
        guard pending.isEmpty else {
            throw DatabaseError("the catalog in \(db.target) has \(pending.count) pending migration(s) (\(pending.map(\.migration.name).joined(separator: ", "))): run `timbre db migrate`")
        }
    }
}
