import COpenSSL
import Foundation
import TimbreCore
import TimbreInterchange
import TimbreTerminal

public struct ImportSummary: Sendable, Equatable, Codable {
    public var usersAdded = 0
    public var usersUpdated = 0
    public var itemsAdded = 0
    public var itemsUpdated = 0
    public var ratingsAdded = 0
    public var ratingsUpdated = 0
    /// Lines of plays files stored (a play-log line is one play, a count-file line its count).
    public var playRowsAdded = 0
    /// Plays those lines add up to.
    public var playsAdded = 0
    /// User–item pairs that got their first plays, and pairs whose total grew.
    public var playPairsAdded = 0
    public var playPairsUpdated = 0
    /// Plays files skipped because a file with the same SHA-256 was imported before, each with
    /// when and under which path.
    public var alreadyImported: [String] = []
    /// External ids of the users and items that a ratings or plays file named and the catalog
    /// lacked, created bare (no attributes, no title): a typo in a file makes a phantom item, so
    /// the summary names them. Items and users of --items/--users files are not listed here.
    public var createdUsers: [String] = []
    public var createdItems: [String] = []

    public init() {}
}

/// Imports users, items, ratings and plays in one transaction: all files are parsed and checked
/// first (errors name file and line), then streamed through COPY into temporary staging tables
/// and merged, so a failure leaves the catalog as it was. Ratings are upserted (a re-import of the
/// same files changes no counts); plays add up, so a plays file is recorded by the SHA-256 of its
/// bytes and the same file again adds nothing.
public struct CatalogImporter: Sendable {
    public var ratingsFile: String?
    public var playsFile: String?
    public var itemsFile: String?
    public var usersFile: String?
    public var layout: TableLayout?
    public var scale: RatingScale
    /// How the files' bytes are read (invalid UTF-8 is an error unless `.latin1`).
    public var encoding: TextEncoding = .utf8
    /// Refuse a ratings or plays line whose item is neither in the items file nor in the catalog
    /// (with an items file that is always so), instead of creating the item bare.
    public var noNewItems = false

    /// Key of the transaction-scoped advisory lock every import takes: imports that share new users
    /// or items would otherwise deadlock on each other's uncommitted unique keys (each waits for a
    /// key the other inserted in another table or pass). Parsing and checking still run in
    /// parallel; only the writing is one at a time.
    public static let importLockKey: Int64 = 7_466_349

    public init(ratingsFile: String? = nil, playsFile: String? = nil, itemsFile: String? = nil, usersFile: String? = nil,
                layout: TableLayout? = nil, scale: RatingScale = .movieLens) {
        self.ratingsFile = ratingsFile
        self.playsFile = playsFile
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
        // The hash is taken over the very bytes that are parsed, so it names what was imported.
        let plays = try playsFile.map { path in
            // Not through the streaming reader (the bytes are hashed too): refuse a FIFO or device here.
            let kind = FileKind.of(path)
            guard kind == .regular else { throw InputFileError(file: path, line: nil, "cannot read the file: it is \(kind)") }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InputFileError(file: path, line: nil, "cannot read the file (missing or unreadable)")
            }
            let bytes = [UInt8](data)
            let records = try DelimitedTable.parse(bytes, file: path, kind: .plays, layout: layout ?? .guess(for: path),
                                                  encoding: encoding).playRecords()
            return (path: path, sha256: try sha256(bytes), records: records)
        }

        return try db.transaction {
            try db.query("SELECT pg_advisory_xact_lock($1)", [Self.importLockKey], purpose: "wait for other imports")
            if items != nil || noNewItems {
                // An item must be in the items file or already in the catalog.
                var known = Set(items?.map(\.id) ?? [])
                try db.copyOutBinary("SELECT external_id FROM items", purpose: "load the catalog's item ids") { known.insert(try $0.text()) }
                let lines = [(ratingsFile, ratings?.map { (item: $0.item, line: $0.line) }),
                             (playsFile, plays?.records.map { (item: $0.item, line: $0.line) })]
                for case let (file?, lines?) in lines {
                    if let bad = lines.first(where: { !known.contains($0.item) }) {
                        throw InputFileError(file: file, line: bad.line, itemsFile.map { "item \(bad.item) is not in \($0) nor in the catalog" }
                                             ?? "item \(bad.item) is not in the catalog (--no-new-items; import it with --items first)")
                    }
                }
            }
            var summary = ImportSummary()
            if let users {
                try db.stage("stage_users", "(external_id text, attributes jsonb)", users, progress: progress) { [$0.id, $0.attributesJSON] }
                let (added, total) = try db.countingAdded("""
                    INSERT INTO users (external_id, attributes) SELECT external_id, attributes FROM stage_users
                    ON CONFLICT (external_id) DO UPDATE SET attributes = EXCLUDED.attributes
                    WHERE users.attributes IS DISTINCT FROM EXCLUDED.attributes
                    """, purpose: "import users")
                summary.usersAdded += added
                summary.usersUpdated += total - added
            }
            if let items {
                try db.stage("stage_items", "(external_id text, title text, metadata jsonb)", items, progress: progress) {
                    [$0.id, $0.title, $0.metadataJSON]
                }
                let (added, total) = try db.countingAdded("""
                    INSERT INTO items (external_id, title, metadata) SELECT external_id, title, metadata FROM stage_items
                    ON CONFLICT (external_id) DO UPDATE SET title = EXCLUDED.title, metadata = EXCLUDED.metadata
                    WHERE (items.title, items.metadata) IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.metadata)
                    """, purpose: "import items")
                summary.itemsAdded += added
                summary.itemsUpdated += total - added
            }
            if let ratings {
                try db.stage("stage_ratings", "(user_ext text, item_ext text, value real, ts bigint)", ratings, progress: progress) {
                    [$0.user, $0.item, String($0.value), $0.timestamp.map { String($0) }]
                }
                try db.addUsersAndItems(of: "stage_ratings", to: &summary)
                // In key order, so the primary key's index is filled page by page.
                let (added, total) = try db.countingAdded("""
                    INSERT INTO ratings (user_id, item_id, value, rated_at)
                    SELECT u.id, i.id, s.value, to_timestamp(s.ts)
                    FROM stage_ratings s JOIN users u ON u.external_id = s.user_ext JOIN items i ON i.external_id = s.item_ext
                    ORDER BY u.id, i.id
                    ON CONFLICT (user_id, item_id) DO UPDATE SET value = EXCLUDED.value, rated_at = EXCLUDED.rated_at
                    WHERE (ratings.value, ratings.rated_at) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.rated_at)
                    """, purpose: "import ratings")
                summary.ratingsAdded += added
                summary.ratingsUpdated += total - added
            }
            if let plays {
                try db.importPlays(plays.records, file: plays.path, sha256: plays.sha256, into: &summary, progress: progress)
            }
            progress?.finish()
            return summary
        }
    }
}

extension PostgresConnection {
    /// A temporary table (dropped at commit) filled with `records` through COPY and analysed: a
    /// temporary table has no statistics until analysed (autovacuum never analyses them), so the
    /// planner would guess its size and could join a million staged rows by index lookups
    /// instead of hashing. (`stage` is here so every import path stages the same way.)
    public func stage<R>(_ table: String, _ definition: String, _ records: [R], progress: ProgressReporter? = nil,
                         fields: (R) -> [String?]) throws {
        try execute("CREATE TEMP TABLE \(table) \(definition) ON COMMIT DROP", purpose: "create staging table \(table)")
        try copyRows("COPY \(table) FROM STDIN", records, purpose: "fill staging table \(table)", progress: progress, fields: fields)
        try execute("ANALYZE \(table)", purpose: "analyse staging table \(table)")
    }

    /// Adds the plays of one file (already checked) unless a file with the same SHA-256 was
    /// imported before. Runs inside the import's transaction.
    func importPlays(_ records: [PlayRecord], file: String, sha256: [UInt8], into summary: inout ImportSummary,
                     progress: ProgressReporter?) throws {
        // Claiming the hash first also orders two concurrent imports of one file: the second
        // waits on the unique index until the first commits, then finds the row and adds nothing.
        let claimed = try query("""
            INSERT INTO imported_files (sha256, kind, path, row_count) VALUES ($1, 'plays', $2, $3)
            ON CONFLICT (sha256) DO NOTHING RETURNING id
            """, [sha256, file, records.count], purpose: "record plays file \(file)")
        guard let fileID = try claimed.first?.int64("id") else {
            let earlier = try query("""
                SELECT path, to_char(imported_at, 'YYYY-MM-DD HH24:MI:SS') AS imported FROM imported_files WHERE sha256 = $1
                """, [sha256], purpose: "find the earlier import of \(file)").one()
            summary.alreadyImported.append("\(file): the same file (SHA-256 \(sha256.hex.prefix(12))…) was imported on \(try earlier.string("imported")) as \(try earlier.string("path")); nothing added")
            return
        }
        try stage("stage_plays", "(user_ext text, item_ext text, n integer, ts bigint)", records, progress: progress) {
            [$0.user, $0.item, String($0.count), $0.timestamp.map { String($0) }]
        }
        try addUsersAndItems(of: "stage_plays", to: &summary)
        // External ids resolved once for both inserts below, in key order.
        try execute("""
            CREATE TEMP TABLE stage_play_ids ON COMMIT DROP AS
            SELECT u.id AS user_id, i.id AS item_id, s.n, to_timestamp(s.ts) AS played_at
            FROM stage_plays s JOIN users u ON u.external_id = s.user_ext JOIN items i ON i.external_id = s.item_ext
            """, purpose: "resolve the ids of staged plays")
        let (added, total) = try countingAdded("""
            INSERT INTO play_totals (user_id, item_id, plays, first_played_at)
            SELECT user_id, item_id, sum(n), min(played_at) FROM stage_play_ids GROUP BY user_id, item_id ORDER BY user_id, item_id
            ON CONFLICT (user_id, item_id) DO UPDATE SET plays = play_totals.plays + EXCLUDED.plays,
                first_played_at = least(play_totals.first_played_at, EXCLUDED.first_played_at)
            """, purpose: "add play totals")
        summary.playPairsAdded += added
        summary.playPairsUpdated += total - added
        let rows = try query("""
            INSERT INTO plays (user_id, item_id, count, played_at, file_id)
            SELECT user_id, item_id, n, played_at, $1 FROM stage_play_ids ORDER BY user_id, item_id
            """, [fileID], purpose: "store plays")
        summary.playRowsAdded += rows.affectedRows
        summary.playsAdded += records.reduce(0) { $0 + Int($1.count) }
    }

    /// Creates the users and items a staging table (`user_ext`, `item_ext`) names that the
    /// catalog lacks, with empty attributes, as ratings import always has.
    func addUsersAndItems(of stage: String, to summary: inout ImportSummary) throws {
        let users = try execute("""
            INSERT INTO users (external_id) SELECT DISTINCT user_ext FROM \(stage) ORDER BY 1
            ON CONFLICT (external_id) DO NOTHING RETURNING external_id
            """, purpose: "add the users of \(stage)")
        let items = try execute("""
            INSERT INTO items (external_id) SELECT DISTINCT item_ext FROM \(stage) ORDER BY 1
            ON CONFLICT (external_id) DO NOTHING RETURNING external_id
            """, purpose: "add the items of \(stage)")
        let createdUsers = try users.map { try $0.string("external_id") }
        let createdItems = try items.map { try $0.string("external_id") }
        summary.usersAdded += createdUsers.count
        summary.itemsAdded += createdItems.count
        summary.createdUsers += createdUsers
        summary.createdItems += createdItems
        if summary.usersAdded + summary.itemsAdded > 0 { try execute("ANALYZE users, items", purpose: "analyse users and items") }
    }

    /// Runs an `INSERT … ON CONFLICT DO UPDATE` and returns (inserted rows, inserted + updated
    /// rows), counted in the server: returning a flag per row to the client cost seconds per
    /// million rows.
    func countingAdded(_ insert: String, purpose: String) throws -> (added: Int, total: Int) {
        let r = try query("""
            WITH changed AS (\(insert) RETURNING (xmax = 0) AS added)
            SELECT count(*) FILTER (WHERE added) AS added, count(*) AS total FROM changed
            """, purpose: purpose).one()
        return (try r.int("added"), try r.int("total"))
    }
}

/// SHA-256 of bytes in memory, through libcrypto's one-shot digest.
func sha256(_ bytes: [UInt8]) throws -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    let ok = bytes.withUnsafeBytes { raw in EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_sha256(), nil) }
    guard ok == 1, length == 32 else { throw DatabaseError("SHA-256 of the file failed (libcrypto)") }
    return Array(digest.prefix(32))
}

extension [UInt8] {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension PostgresConnection {
    /// Streams `records` into a `COPY … FROM STDIN` (text format) in chunks of rows.
    public func copyRows<R>(_ sql: String, _ records: [R], purpose: String, progress: ProgressReporter? = nil,
                            fields: (R) -> [String?]) throws {
        try copyIn(sql, purpose: purpose) { send in
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

/// A one-dimensional array in COPY's text format (`{1,2.5,-3}`); Swift's number descriptions
/// read back exactly.
func copyTextArray<C: Collection>(_ values: C) -> String where C.Element: Numeric & CustomStringConvertible {
    "{" + values.map(\.description).joined(separator: ",") + "}"
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
