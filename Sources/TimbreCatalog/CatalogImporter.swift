import Foundation
import TimbreCore

public struct ImportSummary: Sendable, Equatable, Codable {
    public var usersAdded = 0
    public var usersUpdated = 0
    public var itemsAdded = 0
    public var itemsUpdated = 0
    public var ratingsAdded = 0
    public var ratingsUpdated = 0
}

/// Imports users, items and ratings in one transaction: all files are parsed and checked first
/// (errors name file and line), then streamed through COPY into temporary staging tables and
/// merged with upserts, so a re-import of the same files changes no counts and a failure
/// leaves the catalog as it was.
public struct CatalogImporter: Sendable {
    public var ratingsFile: String?
    public var itemsFile: String?
    public var usersFile: String?
    public var layout: TableLayout?
    public var scale: RatingScale
    /// How the files' bytes are read (invalid UTF-8 is an error unless `.latin1`).
    public var encoding: TextEncoding = .utf8

    /// Key of the transaction-scoped advisory lock every import takes: imports that share new users
    /// or items would otherwise deadlock on each other's uncommitted unique keys (each waits for a
    /// key the other inserted in another table or pass). Parsing and checking still run in
    /// parallel; only the writing is one at a time.
    public static let importLockKey: Int64 = 7_466_349

    public init(ratingsFile: String? = nil, itemsFile: String? = nil, usersFile: String? = nil,
                layout: TableLayout? = nil, scale: RatingScale = .movieLens) {
        self.ratingsFile = ratingsFile
        self.itemsFile = itemsFile
        self.usersFile = usersFile
        self.layout = layout
        self.scale = scale
    }

    public func run(_ db: PostgresConnection, progress: ProgressReporter? = nil) throws -> ImportSummary {
        let items = try itemsFile.map { try DelimitedTable.read(path: $0, kind: .items, layout: layout, encoding: encoding).itemRecords() }
        let users = try usersFile.map { try DelimitedTable.read(path: $0, kind: .users, layout: layout, encoding: encoding).userRecords() }
        let ratings = try ratingsFile.map {
            try DelimitedTable.read(path: $0, kind: .ratings, layout: layout, encoding: encoding).ratingRecords(scale: scale)
        }

        return try db.transaction {
            try db.query("SELECT pg_advisory_xact_lock($1)", [String(Self.importLockKey)])
            if let items, let ratings, let file = ratingsFile {
                // An item must be in the items file or already in the catalog.
                var known = Set(items.map(\.id))
                try db.copyOutBinary("SELECT external_id FROM items") { known.insert($0.text()!) }
                if let bad = ratings.first(where: { !known.contains($0.item) }) {
                    throw InputFileError(file: file, line: bad.line, "item \(bad.item) is not in \(itemsFile!) nor in the catalog")
                }
            }
            var summary = ImportSummary()
            if let users {
                try db.stage("stage_users", "(external_id text, attributes jsonb)", users, progress: progress) { [$0.id, $0.attributesJSON] }
                let result = try db.execute("""
                    INSERT INTO users (external_id, attributes) SELECT external_id, attributes FROM stage_users
                    ON CONFLICT (external_id) DO UPDATE SET attributes = EXCLUDED.attributes
                    WHERE users.attributes IS DISTINCT FROM EXCLUDED.attributes
                    RETURNING (xmax = 0)
                    """)
                summary.usersAdded += result.countTrue()
                summary.usersUpdated += result.rowCount - result.countTrue()
            }
            if let items {
                try db.stage("stage_items", "(external_id text, title text, metadata jsonb)", items, progress: progress) {
                    [$0.id, $0.title, $0.metadataJSON]
                }
                let result = try db.execute("""
                    INSERT INTO items (external_id, title, metadata) SELECT external_id, title, metadata FROM stage_items
                    ON CONFLICT (external_id) DO UPDATE SET title = EXCLUDED.title, metadata = EXCLUDED.metadata
                    WHERE (items.title, items.metadata) IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.metadata)
                    RETURNING (xmax = 0)
                    """)
                summary.itemsAdded += result.countTrue()
                summary.itemsUpdated += result.rowCount - result.countTrue()
            }
            if let ratings {
                try db.stage("stage_ratings", "(user_ext text, item_ext text, value real, ts bigint)", ratings, progress: progress) {
                    [$0.user, $0.item, String($0.value), $0.timestamp.map { String($0) }]
                }
                summary.usersAdded += try db.execute("""
                    INSERT INTO users (external_id) SELECT DISTINCT user_ext FROM stage_ratings
                    ON CONFLICT (external_id) DO NOTHING
                    """).affectedRows
                summary.itemsAdded += try db.execute("""
                    INSERT INTO items (external_id) SELECT DISTINCT item_ext FROM stage_ratings
                    ON CONFLICT (external_id) DO NOTHING
                    """).affectedRows
                // The join below looks staged ids up in users and items: plan it on their current
                // sizes, not on statistics from before this import (or from a killed one's dead rows).
                try db.execute("ANALYZE users, items")
                let result = try db.execute("""
                    INSERT INTO ratings (user_id, item_id, value, rated_at)
                    SELECT u.id, i.id, s.value, to_timestamp(s.ts)
                    FROM stage_ratings s JOIN users u ON u.external_id = s.user_ext JOIN items i ON i.external_id = s.item_ext
                    ON CONFLICT (user_id, item_id) DO UPDATE SET value = EXCLUDED.value, rated_at = EXCLUDED.rated_at
                    WHERE (ratings.value, ratings.rated_at) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.rated_at)
                    RETURNING (xmax = 0)
                    """)
                summary.ratingsAdded += result.countTrue()
                summary.ratingsUpdated += result.rowCount - result.countTrue()
            }
            progress?.finish()
            return summary
        }
    }
}

extension QueryResult {
    /// Rows whose first column is true (e.g. `RETURNING (xmax = 0)`, true for inserted rows).
    func countTrue() -> Int { (0..<rowCount).reduce(0) { $0 + (string($1, 0) == "t" ? 1 : 0) } }
}

extension PostgresConnection {
    /// A temporary table (dropped at commit) filled with `records` through COPY and analysed: a
    /// fresh temporary table has no statistics (autovacuum never analyses temporary tables), so
    /// without ANALYZE the merge joins would be planned on a guess rather than on what was loaded.
    public func stage<R>(_ table: String, _ definition: String, _ records: [R], progress: ProgressReporter? = nil,
                         fields: (R) -> [String?]) throws {
        try execute("CREATE TEMP TABLE \(table) \(definition) ON COMMIT DROP")
        try copyRows("COPY \(table) FROM STDIN", records, progress: progress, fields: fields)
        try execute("ANALYZE \(table)")
    }

    /// Streams `records` into a `COPY … FROM STDIN` (text format) in chunks of rows.
    public func copyRows<R>(_ sql: String, _ records: [R], progress: ProgressReporter? = nil, fields: (R) -> [String?]) throws {
        try copyIn(sql) { send in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            var pending = 0
            for record in records {
                appendCopyTextRow(fields(record), to: &buffer)
                pending += 1
                if buffer.count >= 1 << 16 {
                    try send(buffer)
                    buffer.removeAll(keepingCapacity: true)
                    progress?.advance(by: pending)
                    pending = 0
                }
            }
            if !buffer.isEmpty { try send(buffer) }
            progress?.advance(by: pending)
        }
    }
}

/// One row of COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
func appendCopyTextRow(_ fields: [String?], to buffer: inout [UInt8]) {
    for (k, field) in fields.enumerated() {
        if k > 0 { buffer.append(UInt8(ascii: "\t")) }
        guard let field else { buffer.append(contentsOf: Array("\\N".utf8)); continue }
        for byte in field.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: buffer.append(byte)
            }
        }
    }
    buffer.append(UInt8(ascii: "\n"))
}
